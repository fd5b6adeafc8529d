//! The library's leak scanner (`stackdsl::validate::leaks`) and PyPI's detect-secrets over
//! everything the project generates.
//!
//! - Every file rendered from every stack (the seed stacks, the fixture stacks, the
//!   platform consumer and the voting-app example) in every environment, and every file
//!   committed under `out/`, scans clean: the scanner has no false positive on our own
//!   output (content hashes, image digests, UUIDs, references).
//! - detect-secrets (pinned in `tests/validators/requirements.txt`) finds nothing in
//!   `out/` either, apart from three line shapes it misreads, excluded one by one below
//!   with the reason.
//! - Both fire on a negative control: the canary fixture with fake secrets forced through
//!   `.env_not_secret`, so their silence on the real output means something.

use std::fs;
use std::path::Path;

use stackdsl::cli::StackFn;
use stackdsl::emit::{self, Output, Scope};
use stackdsl::prelude::*;
use stackdsl::validate::leaks;
use stackdsl_tests::fixtures::{self, secret_canaries_with};
use stackdsl_tests::{outputs, tool, tree, workspace_root};

/// The scanner's corpus of fake secrets (`rule<TAB>secret`).
const FAKE_SECRETS: &str = include_str!("../../../dsl/src/validate/testdata/fake-secrets.tsv");

fn fake(rule: &str) -> &'static str {
    FAKE_SECRETS
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .find(|(r, _)| *r == rule)
        .map(|(_, s)| s)
        .unwrap_or_else(|| panic!("no fake {rule} in the corpus"))
}

fn all_stacks() -> Vec<StackFn> {
    stacks::ALL
        .iter()
        .chain(fixtures::ALL)
        .copied()
        // Not Bank of Anthos: it passes upstream's published demo login
        // (`DEMO_LOGIN_PASSWORD`, `DEFAULT_PASSWORD`) as literals on purpose
        // (`env_not_secret`, with the reason), which the scanner rightly reports.
        .chain([
            platform_consumer::platform as StackFn,
            voting_app::voting_app,
        ])
        .collect()
}

fn report(findings: &[(String, leaks::Finding)]) -> String {
    findings
        .iter()
        .map(|(path, f)| format!("{path}: {f} at bytes {:?}", f.span))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_scanner_finds_nothing_in_any_rendered_stack() {
    let mut findings = Vec::new();
    let mut files = 0;
    for env in Env::ALL {
        for out in outputs(env, &all_stacks()) {
            files += 1;
            for f in leaks::scan(&out.doc.contents) {
                findings.push((format!("{env}: {}", out.doc.path), f));
            }
        }
    }
    assert!(files > 200, "only {files} rendered files");
    assert!(findings.is_empty(), "{}", report(&findings));
}

#[test]
fn the_scanner_finds_nothing_in_the_committed_output() {
    let out = workspace_root().join("out");
    let files = tree(&out);
    assert!(files.len() > 200, "only {} files under out/", files.len());
    let mut findings = Vec::new();
    for (path, bytes) in files {
        for f in leaks::scan(&String::from_utf8_lossy(&bytes)) {
            findings.push((path.clone(), f));
        }
    }
    assert!(findings.is_empty(), "{}", report(&findings));
}

/// The canary fixture with fake secrets of several formats written as waived literals.
fn negative_control(env: Env) -> Stack {
    secret_canaries_with(env, |api| {
        api.env_not_secret(
            "LEGACY_GH_PAT",
            fake("github-pat"),
            "negative control: a GitHub token as a literal",
        )
        .env_not_secret(
            "UPLOAD_ACCESS_KEY",
            fake("aws-access-key-id"),
            "negative control: an AWS access key id",
        )
        .env_not_secret(
            "SESSION_JWT",
            fake("jwt"),
            "negative control: a JWT as a literal",
        )
        .env_not_secret(
            "PAYMENTS",
            fake("stripe-live-key"),
            "negative control: a Stripe key under a harmless name",
        )
    })
}

fn synthesize_into(dir: &Path, stack: &Stack) {
    let outs: Vec<Output> = stackdsl_tests::render(stack)
        .into_iter()
        .map(|doc| Output {
            stack: stack.name.clone(),
            env: stack.env,
            doc,
        })
        .collect();
    let scope = Scope {
        env: stack.env,
        stacks: None,
    };
    emit::synthesize(dir, &outs, &scope).expect("synthesis");
}

#[test]
fn the_scanner_finds_each_fake_secret_of_the_negative_control() {
    let mut rules: Vec<&str> = stackdsl_tests::render(&negative_control(Env::Prod))
        .iter()
        .flat_map(|doc| leaks::scan(&doc.contents))
        .map(|f| f.rule)
        .collect();
    rules.sort_unstable();
    rules.dedup();
    assert_eq!(
        rules,
        ["aws-access-key-id", "github-pat", "jwt", "stripe-live-key"]
    );
}

/// Lines detect-secrets misreads in our output, each with why it is not a secret. Each
/// pattern matches the whole line, so nothing else on such a line can hide behind it.
const DETECT_SECRETS_EXCLUDED_LINES: &[(&str, &str)] = &[
    (
        r"^\s*checksum/config: [0-9a-f]{64}$",
        "the pod template's hash of its ConfigMap (ConfigMaps hold no secrets; secrets are references), read as a hex high-entropy string",
    ),
    (
        r"^\s*automountServiceAccountToken: (true|false)$",
        "a Kubernetes boolean whose name contains `Token`, read by the keyword detector",
    ),
    (
        // detect-secrets reads YAML values back quoted, hence the optional quotes.
        r#"^\s*[A-Z][A-Z0-9_]*: "?ci-\$\{\{ github\.run_id \}\}-\$\{\{ github\.run_attempt \}\}"?$"#,
        "CI's throwaway password for the job's own database service container, built from the run id; it lives as long as the job",
    ),
];

/// detect-secrets' findings under `dir` as `file:line type`.
fn detect_secrets(dir: &Path) -> Vec<String> {
    let mut cmd = tool("detect-secrets");
    cmd.arg("scan").arg("--all-files");
    for (pattern, _) in DETECT_SECRETS_EXCLUDED_LINES {
        cmd.arg("--exclude-lines").arg(pattern);
    }
    let out = cmd
        .arg(".")
        .current_dir(dir)
        .output()
        .expect("run detect-secrets");
    assert!(
        out.status.success(),
        "detect-secrets failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("detect-secrets JSON");
    let mut found = Vec::new();
    if let Some(results) = json["results"].as_object() {
        for (file, list) in results {
            for f in list.as_array().into_iter().flatten() {
                found.push(format!("{file}:{} {}", f["line_number"], f["type"]));
            }
        }
    }
    found
}

#[test]
fn detect_secrets_finds_nothing_in_out_and_finds_the_negative_control() {
    let found = detect_secrets(&workspace_root().join("out"));
    assert!(
        found.is_empty(),
        "detect-secrets found secrets in out/:\n{}",
        found.join("\n")
    );

    let dir = tempfile::tempdir().expect("temp dir");
    synthesize_into(dir.path(), &negative_control(Env::Prod));
    let found = detect_secrets(dir.path());
    for detector in [
        "GitHub Token",
        "AWS Access Key",
        "JSON Web Token",
        "Stripe Access Key",
    ] {
        assert!(
            found
                .iter()
                .any(|f| f.ends_with(&format!("\"{detector}\""))),
            "detect-secrets missed the {detector} of the negative control, so its silence on out/ proves nothing:\n{}",
            found.join("\n")
        );
    }
    fs::remove_dir_all(dir.path()).ok();
}
