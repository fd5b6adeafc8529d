//! The pipeline's jobs: test (with the stack's backing services as service containers),
//! review, build-and-push and deploy.

use super::*;

pub(super) fn test_job(plan: &Plan<'_>) -> Job {
    let stack = plan.stack();
    let mut job = Job {
        name: "Test".into(),
        runs_on: "ubuntu-24.04",
        permissions: read_only(),
        timeout_minutes: stack.ci.as_ref().map_or(30, |c| c.timeout_minutes),
        ..Job::default()
    };
    // Backing services as service containers, and the URLs apps read, pointing at them.
    let mut ci_backed: Vec<&str> = Vec::new();
    for svc in stack.services.iter().filter(|s| s.backing.is_some()) {
        let (Some(ci), Some(image)) = (
            svc.backing.as_ref().and_then(|b| b.ci.as_ref()),
            &svc.source.image,
        ) else {
            continue;
        };
        ci_backed.push(&svc.name);
        let options = ci.health_cmd.as_ref().map(|cmd| {
            format!(
                "--health-cmd \"{}\" --health-interval 5s --health-timeout 5s --health-retries 20",
                cmd.replace('"', "\\\"")
            )
        });
        job.services.insert(
            svc.name.clone(),
            Container {
                image: image.to_string(),
                env: ci.env.iter().cloned().collect(),
                ports: svc
                    .ports
                    .iter()
                    .map(|p| format!("{0}:{0}", p.number))
                    .collect(),
                options,
            },
        );
    }
    for svc in stack.services.iter().filter(|s| s.backing.is_none()) {
        for var in &svc.env {
            let crate::model::EnvValue::Template(t) = &var.value else {
                continue;
            };
            let services = t.services();
            if services.is_empty()
                || !services.iter().all(|r| ci_backed.contains(&r.name()))
                || job.env.contains_key(&var.name)
            {
                continue;
            }
            job.env.insert(var.name.clone(), ci_url(plan, t));
        }
    }
    let lang = stack.ci.as_ref().map(|c| c.language.clone());
    job.steps.push(checkout(plan));
    match lang {
        Some(Language::Node {
            version,
            package_manager,
        }) => {
            let pm = match package_manager {
                PackageManager::Pnpm => {
                    job.steps.push(action(
                        plan,
                        "Set up pnpm",
                        "pnpm/action-setup",
                        &[("version", "10".into())],
                    ));
                    "pnpm"
                }
                _ => "npm",
            };
            job.steps.push(action(
                plan,
                "Set up Node.js",
                "actions/setup-node",
                &[("node-version", version), ("cache", pm.into())],
            ));
            let (install, build, lint) = match package_manager {
                PackageManager::Pnpm => (
                    "pnpm install --frozen-lockfile",
                    "pnpm -r build",
                    "pnpm lint",
                ),
                _ => (
                    "npm ci",
                    "npm run build --if-present",
                    "npm run lint --if-present",
                ),
            };
            job.steps.push(run("Install dependencies", install));
            job.steps.push(run("Build", build));
            job.steps.push(run("Lint", lint));
            job.steps.push(run("Test", format!("{pm} test")));
        }
        Some(Language::Python { version, package }) => {
            job.steps.push(action(
                plan,
                "Set up uv",
                "astral-sh/setup-uv",
                &[("enable-cache", "true".into())],
            ));
            job.steps
                .push(run("Set up Python", format!("uv python install {version}")));
            job.steps
                .push(run("Install dependencies", "uv sync --frozen"));
            job.steps.push(run(
                "Lint",
                format!("uv run ruff check .\nuv run mypy {package}/\n"),
            ));
            job.steps.push(run("Test", "uv run pytest"));
        }
        Some(Language::Go {
            version,
            generate_check,
        }) => {
            job.steps.push(action(
                plan,
                "Set up Go",
                "actions/setup-go",
                &[("go-version", version)],
            ));
            job.steps.push(run("Vet", "go vet ./..."));
            job.steps.push(run("Test", "go test -race ./..."));
            if let Some(cmd) = generate_check {
                job.steps.push(run("Generated code is up to date", cmd));
            }
        }
        None => {}
    }
    job
}

/// A URL template as the test job sees it: backing services on localhost, passwords the
/// per-run value (or empty where the container cannot require one).
pub(super) fn ci_url(plan: &Plan<'_>, t: &Template) -> String {
    let stack = plan.stack();
    let no_password = |secret: &crate::model::SecretRef| {
        stack.services.iter().any(|s| {
            s.backing
                .as_ref()
                .and_then(|b| b.ci.as_ref())
                .is_some_and(|c| !c.password)
                && s.secrets().iter().any(|r| r.var() == secret.var())
        })
    };
    let secret = |s: &crate::model::SecretRef| -> Cow<'static, str> {
        if no_password(s) {
            Cow::Borrowed("")
        } else {
            Cow::Borrowed(CiService::PASSWORD)
        }
    };
    plan.resolve(t, &Style::new(Hosts::Localhost, Ports::Container, &secret))
}

/// The review of a pull request: `diff --base HEAD^1 --format md` of this stack, in the job
/// summary and one comment (the same steps as the repository's own workflow).
pub(super) fn review_job(plan: &Plan<'_>) -> Job {
    let stack = plan.stack();
    use crate::render::repo_ci;
    let mut job = Job {
        name: "What this change does".into(),
        runs_on: "ubuntu-24.04",
        condition: Some("github.event_name == 'pull_request'".into()),
        permissions: IndexMap::from([("contents", "read"), ("pull-requests", "write")]),
        timeout_minutes: stack.ci.as_ref().map_or(30, |c| c.timeout_minutes),
        ..Job::default()
    };
    job.steps.push(action(
        plan,
        "Check out",
        "actions/checkout",
        &[
            ("fetch-depth", "2".into()),
            ("persist-credentials", "false".into()),
        ],
    ));
    job.steps.push(run(
        "Rust toolchain",
        "rustup toolchain install stable --profile minimal\n",
    ));
    job.steps.push(run(
        "Review the stack against the base branch",
        repo_ci::review_script(
            &stack.regenerate_command(),
            &format!("--stack {} ", stack.name),
        ),
    ));
    let mut comment = run(
        "Comment on the pull request",
        repo_ci::comment_script(&crate::review::comment_marker(std::slice::from_ref(
            &stack.name,
        ))),
    );
    comment.condition = Some(repo_ci::SAME_REPOSITORY.into());
    comment
        .env
        .insert("GH_TOKEN".into(), "${{ github.token }}".into());
    comment.env.insert(
        "PR_NUMBER".into(),
        "${{ github.event.pull_request.number }}".into(),
    );
    job.steps.push(comment);
    job
}

pub(super) fn build_job(plan: &Plan<'_>) -> Option<Job> {
    let stack = plan.stack();
    let images = built_images(plan);
    if images.is_empty() {
        return None;
    }
    let mut job = Job {
        name: "Build and push images".into(),
        runs_on: "ubuntu-24.04",
        needs: vec!["test".into()],
        condition: Some("github.event_name == 'push'".into()),
        permissions: IndexMap::from([("contents", "read"), ("packages", "write")]),
        timeout_minutes: stack.ci.as_ref().map_or(30, |c| c.timeout_minutes),
        ..Job::default()
    };
    job.steps.push(checkout(plan));
    let tags: Vec<&str> = images
        .iter()
        .filter_map(|s| s.source.image.as_ref().and_then(|i| i.tag.as_deref()))
        .collect();
    if let Some(first) = tags.first()
        && tags.iter().all(|t| t == first)
    {
        let mut guard = run(
            "Release tag matches the version the manifests deploy",
            format!(
                "if [ \"$GITHUB_REF_NAME\" != \"v{first}\" ]; then\n  echo \"::error::tag $GITHUB_REF_NAME does not match the stack's image tag {first}; bump the version in the stack first\"\n  exit 1\nfi\n"
            ),
        );
        guard.condition = Some("startsWith(github.ref, 'refs/tags/v')".into());
        job.steps.push(guard);
    }
    job.steps.push(action(
        plan,
        "Set up Docker Buildx",
        "docker/setup-buildx-action",
        &[],
    ));
    let registries: Vec<String> = {
        let mut r: Vec<String> = images
            .iter()
            .filter_map(|s| s.source.image.as_ref().and_then(|i| i.registry.as_ref()))
            .map(|r| r.split('/').next().unwrap_or(r).to_owned())
            .collect();
        r.dedup();
        r
    };
    for registry in registries {
        job.steps.push(action(
            plan,
            &format!("Log in to {registry}"),
            "docker/login-action",
            &[
                ("registry", registry.clone()),
                ("username", "${{ github.actor }}".into()),
                ("password", "${{ secrets.GITHUB_TOKEN }}".into()),
            ],
        ));
    }
    for (i, svc) in images.iter().enumerate() {
        let (Some(image), Some(build)) = (&svc.source.image, &svc.source.build) else {
            continue;
        };
        let id = format!("meta-{}", i + 1);
        let mut tags = String::new();
        if let Some(t) = &image.tag {
            tags.push_str(&format!("type=raw,value={t}\n"));
        }
        tags.push_str("type=sha\n");
        let mut meta = action(
            plan,
            &format!("Image metadata: {}", image.name()),
            "docker/metadata-action",
            &[("images", image.name()), ("tags", tags)],
        );
        meta.id = Some(id.clone());
        job.steps.push(meta);
        let context = build.context.trim_start_matches("./").trim_end_matches('/');
        let context = if context.is_empty() {
            ".".to_owned()
        } else {
            context.to_owned()
        };
        let mut with = vec![
            ("context", context.clone()),
            ("push", "true".to_owned()),
            ("tags", format!("${{{{ steps.{id}.outputs.tags }}}}")),
            ("labels", format!("${{{{ steps.{id}.outputs.labels }}}}")),
            ("cache-from", format!("type=gha,scope={}", image.name())),
            (
                "cache-to",
                format!("type=gha,scope={},mode=max", image.name()),
            ),
        ];
        if let Some(f) = &build.dockerfile {
            with.insert(
                1,
                (
                    "file",
                    if context == "." {
                        f.clone()
                    } else {
                        format!("{context}/{f}")
                    },
                ),
            );
        }
        if let Some(t) = &build.target {
            with.insert(1, ("target", t.clone()));
        }
        job.steps.push(action(
            plan,
            &format!("Build and push {}", image.name()),
            "docker/build-push-action",
            &with,
        ));
    }
    Some(job)
}

/// The integration branch ([`Ci::branch`](crate::model::Ci::branch), default `main`).
pub(super) fn branch(stack: &crate::model::Stack) -> &str {
    stack.ci.as_ref().map_or("main", |c| c.branch.as_str())
}

pub(super) fn deploy_job(prod: &Plan<'_>, target_plan: &Plan<'_>, needs_build: bool) -> Job {
    let target = target_plan.stack();
    let env = target.env;
    let (name, condition, environment) = match env {
        Env::Prod => (
            "Deploy to production",
            "startsWith(github.ref, 'refs/tags/v')",
            "production",
        ),
        _ => (
            "Deploy to staging",
            "github.event_name == 'push' && github.ref == 'refs/heads/{branch}'",
            "staging",
        ),
    };
    let condition = condition.replace("{branch}", branch(prod.stack()));
    let url = target
        .services
        .iter()
        .flat_map(|s| s.routes.iter())
        .next()
        .map(|i| {
            let scheme = if i.tls.is_some() { "https" } else { "http" };
            format!("{scheme}://{}", i.host)
        });
    let dir = format!("out/{}", target.out_dir());
    let ns = target.namespace();
    let mut job = Job {
        name: name.into(),
        runs_on: "ubuntu-24.04",
        needs: if needs_build {
            vec!["build-and-push".into()]
        } else {
            vec!["test".into()]
        },
        condition: Some(condition),
        permissions: read_only(),
        environment: Some(Environment {
            name: environment.into(),
            url,
        }),
        concurrency: Some(Concurrency {
            group: format!("deploy-{}-{env}", prod.stack().name),
            cancel_in_progress: Flag::Bool(false),
        }),
        timeout_minutes: prod.stack().ci.as_ref().map_or(30, |c| c.timeout_minutes),
        ..Job::default()
    };
    job.steps.push(checkout(prod));
    // kubectl comes with GitHub's Ubuntu runner image.
    let mut access = run(
        "Cluster access",
        "install -d -m 700 \"$HOME/.kube\"\nprintf '%s' \"$KUBECONFIG_DATA\" > \"$HOME/.kube/config\"\nchmod 600 \"$HOME/.kube/config\"\n",
    );
    access.env.insert(
        "KUBECONFIG_DATA".into(),
        format!("${{{{ secrets.{} }}}}", kubeconfig_secret(prod, env)),
    );
    job.steps.push(access);
    let tf_secrets = terraform_secrets(target_plan);
    if target_plan.helm_installed().next().is_some() {
        job.steps.push(run(
            "Namespace",
            format!("kubectl apply -f {dir}/k8s/00-namespace.yaml\n"),
        ));
        job.steps.push(action(
            prod,
            "Set up Terraform",
            "hashicorp/setup-terraform",
            &[
                ("terraform_version", "1.11.4".into()),
                ("terraform_wrapper", "false".into()),
            ],
        ));
        let mut apply = run(
            "Backing services (Terraform + Helm)",
            format!(
                "terraform -chdir={dir}/terraform init -input=false\n\
                 terraform -chdir={dir}/terraform apply -input=false -auto-approve -var \"kube_context=$(kubectl config current-context)\"\n"
            ),
        );
        for (var, _) in &tf_secrets {
            apply.env.insert(
                format!("TF_VAR_{}", var.to_ascii_lowercase()),
                format!("${{{{ secrets.{var} }}}}"),
            );
        }
        job.steps.push(apply);
    }
    job.steps.push(run(
        "Apply manifests",
        format!("kubectl apply -k {dir}/k8s\n"),
    ));
    let mut rollout = String::new();
    for svc in target_plan.manifests() {
        let kind = if svc.cluster.is_some() {
            "statefulset"
        } else {
            "deployment"
        };
        rollout.push_str(&format!(
            "kubectl -n {ns} rollout status {kind}/{} --timeout=10m\n",
            svc.name
        ));
    }
    job.steps.push(run("Wait for the rollout", rollout));
    job
}
