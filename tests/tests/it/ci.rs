//! The GitHub Actions target and the repository's own CI: actionlint (with shellcheck),
//! the workflow JSON schema, checkov, and pipelines that agree with the manifests.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stackdsl::prelude::*;
use stackdsl_tests::{cli, corpus, files_with_suffix, outputs, run, tool, tree, workspace_root};

fn workflows(dir: &Path) -> Vec<PathBuf> {
    files_with_suffix(dir, &[".yml"])
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("/workflows/"))
        .collect()
}

/// Every generated workflow plus this repository's own.
fn all_workflows(corpus: &Path) -> Vec<PathBuf> {
    let mut files = workflows(corpus);
    files.push(workspace_root().join(".github/workflows/stackdsl.yml"));
    files
}

#[test]
fn actionlint_and_shellcheck_find_nothing() {
    let corpus = corpus();
    let files = all_workflows(corpus.path());
    assert!(files.len() >= 7, "{files:?}");
    let (ok, out) = run(tool("actionlint").arg("-no-color").args(&files));
    assert!(ok && out.trim().is_empty(), "actionlint:\n{out}");
    // shellcheck really runs on `run:` scripts (negative control).
    let bad = corpus.path().join("bad.yml");
    fs::write(&bad, "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $UNQUOTED_VAR\n").unwrap();
    let (ok, out) = run(tool("actionlint").arg("-no-color").arg(&bad));
    assert!(!ok && out.contains("shellcheck"), "{out}");
}

#[test]
fn workflows_match_the_github_workflow_schema() {
    let corpus = corpus();
    let (ok, out) = run(tool("check-jsonschema")
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(all_workflows(corpus.path())));
    assert!(ok, "{out}");
}

#[test]
fn checkov_github_actions_finds_nothing() {
    let corpus = corpus();
    // checkov reads workflows from `.github/workflows` folders.
    let root = tempfile::Builder::new()
        .prefix("stackdsl-gha-")
        .tempdir()
        .unwrap();
    for (i, f) in all_workflows(corpus.path()).into_iter().enumerate() {
        let dir = root.path().join(format!("repo{i}/.github/workflows"));
        fs::create_dir_all(&dir).unwrap();
        fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    let out = tool("checkov")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .env("BC_SKIP_MAPPING", "TRUE")
        .args([
            "--framework",
            "github_actions",
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "-d",
        ])
        .arg(root.path())
        .output()
        .expect("run checkov");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let reports = if report.is_array() {
        report.as_array().unwrap().clone()
    } else {
        vec![report]
    };
    let passed: u64 = reports
        .iter()
        .map(|r| r["summary"]["passed"].as_u64().unwrap_or(0))
        .sum();
    let failed: Vec<String> = reports
        .iter()
        .flat_map(|r| {
            r["results"]["failed_checks"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|f| format!("{} {}", f["check_id"], f["file_path"]))
        .collect();
    assert!(passed >= 7, "checkov checked too little: {passed}");
    assert!(failed.is_empty(), "{failed:#?}");
}

fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// The image references a workflow's build job pushes: `<images>:<raw tag>` per metadata step.
fn pushed(workflow: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for step in workflow["jobs"]["build-and-push"]["steps"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if step["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("docker/metadata-action@"))
        {
            let image = step["with"]["images"].as_str().unwrap();
            for line in step["with"]["tags"].as_str().unwrap().lines() {
                if let Some(tag) = line.strip_prefix("type=raw,value=") {
                    out.insert(format!("{image}:{tag}"));
                }
            }
        }
    }
    out
}

#[test]
fn pushed_images_are_the_ones_the_manifests_and_compose_run() {
    let corpus = corpus();
    let mut compared = 0;
    for wf in workflows(corpus.path()) {
        let stack = wf.parent().unwrap().parent().unwrap().parent().unwrap();
        let pushed = pushed(&yaml(&wf));
        assert!(!pushed.is_empty(), "{} pushes nothing", wf.display());
        for env in ["staging", "prod"] {
            let mut running = BTreeSet::new();
            for f in files_with_suffix(&stack.join(format!("{env}/k8s")), &[".yaml"]) {
                let docs: Vec<Value> =
                    serde_saphyr::from_multiple(&fs::read_to_string(&f).unwrap()).unwrap();
                for d in docs
                    .iter()
                    .filter(|d| d["kind"] == "Deployment" || d["kind"] == "StatefulSet")
                {
                    for c in d["spec"]["template"]["spec"]["containers"]
                        .as_array()
                        .unwrap()
                    {
                        running.insert(c["image"].as_str().unwrap().to_owned());
                    }
                }
            }
            let compose = stack.join(format!("{env}/compose.yaml"));
            if compose.exists() {
                for (_, svc) in yaml(&compose)["services"].as_object().unwrap() {
                    running.insert(svc["image"].as_str().unwrap().to_owned());
                }
            }
            // Every image the pipeline pushes is run by this environment, under that exact
            // reference; the rest the environment runs are third-party images.
            for image in &pushed {
                assert!(
                    running.contains(image),
                    "{} pushes {image}, which {env} does not run: {running:?}",
                    wf.display()
                );
            }
            compared += 1;
        }
    }
    assert!(compared >= 12, "compared {compared} environments");
}

#[test]
fn workflows_carry_no_literal_secret_and_list_every_secret_they_read() {
    let corpus = corpus();
    for wf in workflows(corpus.path()) {
        let text = fs::read_to_string(&wf).unwrap();
        let readme =
            fs::read_to_string(wf.parent().unwrap().parent().unwrap().join("README.md")).unwrap();
        let mut rest = text.as_str();
        let mut used = BTreeSet::new();
        while let Some(i) = rest.find("secrets.") {
            let before = &rest[..i];
            assert!(
                before.ends_with("${{ "),
                "{}: `secrets.` outside an expression near {:?}",
                wf.display(),
                &rest[i.saturating_sub(20)..i + 20]
            );
            let name: String = rest[i + 8..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            used.insert(name);
            rest = &rest[i + 8..];
        }
        assert!(used.len() >= 2, "{}: {used:?}", wf.display());
        for name in &used {
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "{}: secret {name} is not listed in its README",
                wf.display()
            );
        }
        // Credentials are expressions; passwords of CI service containers are per-run values.
        for line in text.lines() {
            let lower = line.to_ascii_lowercase();
            if let Some((key, value)) = lower.split_once(':')
                && ["password", "token", "secret", "kubeconfig_data"]
                    .iter()
                    .any(|k| key.trim().contains(k))
                && !value.trim().is_empty()
            {
                assert!(
                    value.contains("${{"),
                    "{}: literal credential `{line}`",
                    wf.display()
                );
            }
        }
    }
}

fn shop_in(registry: &str, env: Env) -> Stack {
    let targets = match env {
        Env::Dev => vec![Target::Compose],
        Env::Staging => vec![Target::Kubernetes],
        Env::Prod => vec![Target::Compose, Target::Kubernetes, Target::GitHubActions],
    };
    let mut s = Stack::new("shop", env);
    s.targets(targets).ci(Ci::node("20", PackageManager::Npm));
    let http = Port::http("http", 8080);
    s.add(
        Service::new("api")
            .image(Registry::new(registry).image("shop-api").tag("1.0.0"))
            .build(Build::new("."))
            .port(http)
            .readiness(Probe::http_get("/ready", http))
            .liveness(Probe::http_get("/health", http))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(64))
                    .limits(Cpu::m(200), Memory::mi(128)),
            ),
    );
    s
}

fn shop_ghcr(env: Env) -> Stack {
    shop_in("ghcr.io/acme", env)
}

fn shop_quay(env: Env) -> Stack {
    shop_in("quay.io/acme", env)
}

#[test]
fn renaming_the_registry_in_one_place_moves_build_deploy_compose_and_k8s_together() {
    let render = |f: StackFn| -> std::collections::BTreeMap<String, String> {
        let mut all = std::collections::BTreeMap::new();
        for env in [Env::Staging, Env::Prod] {
            all.extend(
                outputs(env, &[f])
                    .into_iter()
                    .map(|o| (o.doc.path, o.doc.contents)),
            );
        }
        all
    };
    let (before, after) = (render(shop_ghcr), render(shop_quay));
    let changed: Vec<&str> = before
        .keys()
        .filter(|k| before[*k] != after[*k])
        .map(String::as_str)
        .collect();
    assert_eq!(
        changed,
        [
            // The architecture README's service table names every image.
            "shop/README.md",
            "shop/github/workflows/deploy.yml",
            "shop/prod/compose.yaml",
            "shop/prod/k8s/20-api.yaml",
            "shop/staging/k8s/20-api.yaml"
        ]
    );
    let wf = &after["shop/github/workflows/deploy.yml"];
    assert!(
        wf.contains("images: quay.io/acme/shop-api") && wf.contains("registry: quay.io"),
        "{wf}"
    );
    assert!(after["shop/prod/k8s/20-api.yaml"].contains("image: quay.io/acme/shop-api:1.0.0"));
}

#[test]
fn the_pipeline_belongs_to_the_prod_stack_and_needs_ci_settings() {
    let mut s = shop_ghcr(Env::Staging);
    s.targets.push(Target::GitHubActions);
    s.ci = None;
    let e = stackdsl::validate(&s).unwrap_err();
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["shop.targets", "shop.ci"]);
}

#[test]
fn this_repository_runs_the_generated_synth_check_workflow() {
    let root = workspace_root();
    let r = cli(
        Env::Prod,
        stacks::ALL,
        &["init-ci", "--check", "--root", root.to_str().unwrap()],
    );
    assert_eq!(
        r.code, 0,
        "the repository's CI files are stale:\n{}{}",
        r.stdout, r.stderr
    );
    let wf = fs::read_to_string(root.join(".github/workflows/stackdsl.yml")).unwrap();
    assert!(wf.contains("for env in dev staging prod"), "{wf}");
    assert!(wf.contains("-- --check"), "{wf}");
    assert!(
        wf.contains("$GITHUB_STEP_SUMMARY"),
        "the diff goes to the job summary"
    );
    assert!(
        fs::read_to_string(root.join(".gitattributes"))
            .unwrap()
            .contains("out/** linguist-generated=true")
    );
}

#[test]
fn init_ci_writes_once_and_never_overwrites_a_hand_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let first = cli(Env::Prod, stacks::ALL, &["init-ci", "--root", root]);
    assert_eq!(first.code, 0, "{first:?}");
    let files: Vec<String> = tree(dir.path()).into_keys().collect();
    assert_eq!(files, [".gitattributes", ".github/workflows/stackdsl.yml"]);
    assert_eq!(
        cli(
            Env::Prod,
            stacks::ALL,
            &["init-ci", "--check", "--root", root]
        )
        .code,
        0
    );
    fs::write(dir.path().join(".gitattributes"), "*.png binary\n").unwrap();
    let refused = cli(Env::Prod, stacks::ALL, &["init-ci", "--root", root]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused
            .stderr
            .contains("was not generated by stackdsl; refusing to overwrite it"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.path().join(".gitattributes")).unwrap(),
        "*.png binary\n"
    );
    let stale = cli(
        Env::Prod,
        stacks::ALL,
        &["init-ci", "--check", "--root", root],
    );
    assert_eq!(stale.code, 1);
}

// --- The pull-request review job ------------------------------------------------------------

/// The jobs of a workflow, by id.
fn jobs(workflow: &Value) -> &serde_json::Map<String, Value> {
    workflow["jobs"].as_object().expect("jobs")
}

/// The steps of `job` by name.
fn step<'a>(job: &'a Value, name: &str) -> &'a Value {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name:?} in {job}"))
}

/// Every workflow of this repository that reviews pull requests: its own and the committed
/// per-stack pipelines.
fn reviewing_workflows() -> Vec<PathBuf> {
    let mut files = workflows(&workspace_root().join("out"));
    files.push(workspace_root().join(".github/workflows/stackdsl.yml"));
    files
}

#[test]
fn the_review_job_alone_may_comment_and_never_runs_on_pull_request_target() {
    let corpus = corpus();
    let files = all_workflows(corpus.path());
    assert!(files.len() >= 7, "{files:?}");
    for wf in files {
        let w = yaml(&wf);
        let shown = wf.display();
        assert!(w["on"].get("pull_request").is_some(), "{shown}");
        assert!(w["on"].get("pull_request_target").is_none(), "{shown}");
        assert!(w["permissions"].get("pull-requests").is_none(), "{shown}");
        for (id, job) in jobs(&w) {
            let writes: Vec<&str> = job["permissions"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| *v == "write")
                .map(|(k, _)| k.as_str())
                .collect();
            let expected: &[&str] = match id.as_str() {
                "review" => &["pull-requests"],
                "build-and-push" => &["packages"],
                _ => &[],
            };
            assert_eq!(writes, expected, "{shown}: job {id}");
        }
        let review = &jobs(&w)["review"];
        assert_eq!(
            review["if"], "github.event_name == 'pull_request'",
            "{shown}"
        );
        assert_eq!(
            review["permissions"]["contents"], "read",
            "{shown}: the review job reads the repository"
        );
        // The merge commit and its parents: `HEAD^1` is the base branch.
        let checkout = step(review, "Check out");
        assert_eq!(
            checkout["with"]["fetch-depth"]
                .to_string()
                .trim_matches('"'),
            "2"
        );
        assert_eq!(
            checkout["with"]["persist-credentials"]
                .to_string()
                .trim_matches('"'),
            "false"
        );
        // No secret reaches pull-request code; a fork's pull request does not comment.
        let text = serde_json::to_string(review).unwrap();
        assert!(!text.contains("secrets."), "{shown}: {text}");
        let comment = step(review, "Comment on the pull request");
        assert_eq!(
            comment["if"], "github.event.pull_request.head.repo.full_name == github.repository",
            "{shown}"
        );
        assert_eq!(comment["env"]["GH_TOKEN"], "${{ github.token }}", "{shown}");
    }
}

/// The command the review step runs works on this repository, and its Markdown starts with
/// the marker the comment step looks for (so the comment is updated, not added again).
#[test]
fn the_review_step_runs_the_cli_and_the_comment_step_finds_its_output() {
    let root = workspace_root();
    let files = reviewing_workflows();
    assert_eq!(files.len(), 7, "{files:?}");
    for wf in files {
        let w = yaml(&wf);
        let review = &jobs(&w)["review"];
        let script = review["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|s| s["run"].as_str().filter(|r| r.contains("diff --base")))
            .unwrap_or_else(|| panic!("{}: no review step", wf.display()));
        let line = script.lines().next().unwrap();
        let (command, rest) = line.split_once(" -- ").unwrap();
        assert!(command.starts_with("cargo run"), "{line}");
        let args = rest.strip_suffix(" > review.md").expect(line);
        assert!(args.ends_with("diff --base HEAD^1 --format md"), "{line}");
        // The same arguments against HEAD (the test clone may be shallow).
        let out_dir = root.join("out");
        let args = args.replace("HEAD^1", "HEAD");
        let mut argv = vec!["--out", out_dir.to_str().unwrap()];
        argv.extend(args.split(' '));
        let r = cli(Env::Prod, stacks::ALL, &argv);
        assert_eq!(r.code, 0, "{}: {argv:?}: {r:?}", wf.display());
        let marker = r.stdout.lines().next().unwrap();
        assert!(marker.starts_with("<!-- stackdsl-review") && marker.ends_with("-->"));
        let post = step(review, "Comment on the pull request")["run"]
            .as_str()
            .unwrap();
        assert!(
            post.contains(&format!("startswith(\"{marker}\")")),
            "{}: the comment step looks for another marker than {marker:?}:\n{post}",
            wf.display()
        );
    }
}

/// The comment step against a stand-in `gh`: it adds the comment once, then updates it;
/// a token that may not comment (or read) leaves a warning and a green job.
#[test]
fn the_review_comment_is_updated_not_duplicated_and_never_fails_the_job() {
    let w = yaml(&workspace_root().join(".github/workflows/stackdsl.yml"));
    let script = step(&jobs(&w)["review"], "Comment on the pull request")["run"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let gh = bin.join("gh");
    fs::write(
        &gh,
        "#!/bin/sh\nprintf '%s\\n' \"$*\" >> \"$GH_LOG\"\ncase \"$*\" in\n  *--paginate*) [ -n \"$GH_FAIL_LIST\" ] && exit 1; printf '%s' \"$GH_IDS\"; exit 0 ;;\n  *) [ -n \"$GH_FAIL_WRITE\" ] && exit 1; exit 0 ;;\nesac\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(&gh, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(
        dir.path().join("review.md"),
        "<!-- stackdsl-review -->\n### x\n",
    )
    .unwrap();
    let run_case = |ids: &str, fail_list: bool, fail_write: bool| -> (bool, String, String) {
        let log = dir.path().join("gh.log");
        let _ = fs::remove_file(&log);
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = std::process::Command::new("bash")
            .args(["-e", "-c", &script])
            .current_dir(dir.path())
            .env("PATH", path)
            .env("GH_LOG", &log)
            .env("GH_IDS", ids)
            .env("GH_FAIL_LIST", if fail_list { "1" } else { "" })
            .env("GH_FAIL_WRITE", if fail_write { "1" } else { "" })
            .env("GITHUB_REPOSITORY", "acme/stacks")
            .env("PR_NUMBER", "7")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            fs::read_to_string(&log).unwrap_or_default(),
        )
    };
    // No comment yet: one is added.
    let (ok, _, log) = run_case("", false, false);
    assert!(ok);
    let calls: Vec<&str> = log.lines().collect();
    assert_eq!(calls.len(), 2, "{log}");
    assert!(
        calls[1].starts_with(
            "api --method POST repos/acme/stacks/issues/7/comments -F body=@review.md"
        ),
        "{log}"
    );
    // One there already (the first of them): it is updated, nothing is added.
    let (ok, _, log) = run_case("123\n456\n", false, false);
    assert!(ok);
    let calls: Vec<&str> = log.lines().collect();
    assert_eq!(calls.len(), 2, "{log}");
    assert!(
        calls[1].starts_with("api --method PATCH repos/acme/stacks/issues/comments/123 "),
        "{log}"
    );
    // A read-only token: a warning, and the job goes on.
    for (fail_list, fail_write) in [(false, true), (true, false)] {
        let (ok, stdout, _) = run_case("", fail_list, fail_write);
        assert!(ok, "{stdout}");
        assert!(stdout.contains("::warning::"), "{stdout}");
    }
}
