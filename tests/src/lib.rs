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
pub mod tools;

pub use tools::machine_tool;

/// Files of a Kubernetes folder that hold custom resources: checked against their CRD
/// schemas ([`crd_validate`], the Prometheus Operator models, the operators' CRDs in
/// `tests/validators/crds/`), not by kubernetes-validate.
pub const CUSTOM_RESOURCE_FILES: &[&str] = &[
    "10-external-secrets.yaml",
    "25-backing-services.yaml",
    "40-gateway.yaml",
    "50-monitoring.yaml",
];

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

/// Builds, validates and renders `stacks` for `env` as the CLI does
/// ([`stackdsl::synthesize`]); panics with every error if invalid.
pub fn outputs(env: Env, stacks: &[StackFn]) -> Vec<Output> {
    match stackdsl::synthesize(env, stacks, stackdsl::synth::Options::default()) {
        Ok(run) => run.outputs,
        Err(e) => panic!("stacks for {env} are invalid:\n{e}"),
    }
}

/// Validates `stack` and renders it in its own environment (no target that spans
/// environments); panics with every error if invalid.
pub fn render(stack: &stackdsl::model::Stack) -> Vec<stackdsl::render::Document> {
    let plan =
        stackdsl::validate(stack).unwrap_or_else(|e| panic!("{} is invalid:\n{e}", stack.name));
    stackdsl::render(&plan)
        .unwrap_or_else(|e| panic!("{} renders broken references:\n{e}", stack.name))
}

/// Validates `stack` and builds its Kubernetes objects; panics with every error if invalid.
pub fn manifests(stack: &stackdsl::model::Stack) -> stackdsl::render::k8s::Manifests {
    let plan =
        stackdsl::validate(stack).unwrap_or_else(|e| panic!("{} is invalid:\n{e}", stack.name));
    stackdsl::render::k8s::manifests(&plan)
}

/// The files of stack function `f` in `env`, rendered as the CLI does (with the other
/// environments a target spans); panics with every error if invalid.
pub fn render_fn(f: StackFn, env: Env) -> Vec<stackdsl::render::Document> {
    outputs(env, &[f]).into_iter().map(|o| o.doc).collect()
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

/// The stacks of the example crates under `examples/`.
pub const EXAMPLES: &[StackFn] = &[
    platform_consumer::platform,
    bank_of_anthos::bank_of_anthos,
    voting_app::voting_app,
];

/// A folder with every committed stack and example synthesized for every environment, plus
/// the fixture stacks — the corpus the external validators run on.
pub fn corpus() -> tempfile::TempDir {
    // Not a dot-folder: checkov skips hidden directories.
    let dir = tempfile::Builder::new()
        .prefix("stackdsl-corpus-")
        .tempdir()
        .expect("temp dir");
    // One run per environment: a run owns every stack of its environment, so a second run
    // with other stacks would (correctly) remove the first run's files.
    let all: Vec<StackFn> = stacks::ALL
        .iter()
        .chain(fixtures::ALL)
        .chain(EXAMPLES)
        .copied()
        .collect();
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
const REQUIREMENTS_HCL2: &str = include_str!("../validators/requirements-hcl2.txt");

/// Python with the real python-hcl2 first on its path (see `requirements-hcl2.txt`).
pub fn hcl2_python() -> Command {
    let mut cmd = tool("python");
    cmd.env("PYTHONPATH", venv().join("hcl2"));
    cmd
}

fn install_validators() -> PathBuf {
    let dir = target_dir().join("validators");
    let venv = dir.join("venv");
    fs::create_dir_all(&dir).expect("create target/validators");
    // Test binaries run in parallel: one installs, the others wait.
    let lock = fs::File::create(dir.join(".lock")).expect("create lock file");
    lock.lock().expect("lock target/validators");
    let stamp = venv.join(".stackdsl-requirements");
    let stamp_text = format!("{REQUIREMENTS}{REQUIREMENTS_HCL2}");
    if fs::read_to_string(&stamp).is_ok_and(|s| s == stamp_text) {
        return venv;
    }
    let req = dir.join("requirements.txt");
    fs::write(&req, REQUIREMENTS).expect("write requirements");
    let req_hcl2 = dir.join("requirements-hcl2.txt");
    fs::write(&req_hcl2, REQUIREMENTS_HCL2).expect("write requirements");
    let pip = |extra: &[String], file: &Path| -> Vec<String> {
        let mut v: Vec<String> = [
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
        ]
        .map(String::from)
        .to_vec();
        v.extend_from_slice(extra);
        v.extend(["-r".to_owned(), file.display().to_string()]);
        v
    };
    let python = venv.join("bin/python").display().to_string();
    let steps: [(&str, Vec<String>); 3] = [
        (
            "python3",
            vec![
                "-m".into(),
                "venv".into(),
                "--clear".into(),
                venv.display().to_string(),
            ],
        ),
        (&python, pip(&[], &req)),
        (
            &python,
            pip(
                &[
                    "--target".to_owned(),
                    venv.join("hcl2").display().to_string(),
                ],
                &req_hcl2,
            ),
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
    fs::write(&stamp, stamp_text).expect("write stamp");
    venv
}

/// Every validation error of `stack` as `(kind, path, "message — hint")`; empty if valid.
pub fn validation_errors(
    stack: &stackdsl::model::Stack,
) -> Vec<(stackdsl::validate::ErrorKind, String, String)> {
    stackdsl::validate(stack)
        .err()
        .map(|e| {
            e.iter()
                .map(|e| {
                    (
                        e.kind,
                        e.path.to_string(),
                        format!("{} — {}", e.message, e.hint),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
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

/// Terraform provider schemas, offline: the CDKTF provider packages pinned to the provider
/// versions the generated `versions.tf` allows, fetched from npm on first use into
/// `target/validators/npm/` (only the files the schema check reads are unpacked).
/// Returns the `--schema KIND:TYPE:FILE` arguments of `tests/validators/tf_schema.py`.
pub fn terraform_schemas() -> Vec<String> {
    static SCHEMAS: OnceLock<Vec<String>> = OnceLock::new();
    SCHEMAS
        .get_or_init(|| {
            // helm provider 3.1.1, kubernetes provider 2.38.0 and http provider 3.5.0.
            let helm = npm_package(
                "@cdktf/provider-helm@12.1.2",
                &["lib/provider/index.js", "lib/release/index.js"],
            );
            let k8s_files = [
                ("provider", "kubernetes", "lib/provider/index.js"),
                (
                    "data",
                    "kubernetes_namespace_v1",
                    "lib/data-kubernetes-namespace-v1/index.js",
                ),
                ("resource", "kubernetes_manifest", "lib/manifest/index.js"),
                (
                    "resource",
                    "kubernetes_service_account_v1",
                    "lib/service-account-v1/index.js",
                ),
                ("resource", "kubernetes_role_v1", "lib/role-v1/index.js"),
                (
                    "resource",
                    "kubernetes_role_binding_v1",
                    "lib/role-binding-v1/index.js",
                ),
            ];
            let k8s = npm_package(
                "@cdktf/provider-kubernetes@12.1.1",
                &k8s_files.map(|(_, _, f)| f),
            );
            let http = npm_package(
                "@cdktf/provider-http@10.0.1",
                &["lib/provider/index.js", "lib/data-http/index.js"],
            );
            [
                ("provider", "helm", helm.join("lib/provider/index.js")),
                (
                    "resource",
                    "helm_release",
                    helm.join("lib/release/index.js"),
                ),
                ("provider", "http", http.join("lib/provider/index.js")),
                ("data", "http", http.join("lib/data-http/index.js")),
            ]
            .into_iter()
            .chain(k8s_files.map(|(kind, typ, f)| (kind, typ, k8s.join(f))))
            .flat_map(|(kind, typ, path)| {
                [
                    "--schema".to_owned(),
                    format!("{kind}:{typ}:{}", path.display()),
                ]
            })
            .collect()
        })
        .clone()
}

/// The Serverless Framework's own configuration schema, offline: `serverless@3.40.0` (the
/// last release that ships its source on npm; v4's package only downloads a binary) and the
/// `lodash@4.17.21` its schema handler uses, fetched from npm on first use; the schema is
/// assembled by `tests/validators/serverless_schema.js` with the package's own
/// `ConfigSchemaHandler`, AWS provider and `httpApi` event, and written to
/// `target/validators/serverless-3.40.0.schema.json`.
pub fn serverless_schema() -> PathBuf {
    static SCHEMA: OnceLock<PathBuf> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let sls = npm_package("serverless@3.40.0", &["package.json", "lib"]);
            let lodash = npm_package("lodash@4.17.21", &["package.json", "lodash.js"]);
            let out = Command::new(machine_tool("node"))
                .arg(workspace_root().join("tests/validators/serverless_schema.js"))
                .arg(&sls)
                .arg(&lodash)
                .output()
                .unwrap_or_else(|e| panic!("cannot run node (Node.js is needed): {e}"));
            assert!(
                out.status.success(),
                "assembling the Serverless schema failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let path = target_dir().join("validators/serverless-3.40.0.schema.json");
            fs::write(&path, &out.stdout).expect("write the Serverless schema");
            path
        })
        .clone()
}

/// `vercel.json`'s type as Vercel publishes it: `VercelConfig` of `@vercel/config@0.7.2`
/// (generated from the vercel.json OpenAPI schema), and a pinned TypeScript compiler
/// (`typescript@5.9.3`) to check a file against it, both fetched from npm on first use.
/// Returns `(types.d.ts, tsc.js)`.
pub fn vercel_types() -> (PathBuf, PathBuf) {
    let config = npm_package("@vercel/config@0.7.2", &["package.json", "dist/types.d.ts"]);
    let ts = npm_package(
        "typescript@5.9.3",
        &[
            "package.json",
            "lib/tsc.js",
            "lib/_tsc.js",
            "lib/lib.es5.d.ts",
            "lib/lib.decorators.d.ts",
            "lib/lib.decorators.legacy.d.ts",
        ],
    );
    (config.join("dist/types.d.ts"), ts.join("lib/tsc.js"))
}

/// Fetches an npm package tarball and unpacks `files` (or folders) of it; returns the
/// package folder.
fn npm_package(spec: &str, files: &[&str]) -> PathBuf {
    let dir = target_dir()
        .join("validators/npm")
        .join(spec.replace(['@', '/'], "_"));
    let done = dir.join(".complete");
    // Complete, and unpacked with every file this call needs (an earlier call may have
    // asked for fewer).
    let ready = || done.exists() && files.iter().all(|f| dir.join("package").join(f).exists());
    if ready() {
        return dir.join("package");
    }
    fs::create_dir_all(&dir).expect("create npm folder");
    let lock = fs::File::create(dir.join(".lock")).expect("lock file");
    lock.lock().expect("lock npm folder");
    if ready() {
        return dir.join("package");
    }
    let out = Command::new(machine_tool("npm"))
        .args(["pack", spec, "--silent", "--pack-destination"])
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run npm to fetch {spec} (Node.js and the npm registry are needed): {e}")
        });
    assert!(
        out.status.success(),
        "npm pack {spec} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let tarball = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mut tar = Command::new("tar");
    tar.arg("xzf").arg(dir.join(&tarball)).arg("-C").arg(&dir);
    for f in files {
        tar.arg(format!("package/{f}"));
    }
    let (ok, text) = run(&mut tar);
    assert!(ok, "unpacking {tarball} failed: {text}");
    let _ = fs::remove_file(dir.join(&tarball));
    fs::write(&done, spec).expect("write stamp");
    dir.join("package")
}

/// Tools from Debian packages (`promtool` from `prometheus`, `nginx` from `nginx` and
/// `nginx-common`), fetched on first use with `apt-get download` into
/// `target/validators/debian/<package>/` and unpacked with `dpkg -x` (no root, no system
/// install). Returns the unpacked root; the tool is at e.g. `<root>/usr/bin/promtool`.
///
/// The version is whatever the machine's Debian release ships (bookworm: prometheus
/// 2.42.0, nginx 1.22.1); it is written to `<root>/.version` and is part of test output.
/// Panics with the reason when the package cannot be fetched: these tests never skip.
pub fn debian_package(packages: &[&str]) -> PathBuf {
    let dir = target_dir()
        .join("validators/debian")
        .join(packages.join("+"));
    let stamp = dir.join(".version");
    fs::create_dir_all(&dir).expect("create target/validators/debian");
    let lock = fs::File::create(dir.with_extension("lock")).expect("create lock file");
    lock.lock().expect("lock debian package folder");
    if stamp.exists() {
        return dir;
    }
    let download = dir.join(".download");
    let _ = fs::remove_dir_all(&download);
    fs::create_dir_all(&download).expect("create download folder");
    let fetch = || {
        run(Command::new("apt-get")
            .arg("download")
            .args(packages)
            .current_dir(&download))
    };
    let (mut ok, mut text) = fetch();
    if !ok {
        // A machine whose package lists were never fetched cannot locate anything: fetch
        // them once (needs root, as a CI machine has) and try again.
        let (updated, update_text) = run(Command::new("apt-get").args(["update", "-qq"]));
        let (retry_ok, retry_text) = fetch();
        ok = retry_ok;
        text = format!(
            "{text}\n`apt-get update` {}:\n{update_text}\nretry:\n{retry_text}",
            if updated { "succeeded" } else { "failed" }
        );
    }
    assert!(
        ok,
        "`apt-get download {}` failed (Debian's package registry is needed; these tests never skip):\n{text}",
        packages.join(" ")
    );
    let mut versions = String::new();
    let mut debs: Vec<PathBuf> = fs::read_dir(&download)
        .expect("read download folder")
        .map(|e| e.expect("entry").path())
        .collect();
    debs.sort();
    for deb in debs {
        let (ok, text) = run(Command::new("dpkg").arg("-x").arg(&deb).arg(&dir));
        assert!(ok, "`dpkg -x {}` failed:\n{text}", deb.display());
        versions.push_str(&deb.file_name().expect("name").to_string_lossy());
        versions.push('\n');
    }
    fs::remove_dir_all(&download).expect("remove download folder");
    fs::write(&stamp, versions).expect("write stamp");
    dir
}

/// Installs pinned npm packages *with their dependencies* (`npm install`, for tools that are
/// more than one package, like `mermaid` with `jsdom`) on first use into
/// `target/validators/npm/<specs>/`; returns its `node_modules`. Panics when npm or the
/// registry is unreachable: these tests never skip.
pub fn npm_install(specs: &[&str]) -> PathBuf {
    npm_install_in(&specs.join("+").replace(['@', '/'], "_"), specs)
}

/// [`npm_install`] into `target/validators/npm/<folder>/`, for a list of packages too long
/// to name the folder; reinstalls when the list changes.
pub fn npm_install_in(folder: &str, specs: &[&str]) -> PathBuf {
    let dir = target_dir().join("validators/npm").join(folder);
    fs::create_dir_all(&dir).expect("create npm folder");
    let lock = fs::File::create(dir.with_extension("lock")).expect("lock file");
    lock.lock().expect("lock npm folder");
    let done = dir.join(".complete");
    if fs::read_to_string(&done).ok().as_deref() != Some(specs.join("\n").as_str()) {
        let (ok, text) = run(Command::new(machine_tool("npm"))
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--ignore-scripts",
                "--prefix",
            ])
            .arg(&dir)
            .args(specs));
        assert!(
            ok,
            "`npm install {}` failed (Node.js and the npm registry are needed; these tests never skip):\n{text}",
            specs.join(" ")
        );
        fs::write(&done, specs.join("\n")).expect("write stamp");
    }
    dir.join("node_modules")
}

/// Runs the `mermaid` package's own parser (11.12.0, with jsdom 26.1.0 for `window` and
/// `document`) over every ```` ```mermaid ```` block of `files`; returns (success, output).
pub fn mermaid_parse(files: &[PathBuf]) -> (bool, String) {
    let modules = npm_install(&["mermaid@11.12.0", "jsdom@26.1.0"]);
    run(Command::new(machine_tool("node"))
        .arg(workspace_root().join("tests/validators/mermaid_parse.mjs"))
        .arg(modules)
        .args(files))
}

/// The schema packages [`crd_validate`] checks custom resources against, pinned (with the
/// `@kubernetes-models` runtime they import and the TypeScript compiler that checks their
/// interfaces).
pub const CRD_PACKAGES: &[&str] = &[
    "@kubernetes-models/gateway-api@2.0.0",
    "@kubernetes-models/envoy-gateway@2.0.0",
    "@kubernetes-models/external-secrets@2.0.0",
    "@kubernetes-models/argo-cd@4.0.0",
    "@kubernetes-models/flux-cd@4.0.0",
    "@kubernetes-models/cloudnative-pg@2.0.0",
    "@kubernetes-models/base@6.0.1",
    "@kubernetes-models/validate@5.0.2",
    "@kubernetes-models/apimachinery@3.0.2",
    "kubernetes-models@5.1.0",
    "typescript@5.9.3",
];

/// Checks custom resources — Gateway API, Envoy Gateway, External Secrets, Argo CD, Flux,
/// CloudNativePG —
/// against the CRD schemas of the pinned [`CRD_PACKAGES`] with
/// `tests/validators/crd_validate.mjs`: each package's compiled validator (types, enums,
/// patterns, ranges, required fields) and TypeScript's excess-property check against its
/// `I<Kind>` interface (unknown fields). `docs` are `(file, document)`; a document of a
/// group without a package fails. Returns (success, output). Installs the packages from
/// npm on first use into `target/validators/npm/` and panics when it cannot: these tests
/// never skip.
pub fn crd_validate(docs: &[(String, serde_json::Value)]) -> (bool, String) {
    let modules = npm_install_in("kubernetes-models-crds", CRD_PACKAGES);
    let input = tempfile::Builder::new()
        .suffix(".json")
        .tempfile()
        .expect("temp file");
    let json: Vec<serde_json::Value> = docs
        .iter()
        .map(|(file, doc)| serde_json::json!({"file": file, "doc": doc}))
        .collect();
    fs::write(input.path(), serde_json::to_string(&json).expect("json")).expect("write docs");
    let lock = fs::File::create(modules.with_extension("check-lock")).expect("lock file");
    lock.lock().expect("lock the check file");
    run(Command::new(machine_tool("node"))
        .arg(workspace_root().join("tests/validators/crd_validate.mjs"))
        .arg(&modules)
        .arg(input.path()))
}

/// Parses `markdown` as GitHub-flavoured Markdown with micromark and its GFM extension
/// (`mdast-util-from-markdown@2.1.0`, `micromark-extension-gfm@3.0.0`,
/// `mdast-util-gfm@3.1.0`, fetched from npm on first use) and returns the syntax tree
/// (mdast, without positions).
pub fn gfm_tree(markdown: &str) -> serde_json::Value {
    let modules = npm_install(&[
        "mdast-util-from-markdown@2.1.0",
        "micromark-extension-gfm@3.0.0",
        "mdast-util-gfm@3.1.0",
    ]);
    let file = tempfile::Builder::new()
        .suffix(".md")
        .tempfile()
        .expect("temp file");
    fs::write(file.path(), markdown).expect("write markdown");
    let out = Command::new(machine_tool("node"))
        .arg(workspace_root().join("tests/validators/gfm_parse.mjs"))
        .arg(modules)
        .arg(file.path())
        .output()
        .expect("run node (Node.js is needed)");
    assert!(
        out.status.success(),
        "gfm_parse.mjs failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("mdast JSON")
}

/// The lines of `tests/validators/checkov-skips.txt` that are not comments, as
/// `(check id, reason)`: each line gives its reason after the id.
pub fn checkov_skip_lines() -> Vec<(String, String)> {
    fs::read_to_string(workspace_root().join("tests/validators/checkov-skips.txt"))
        .expect("read tests/validators/checkov-skips.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (id, reason) = l.split_once(' ').unwrap_or((l, ""));
            (id.to_owned(), reason.to_owned())
        })
        .collect()
}

/// The checks `tests/validators/checkov-skips.txt` skips.
pub fn checkov_skips() -> Vec<String> {
    checkov_skip_lines().into_iter().map(|(id, _)| id).collect()
}

/// What checkov's Kubernetes framework reports on `dir` with the skip list applied.
#[derive(Debug)]
pub struct CheckovReport {
    /// `<check id> <resource> <file>` of every failed check.
    pub failures: Vec<String>,
    /// `(check id, resource)` of every passed check.
    pub passed: Vec<(String, String)>,
    /// checkov's JSON output, for messages.
    pub text: String,
}

/// Runs checkov (pinned, from the validators' venv) on the Kubernetes files under `dir`.
pub fn checkov_kubernetes(dir: &Path) -> CheckovReport {
    let out = tool("checkov")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .env("BC_SKIP_MAPPING", "TRUE")
        .args([
            "--framework",
            "kubernetes",
            "--skip-download",
            "--compact",
            "-o",
            "json",
            "--skip-check",
            &checkov_skips().join(","),
            "-d",
        ])
        .arg(dir)
        .output()
        .expect("run checkov");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("checkov output is not JSON ({e}):\n{text}"));
    let reports = match report {
        serde_json::Value::Array(reports) => reports,
        one => vec![one],
    };
    let mut failures = Vec::new();
    let mut passed = Vec::new();
    for r in &reports {
        for f in r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            failures.push(format!(
                "{} {} {}",
                f["check_id"], f["resource"], f["file_path"]
            ));
        }
        for p in r["results"]["passed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            passed.push((
                p["check_id"].as_str().unwrap_or_default().to_owned(),
                p["resource"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    CheckovReport {
        failures,
        passed,
        text,
    }
}
