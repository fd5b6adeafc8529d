//! The peer workload of `shared/bench/README.md` written as a user writes a stack: N
//! services, each with a ConfigMap, a Deployment, a Service and an HPA, one Namespace and
//! one Ingress routing `svc-<i>.example.com` to each service.
//!
//! The workload forbids every field it does not list, so the stack opts out of the
//! Kubernetes target's derived hardening explicitly (see the comments below); a real stack
//! would keep the defaults.

use stackdsl::prelude::*;

/// Name of the stack (and of its namespace, and the `app.kubernetes.io/part-of` label).
pub const NAME: &str = "bench";

/// The workload with `n` services `svc-1` … `svc-<n>`.
pub fn workload(n: usize) -> Stack {
    // The container listens on 3000; the Service exposes it as port 80.
    let http = Port::http("http", 3000).service_port(80);
    let registry = Registry::new("registry.example.com");
    let mut s = Stack::new(NAME, Env::Prod)
        .in_namespace(NAME)
        .targets([Target::Kubernetes])
        // No NetworkPolicies, PDBs, Pod Security labels, spread rules, rollout strategy,
        // checksums or pull policy: the workload lists none. No kustomization.yaml either:
        // like the peers' output, the folder holds Kubernetes objects only.
        .kubernetes(|k| k.plain().without_kustomization());
    // The marker line of every file names the command that regenerates it.
    s.regenerate = Some(format!(
        "cargo run --release -p stackdsl-bench -- synth {n} <dir>"
    ));
    for i in 1..=n {
        let name = format!("svc-{i}");
        s.add(
            Service::new(name.as_str())
                .image(registry.image(name.as_str()).tag("1.0.0"))
                .container_name("app")
                .port(http)
                .env("NODE_ENV", "production")
                .env("PORT", "3000")
                .config("LOG_LEVEL", "info")
                .config("SERVICE_NAME", name.as_str())
                .config("TIMEOUT_MS", "5000")
                // The workload's container reads none of its ConfigMap through variables.
                .config_map_use(ConfigMapUse::ReadByApp)
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
                .expose(Ingress::host(format!("{name}.example.com"), http)),
        );
    }
    s
}
