//! Stacks as a library: a consumer crate composes other teams' stacks and components,
//! clashes name both origins, and `init` scaffolds a crate that builds as it is.

use std::path::Path;
use std::process::Command;

use stackdsl::cli::Cli;
use stackdsl::prelude::*;
use stackdsl::validate;
use stackdsl::validate::ErrorKind;
use stackdsl_tests::{CliRun, target_dir, tree, workspace_root};

fn run_cli(cli: Cli, stacks: &[StackFn], args: &[&str]) -> CliRun {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let argv = std::iter::once("x").chain(args.iter().copied());
    let code = cli.run(stacks, argv, &mut out, &mut err, false);
    CliRun {
        code,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}

fn consumer_cli() -> Cli {
    Cli::new(Env::Prod).package("platform-consumer")
}

#[test]
fn the_consumer_crate_output_is_committed_and_current() {
    let out = workspace_root().join("examples/platform-consumer/out");
    let r = run_cli(
        consumer_cli(),
        &[platform_consumer::platform],
        &["--check", "--out", out.to_str().unwrap()],
    );
    assert_eq!(
        r.code, 0,
        "run `cargo run -p platform-consumer`:\n{}{}",
        r.stdout, r.stderr
    );
    let portal = std::fs::read_to_string(out.join("platform/prod/k8s/20-portal.yaml")).unwrap();
    assert!(
        portal.contains("# Regenerate: cargo run -p platform-consumer\n"),
        "markers name the consumer's command"
    );
}

#[test]
fn the_consumer_imports_overrides_and_adds() {
    let s = platform_consumer::platform(Env::Prod);
    validate(&s).expect("valid");
    let names: Vec<&str> = s.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "jaeger",
            "otel-collector",
            "threds-redis",
            "threds-rabbitmq",
            "threds-mongo",
            "threds-engine",
            "portal"
        ]
    );
    let engine = s.service("threds-engine").unwrap();
    assert_eq!(engine.replicas, 6, "the override is applied");
    assert!(
        engine
            .env
            .iter()
            .any(|v| v.name == "LOG_LEVEL" && v.value == EnvValue::Plain("warn".into()))
    );
    // The imported engine's URLs follow its imported, renamed dependencies.
    let redis_url = engine.env.iter().find(|v| v.name == "REDIS_URL").unwrap();
    assert_eq!(
        redis_url
            .value
            .services()
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>(),
        ["threds-redis", "threds-redis"]
    );
}

fn tsdev_micro(env: Env) -> Stack {
    let mut s = Stack::new("merged", env);
    s.include(stacks::tsdev::microservices(env), None);
    s.include(stacks::easyflow::easyflow(env), None);
    s
}

#[test]
fn two_imported_postgres_clash_naming_both_origins() {
    let errors = validate(&tsdev_micro(Env::Dev)).unwrap_err();
    let clash: Vec<_> = errors
        .iter()
        .filter(|e| e.kind == ErrorKind::DuplicateName && e.path == "merged.services[postgres]")
        .collect();
    assert_eq!(clash.len(), 1, "{errors}");
    let m = &clash[0].message;
    assert!(
        m.contains("declared at stacks/src/tsdev.rs:")
            && m.contains("and again at stacks/src/easyflow.rs:"),
        "{m}"
    );
    // With a prefix, the same import is valid.
    let mut s = Stack::new("merged", Env::Dev);
    s.include(stacks::tsdev::microservices(Env::Dev), Some("tsdev"));
    s.include(stacks::easyflow::easyflow(Env::Dev), Some("flow"));
    validate(&s).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn include_renames_volumes_and_files_and_rewires_handles_given_out_earlier() {
    let http = Port::http("http", 80);
    let mut lib = Stack::new("lib", Env::Dev);
    let db = lib.add(
        Service::new("db")
            .image(Image::new("acme/db").tag("1"))
            .port(http)
            .mount(Mount::persistent("data", "/data"))
            .mount(Mount::file("conf", "/etc/db.conf", "x")),
    );
    let mut s = Stack::new("app", Env::Dev);
    // A handle obtained before the include still works after it.
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1"))
            .env("DB", db.endpoint(http).url()),
    );
    let inc = s.include(lib, Some("lib"));
    validate(&s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inc.service("db").unwrap().name(), "lib-db");
    let compose = stackdsl_tests::render(&s).remove(0).contents;
    assert!(compose.contains("DB: http://lib-db:80"), "{compose}");
    assert!(
        compose.contains("lib-data:/data") && compose.contains("source: lib-conf"),
        "{compose}"
    );
}

fn cargo(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        // Share compiled dependencies across runs (the scaffold's own target would rebuild
        // k8s-openapi every time).
        .env("CARGO_TARGET_DIR", target_dir().join("scaffold"))
        .output()
        .expect("run cargo");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn init_scaffolds_a_crate_that_builds_and_synthesizes_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("shop-stacks");
    let r = stackdsl_tests::cli(
        Env::Prod,
        stacks::ALL,
        &["init", crate_dir.to_str().unwrap()],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let files: Vec<String> = tree(&crate_dir).into_keys().collect();
    assert_eq!(
        files,
        [
            ".gitignore",
            "Cargo.toml",
            "README.md",
            "src/bin/stack-dev.rs",
            "src/bin/stack-prod.rs",
            "src/bin/stack-staging.rs",
            "src/lib.rs"
        ]
    );
    for env in ["dev", "prod"] {
        let (ok, out) = cargo(
            &crate_dir,
            &["run", "--quiet", "--bin", &format!("stack-{env}")],
        );
        assert!(ok, "stack-{env} failed in the scaffold:\n{out}");
    }
    assert!(crate_dir.join("out/shop-stacks/dev/compose.yaml").exists());
    assert!(
        crate_dir
            .join("out/shop-stacks/prod/k8s/20-web.yaml")
            .exists()
    );
    // The new stack routes through the Gateway API.
    let routes =
        std::fs::read_to_string(crate_dir.join("out/shop-stacks/prod/k8s/40-gateway.yaml"))
            .expect("the scaffold's prod routes");
    assert!(
        routes.contains("kind: HTTPRoute") && routes.contains("kind: Gateway"),
        "{routes}"
    );
    assert!(
        !crate_dir
            .join("out/shop-stacks/prod/k8s/40-ingress.yaml")
            .exists()
    );
    let (ok, out) = cargo(
        &crate_dir,
        &["run", "--quiet", "--bin", "stack-prod", "--", "--check"],
    );
    assert!(ok, "{out}");
    // Refusals: a folder with files in it, and a name that cannot be a stack name.
    let again = stackdsl_tests::cli(
        Env::Prod,
        stacks::ALL,
        &["init", crate_dir.to_str().unwrap()],
    );
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("is not empty"), "{}", again.stderr);
    let bad = stackdsl_tests::cli(
        Env::Prod,
        stacks::ALL,
        &["init", dir.path().join("Shop_Stacks").to_str().unwrap()],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("contains uppercase letters"),
        "{}",
        bad.stderr
    );
}

/// `cargo add stackdsl` just works: a crate whose only dependency is `stackdsl` builds
/// (stackdsl picks the Kubernetes API version itself, feature `k8s-v1-33` by default) and
/// reads a Deployment through the re-exported k8s-openapi types. Offline, with the
/// workspace's lock file, so it resolves the same versions and never hits the network.
#[test]
fn a_crate_depending_only_on_stackdsl_builds_offline() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("only-stackdsl");
    std::fs::create_dir_all(root.join("src")).unwrap();
    let dsl = workspace_root().join("dsl").display().to_string();
    let manifest = |extra: &str| {
        format!(
            "[package]\nname = \"only-stackdsl\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nstackdsl = {{ path = {dsl:?}{extra} }}\n\n[workspace]\n"
        )
    };
    std::fs::write(root.join("Cargo.toml"), manifest("")).unwrap();
    std::fs::copy(workspace_root().join("Cargo.lock"), root.join("Cargo.lock")).unwrap();
    std::fs::write(
        root.join("src/main.rs"),
        r#"use stackdsl::prelude::*;
use stackdsl::render::k8s::Object;

fn main() {
    let mut s = Stack::new("solo", Env::Staging);
    s.targets([Target::Kubernetes]);
    s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")).replicas(2)
        .resources(Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(200), Memory::mi(256))));
    let plan = stackdsl::validate(&s).unwrap_or_else(|e| panic!("{e}"));
    // The k8s-openapi types, through stackdsl's re-export.
    let replicas = stackdsl::render::k8s::manifests(&plan).objects().find_map(|o| match o {
        Object::Deployment(d) => {
            let d: &stackdsl::k8s_openapi::api::apps::v1::Deployment = d;
            d.spec.as_ref().and_then(|s| s.replicas)
        }
        _ => None,
    });
    std::process::exit(if replicas == Some(2) { 0 } else { 1 });
}
"#,
    )
    .unwrap();
    let (ok, out) = cargo(&root, &["run", "--offline", "--quiet"]);
    assert!(ok, "a crate with only `stackdsl` failed:\n{out}");
    // Control: without stackdsl's default Kubernetes version, k8s-openapi refuses to build,
    // which is the failure the default feature fixes.
    std::fs::write(
        root.join("Cargo.toml"),
        manifest(", default-features = false"),
    )
    .unwrap();
    let (ok, out) = cargo(&root, &["build", "--offline", "--quiet"]);
    assert!(!ok, "built without a Kubernetes version:\n{out}");
    assert!(
        out.contains("None of the v1_* features are enabled"),
        "{out}"
    );
}
