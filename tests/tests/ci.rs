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
