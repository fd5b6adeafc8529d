//! tsdev: apps built on the tsdev TypeScript framework (seed `000_*.txt`, "tsdev Deployment
//! Guide").
//!
//! Two shapes from the guide:
//! - [`monolith`]: one API server on :3000, traced through an OpenTelemetry collector into
//!   Jaeger;
//! - [`microservices`]: API gateway :3000 → procedure service :3001 → workflow orchestrator
//!   :3002, sharing a Postgres database and a Redis queue, traced the same way.
//!
//! What the guide gets wrong and these stacks do not copy: `:latest` images (every image is
//! pinned), the `DATABASE_URL=postgresql://user:pass@…` literal (the password is a secret
//! reference), ports published on every interface in development (loopback only), Jaeger's
//! and the collector's root-run containers (all containers run hardened).
//!
//! Components ([`tracing`], [`edge`], [`postgres`], [`redis`]) are plain functions other
//! stacks import.

use stackdsl::prelude::*;

/// Where tsdev images are pushed; every built image's name derives from it.
pub fn registry() -> Registry {
    Registry::new("ghcr.io/tsdev")
}

/// The released tsdev version staging and prod run.
pub const VERSION: &str = "1.4.0";

/// The tag an app image runs with in `env`: `dev` for local builds, the release otherwise.
pub fn tag(env: Env) -> &'static str {
    match env {
        Env::Dev => "dev",
        Env::Staging | Env::Prod => VERSION,
    }
}

/// Joins lines, each ending in a newline (config files written in Rust).
fn lines(lines: &[&str]) -> String {
    lines.iter().flat_map(|l| [*l, "\n"]).collect()
}

/// Targets per environment: Compose everywhere (dev, and a small single-host staging/prod).
fn targets(_env: Env) -> [Target; 1] {
    [Target::Compose]
}

/// The tracing pair every tsdev deployment runs: an OpenTelemetry collector receiving OTLP
/// and exporting to Jaeger. Returns the collector's OTLP/HTTP endpoint for apps'
/// `OTEL_EXPORTER_OTLP_ENDPOINT`.
pub fn tracing(s: &mut Stack) -> Endpoint {
    let dev = s.env == Env::Dev;
    let ui = Port::http("ui", 16686);
    let jaeger_otlp = Port::grpc("otlp-grpc", 4317);
    let jaeger_admin = Port::http("admin", 14269);
    let mut jaeger = Service::new("jaeger")
        .image(Image::new("jaegertracing/all-in-one").tag("1.62.0"))
        .port(ui)
        .port(jaeger_otlp)
        .port(jaeger_admin)
        .env("COLLECTOR_OTLP_ENABLED", "true")
        .liveness(Probe::http_get("/", jaeger_admin))
        .readiness(Probe::http_get("/", jaeger_admin).period(5))
        // The image ships no HTTP client, so Compose cannot run the probe inside it.
        .health_tool(HealthTool::None)
        .mount(Mount::scratch("/tmp"))
        .security(Security::restricted().run_as_user(10001))
        .resources(
            Resources::requests(Cpu::m(100), Memory::mi(256)).limits(Cpu::m(500), Memory::mi(512)),
        );
    if dev {
        jaeger = jaeger.publish(ui, 16686);
    }
    let jaeger = s.add(jaeger);

    let otlp_grpc = Port::grpc("otlp-grpc", 4317);
    let otlp_http = Port::http("otlp-http", 4318);
    let metrics = Port::http("metrics", 8888);
    let health = Port::http("health", 13133);
    let config = Template::new()
        .text(lines(&[
            "extensions:",
            "  health_check:",
            &format!("    endpoint: 0.0.0.0:{}", health.number),
            "receivers:",
            "  otlp:",
            "    protocols:",
            "      grpc:",
            &format!("        endpoint: 0.0.0.0:{}", otlp_grpc.number),
            "      http:",
            &format!("        endpoint: 0.0.0.0:{}", otlp_http.number),
            "processors:",
            "  batch: {}",
            "exporters:",
            "  otlp/jaeger:",
        ]))
        .text("    endpoint: ")
        .host(&jaeger)
        .text(":")
        .port(&jaeger.endpoint(jaeger_otlp))
        .text("\n")
        .text(lines(&[
            "    tls:",
            "      insecure: true",
            "service:",
            "  extensions: [health_check]",
            "  telemetry:",
            "    metrics:",
            &format!("      address: 0.0.0.0:{}", metrics.number),
            "  pipelines:",
            "    traces:",
            "      receivers: [otlp]",
            "      processors: [batch]",
            "      exporters: [otlp/jaeger]",
        ]));
    let mut collector = Service::new("otel-collector")
        .image(Image::new("otel/opentelemetry-collector-contrib").tag("0.114.0"))
        .port(otlp_grpc)
        .port(otlp_http)
        .port(metrics)
        .port(health)
        .mount(Mount::file(
            "otel-collector-config",
            "/etc/otelcol-contrib/config.yaml",
            config,
        ))
        .liveness(Probe::http_get("/", health))
        .readiness(Probe::http_get("/", health).period(5))
        // Distroless image: no shell or client for a Compose healthcheck.
        .health_tool(HealthTool::None)
        .depends_on(&jaeger)
        .security(Security::restricted().run_as_user(10001))
        .resources(
            Resources::requests(Cpu::m(50), Memory::mi(128)).limits(Cpu::m(250), Memory::mi(256)),
        );
    if dev {
        collector = collector.publish(otlp_http, 4318);
    }
    s.add(collector).endpoint(otlp_http)
}

/// A Node app of the tsdev framework listening on `http`, with the guide's environment,
/// probes and resources. Callers add their own ports' clients, secrets and replicas.
pub fn node_app(
    env: Env,
    name: &str,
    image: &str,
    http: Port,
    otlp: &Endpoint,
) -> ServiceBuilder<HasImage> {
    let dev = env == Env::Dev;
    let mut app = Service::new(name)
        .image(registry().image(image).tag(tag(env)))
        .port(http)
        .env("NODE_ENV", if dev { "development" } else { "production" })
        .env("PORT", http.number)
        .config("LOG_LEVEL", if dev { "debug" } else { "info" })
        .env("OTEL_SERVICE_NAME", image)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.url())
        .env("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
        .config("OTEL_TRACES_SAMPLER_ARG", if dev { "1" } else { "0.1" })
        .startup(
            Probe::http_get("/health", http)
                .period(5)
                .failure_threshold(12),
        )
        .liveness(Probe::http_get("/health", http))
        .readiness(Probe::http_get("/ready", http).period(5).timeout(3))
        .mount(Mount::scratch("/tmp"))
        // node:20-alpine's `node` user.
        .security(Security::restricted().run_as_user(1000))
        .resources(
            Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(512)),
        );
    if dev {
        app = app.build(
            Build::new(".")
                .dockerfile("Dockerfile")
                .target("production"),
        );
    }
    app
}

/// Replicas of the app tier per environment.
fn app_replicas(env: Env) -> u32 {
    match env {
        Env::Dev => 1,
        Env::Staging => 2,
        Env::Prod => 3,
    }
}

/// The nginx load balancer of the guide's "Horizontal Scaling" section: spreads requests
/// over every replica of `upstream` (`least_conn`), forwarding client addresses. Compose
/// only — Kubernetes routes through its Service and Ingress instead.
pub fn edge(s: &mut Stack, upstream: &Endpoint) -> ServiceRef {
    let http = Port::http("http", 8080);
    let conf = Template::new()
        .text("upstream tsdev_backend {\n    least_conn;\n    server ")
        .host(upstream.service())
        .text(":")
        .port(upstream)
        .text(";\n}\n\n")
        .text(lines(&[
            "server {",
            &format!("    listen {};", http.number),
            "    server_tokens off;",
            "",
            "    location = /healthz {",
            "        access_log off;",
            "        return 200 \"ok\\n\";",
            "    }",
            "",
            "    location / {",
            "        proxy_pass http://tsdev_backend;",
            "        proxy_set_header Host $host;",
            "        proxy_set_header X-Real-IP $remote_addr;",
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "    }",
            "}",
        ]));
    s.add(
        Service::new("edge")
            .image(Image::new("nginxinc/nginx-unprivileged").tag("1.27.3-alpine"))
            .port(http)
            .publish_public(http, 80)
            .mount(Mount::file(
                "edge-nginx-conf",
                "/etc/nginx/conf.d/default.conf",
                conf,
            ))
            .mount(Mount::scratch("/tmp"))
            .readiness(Probe::http_get("/healthz", http).period(5))
            .depends_on(upstream.service())
            // The unprivileged image's `nginx` user.
            .security(Security::restricted().run_as_user(101))
            .resources(
                Resources::requests(Cpu::m(50), Memory::mi(32))
                    .limits(Cpu::m(250), Memory::mi(128)),
            )
            .only_on([Target::Compose]),
    )
}

/// A Postgres database for tsdev's shared state. Returns its handle, port and password.
pub fn postgres(s: &mut Stack, db: &str) -> (ServiceRef, Port, SecretRef) {
    let pg = Port::tcp("postgres", 5432);
    let password = SecretRef::new("tsdev-secrets", "postgres-password")
        .describe("Password of the `tsdev` Postgres role (URL-safe characters)");
    let svc = s.add(
        Service::new("postgres")
            .image(Image::new("postgres").tag("17.2-alpine"))
            .port(pg)
            .env("POSTGRES_DB", db)
            .env("POSTGRES_USER", db)
            .env("POSTGRES_PASSWORD", &password)
            .env("PGDATA", "/var/lib/postgresql/data/pgdata")
            .readiness(Probe::exec(["pg_isready", "-U", db, "-d", db]).period(5))
            .liveness(Probe::exec(["pg_isready", "-U", db, "-d", db]))
            .mount(
                Mount::persistent("postgres-data", "/var/lib/postgresql/data").size(Memory::gi(10)),
            )
            .mount(Mount::scratch("/var/run/postgresql"))
            .mount(Mount::scratch("/tmp"))
            // The image's `postgres` user (uid 70 on Alpine) owns the data directory.
            .security(Security::restricted().run_as_user(70))
            .resources(
                Resources::requests(Cpu::m(250), Memory::mi(256))
                    .limits(Cpu::m(1000), Memory::gi(1)),
            ),
    );
    (svc, pg, password)
}

/// A Redis instance used as tsdev's job queue: append-only persistence, password required.
pub fn redis(s: &mut Stack) -> (ServiceRef, Port, SecretRef) {
    let port = Port::tcp("redis", 6379);
    let password = SecretRef::new("tsdev-secrets", "redis-password")
        .describe("Password Redis requires from every client (URL-safe characters)");
    let svc = s.add(
        Service::new("redis")
            .image(Image::new("redis").tag("7.4-alpine"))
            .port(port)
            .env("REDIS_PASSWORD", &password)
            // redis-cli reads its password from REDISCLI_AUTH, so the probe needs no argument.
            .env("REDISCLI_AUTH", &password)
            .command(["sh", "-c"])
            .args([format!(
                "exec redis-server --port {} --appendonly yes --requirepass \"$REDIS_PASSWORD\"",
                port.number
            )])
            .readiness(Probe::exec(["redis-cli", "ping"]).period(5))
            .liveness(Probe::exec(["redis-cli", "ping"]))
            .mount(Mount::persistent("redis-data", "/data").size(Memory::gi(5)))
            // The image's `redis` user.
            .security(Security::restricted().run_as_user(999))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(128))
                    .limits(Cpu::m(500), Memory::mi(512)),
            ),
    );
    (svc, port, password)
}

/// The monolith: one API server (procedures, workflows and introspection on :3000), traced.
pub fn monolith(env: Env) -> Stack {
    let mut s = Stack::new("tsdev-monolith", env).targets(targets(env));
    let otlp = tracing(&mut s);
    let http = Port::http("http", 3000).service_port(80);
    let mut api = node_app(env, "api", "tsdev-api", http, &otlp)
        .config("RATE_LIMIT_WINDOW_MS", "60000")
        .config("RATE_LIMIT_MAX_REQUESTS", "100")
        .replicas(app_replicas(env));
    match env {
        Env::Dev => api = api.publish(http, 3000),
        Env::Staging | Env::Prod => {
            api = api.env(
                "SENTRY_DSN",
                SecretRef::new("tsdev-secrets", "sentry-dsn")
                    .describe("Sentry DSN errors are reported to"),
            )
        }
    }
    let api = s.add(api);
    if env != Env::Dev {
        edge(&mut s, &api.endpoint(http));
    }
    s
}

/// The microservices: gateway → procedure service → workflow orchestrator, sharing a
/// Postgres database and a Redis queue, traced.
pub fn microservices(env: Env) -> Stack {
    let mut s = Stack::new("tsdev-microservices", env).targets(targets(env));
    let otlp = tracing(&mut s);
    let (pg, pg_port, pg_password) = postgres(&mut s, "tsdev");
    let (queue, queue_port, queue_password) = redis(&mut s);
    let database_url = pg
        .endpoint(pg_port)
        .url()
        .scheme("postgresql")
        .user("tsdev")
        .password(&pg_password)
        .path("/tsdev");
    let redis_url = queue
        .endpoint(queue_port)
        .url()
        .scheme("redis")
        .password(&queue_password);
    let shared = |b: ServiceBuilder<HasImage>| {
        b.env("DATABASE_URL", database_url.clone())
            .config("DATABASE_POOL_MIN", "2")
            .config("DATABASE_POOL_MAX", "10")
            .env("REDIS_URL", redis_url.clone())
            .replicas(app_replicas(env))
    };

    let workflow_http = Port::http("http", 3002).service_port(80);
    let workflows = s.add(shared(node_app(
        env,
        "workflows",
        "tsdev-workflows",
        workflow_http,
        &otlp,
    )));

    let procedure_http = Port::http("http", 3001).service_port(80);
    let procedures = s.add(shared(
        node_app(env, "procedures", "tsdev-procedures", procedure_http, &otlp)
            .env("WORKFLOWS_URL", workflows.endpoint(workflow_http).url()),
    ));

    let gateway_http = Port::http("http", 3000).service_port(80);
    let mut gateway = node_app(env, "gateway", "tsdev-gateway", gateway_http, &otlp)
        .env("PROCEDURES_URL", procedures.endpoint(procedure_http).url())
        .config("RATE_LIMIT_WINDOW_MS", "60000")
        .config("RATE_LIMIT_MAX_REQUESTS", "100")
        .replicas(app_replicas(env));
    if env == Env::Dev {
        gateway = gateway.publish(gateway_http, 3000);
    }
    let gateway = s.add(gateway);
    if env != Env::Dev {
        edge(&mut s, &gateway.endpoint(gateway_http));
    }
    s
}
