//! Helpers shared by the integration tests: synthesis into temp folders, folder snapshots,
//! fixture stacks, and the external validators.
//!
//! The validators (docker-compose, PyYAML, yamllint, …) are pinned in
//! `tests/validators/requirements.txt` and installed on first use into a virtualenv under
//! `target/validators/`. Installation failure fails the tests loudly; nothing is skipped.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use stackdsl::cli::StackFn;
use stackdsl::emit::{self, Output, Scope};
use stackdsl::model::Env;

pub mod big;
pub mod fixtures;

/// The workspace root (the folder holding `out/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Cargo's target folder.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds, validates and renders `stacks` for `env`; panics with every error if invalid.
pub fn outputs(env: Env, stacks: &[StackFn]) -> Vec<Output> {
    let built: Vec<_> = stacks.iter().map(|f| f(env)).collect();
    if let Err(e) = stackdsl::validate::validate_all(&built) {
        panic!("stacks for {env} are invalid:\n{e}");
    }
    let mut out = Vec::new();
    for s in &built {
        let docs = stackdsl::render::render(s)
            .unwrap_or_else(|e| panic!("{} ({env}) renders broken references:\n{e}", s.name));
        out.extend(docs.into_iter().map(|doc| Output {
            stack: s.name.clone(),
            env,
            doc,
        }));
    }
    out
}

/// Synthesizes `stacks` for `env` into `dir`.
pub fn synthesize(dir: &Path, env: Env, stacks: &[StackFn]) -> emit::Report {
    let outs = outputs(env, stacks);
    emit::synthesize(dir, &outs, &Scope { env, stacks: None }).expect("synthesis writes")
}

/// What a CLI run printed and returned.
#[derive(Debug)]
pub struct CliRun {
    /// Exit code.
    pub code: u8,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs the CLI in-process with `args` (without the program name), colour off.
pub fn cli(env: Env, stacks: &[StackFn], args: &[&str]) -> CliRun {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = std::iter::once("stack").chain(args.iter().copied());
    let code = stackdsl::cli::run(env, stacks, argv, &mut out, &mut err, false);
    CliRun {
        code,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}

/// Every file under `dir` (relative path → bytes), for before/after comparisons. A symlink
/// is not followed: it is recorded as `symlink -> <target>`.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, rel: &str, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let ft = e.file_type().expect("file type");
            if ft.is_symlink() {
                let target = fs::read_link(e.path()).expect("read link");
                out.insert(
                    child,
                    format!("symlink -> {}", target.display()).into_bytes(),
                );
            } else if ft.is_dir() {
                walk(&e.path(), &child, out);
            } else {
                out.insert(child, fs::read(e.path()).expect("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, "", &mut out);
    out
}

/// Every generated file under `dir` whose name ends with one of `suffixes`.
pub fn files_with_suffix(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    tree(dir)
        .into_keys()
        .filter(|p| suffixes.iter().any(|s| p.ends_with(s)))
        .map(|p| dir.join(p))
        .collect()
}

/// A folder with every committed stack synthesized for every environment, plus the fixture
/// stacks — the corpus the external validators run on.
pub fn corpus() -> tempfile::TempDir {
    // Not a dot-folder: checkov skips hidden directories.
    let dir = tempfile::Builder::new()
        .prefix("stackdsl-corpus-")
        .tempdir()
        .expect("temp dir");
    // One run per environment: a run owns every stack of its environment, so a second run
    // with other stacks would (correctly) remove the first run's files.
    let all: Vec<StackFn> = stacks::ALL.iter().chain(fixtures::ALL).copied().collect();
    for env in Env::ALL {
        synthesize(dir.path(), env, &all);
    }
    dir
}

/// The pinned validators' virtualenv, installed on first use.
pub fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(install_validators)
}

/// A command for a validator installed in the venv, with the venv's `bin` first on `PATH`
/// (so e.g. actionlint finds the pinned shellcheck).
pub fn tool(name: &str) -> Command {
    let bin = venv().join("bin");
    let mut cmd = Command::new(bin.join(name));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(paths).expect("PATH"));
    cmd
}

const REQUIREMENTS: &str = include_str!("../validators/requirements.txt");

fn install_validators() -> PathBuf {
    let dir = target_dir().join("validators");
    let venv = dir.join("venv");
    fs::create_dir_all(&dir).expect("create target/validators");
    // Test binaries run in parallel: one installs, the others wait.
    let lock = fs::File::create(dir.join(".lock")).expect("create lock file");
    lock.lock().expect("lock target/validators");
    let stamp = venv.join(".stackdsl-requirements");
    if fs::read_to_string(&stamp).is_ok_and(|s| s == REQUIREMENTS) {
        return venv;
    }
    let req = dir.join("requirements.txt");
    fs::write(&req, REQUIREMENTS).expect("write requirements");
    let steps: [(&str, Vec<String>); 2] = [
        (
            "python3",
            vec![
                "-m".into(),
                "venv".into(),
                "--clear".into(),
                venv.display().to_string(),
            ],
        ),
        (
            &venv.join("bin/python").display().to_string(),
            vec![
                "-m".into(),
                "pip".into(),
                "install".into(),
                "--disable-pip-version-check".into(),
                "--quiet".into(),
                "-r".into(),
                req.display().to_string(),
            ],
        ),
    ];
    for (prog, args) in steps {
        let out = Command::new(prog).args(&args).output().unwrap_or_else(|e| {
            panic!(
                "cannot run `{prog}` to install the pinned validators: {e}\n\
                 The external-validator tests need Python 3 with venv and pip, and PyPI (or PIP_INDEX_URL) reachable."
            )
        });
        assert!(
            out.status.success(),
            "installing the pinned validators failed: `{prog} {}` exited with {}\n--- stdout\n{}\n--- stderr\n{}\n\
             The external-validator tests need PyPI (or PIP_INDEX_URL) reachable; they never skip.",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fs::write(&stamp, REQUIREMENTS).expect("write stamp");
    venv
}

/// Runs `cmd`, returning (success, combined output).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}
