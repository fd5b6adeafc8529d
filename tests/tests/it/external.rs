//! Generated files pass the real tools: docker-compose, PyYAML (YAML 1.1), yamllint.
//! The tools are pinned and installed on first use (see `stackdsl_tests::venv`).

use std::fs;
use std::path::Path;

use stackdsl_tests::fixtures::YAML11_HAZARDS;
use stackdsl_tests::{corpus, files_with_suffix, run, tool, venv, workspace_root};

/// `KEY=dummy` for every variable `.env.example` lists: proves the example is complete,
/// because `${VAR:?}` makes `config` fail for any variable it misses.
fn dummy_env_file(compose: &Path, into: &Path) -> std::path::PathBuf {
    let example = compose.with_file_name(".env.example");
    let mut text = String::new();
    if let Ok(ex) = fs::read_to_string(&example) {
        for line in ex
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains('='))
        {
            let key = line.split('=').next().unwrap_or_default();
            text.push_str(&format!("{key}=dummy-{}\n", key.to_ascii_lowercase()));
        }
    }
    let path = into.join(format!(
        "{}.env",
        compose.display().to_string().replace('/', "_")
    ));
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn compose_files_pass_docker_compose_config() {
    let corpus = corpus();
    let files = files_with_suffix(corpus.path(), &["compose.yaml"]);
    assert!(
        files.len() >= 7,
        "expected compose files for every stack and env, got {files:?}"
    );
    let envs = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for f in &files {
        let env_file = dummy_env_file(f, envs.path());
        let (ok, out) = run(tool("docker-compose")
            .arg("-f")
            .arg(f)
            .arg("--env-file")
            .arg(&env_file)
            .args(["config", "--quiet"]));
        if !ok {
            failures.push(format!("{}:\n{out}", f.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "docker-compose config rejected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn compose_refuses_to_start_without_secrets() {
    // The negative control of the test above: without `.env`, `${VAR:?}` must fail.
    let corpus = corpus();
    let f = corpus.path().join("tsdev-microservices/prod/compose.yaml");
    let empty = corpus.path().join("empty.env");
    fs::write(&empty, "").unwrap();
    let (ok, out) = run(tool("docker-compose")
        .arg("-f")
        .arg(&f)
        .arg("--env-file")
        .arg(&empty)
        .args(["config", "--quiet"]));
    assert!(!ok, "compose accepted a file with unset secrets");
    assert!(
        out.contains("TSDEV_SECRETS_POSTGRES_PASSWORD")
            || out.contains("TSDEV_SECRETS_REDIS_PASSWORD"),
        "{out}"
    );
    assert!(out.contains("set it in .env (see .env.example)"), "{out}");
}

#[test]
fn every_yaml_file_reads_back_identically_under_yaml_1_1() {
    let corpus = corpus();
    let files = files_with_suffix(corpus.path(), &[".yaml", ".yml"]);
    let script = workspace_root().join("tests/validators/yaml11.py");
    let out = tool("python")
        .arg(&script)
        .args(&files)
        .output()
        .expect("run PyYAML");
    assert!(
        out.status.success(),
        "PyYAML failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml11: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("json");
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&text).expect("YAML 1.2 parse");
        let ours = serde_json::Value::Array(docs);
        let theirs = &yaml11[&f.display().to_string()];
        assert_eq!(
            &ours,
            theirs,
            "{} reads differently under YAML 1.1 (PyYAML) and YAML 1.2",
            f.display()
        );
    }
    // The hazards really are in the corpus, as strings, in both readers.
    let fixture = corpus.path().join("fixture-yaml11/prod/compose.yaml");
    let theirs = &yaml11[&fixture.display().to_string()][0]["services"]["hazards"];
    for (i, v) in YAML11_HAZARDS.iter().enumerate() {
        assert_eq!(
            theirs["environment"][format!("HAZARD_{i}")],
            serde_json::Value::String((*v).into()),
            "hazard {v:?}"
        );
    }
    assert_eq!(theirs["ports"][0], "127.0.0.1:2222:22");
}

#[test]
fn yamllint_passes() {
    let corpus = corpus();
    let files = files_with_suffix(corpus.path(), &[".yaml", ".yml"]);
    let config = workspace_root().join("tests/validators/yamllint.yaml");
    let (ok, out) = run(tool("yamllint")
        .arg("--strict")
        .arg("-c")
        .arg(&config)
        .arg("-f")
        .arg("parsable")
        .args(&files));
    assert!(ok, "yamllint found errors:\n{out}");
    assert!(venv().join("bin/yamllint").exists());
}

/// The Debian-package bootstrap the operations tests use works: `promtool` and `nginx`
/// run from the unpacked packages and report the versions recorded in the stamp.
#[test]
fn debian_tools_bootstrap() {
    let prom = stackdsl_tests::debian_package(&["prometheus"]);
    let (ok, text) = stackdsl_tests::run(
        std::process::Command::new(prom.join("usr/bin/promtool")).arg("--version"),
    );
    assert!(ok && text.contains("promtool, version"), "{text}");
    let nginx = stackdsl_tests::debian_package(&["nginx", "nginx-common"]);
    let (ok, text) =
        stackdsl_tests::run(std::process::Command::new(nginx.join("usr/sbin/nginx")).arg("-v"));
    assert!(ok && text.contains("nginx version"), "{text}");
    assert!(nginx.join("etc/nginx/mime.types").is_file());
}
