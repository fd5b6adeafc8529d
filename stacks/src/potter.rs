//! Potter: a Go service of the Potter framework with Postgres (HA, behind PgBouncer), NATS,
//! Kafka and tracing (seed `003_*.txt`, "Production Deployment Best Practices").
//!
//! - **dev** (Compose): single-node Postgres, PgBouncer, NATS and Kafka, the tracing pair,
//!   and the service built from source.
//! - **staging**/**prod** (Kubernetes + Terraform): the service as manifests (probes on
//!   8080, metrics on 9090, HPA 3–10); Postgres with streaming replicas (CloudNativePG), a
//!   NATS cluster (the NATS chart) and Kafka (Strimzi), installed by Terraform; PgBouncer as
//!   manifests in front of Postgres. The guide's Ingress stays an Ingress, served by
//!   ingress-nginx (named explicitly); Secrets are synced from GCP Secret Manager by the
//!   External Secrets Operator (one remote secret per key), and Flux deploys staging from
//!   `main` and prod from release tags.
//!
//! The guide's environment, typed: `DATABASE_URL` through PgBouncer (password by
//! reference, not `user:pass`), `NATS_URL`, `KAFKA_BROKERS`, `JAEGER_ENDPOINT`,
//! `JWT_SECRET` as a secret reference. Migrations: the guide's
//! `goose -dir migrations postgres "$DATABASE_URL" up` before every new version serves.

use stackdsl::catalog::{Kafka, Nats, PgBouncer, Postgres};
use stackdsl::model::{Alert, HttpMetrics, Monitoring, Quantile, Window};
use stackdsl::prelude::*;

/// Where Potter images are pushed.
pub fn registry() -> Registry {
    Registry::new("ghcr.io/potter")
}

/// The released version staging and prod run.
pub const VERSION: &str = "0.14.2";

/// The Secret holding every Potter secret.
pub const SECRETS: Secrets = Secrets::external("potter-secrets");

/// The Potter stack for `env`.
pub fn potter(env: Env) -> Stack {
    let targets = match env {
        Env::Dev => vec![Target::Compose],
        Env::Staging => vec![Target::Kubernetes, Target::Terraform],
        Env::Prod => vec![Target::Kubernetes, Target::Terraform, Target::GitHubActions],
    };
    let mut s = Stack::new("potter", env);
    s.targets(targets)
        .ci(Ci::go("1.23")
            .generate_check("potter-gen check --proto api/service.proto --output .")
            .repository("https://github.com/potter/product-service.git"))
        .kubernetes(|k| {
            k.routes(RouteApi::ingress(IngressController::ingress_nginx()))
                .secret_store(
                    SecretStore::namespaced("gcp-secret-manager")
                        .prefix(format!("potter-{env}-"))
                        .remote_key(RemoteKey::per_key("-")),
                )
                .gitops(GitOps::flux(Flux::new()))
        })
        // Prometheus and Grafana beside the service in dev, with the same alert rules.
        .monitoring(if env == Env::Dev {
            Monitoring::prometheus().grafana()
        } else {
            Monitoring::default()
        });
    let prod = env == Env::Prod;

    let pg = s.backing(
        Postgres::new(
            "potter",
            SECRETS
                .key("postgres-password")
                .describe("Password of the `potter` Postgres role (URL-safe characters)"),
        )
        .when(prod, |pg| pg.read_replicas(2).storage(Memory::gi(50))),
    );
    let pool = s.backing(PgBouncer::new(&pg).replicas(if prod { 2 } else { 1 }));
    let nats = s.backing(Nats::new().replicas(if env == Env::Dev { 1 } else { 3 }));
    let kafka = s.backing(Kafka::new().replicas(if env == Env::Dev { 1 } else { 3 }));
    let traces = crate::tsdev::tracing(&mut s);

    let http = Port::http("http", 8080).service_port(80);
    let metrics = Port::http("metrics", 9090);
    let service = Service::new("product-service")
        .image(registry().image("product-service").tag(if env == Env::Dev {
            "dev"
        } else {
            VERSION
        }))
        // The image CI builds and pushes; Compose builds it locally in dev.
        .build(Build::new("."))
        .port(http)
        .port(metrics)
        .env("DATABASE_URL", pool.url().path("?sslmode=disable"))
        .config("DATABASE_MAX_CONNECTIONS", "100")
        .config("DATABASE_MAX_IDLE_CONNECTIONS", "10")
        .env("NATS_URL", nats.url())
        .env("KAFKA_BROKERS", kafka.brokers())
        .env(
            "JAEGER_ENDPOINT",
            traces.jaeger_collector.url().path("/api/traces"),
        )
        .env("OTLP_ENDPOINT", traces.otlp.url())
        .config("TRACING_SAMPLING_RATE", if prod { "0.1" } else { "1" })
        .env("METRICS_PORT", metrics.number)
        .env(
            "JWT_SECRET",
            SECRETS
                .key("jwt-secret")
                .describe("Key signing JWTs (rotate every 90 days)"),
        )
        .config(
            "CORS_ALLOWED_ORIGINS",
            if prod {
                "https://app.example.com"
            } else {
                "https://app.staging.example.com"
            },
        )
        .liveness(
            Probe::http_get("/health", http)
                .initial_delay(30)
                .period(10)
                .timeout(5)
                .failure_threshold(3),
        )
        .readiness(
            Probe::http_get("/ready", http)
                .initial_delay(5)
                .period(5)
                .timeout(3)
                .failure_threshold(2),
        )
        // The guide's alerts, fixed: the error rate is a share of requests (its expression
        // was 5xx per second), and the latency quantile is taken over the histogram's
        // rate (its expression had no `_bucket` series and no rate).
        .metrics(
            Metrics::new(metrics)
                .interval(15)
                .http(HttpMetrics::standard())
                .alert(
                    Alert::error_rate(50)
                        .window(Window::minutes(5))
                        .after(Window::minutes(5)),
                )
                .alert(
                    Alert::latency(Quantile::P95, 1000)
                        .window(Window::minutes(5))
                        .after(Window::minutes(5)),
                ),
        )
        // The guide's pre-deployment step, run before every new version serves (the image
        // ships goose and `migrations/`); the URL is the service's own.
        .migrations(Migration::command([
            "goose",
            "-dir",
            "migrations",
            "postgres",
            "$(DATABASE_URL)",
            "up",
        ]))
        // A static Go binary on a distroless base: no shell or client for Compose to probe with.
        .health_tool(HealthTool::None)
        .security(Security::restricted().run_as_user(65532))
        .resources(
            Resources::requests(Cpu::m(250), Memory::mi(256)).limits(Cpu::m(500), Memory::mi(512)),
        )
        .apply(|service| match env {
            Env::Dev => service.publish(http, 8080),
            Env::Staging | Env::Prod => {
                let (host, issuer) = if prod {
                    ("products.potter.example.com".to_owned(), "letsencrypt-prod")
                } else {
                    (
                        format!("products.{env}.potter.example.com"),
                        "letsencrypt-staging",
                    )
                };
                service
                    .replicas(3)
                    .autoscale(Autoscale::between(3, 10).cpu(70))
                    .expose(Route::host(host, http).tls(ClusterIssuer::new(issuer)))
            }
        });
    s.add(service);
    s
}
