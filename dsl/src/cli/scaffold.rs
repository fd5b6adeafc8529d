//! `stack-<env> init <dir>`: a new stacks crate that builds and synthesizes as it is.

use std::path::Path;

use crate::render::Document;

/// Where this checkout's `stackdsl` crate is (the scaffold depends on it by path until a
/// release is published).
const DSL_PATH: &str = env!("CARGO_MANIFEST_DIR");

/// The files of a new stacks crate named `name` (a Cargo package name).
pub fn files(name: &str) -> Vec<Document> {
    let dsl = Path::new(DSL_PATH).display().to_string().replace('\\', "/");
    let module = name.replace('-', "_");
    let cargo = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
# This stackdsl checkout; switch to a released version once one is published. The
# manifests are typed against Kubernetes 1.33 (its default `k8s-v1-33` feature); for
# another version: `default-features = false, features = ["k8s-v1-35"]`.
stackdsl = {{ path = "{dsl}" }}

# A workspace of its own, so the crate builds wherever it is created.
[workspace]
"#
    );
    let lib = format!(
        r#"//! The stacks of this repository: one function per system, `fn(Env) -> Stack`.

use stackdsl::catalog::Postgres;
use stackdsl::cli::StackFn;
use stackdsl::prelude::*;

/// Every stack, in the order they are synthesized.
pub const ALL: &[StackFn] = &[app];

/// A web service and its Postgres database, routed through a Gateway in staging and prod.
pub fn app(env: Env) -> Stack {{
    let targets = match env {{
        Env::Dev => vec![Target::Compose],
        Env::Staging | Env::Prod => vec![Target::Kubernetes],
    }};
    let mut s = Stack::new("{name}", env);
    s.targets(targets)
        // Gateway API routes on the stack's own Gateway (GatewayClass `eg`, Envoy Gateway):
        // the default, written out. `RouteApi::ingress(IngressController::…)` chooses
        // Ingresses instead; `Gateway::existing(namespace, name)` attaches to a shared one.
        .kubernetes(|k| k.routes(RouteApi::gateway(Gateway::own("eg"))));
    let db = s.backing(Postgres::new(
        "app",
        SecretRef::new("{name}-secrets", "postgres-password").describe("Password of the app role"),
    ));
    let http = Port::http("http", 8080);
    s.add(
        Service::new("web")
            .image(Registry::new("ghcr.io/example").image("{name}-web").tag("0.1.0"))
            .build(Build::new("."))
            .port(http)
            .env("DATABASE_URL", db.url())
            .readiness(Probe::http_get("/ready", http))
            .liveness(Probe::http_get("/health", http))
            .mount(Mount::scratch("/tmp"))
            .security(Security::restricted().run_as_user(10001))
            .resources(Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256)))
            .replicas(match env {{
                Env::Dev => 1,
                Env::Staging => 2,
                Env::Prod => 3,
            }})
            .apply(|web| match env {{
                Env::Dev => web.publish(http, 8080),
                Env::Staging => web.expose(
                    Route::host("{name}.staging.example.com", http)
                        .tls(ClusterIssuer::new("letsencrypt-staging")),
                ),
                Env::Prod => web.expose(
                    Route::host("{name}.example.com", http)
                        .tls(ClusterIssuer::new("letsencrypt-prod"))
                        .rate_limit(50),
                ),
            }}),
    );
    s
}}
"#
    );
    let bin = |env: &str, variant: &str| {
        format!(
            "//! Synthesizes every stack for `{env}` into `out/`.\nfn main() -> std::process::ExitCode {{\n    stackdsl::cli::main(stackdsl::model::Env::{variant}, {module}::ALL)\n}}\n"
        )
    };
    let readme = format!(
        "# {name}\n\n```sh\ncargo run --bin stack-prod     # synthesize prod into out/\ncargo run --bin stack-dev      # dev: out/{name}/dev/compose.yaml\n```\n\n\
         Stacks live in `src/lib.rs`. `cargo run --bin stack-prod -- --check` fails with a diff\n\
         when `out/` is stale; `cargo run --bin stack-prod -- init-ci` adds a workflow that runs it\n\
         on every pull request.\n"
    );
    vec![
        Document::new("Cargo.toml", cargo),
        Document::new("src/lib.rs", lib),
        Document::new("src/bin/stack-dev.rs", bin("dev", "Dev")),
        Document::new("src/bin/stack-staging.rs", bin("staging", "Staging")),
        Document::new("src/bin/stack-prod.rs", bin("prod", "Prod")),
        Document::new("README.md", readme),
        Document::new(".gitignore", "/target\n.env\n"),
    ]
}
