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
//! Dev is Compose (built from source); staging is Kubernetes; prod is Kubernetes plus a
//! small single-host Compose variant behind an nginx edge, and the guide's PaaS files
//! (Fly.io, Render, Railway, Vercel, Serverless) under `out/<stack>/paas/`, rendered from
//! the same services (see [`paas`]).
//!
//! Components ([`tracing`], [`node_app`]) are plain functions other stacks import.

use stackdsl::prelude::*;

use stackdsl::catalog::{Postgres, Redis};

use crate::components::lines;

/// Where tsdev images are pushed; every built image's name derives from it.
pub fn registry() -> Registry {
    Registry::new("ghcr.io/tsdev")
}

/// The released tsdev version staging and prod run.
pub const VERSION: &str = "1.4.0";

/// The Secret holding every tsdev password and key.
pub const SECRETS: Secrets = Secrets::external("tsdev-secrets");

/// The tag an app image runs with in `env`: `dev` for local builds, the release otherwise.
pub fn tag(env: Env) -> &'static str {
    match env {
        Env::Dev => "dev",
        Env::Staging | Env::Prod => VERSION,
    }
}

/// Targets per environment.
pub fn targets(env: Env) -> Vec<Target> {
    match env {
        Env::Dev => vec![Target::Compose],
        Env::Staging => vec![Target::Kubernetes, Target::Terraform],
        Env::Prod => [
            Target::Compose,
            Target::Kubernetes,
            Target::Terraform,
            Target::GitHubActions,
        ]
        .into_iter()
        .chain(Platform::targets())
        .collect(),
    }
}

/// How CI tests tsdev apps: the guide's pnpm workspace on Node 20.
pub fn ci() -> Ci {
    Ci::node("20", PackageManager::Pnpm)
}

/// What the guide's PaaS files need beyond the model, for the app `app` that the
/// single-app platforms deploy (Render runs every service). Traces go to a hosted OTLP
/// backend there (the collector and Jaeger stay on Compose and Kubernetes), so the
/// endpoint is set in each platform; `urls` are other variables the platforms cannot
/// derive (`(name, what to set)`).
pub fn paas(s: &mut Stack, app: &ServiceRef, urls: &[(&str, &str)]) {
    s.paas(|p| {
        p.app(app).set_in_platform(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTLP/HTTP endpoint of the hosted tracing backend",
        );
        for (name, what) in urls {
            p.set_in_platform(*name, *what);
        }
        p.fly(|f| f.primary_region("iad"))
            .render(|r| {
                r.region("oregon")
                    .plan("starter")
                    .database_plan("basic-256mb")
                    .key_value_plan("starter")
            })
            .railway(|r| {
                r.build_command("pnpm install && pnpm build")
                    .start_command("node dist/server.js")
            })
            .vercel(|v| {
                v.function("api/index.ts")
                    .region("iad1")
                    .max_duration(10)
                    .install_command("pnpm install")
                    .build_command("pnpm build")
            })
            .serverless(|f| {
                f.handler("dist/lambda-handler.handler")
                    .region("us-east-1")
                    .timeout(30)
                    .pattern("dist/**")
                    .pattern("handlers/**")
                    .pattern("node_modules/**")
                    .pattern("!node_modules/.cache/**")
            })
    });
}

/// Public host of an app in `env` (staging gets its own subdomain).
fn host(env: Env, app: &str) -> String {
    match env {
        Env::Prod => format!("{app}.tsdev.example.com"),
        _ => format!("{app}.{env}.tsdev.example.com"),
    }
}

/// The cert-manager issuer for `env`.
fn issuer(env: Env) -> ClusterIssuer {
    ClusterIssuer::new(if env == Env::Prod {
        "letsencrypt-prod"
    } else {
        "letsencrypt-staging"
    })
}

/// Where apps send traces: see [`tracing`].
#[derive(Clone, Debug)]
pub struct Tracing {
    /// The collector's OTLP/HTTP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub otlp: Endpoint,
    /// Jaeger's own HTTP collector (Thrift over HTTP, `JAEGER_ENDPOINT` of older clients).
    pub jaeger_collector: Endpoint,
}

/// The tracing pair every tsdev deployment runs, and other stacks import: an
/// OpenTelemetry collector receiving OTLP and exporting to Jaeger.
#[track_caller]
pub fn tracing(s: &mut Stack) -> Tracing {
    let dev = s.env == Env::Dev;
    let ui = Port::http("ui", 16686);
    let jaeger_otlp = Port::grpc("otlp-grpc", 4317);
    let jaeger_thrift = Port::http("collector", 14268);
    let jaeger_admin = Port::http("admin", 14269);
    let jaeger = Service::new("jaeger")
        .image(Image::new("jaegertracing/all-in-one").tag("1.62.0"))
        .port(ui)
        .port(jaeger_otlp)
        .port(jaeger_thrift)
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
        )
        .when(dev, |jaeger| jaeger.publish(ui, 16686))
        // PaaS apps export to a hosted backend instead (see `paas`).
        .not_on(Platform::targets());
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
    let collector = Service::new("otel-collector")
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
        )
        .when(dev, |collector| collector.publish(otlp_http, 4318))
        .not_on(Platform::targets());
    Tracing {
        otlp: s.add(collector).endpoint(otlp_http),
        jaeger_collector: jaeger.endpoint(jaeger_thrift),
    }
}

/// A Node app of the tsdev framework listening on `http`, with the guide's environment,
/// probes and resources. Callers add their own ports' clients, secrets and replicas.
#[track_caller]
pub fn node_app(
    env: Env,
    name: &str,
    image: &str,
    http: Port,
    otlp: &Endpoint,
) -> ServiceBuilder<HasImage> {
    let dev = env == Env::Dev;
    Service::new(name)
        .image(registry().image(image).tag(tag(env)))
        // The image CI builds and pushes; Compose builds it locally in dev.
        .build(
            Build::new(".")
                .dockerfile("Dockerfile")
                .target("production"),
        )
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
        )
}

/// Replicas of the app tier per environment.
fn app_replicas(env: Env) -> u32 {
    match env {
        Env::Dev => 1,
        Env::Staging => 2,
        Env::Prod => 3,
    }
}

/// Staging and prod scale an app tier between 2 and 10 replicas at 70 % CPU / 80 % memory
/// (a step for [`Conditional::apply`]).
fn scaled(env: Env) -> impl FnOnce(ServiceBuilder<HasImage>) -> ServiceBuilder<HasImage> {
    move |app| {
        app.replicas(app_replicas(env))
            .when(env != Env::Dev, |app| {
                app.autoscale(Autoscale::between(2, 10).cpu(70).memory(80))
            })
    }
}

/// Exposes `http` of the app `name` publicly: on loopback in dev, through a route with
/// cert-manager TLS and a per-client rate limit in staging and prod (a step for
/// [`Conditional::apply`]). The stacks name no route API, so Kubernetes renders the
/// default: Gateway API routes on the stack's own Gateway, served by Envoy Gateway (the
/// guide's ingress-nginx `rate-limit: "100"` becomes a `BackendTrafficPolicy`).
fn exposed(
    env: Env,
    name: &str,
    http: Port,
) -> impl FnOnce(ServiceBuilder<HasImage>) -> ServiceBuilder<HasImage> {
    let host = host(env, name);
    move |app| match env {
        Env::Dev => app.publish(http, 3000),
        Env::Staging | Env::Prod => {
            app.expose(Route::host(host, http).tls(issuer(env)).rate_limit(100))
        }
    }
}

/// The guide's nginx load balancer ("Horizontal Scaling"): least connections over every
/// replica, client addresses forwarded. Compose renders it wherever the app tier has routes
/// (the single-host prod file); Kubernetes takes the same routes as Gateway API routes,
/// with the edge's headers and HSTS as their response-header filters.
fn edge() -> Edge {
    Edge::nginx()
        .certificates("/etc/tsdev/tls")
        .hsts(31_536_000)
        .header("X-Content-Type-Options", "nosniff")
}

/// The monolith: one API server (procedures, workflows and introspection on :3000), traced.
pub fn monolith(env: Env) -> Stack {
    let mut s = Stack::new("tsdev-monolith", env);
    s.targets(targets(env)).edge(edge()).ci(ci());
    let otlp = tracing(&mut s).otlp;
    let http = Port::http("http", 3000).service_port(80);
    let api = s.add(
        node_app(env, "api", "tsdev-api", http, &otlp)
            .config("RATE_LIMIT_WINDOW_MS", "60000")
            .config("RATE_LIMIT_MAX_REQUESTS", "100")
            .when(env != Env::Dev, |api| {
                api.env(
                    "SENTRY_DSN",
                    SECRETS
                        .key("sentry-dsn")
                        .describe("Sentry DSN errors are reported to"),
                )
                .kubernetes(|k| k.egress(Egress::internet().port(443)))
            })
            .apply(scaled(env))
            .apply(exposed(env, "api", http)),
    );
    if env == Env::Prod {
        paas(&mut s, &api, &[]);
    }
    s
}

/// The microservices: gateway → procedure service → workflow orchestrator, sharing a
/// Postgres database and a Redis queue, traced.
pub fn microservices(env: Env) -> Stack {
    let mut s = Stack::new("tsdev-microservices", env);
    s.targets(targets(env)).edge(edge()).ci(ci());
    let otlp = tracing(&mut s).otlp;
    let pg = s.backing(Postgres::new(
        "tsdev",
        SECRETS
            .key("postgres-password")
            .describe("Password of the `tsdev` Postgres role (URL-safe characters)"),
    ));
    let queue =
        s.backing(Redis::new(SECRETS.key("redis-password").describe(
            "Password Redis requires from every client (URL-safe characters)",
        )));
    // What the workflow and procedure services share: the database, the queue, the scale.
    let shared = |app: ServiceBuilder<HasImage>| {
        app.env("DATABASE_URL", pg.url())
            .config("DATABASE_POOL_MIN", "2")
            .config("DATABASE_POOL_MAX", "10")
            .env("REDIS_URL", queue.url(0))
            .apply(scaled(env))
    };

    let workflow_http = Port::http("http", 3002).service_port(80);
    let workflows =
        s.add(node_app(env, "workflows", "tsdev-workflows", workflow_http, &otlp).apply(shared));

    let procedure_http = Port::http("http", 3001).service_port(80);
    let procedures = s.add(
        node_app(env, "procedures", "tsdev-procedures", procedure_http, &otlp)
            .env("WORKFLOWS_URL", workflows.endpoint(workflow_http).url())
            .apply(shared),
    );

    let gateway_http = Port::http("http", 3000).service_port(80);
    let gateway = s.add(
        node_app(env, "gateway", "tsdev-gateway", gateway_http, &otlp)
            .env("PROCEDURES_URL", procedures.endpoint(procedure_http).url())
            .config("RATE_LIMIT_WINDOW_MS", "60000")
            .config("RATE_LIMIT_MAX_REQUESTS", "100")
            .apply(scaled(env))
            .apply(exposed(env, "gateway", gateway_http)),
    );
    if env == Env::Prod {
        // Render runs all three apps but cannot build a URL around another service's
        // internal address (`<name>-<suffix>:<port>`); the single-app platforms run the
        // gateway only.
        paas(
            &mut s,
            &gateway,
            &[
                (
                    "PROCEDURES_URL",
                    "URL of the procedure service where it runs (on Render: `http://` and its internal address from the Connect menu)",
                ),
                (
                    "WORKFLOWS_URL",
                    "URL of the workflow orchestrator where it runs (on Render: `http://` and its internal address from the Connect menu)",
                ),
            ],
        );
    }
    s
}
