//! Easy Flow: a FastAPI app with Celery workers (seed `004_*.txt`, "Деплойментный гайд").
//!
//! - **dev** (Compose): the app built from source, Postgres and Redis (password, AOF),
//!   a Celery worker and beat.
//! - **staging** (Kubernetes + Terraform): the app tier as manifests in `easyflow-staging`,
//!   Postgres as a CloudNativePG cluster and Redis from Valkey's chart, installed by
//!   Terraform.
//! - **prod** (Compose + Kubernetes + Terraform): the guide's single-host
//!   `docker-compose.prod.yml` (app ×3 behind nginx, worker ×2, beat), and the cluster
//!   shape in namespace `easyflow` (HPA 3–10, routes with TLS) with Postgres and Redis
//!   installed by Terraform as in staging.
//!
//! On Kubernetes the guide's Ingress becomes Gateway API routes on the stack's own Gateway
//! (Envoy Gateway): its nginx rate limits, timeouts, headers, gzip and ciphers become
//! route filters and Envoy Gateway policies, and what they cannot express (the bursts, the
//! zone the API and webhook routes share) is listed in the Kubernetes README. Secrets are
//! synced from Vault by the External Secrets Operator (`vault-backend`, one remote secret
//! per environment), and Argo CD deploys staging automatically and prod on a manual sync.
//!
//! Fixed from the guide: `password` in the ConfigMap's `DATABASE_URL` and the Secret with
//! its values (all secrets are references), the Redis the app reaches without the password
//! the workers use (one URL, derived), three app replicas publishing one host port, the
//! `latest` image, probes through a `curl` the image does not ship, a beat that could be
//! scaled past one instance, and missing security contexts and limits.

use stackdsl::catalog::{Postgres, Redis};
use stackdsl::model::{Backup, HttpMetrics, Monitoring, Schedule};
use stackdsl::prelude::*;

/// Where Easy Flow images are pushed.
pub fn registry() -> Registry {
    Registry::new("ghcr.io/easyflow")
}

/// The released version staging and prod run.
pub const VERSION: &str = "2.3.1";

/// The Secret holding every Easy Flow secret.
pub const SECRETS: Secrets = Secrets::external("easyflow-secrets");

fn targets(env: Env) -> Vec<Target> {
    match env {
        Env::Dev => vec![Target::Compose],
        Env::Staging => vec![Target::Kubernetes, Target::Terraform],
        Env::Prod => vec![
            Target::Compose,
            Target::Kubernetes,
            Target::Terraform,
            Target::GitHubActions,
        ],
    }
}

/// The Easy Flow stack for `env`.
pub fn easyflow(env: Env) -> Stack {
    let prod = env == Env::Prod;
    let namespace = if prod {
        "easyflow".to_owned()
    } else {
        format!("easyflow-{env}")
    };
    let mut s = Stack::new("easyflow", env);
    s.targets(targets(env))
        .in_namespace(namespace)
        .edge(edge())
        .ci(Ci::python("3.12", "app").repository("https://github.com/easyflow/easyflow-deploy.git"))
        .kubernetes(|k| {
            k.routes(RouteApi::gateway(Gateway::own("eg")))
                .secret_store(
                    SecretStore::cluster("vault-backend").prefix(format!("easyflow/{env}/")),
                )
                .gitops(GitOps::argo_cd(ArgoCd::new()))
        })
        // The guide's Prometheus and Grafana, wherever Compose runs the app.
        .monitoring(if targets(env).contains(&Target::Compose) {
            Monitoring::prometheus().grafana()
        } else {
            Monitoring::default()
        });

    let pg = s.backing(
        Postgres::new(
            "easyflow",
            SECRETS
                .key("postgres-password")
                .describe("Password of the `easyflow` Postgres role (URL-safe characters)"),
        )
        .when(prod, |pg| pg.storage(Memory::gi(50)).read_replicas(1))
        // The guide's `pg_dump` CronJob: daily at 02:00, dumps older than 7 days deleted.
        .when(env != Env::Dev, |pg| {
            pg.backup(
                Backup::new(Schedule::cron("0 2 * * *"))
                    .keep_days(7)
                    .volume(Memory::gi(if prod { 100 } else { 20 })),
            )
        }),
    );
    let redis = s.backing(
        Redis::new(
            SECRETS
                .key("redis-password")
                .describe("Password Redis requires from every client (URL-safe characters)"),
        )
        .when(prod, |redis| redis.storage(Memory::gi(10))),
    );

    let image = registry()
        .image("easyflow")
        .tag(if env == Env::Dev { "dev" } else { VERSION });
    // Everything the app and the Celery processes share: one image, one configuration.
    let python = |name: &str| {
        Service::new(name)
            .image(image.clone())
            // The image CI builds and pushes; Compose builds it locally in dev.
            .build(Build::new("."))
            .env("DATABASE_URL", pg.url().scheme("postgresql+asyncpg"))
            .env("REDIS_URL", redis.url(0))
            .config("LOG_LEVEL", if prod { "INFO" } else { "DEBUG" })
            .env(
                "OPENAI_API_KEY",
                SECRETS.key("openai-api-key").describe("OpenAI API key"),
            )
            .env(
                "TELEGRAM_BOT_TOKEN",
                SECRETS
                    .key("telegram-bot-token")
                    .describe("Telegram bot token"),
            )
            .env(
                "SECRET_KEY",
                SECRETS
                    .key("secret-key")
                    .describe("Key signing sessions (SessionMiddleware)"),
            )
            .env("PYTHONUNBUFFERED", "1")
            .mount(Mount::scratch("/tmp"))
            // The image's `appuser` has no fixed uid; any non-root uid can read /app.
            .security(Security::restricted().run_as_user(10001))
            .health_tool(HealthTool::Python)
    };

    let http = Port::http("http", 8000).service_port(80);
    let health = Probe::http_get("/health/", http);
    // The guide's nginx locations: the API and its webhooks share one zone of 10 r/s per
    // client with different bursts; health checks are not limited.
    let routes = |app: ServiceBuilder<HasImage>| {
        let host = if prod {
            "api.easyflow.dev".to_owned()
        } else {
            format!("api.{env}.easyflow.dev")
        };
        let issuer = if prod {
            "letsencrypt-prod"
        } else {
            "letsencrypt-staging"
        };
        let zone = RateLimit::per_client("api_limit", 10);
        let route = |path: &str| {
            Route::host(host.clone(), http)
                .tls(ClusterIssuer::new(issuer))
                .path(path)
        };
        app.expose(
            route("/api/")
                .limit(zone.clone().burst(20))
                .timeouts(Timeouts::all(60)),
        )
        .expose(route("/api/v1/messaging/webhook/").limit(zone.burst(100)))
        .expose(route("/health"))
    };
    s.add(
        python("app")
            .port(http)
            .config("WORKERS", "4")
            .args([
                "uvicorn",
                "main:app",
                "--host",
                "0.0.0.0",
                "--port",
                &http.number.to_string(),
            ])
            // Alembic (the guide names no migration step; the app's schema is Alembic's) with
            // the app's own `DATABASE_URL`, before every new version serves.
            .migrations(Migration::command(["alembic", "upgrade", "head"]))
            .liveness(health.clone().initial_delay(30).period(30).timeout(10))
            .readiness(health.period(10).timeout(5))
            // The guide's scrape job `easyflow-app` reads `/metrics` on the app port.
            .metrics(
                Metrics::new(http)
                    .interval(15)
                    .http(HttpMetrics::standard()),
            )
            // OpenAI and Telegram are on the internet.
            .kubernetes(|k| k.egress(Egress::internet().port(443)))
            .resources(
                Resources::requests(Cpu::m(500), Memory::mi(512))
                    .limits(Cpu::m(1000), Memory::gi(1)),
            )
            .apply(|app| match env {
                Env::Dev => app.publish(http, 8000),
                Env::Staging => app
                    .replicas(2)
                    .autoscale(Autoscale::between(2, 4).cpu(70).memory(80))
                    .apply(routes),
                Env::Prod => app
                    .replicas(3)
                    .autoscale(Autoscale::between(3, 10).cpu(70).memory(80))
                    .apply(routes),
            }),
    );

    let celery = |b: ServiceBuilder<HasImage>| {
        // Celery answers `inspect ping` only from a live worker; beat is checked by its schedule file.
        b.command(["celery", "-A", "app.core.celery"])
            .kubernetes(|k| k.egress(Egress::internet().port(443)))
            .resources(
                Resources::requests(Cpu::m(250), Memory::mi(256))
                    .limits(Cpu::m(1000), Memory::mi(768)),
            )
    };
    let ping = Probe::exec([
        "sh",
        "-c",
        "celery -A app.core.celery inspect ping --timeout 5 -d celery@$HOSTNAME",
    ])
    .initial_delay(30)
    .period(60)
    .timeout(15);
    s.add(
        celery(python("celery-worker"))
            .args(["worker", "--loglevel=info", "--concurrency=4"])
            .liveness(ping.clone())
            .readiness(ping)
            .replicas(if env == Env::Dev { 1 } else { 2 }),
    );
    let schedule = Probe::exec(["test", "-s", "/tmp/celerybeat-schedule"])
        .initial_delay(30)
        .period(60);
    s.add(
        celery(python("celery-beat"))
            .args([
                "beat",
                "--loglevel=info",
                "--schedule",
                "/tmp/celerybeat-schedule",
            ])
            .liveness(schedule.clone())
            .readiness(schedule)
            // Two schedulers would run every periodic task twice.
            .replicas(1)
            .kubernetes(|k| k.disruption(Disruption::None)),
    );
    s
}

/// The guide's `nginx.conf` settings shared by every route: TLS 1.2/1.3 with its ciphers,
/// its security headers, HSTS for a year and gzip. Compose runs it in prod (the single-host
/// file); in Kubernetes the headers and HSTS become the routes' response-header filters,
/// gzip and the routes' limits Envoy Gateway `BackendTrafficPolicy`s, TLS versions and
/// ciphers its `ClientTrafficPolicy`.
fn edge() -> Edge {
    Edge::nginx()
        .certificates("/etc/easyflow/tls")
        .tls_ciphers("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384")
        .header("X-Frame-Options", "DENY")
        .header("X-Content-Type-Options", "nosniff")
        .header("X-XSS-Protection", "1; mode=block")
        .hsts(31_536_000)
        .gzip(Gzip::types([
            "text/plain",
            "application/json",
            "application/javascript",
            "text/css",
        ]))
}
