//! noex: clustered actor nodes that form a cluster over a gossip port (seed `002_*.txt`,
//! "Production Deployment Guide" of noex distribution).
//!
//! - **dev** (Compose): a seed node and two workers joined by `CLUSTER_SEEDS`
//!   (`noex-seed@noex-seed:<cluster port>`, derived) and a shared `CLUSTER_SECRET` from `.env`.
//! - **staging** (Kubernetes): a 3-node StatefulSet behind a headless Service.
//! - **prod** (Kubernetes): 5 nodes, two seeds, a quorum-safe disruption budget, an
//!   autoscaler that never drops below a majority, a ServiceMonitor for `/metrics`.
//!
//! Fixed from the guide: the Secret with its value in the manifest (a reference here), the
//! `Deployment` whose pods have no stable names to seed from (a StatefulSet), a PDB of
//! `minAvailable: 2` that an HPA minimum of 2 turns into a blocked drain, an HPA that could
//! scale below the cluster's majority, `:latest` images, probes on numeric ports, and the
//! missing security contexts and resource limits.

use stackdsl::model::{Alert, MetricFamily, Monitoring};
use stackdsl::prelude::*;

/// Where noex images are pushed.
pub fn registry() -> Registry {
    Registry::new("ghcr.io/noex")
}

/// The released node version staging and prod run.
pub const VERSION: &str = "0.9.0";

/// The Secret holding the cluster's shared secret.
pub const SECRETS: Secrets = Secrets::external("noex-secrets");

/// The noex stack for `env`.
pub fn noex(env: Env) -> Stack {
    let targets = match env {
        Env::Dev => vec![Target::Compose],
        Env::Staging => vec![Target::Kubernetes],
        Env::Prod => vec![Target::Kubernetes, Target::GitHubActions],
    };
    let mut s = Stack::new("noex", env);
    s.targets(targets)
        .ci(Ci::node("20", PackageManager::Npm))
        .monitoring(if env == Env::Dev {
            Monitoring::prometheus()
        } else {
            Monitoring::default()
        });
    let gossip = Port::tcp("cluster", 4369);
    let health = Port::http("health", 8080);
    let secret = SECRETS
        .key("cluster-secret")
        .var_name("NOEX_CLUSTER_SECRET")
        .describe("Shared secret cluster members authenticate each other with");
    let nodes = match env {
        Env::Dev | Env::Staging => 3,
        Env::Prod => 5,
    };
    let node = Service::new("noex")
        .image(
            registry()
                .image("noex-node")
                .tag(if env == Env::Dev { "dev" } else { VERSION }),
        )
        // The image CI builds and pushes; Compose builds it locally in dev.
        .build(Build::new("."))
        .port(gossip)
        .port(health)
        .replicas(nodes)
        .cluster(
            Cluster::new(gossip)
                .secret("CLUSTER_SECRET", &secret)
                .seeds(if env == Env::Prod { 2 } else { 1 })
                .graceful_shutdown(30)
                .pre_stop_delay(5),
        )
        .env("CLUSTER_PORT", gossip.number)
        .env("HEALTH_PORT", health.number)
        .liveness(
            Probe::http_get("/health", health)
                .initial_delay(10)
                .period(30)
                .timeout(10)
                .failure_threshold(3),
        )
        .readiness(
            Probe::http_get("/ready", health)
                .initial_delay(5)
                .period(10)
                .timeout(5)
                .failure_threshold(3),
        )
        // The guide's `getMetrics()`: members report the peers they are connected to,
        // which the member-down alerts compare with the members Prometheus sees up.
        .metrics(
            Metrics::new(health)
                .path("/metrics")
                .interval(15)
                .peers_gauge("noex_connected_nodes", "Number of connected nodes")
                .family(MetricFamily::gauge(
                    "noex_cluster_status",
                    "Cluster status (1=running, 0=other)",
                ))
                .family(MetricFamily::counter(
                    "noex_remote_calls_total",
                    "Total remote calls",
                ))
                .family(MetricFamily::gauge(
                    "noex_remote_calls_pending",
                    "Pending remote calls",
                ))
                .alert(Alert::member_down()),
        )
        .mount(Mount::scratch("/tmp"))
        // node:20-alpine's `node` user, as the guide's Dockerfile sets with `USER node`.
        .security(Security::restricted().run_as_user(1000))
        .resources(
            Resources::requests(Cpu::m(100), Memory::mi(256)).limits(Cpu::m(500), Memory::mi(512)),
        )
        .apply(|node| match env {
            Env::Dev => node.publish(gossip, gossip.number).publish(health, 8081),
            Env::Staging => node,
            // Scale on load, never below a majority (3 of 5) plus the one a drain may take.
            Env::Prod => node.autoscale(Autoscale::between(4, 10).cpu(70).memory(80)),
        });
    s.add(node);
    s
}
