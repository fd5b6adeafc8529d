//! A large generated stack for the crash-safety test (`tests/tests/crash.rs`), which kills
//! the `crash-synth` binary while it writes one.

use stackdsl::emit::Output;
use stackdsl::prelude::*;

/// Name of the generated stack.
pub const NAME: &str = "big";

/// A stack of about `n` services rendered for Compose and Kubernetes (a file per service,
/// plus large shared files: `compose.yaml`, the network policies). `variant` changes the
/// content of every file; variant 1 also drops every seventh service and adds others, so
/// synthesizing one variant over another creates, updates and removes files.
pub fn stack(n: usize, variant: u32) -> Stack {
    let mut s = Stack::new(NAME, Env::Prod);
    s.targets([Target::Compose, Target::Kubernetes]);
    let http = Port::http("http", 8080);
    let password = SecretRef::new("big-secrets", "db-password").describe("Shared test password");
    let mut previous: Option<ServiceRef> = None;
    for i in 0..n + (variant as usize) * n / 10 {
        let dropped = variant == 1 && i % 7 == 3;
        if dropped || (variant == 0 && i >= n) {
            continue;
        }
        let mut b = Service::new(format!("svc-{i:05}"))
            .image(Image::new(format!("acme/svc-{i}")).tag(format!("1.{variant}.{i}")))
            .port(http)
            .config("INSTANCE", format!("{i}-{variant}"))
            .env("DB_PASSWORD", &password)
            .readiness(Probe::http_get("/ready", http))
            .replicas(1 + (i % 3) as u32)
            .resources(
                Resources::requests(Cpu::m(10 + variant), Memory::mi(16))
                    .limits(Cpu::m(100), Memory::mi(64)),
            );
        if let Some(p) = &previous {
            b = b.env("UPSTREAM_URL", p.endpoint(http).url().path("/v1"));
        }
        previous = Some(s.add(b));
    }
    s
}

/// The validated, rendered outputs of [`stack`]; panics if the stack is invalid.
pub fn outputs(n: usize, variant: u32) -> Vec<Output> {
    let s = stack(n, variant);
    let plan = stackdsl::validate(&s).unwrap_or_else(|e| panic!("the big stack is invalid:\n{e}"));
    let docs = stackdsl::render(&plan)
        .unwrap_or_else(|e| panic!("the big stack renders broken references:\n{e}"));
    docs.into_iter()
        .map(|doc| Output {
            stack: NAME.to_owned(),
            env: Env::Prod,
            doc,
        })
        .collect()
}
