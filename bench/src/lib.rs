//! The peer workload of `shared/bench/README.md` written as a user writes a stack: N
//! services, each with a ConfigMap, a Deployment, a Service and an HPA, one Namespace and
//! one Ingress routing `svc-<i>.example.com` to each service (of the cluster's default
//! IngressClass, as the workload's Ingress names none).
//!
//! The workload forbids every field it does not list, so the stack opts out of the
//! Kubernetes target's derived hardening explicitly (see the comments below); a real stack
//! would keep the defaults.

use std::path::Path;
use std::time::{Duration, Instant};

use stackdsl::emit::{self, Output, Scope};
use stackdsl::prelude::*;
use stackdsl::render::k8s;

/// Name of the stack (and of its namespace, and the `app.kubernetes.io/part-of` label).
pub const NAME: &str = "bench";

/// The workload with `n` services `svc-1` … `svc-<n>`.
pub fn workload(n: usize) -> Stack {
    // The container listens on 3000; the Service exposes it as port 80.
    let http = Port::http("http", 3000).service_port(80);
    let registry = Registry::new("registry.example.com");
    let mut s = Stack::new(NAME, Env::Prod);
    s.in_namespace(NAME)
        .targets([Target::Kubernetes])
        // No NetworkPolicies, PDBs, Pod Security labels, spread rules, rollout strategy,
        // checksums or pull policy: the workload lists none. No kustomization.yaml either:
        // like the peers' output, the folder holds Kubernetes objects only.
        .kubernetes(|k| {
            k.plain()
                .without_kustomization()
                // The workload's one Ingress names no IngressClass.
                .routes(RouteApi::ingress(IngressController::cluster_default(
                    "ingress",
                )))
        });
    // The marker line of every file names the command that regenerates it.
    s.regenerate = Some(format!(
        "cargo run --release -p stackdsl-bench -- synth {n} <dir>"
    ));
    for i in 1..=n {
        let name = format!("svc-{i}");
        s.add(
            Service::new(name.as_str())
                .image(registry.image(name.as_str()).tag("1.0.0"))
                .port(http)
                .env("NODE_ENV", "production")
                .env("PORT", "3000")
                .config("LOG_LEVEL", "info")
                .config("SERVICE_NAME", name.as_str())
                .config("TIMEOUT_MS", "5000")
                // The container is `app`, and reads none of its ConfigMap through variables;
                // the peers' pods keep Kubernetes' service links (no `enableServiceLinks`).
                .kubernetes(|k| {
                    k.main_container_name("app")
                        .config_map_use(ConfigMapUse::ReadByApp)
                        .service_links("benchmark workload: the peers' pods keep the default")
                })
                .resources(
                    Resources::requests(Cpu::m(100), Memory::mi(128))
                        .limits(Cpu::m(500), Memory::mi(512)),
                )
                .liveness(Probe::http_get("/health", http))
                .readiness(Probe::http_get("/ready", http))
                .replicas(3)
                .autoscale(Autoscale::between(2, 10).cpu(70))
                // The workload's pods set only `runAsNonRoot`.
                .security(Security::non_root_only(
                    "benchmark workload: the peers' objects set only runAsNonRoot",
                ))
                .expose(Route::host(format!("{name}.example.com"), http)),
        );
    }
    s
}

/// The phases of one synthesis as `stack-prod` runs it, in order. Rendering is streamed
/// ([`k8s::render_checked`]): each file's objects are built, cross-checked and serialized
/// before the next file's, so those three share one phase.
pub const PHASES: [&str; 4] = ["build", "validate", "render+check+serialize", "write"];

/// The phases of a staged synthesis ([`synthesize_staged`]).
pub const STAGED_PHASES: [&str; 5] = ["build", "validate", "render+check", "serialize", "write"];

/// What a user's `stack-prod` binary does, phase by phase, through the public API: build
/// the workload with `n` services, validate it, build, cross-check and serialize its
/// Kubernetes objects, and write them (atomically, with the manifest) under `dir`.
/// Returns the time of each phase of [`PHASES`]; `after` is called with each phase's index
/// as it ends.
pub fn synthesize(
    n: usize,
    dir: &Path,
    mut after: impl FnMut(usize),
) -> Result<Vec<Duration>, String> {
    let mut laps = Laps::new(&mut after);
    let mut lap = |_: stackdsl::synth::Phase| laps.lap();
    // One environment alone: the workload has no pipeline and no architecture README.
    let options = stackdsl::synth::Options::default()
        .single_env()
        .observer(&mut lap);
    let run = stackdsl::synthesize(Env::Prod, &[|_: Env| workload(n)], options)
        .map_err(|e| format!("invalid stack:\n{e}"))?;
    write(dir, run.outputs)?;
    laps.lap();
    Ok(laps.times)
}

/// [`synthesize`] with the Kubernetes phases apart, to show where the time goes: every
/// object is built and cross-checked ([`k8s::manifests`], [`k8s::cross_check`]), then all
/// are serialized ([`k8s::render_manifests`]). Returns the times of [`STAGED_PHASES`].
pub fn synthesize_staged(n: usize, dir: &Path) -> Result<Vec<Duration>, String> {
    let mut laps = Laps::new(|_| {});
    let stack = workload(n);
    laps.lap();
    let plan = stackdsl::validate(&stack).map_err(|e| format!("invalid stack:\n{e}"))?;
    laps.lap();
    let manifests = k8s::manifests(&plan);
    let problems = k8s::cross_check(&stack.name, &manifests);
    if let Some(p) = problems.first() {
        return Err(format!("{} broken references, first: {p}", problems.len()));
    }
    laps.lap();
    let docs = k8s::render_manifests(&plan, &manifests);
    drop(manifests);
    laps.lap();
    let outputs = docs
        .into_iter()
        .map(|doc| Output {
            stack: NAME.to_owned(),
            env: Env::Prod,
            doc,
        })
        .collect();
    write(dir, outputs)?;
    laps.lap();
    Ok(laps.times)
}

/// Phase times, taken as each phase ends.
struct Laps<F: FnMut(usize)> {
    times: Vec<Duration>,
    start: Instant,
    after: F,
}

impl<F: FnMut(usize)> Laps<F> {
    fn new(after: F) -> Self {
        Laps {
            times: Vec::new(),
            start: Instant::now(),
            after,
        }
    }

    fn lap(&mut self) {
        self.times.push(self.start.elapsed());
        (self.after)(self.times.len() - 1);
        // The callback's own time counts in no phase.
        self.start = Instant::now();
    }
}

/// Writes the outputs under `dir` as `stack-prod` does (atomically, with the manifest).
fn write(dir: &Path, outputs: Vec<Output>) -> Result<(), String> {
    let scope = Scope {
        env: Env::Prod,
        stacks: None,
    };
    emit::synthesize(dir, &outputs, &scope).map_err(|e| e.to_string())?;
    Ok(())
}
