//! A stack assembled from other teams' work, through the public API only:
//!
//! - tsdev's tracing component (`stacks::tsdev::tracing`), called like any function;
//! - the whole SrvThreds stack, included under the prefix `threds`, with its engine
//!   scaled and one setting overridden — each override an explicit call below;
//! - a service of our own that reads the engine and exports traces.
//!
//! `cargo run -p platform-consumer` writes `examples/platform-consumer/out/`.

use stackdsl::prelude::*;

/// The platform stack for `env`.
pub fn platform(env: Env) -> Stack {
    let targets = match env {
        Env::Dev => vec![Target::Compose],
        Env::Staging | Env::Prod => vec![Target::Kubernetes],
    };
    let mut s = Stack::new("platform", env);
    s.targets(targets);

    // Another team's component: a function that adds services and returns an endpoint.
    let traces = stacks::tsdev::tracing(&mut s);

    // Another team's whole stack, under a prefix so its names cannot clash with ours.
    let threds = s.include(stacks::srvthreds::srvthreds(env), Some("threds"));
    let engine = threds.service("engine").expect("SrvThreds has an engine");
    // Overrides are explicit: we run more engines and want quieter logs.
    s.update(engine, |b| {
        b.replicas(if env == Env::Dev { 1 } else { 6 })
            .replace_env("LOG_LEVEL", "warn")
    });

    // Our own service.
    let http = Port::http("http", 8080);
    s.add(
        Service::new("portal")
            .image(
                Registry::new("ghcr.io/platform")
                    .image("portal")
                    .tag("0.3.0"),
            )
            .port(http)
            .env("ENGINE_URL", engine.endpoint(stacks::srvthreds::HTTP).url())
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", traces.otlp.url())
            .liveness(Probe::http_get("/healthz", http))
            .readiness(Probe::http_get("/readyz", http).period(5))
            .mount(Mount::scratch("/tmp"))
            .security(Security::restricted().run_as_user(10001))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(128))
                    .limits(Cpu::m(500), Memory::mi(256)),
            )
            .replicas(if env == Env::Dev { 1 } else { 2 }),
    );
    s
}
