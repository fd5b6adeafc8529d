//! GitHub Actions renderer: one pipeline per stack, from the same model as the manifests,
//! so image names, registries, namespaces and manifest paths cannot disagree.
//!
//! `out/<stack>/github/workflows/deploy.yml`:
//! - **test**: the stack's language preset (Node with npm/pnpm; Python with uv, ruff, mypy,
//!   pytest; Go with vet, test and a generator check), with **service containers derived
//!   from the stack's backing services** and the connection URLs its apps read, pointing at
//!   them (a per-run password, never a stored one);
//! - **build-and-push**: every image the stack builds, with `docker/metadata-action` and
//!   `docker/build-push-action` to its registry, tagged exactly as the manifests reference it
//!   (plus the commit SHA), with a GitHub Actions cache; on release tags, a guard that the
//!   tag is the version the manifests deploy;
//! - **review** on pull requests: the semantic diff of the stack's output against the base
//!   branch (`diff --base`, risks first) in the job summary and in one pull-request comment
//!   kept up to date; the only job that may write (`pull-requests: write`), and never for a
//!   fork's pull request (see [`crate::render::repo_ci`]);
//! - **deploy-staging** on pushes to `main`, **deploy-production** on `v*` tags (environment
//!   `production`): Terraform for the backing services when the stack has them, then
//!   `kubectl apply -k out/<stack>/<env>/k8s`, then `rollout status` of every workload
//!   (the workflow runs in the repository that holds both the code and its `out/`);
//! - least privilege: `permissions: {}` at the top, `contents: read` per job, `packages:
//!   write` only where pushing; `concurrency` groups; actions at their major version, or at
//!   a full commit SHA where the stack pins them.
//!
//! Why typed structs of our own and not the `gh-workflow` crate: it serialises through
//! `serde_yml` (we emit YAML with serde-saphyr everywhere, for YAML 1.1-safe quoting) and
//! brings five proc-macro crates to every user's build for a handful of structs.

use std::borrow::Cow;

use indexmap::IndexMap;
use serde::Serialize;

use crate::diagnostics::{ErrorKind, Errors};
use crate::model::{CiService, Env, Language, PackageManager, Service, Stack, Target, Template};
use crate::plan::{Hosts, Plan, Ports, Style};
use crate::render::{Backend, Document, Environments, hash_header, yaml};
use crate::validate::Validator;

#[derive(Serialize)]
struct Workflow {
    name: String,
    on: On,
    permissions: IndexMap<&'static str, &'static str>,
    concurrency: Concurrency,
    jobs: IndexMap<String, Job>,
}

#[derive(Serialize)]
struct On {
    push: Push,
    pull_request: Branches,
}

#[derive(Serialize)]
struct Push {
    branches: Vec<String>,
    tags: Vec<&'static str>,
}

#[derive(Serialize)]
struct Branches {
    branches: Vec<String>,
}

#[derive(Serialize)]
struct Concurrency {
    group: String,
    #[serde(rename = "cancel-in-progress")]
    cancel_in_progress: Flag,
}

/// A boolean, or an expression evaluating to one.
#[derive(Serialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Expr(&'static str),
}

#[derive(Serialize, Default)]
struct Job {
    name: String,
    #[serde(rename = "runs-on")]
    runs_on: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    needs: Vec<String>,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    condition: Option<String>,
    permissions: IndexMap<&'static str, &'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<Environment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    concurrency: Option<Concurrency>,
    #[serde(rename = "timeout-minutes")]
    timeout_minutes: u32,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    services: IndexMap<String, Container>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    env: IndexMap<String, String>,
    steps: Vec<Step>,
}

#[derive(Serialize)]
struct Environment {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Container {
    image: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    env: IndexMap<String, String>,
    ports: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<String>,
}

#[derive(Serialize, Default)]
struct Step {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uses: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    with: IndexMap<String, String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    env: IndexMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
}

/// Versions of the actions the pipeline uses (major tags), unless the stack pins a SHA.
/// The newest major of each (all on the node24 runtime; actionlint rejects node20 ones).
const ACTIONS: &[(&str, &str)] = &[
    ("actions/checkout", "v7"),
    ("actions/setup-node", "v7"),
    ("pnpm/action-setup", "v4"),
    ("astral-sh/setup-uv", "v7"),
    ("actions/setup-go", "v7"),
    ("docker/setup-buildx-action", "v4"),
    ("docker/login-action", "v4"),
    ("docker/metadata-action", "v6"),
    ("docker/build-push-action", "v7"),
    ("hashicorp/setup-terraform", "v4"),
];

/// `owner/action@ref` for an action: the stack's SHA pin, or the major version.
fn uses(plan: &Plan<'_>, action: &str) -> String {
    let stack = plan.stack();
    if let Some((sha, _)) = stack.ci.as_ref().and_then(|c| c.pins.get(action)) {
        return format!("{action}@{sha}");
    }
    let version = ACTIONS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or("v1", |(_, v)| v);
    format!("{action}@{version}")
}

fn action(plan: &Plan<'_>, name: &str, action_name: &str, with: &[(&str, String)]) -> Step {
    Step {
        name: name.to_owned(),
        uses: Some(uses(plan, action_name)),
        with: with
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        ..Step::default()
    }
}

fn run(name: &str, script: impl Into<String>) -> Step {
    Step {
        name: name.to_owned(),
        run: Some(script.into()),
        ..Step::default()
    }
}

fn checkout(plan: &Plan<'_>) -> Step {
    action(
        plan,
        "Check out",
        "actions/checkout",
        &[("persist-credentials", "false".into())],
    )
}

fn read_only() -> IndexMap<&'static str, &'static str> {
    IndexMap::from([("contents", "read")])
}

/// The repository secret holding the kubeconfig for one environment.
pub fn kubeconfig_secret(plan: &Plan<'_>, env: Env) -> String {
    let stack = plan.stack();
    format!("{}_{}_KUBECONFIG", stack.name, env)
        .replace('-', "_")
        .to_ascii_uppercase()
}

/// Every `secrets.X` the pipeline uses, with what it holds, in first-use order.
pub fn required_secrets(prod: &Plan<'_>, staging: &Plan<'_>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for plan in [staging, prod] {
        let s = plan.stack();
        if !deploys(s) {
            continue;
        }
        out.push((
            kubeconfig_secret(prod, s.env),
            format!(
                "kubeconfig of the {} cluster (namespace {})",
                s.env,
                s.namespace()
            ),
        ));
        for (var, secret) in terraform_secrets(plan) {
            if !out.iter().any(|(n, _)| *n == var) {
                out.push((
                    var,
                    format!(
                        "key `{}` of secret `{}` (Terraform variable)",
                        secret.key(),
                        secret.name()
                    ),
                ));
            }
        }
    }
    out
}

fn deploys(s: &Stack) -> bool {
    s.targets.contains(&Target::Kubernetes)
}

fn terraform_secrets<'s>(plan: &Plan<'s>) -> Vec<(String, &'s crate::model::SecretRef)> {
    plan.secrets(Target::Terraform)
        .into_iter()
        .map(|u| (u.secret.var(), u.secret))
        .collect()
}

/// Images the stack builds (services with a build and an image), first service per image.
pub fn built_images<'s>(plan: &Plan<'s>) -> Vec<&'s Service> {
    let stack = plan.stack();
    let mut out: Vec<&Service> = Vec::new();
    for svc in &stack.services {
        if let (Some(image), Some(_)) = (&svc.source.image, &svc.source.build)
            && !out
                .iter()
                .any(|o| o.source.image.as_ref().map(|i| i.name()) == Some(image.name()))
        {
            out.push(svc);
        }
    }
    out
}

fn test_job(plan: &Plan<'_>) -> Job {
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
fn ci_url(plan: &Plan<'_>, t: &Template) -> String {
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
fn review_job(plan: &Plan<'_>) -> Job {
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

fn build_job(plan: &Plan<'_>) -> Option<Job> {
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
fn branch(stack: &crate::model::Stack) -> &str {
    stack.ci.as_ref().map_or("main", |c| c.branch.as_str())
}

fn deploy_job(prod: &Plan<'_>, target_plan: &Plan<'_>, needs_build: bool) -> Job {
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

/// The GitHub Actions backend: the pipeline is declared on the prod stack and deploys
/// staging too.
#[derive(Clone, Copy, Debug)]
pub struct GitHubActions;

impl Backend for GitHubActions {
    fn target(&self) -> Target {
        Target::GitHubActions
    }

    fn check(&self, plan: &Plan<'_>) -> Errors {
        let mut v = Validator::new(plan);
        v.pipeline_rules();
        v.errors
    }

    fn render(
        &self,
        plan: &Plan<'_>,
        envs: &Environments<'_, '_>,
    ) -> Result<Vec<Document>, Errors> {
        match envs.get(Env::Staging) {
            Some(staging) => Ok(render(plan, staging)),
            None => Err(crate::render::needs_envs(
                plan,
                Target::GitHubActions,
                Env::Staging,
            )),
        }
    }
}

impl Validator<'_> {
    /// The pipeline deploys every environment, so it is declared once, on prod, with the
    /// settings it tests the code with.
    fn pipeline_rules(&mut self) {
        let name = &self.stack.name;
        if self.stack.env != Env::Prod {
            self.err(
                    ErrorKind::Unsupported,
                    format!("{name}.targets"),
                    format!("the GitHub Actions pipeline is declared on the {} stack; it deploys every environment", self.stack.env),
                    "declare `Target::GitHubActions` on the prod stack only",
                );
        }
        if self.stack.ci.is_none() {
            self.err(
                ErrorKind::InvalidValue,
                format!("{name}.ci"),
                "the GitHub Actions pipeline needs to know how to test the code",
                "set `.ci(Ci::node(\"20\", PackageManager::Pnpm))` (or `Ci::python`, `Ci::go`)",
            );
        }
    }
}

/// Renders the pipeline of `prod` (whose staging stack is `staging`) and the README listing
/// the secrets it needs.
pub fn render(prod_plan: &Plan<'_>, staging_plan: &Plan<'_>) -> Vec<Document> {
    let prod = prod_plan.stack();
    let mut jobs = IndexMap::new();
    jobs.insert("test".to_owned(), test_job(prod_plan));
    jobs.insert("review".to_owned(), review_job(prod_plan));
    let build = build_job(prod_plan);
    let has_build = build.is_some();
    if let Some(b) = build {
        jobs.insert("build-and-push".to_owned(), b);
    }
    for p in [staging_plan, prod_plan] {
        let s = p.stack();
        if deploys(s) {
            let key = if s.env == Env::Prod {
                "deploy-production"
            } else {
                "deploy-staging"
            };
            jobs.insert(key.to_owned(), deploy_job(prod_plan, p, has_build));
        }
    }
    let workflow = Workflow {
        name: format!("{}: test, build, deploy", prod.name),
        on: On {
            push: Push {
                branches: vec![branch(prod).to_owned()],
                tags: vec!["v*"],
            },
            pull_request: Branches {
                branches: vec![branch(prod).to_owned()],
            },
        },
        permissions: IndexMap::new(),
        concurrency: Concurrency {
            group: format!("{}-${{{{ github.ref }}}}", prod.name),
            cancel_in_progress: Flag::Expr("${{ github.event_name == 'pull_request' }}"),
        },
        jobs,
    };
    let dir = format!("{}/github", prod.name);
    let mut text = hash_header(prod);
    yaml::write(&mut text, &workflow);
    let mut readme = crate::render::html_header(prod);
    readme.push_str(&format!(
        "\n# `{}` — CI/CD pipeline\n\nCopy `workflows/deploy.yml` to `.github/workflows/` of the repository that holds the code and its `out/`.\n\
         Images are built from the repository root as the stack declares and pushed with the\n\
         tag the manifests deploy; staging deploys on `{}`, production on `v*` tags.\n\n\
         ## Repository secrets it reads\n\n| secret | what |\n|---|---|\n| `GITHUB_TOKEN` | provided by GitHub; pushes images |\n",
        prod.name,
        branch(prod)
    ));
    for (name, what) in required_secrets(prod_plan, staging_plan) {
        readme.push_str(&format!("| `{name}` | {what} |\n"));
    }
    vec![
        Document::new(format!("{dir}/workflows/deploy.yml"), text),
        Document::new(format!("{dir}/README.md"), readme),
    ]
}
