//! Fixture stacks that exercise edge cases the real stacks do not.

use stackdsl::catalog::{Kafka, MongoDb, Nats, Postgres, RabbitMq, Redis};
use stackdsl::cli::StackFn;
use stackdsl::model::{
    Cloud, Container, Exposure, PreStop, PullSecret, ServiceAccount, TaintEffect, Toleration,
    TrafficPolicy,
};
use stackdsl::prelude::*;

/// Every fixture stack (synthesized into the validator corpus beside the real stacks).
pub const ALL: &[StackFn] = &[
    yaml11_hazards,
    secret_canaries,
    stateful_cluster,
    grpc_gateway,
    grpc_shop,
    catalog_choices,
];

/// Strings a YAML 1.1 reader turns into booleans, numbers, nulls or dates unless they are
/// quoted. Every one must read back as the same string.
pub const YAML11_HAZARDS: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Yes",
    "ON",
    "true",
    "~",
    "null",
    "0755",
    "0o17",
    "0x1F",
    "1e3",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
    "2222:22",
    "12:30:00",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "-",
    "",
    "3.10",
    "+1",
    "=",
    "<<",
    "@x",
    "`x",
    "%x",
    "!x",
    "&x",
    "*x",
    "#x",
    "a: b",
    "a #b",
    "[x]",
    "{x}",
    "'x'",
    "\"x\"",
    " x",
    "x ",
    "line1\nline2",
    "tab\there",
    "ünï",
];

/// A stack whose environment values and ports are YAML 1.1 hazards.
pub fn yaml11_hazards(env: Env) -> Stack {
    let mut s = Stack::new("fixture-yaml11", env);
    let ssh = Port::tcp("ssh", 22);
    let mut svc = Service::new("hazards")
        .image(Image::new("busybox").tag("1.37.0"))
        .port(ssh)
        .publish(ssh, 2222)
        .command(["sleep", "infinity"])
        .readiness(Probe::exec(["true"]))
        .resources(
            Resources::requests(Cpu::m(10), Memory::mi(16)).limits(Cpu::m(100), Memory::mi(32)),
        );
    for (i, v) in YAML11_HAZARDS.iter().enumerate() {
        svc = svc.env(format!("HAZARD_{i}"), *v);
    }
    s.add(svc);
    s
}

/// The values an operator would give the secrets of [`secret_canaries`] (in `.env` for
/// Compose, in the cluster's Secrets for Kubernetes), by variable. `SecretRef` has no value,
/// so none of them can reach generated output; the leak scan (`tests/tests/secrets.rs`)
/// proves it by looking for each one, and feeds them to docker-compose to show they are
/// what a deployment would use.
pub const SECRET_CANARIES: &[(&str, &str)] = &[
    (
        "FIXTURE_SECRETS_DB_PASSWORD",
        "canary-DbPw-7Qx2Lv9RtZ4mKp1WcY8bN3sD5fHj",
    ),
    (
        "FIXTURE_SECRETS_API_TOKEN",
        "canary-ApiTok-Hq3Zr8Vn2Xp6Lm9Tb4Ws1Kd7Gy0",
    ),
    (
        "FIXTURE_SECRETS_SIGNING_KEY",
        "canary-Sign-Uj5Ne2Rw8Zc4Mx7Qb1Tf9Kp3Vh6L",
    ),
];

/// Services whose secrets travel every way the model offers — a plain reference, a
/// password spliced into a URL, a key the workloads share — each named and described so a
/// leaked value would be recognisable. Rendered for Compose and Kubernetes.
pub fn secret_canaries(env: Env) -> Stack {
    secret_canaries_with(env, |api| api)
}

/// [`secret_canaries`] with the `api` service changed by `api` (the leak scan's negative
/// control adds secret-looking literals this way).
pub fn secret_canaries_with(
    env: Env,
    api: impl FnOnce(ServiceBuilder<HasImage>) -> ServiceBuilder<HasImage>,
) -> Stack {
    let mut s = Stack::new("fixture-secrets", env);
    s.targets([Target::Compose, Target::Kubernetes]);
    let pg = Port::tcp("postgres", 5432);
    let http = Port::http("http", 8080);
    let small = Resources::requests(Cpu::m(10), Memory::mi(16)).limits(Cpu::m(100), Memory::mi(64));
    let password = SecretRef::new("fixture-secrets", "db-password")
        .describe("Canary: the leak scan looks for the value it is given in every generated file");
    let token = SecretRef::new("fixture-secrets", "api-token")
        .describe("Canary: an API token that must never be written out");
    let signing = SecretRef::new("fixture-secrets", "signing-key")
        .describe("Canary: a signing key shared by both services");
    let db = s.add(
        Service::new("db")
            .image(Image::new("postgres").tag("17.2-alpine"))
            .security(Security::restricted().run_as_user(70))
            .port(pg)
            .env("POSTGRES_PASSWORD", &password)
            .env("SIGNING_KEY", &signing)
            .liveness(Probe::tcp(pg))
            .readiness(Probe::exec(["pg_isready"]))
            .resources(small),
    );
    s.add(api(Service::new("api")
        .image(Image::new("acme/canary-api").tag("1.0.0"))
        .port(http)
        .env(
            "DATABASE_URL",
            db.endpoint(pg)
                .url()
                .scheme("postgresql")
                .user("canary")
                .password(&password)
                .path("/canary"),
        )
        .env("API_TOKEN", &token)
        .env("SIGNING_KEY", &signing)
        .liveness(Probe::http_get("/live", http))
        .readiness(Probe::http_get("/ready", http))
        .resources(small)));
    s
}

/// A three-node cluster whose members keep data on a persistent volume: one volume per
/// member (Compose `data-ring-seed`, `data-ring-worker-1`, …; Kubernetes claim templates
/// `data-ring-<ordinal>`), never one volume shared by every member.
pub fn stateful_cluster(env: Env) -> Stack {
    let targets = match env {
        Env::Dev => vec![Target::Compose],
        Env::Staging | Env::Prod => vec![Target::Kubernetes],
    };
    let mut s = Stack::new("fixture-ring", env);
    s.targets(targets);
    let gossip = Port::tcp("cluster", 7000);
    let health = Port::http("health", 8080);
    s.add(
        Service::new("ring")
            .image(Image::new("acme/ring").tag("1.0.0"))
            .port(gossip)
            .port(health)
            .replicas(3)
            .cluster(Cluster::new(gossip))
            .liveness(Probe::http_get("/health", health))
            .readiness(Probe::http_get("/ready", health))
            .mount(Mount::persistent("data", "/var/lib/ring").size(Memory::gi(5)))
            .mount(Mount::scratch("/tmp"))
            .security(Security::restricted().run_as_user(1000))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(128))
                    .limits(Cpu::m(500), Memory::mi(256)),
            ),
    );
    s
}

/// HTTP and gRPC routes of one service, on every route API shape the seed stacks do not
/// use: staging attaches to an existing Gateway served by a portable implementation; prod
/// renders its own Gateway (Envoy Gateway) with a GRPCRoute, body-size and timeout
/// policies, syncs its Secrets per key from a store and is deployed by Argo CD and Flux.
/// Prod also runs on Compose, whose nginx edge passes the gRPC route with `grpc_pass`.
pub fn grpc_gateway(env: Env) -> Stack {
    let targets = match env {
        Env::Dev => vec![Target::Compose],
        Env::Staging => vec![Target::Kubernetes],
        Env::Prod => vec![Target::Compose, Target::Kubernetes],
    };
    let mut s = Stack::new("fixture-grpc", env);
    s.targets(targets)
        .edge(
            Edge::nginx()
                .certificates("/etc/fixture/tls")
                .hsts(63_072_000),
        )
        .ci(Ci::go("1.23")
            .repository("ssh://git@git.example.com/acme/orders.git")
            .branch("trunk"));
    match env {
        Env::Staging => {
            s.kubernetes(|k| {
                k.routes(RouteApi::gateway(
                    Gateway::existing("infra", "public")
                        .section("https")
                        .implementation(GatewayImpl::portable(
                            "istio-system",
                            [("istio", "ingressgateway")],
                        )),
                ))
            });
        }
        Env::Prod => {
            s.kubernetes(|k| {
                k.routes(RouteApi::gateway(Gateway::own("eg").named("orders-edge")))
                    .secret_store(
                        SecretStore::namespaced("orders-store")
                            .remote_key(RemoteKey::per_key("/"))
                            .refresh(Window::minutes(15)),
                    )
                    .gitops(
                        GitOps::argo_cd(ArgoCd::new().project("platform"))
                            .and_flux(Flux::new().secret("orders-deploy-key")),
                    )
            });
        }
        Env::Dev => {}
    }
    let http = Port::http("http", 8080);
    let grpc = Port::grpc("grpc", 9090);
    let issuer = ClusterIssuer::new("letsencrypt");
    let token = SecretRef::new("orders-secrets", "api-token").describe("Token of the payments API");
    s.add(
        Service::new("orders")
            .image(Image::new("ghcr.io/acme/orders").tag("3.1.0"))
            .port(http)
            .port(grpc)
            .env("PAYMENTS_TOKEN", &token)
            .readiness(Probe::http_get("/ready", http))
            .liveness(Probe::http_get("/health", http))
            .security(Security::restricted().run_as_user(65532))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(128))
                    .limits(Cpu::m(500), Memory::mi(256)),
            )
            .when(env != Env::Dev, |svc| {
                svc.autoscale(Autoscale::between(2, 6).cpu(75))
                    .expose(
                        Route::host("orders.example.com", http)
                            .path("/api/")
                            .tls(issuer.clone())
                            .client_body_mb(4)
                            .timeouts(Timeouts::all(30)),
                    )
                    .expose(
                        Route::host("grpc.example.com", grpc)
                            .tls(issuer.clone())
                            .timeouts(Timeouts::all(120))
                            .rate_limit(20),
                    )
            }),
    );
    s
}
/// The issue-18 shop in miniature: what real services need, on Compose and Kubernetes at
/// once, in every environment.
///
/// - `cart`: a distroless gRPC server probed over `grpc.health.v1` (natively in Kubernetes,
///   with the image's `grpc_health_probe` in Compose), on spot nodes (node selector,
///   toleration, priority class), pulling from a private registry, acting as a Google
///   service account (GKE Workload Identity), with a fixed uid and group.
/// - `redis`: its cache, probed with `redis-cli` (an exec probe needs no client).
/// - `frontend`: HTTP with a `Host` header on its probes, behind a cloud load balancer
///   (local traffic policy, source ranges, an annotation), an init container rendering its
///   configuration into scratch space it shares, a log-shipping sidecar reading its logs,
///   and a graceful stop (pre-stop command, grace period).
/// - `cart` is also reached from another cluster through an internal load balancer.
/// - `admin`: on a fixed node port, assuming an AWS role (EKS IAM roles for service
///   accounts), with a pre-stop sleep.
pub fn grpc_shop(env: Env) -> Stack {
    let mut s = Stack::new("fixture-grpc-shop", env);
    s.targets([Target::Compose, Target::Kubernetes]);
    let small = Resources::requests(Cpu::m(10), Memory::mi(16)).limits(Cpu::m(100), Memory::mi(64));
    let redis_port = Port::tcp("redis", 6379);
    let redis = s.add(
        Service::new("redis")
            .image(Image::new("redis").tag("7.4.1-alpine"))
            .port(redis_port)
            .readiness(Probe::exec(["redis-cli", "ping"]))
            .liveness(Probe::exec(["redis-cli", "ping"]).timeout(5))
            .mount(Mount::scratch("/data"))
            .security(
                Security::restricted()
                    .run_as_user(999)
                    .run_as_group(1000)
                    .fs_group(1000),
            )
            .resources(small),
    );
    let grpc = Port::grpc("grpc", 7070);
    let cart = s.add(
        Service::new("cart")
            .image(Image::new("ghcr.io/acme/cart").tag("1.0.0"))
            .port(grpc)
            .env("REDIS_ADDR", redis.endpoint(redis_port).url())
            .readiness(Probe::grpc(grpc).period(5))
            .liveness(Probe::grpc_service(grpc, "shop.CartService").period(15))
            // Distroless, with grpc_health_probe copied into /bin.
            .health_tool(HealthTool::GrpcHealthProbe)
            .security(
                Security::restricted()
                    .run_as_user(65532)
                    .run_as_group(65532),
            )
            .resources(small)
            .kubernetes(|k| {
                // Reached from another cluster of the VPC through an internal load balancer.
                k.exposure(Exposure::load_balancer().internal(Cloud::Gke))
                    .node_selector("cloud.google.com/gke-spot", "true")
                    .toleration(
                        Toleration::equal("cloud.google.com/gke-spot", "true")
                            .effect(TaintEffect::NoSchedule),
                    )
                    .priority_class("shop-critical")
                    .image_pull_secret(
                        PullSecret::new("ghcr-pull").describe("Read-only token for ghcr.io/acme"),
                    )
                    .service_account(
                        ServiceAccount::new().gke("cart-sa@acme-shop.iam.gserviceaccount.com"),
                    )
            }),
    );
    let http = Port::http("http", 8080).service_port(80);
    let healthz = |p: Probe| p.header("Host", "shop.example.com");
    let tools = Image::new("busybox").tag("1.37.0");
    s.add(
        Service::new("frontend")
            .image(Image::new("ghcr.io/acme/frontend").tag("1.0.0"))
            .port(http)
            .env("CART_ADDR", cart.endpoint(grpc).url())
            .readiness(healthz(Probe::http_get("/_healthz", http).period(5)))
            .liveness(healthz(Probe::http_get("/_healthz", http)))
            .health_tool(HealthTool::Wget)
            .mount(Mount::scratch("/etc/frontend"))
            .mount(Mount::scratch("/var/log/frontend"))
            .init_container(
                Container::new("render-config", tools.clone())
                    .command([
                        "sh",
                        "-c",
                        "echo \"cart=$CART_ADDR\" > /etc/frontend/app.conf",
                    ])
                    .env("CART_ADDR", cart.endpoint(grpc).url())
                    .mount(Mount::scratch("/etc/frontend"))
                    .security(Security::restricted().run_as_user(1000).run_as_group(1000))
                    .resources(small),
            )
            .sidecar(
                Container::new("log-shipper", tools)
                    .command(["sh", "-c"])
                    .args(["tail -F /var/log/frontend/access.log"])
                    .mount(Mount::scratch("/var/log/frontend").read_only())
                    .security(Security::restricted().run_as_user(1000).run_as_group(1000))
                    .resources(small),
            )
            .pre_stop(PreStop::exec(["/app/drain", "--timeout=10s"]))
            .graceful_shutdown(45)
            .security(
                Security::restricted()
                    .run_as_user(1000)
                    .run_as_group(1000)
                    .fs_group(1000),
            )
            .resources(small)
            .kubernetes(|k| {
                k.exposure(
                    Exposure::load_balancer()
                        .traffic_policy(TrafficPolicy::Local)
                        .source_ranges(["203.0.113.0/24"])
                        .annotation("cloud.google.com/l4-rbs", "enabled"),
                )
            }),
    );
    let admin_http = Port::http("admin", 9000);
    s.add(
        Service::new("admin")
            .image(Image::new("ghcr.io/acme/admin").tag("1.0.0"))
            .port(admin_http)
            .readiness(Probe::http_get("/ready", admin_http))
            .liveness(Probe::http_get("/live", admin_http))
            .health_tool(HealthTool::Curl)
            .pre_stop(PreStop::sleep(5))
            .graceful_shutdown(20)
            .security(Security::restricted().run_as_user(1000))
            .resources(small)
            .kubernetes(|k| {
                k.exposure(Exposure::node_port().fixed(admin_http, 30900))
                    .service_account(
                        ServiceAccount::new().eks("arn:aws:iam::123456789012:role/shop-admin"),
                    )
                    .image_pull_secret(PullSecret::new("ghcr-pull"))
            }),
    );
    s
}

/// The catalog's explicit choices, so every validator sees them: a Postgres with vector
/// extensions (a custom image of another major version) owned by a user that is not the
/// database's name, a password-less Valkey on a custom image, a Bitnami chart chosen
/// explicitly (validation warns about it), and single-node operator-run MongoDB,
/// RabbitMQ and Kafka. Compose in dev; Kubernetes and Terraform in staging and prod.
pub fn catalog_choices(env: Env) -> Stack {
    let mut s = Stack::new("fixture-catalog", env);
    s.targets(match env {
        Env::Dev => vec![Target::Compose],
        Env::Staging | Env::Prod => vec![Target::Kubernetes, Target::Terraform],
    });
    let secret = |key: &str| SecretRef::new("fixture-catalog-secrets", key);
    let vectors = s.backing(
        Postgres::new("immich", secret("vectors-password"))
            .name("vectors")
            .user("postgres")
            .image(Image::new("pgvector/pgvector").tag("0.8.1-pg17"), 17),
    );
    let legacy = s.backing(
        Postgres::new("legacy", secret("legacy-password"))
            .name("legacy")
            .bitnami_chart(),
    );
    let cache = s.backing(
        Redis::without_password(
            "only the app's pods reach it, and it holds nothing but rebuildable thumbnails",
        )
        .name("cache")
        .image(Image::new("valkey/valkey").tag("9.1.1-trixie")),
    );
    let mongo = s.backing(MongoDb::new("root", secret("mongo-password")).members(3));
    let rabbit = s.backing(RabbitMq::new("app", secret("rabbitmq-password")));
    let kafka = s.backing(Kafka::new().replicas(1));
    let nats = s.backing(Nats::new().replicas(1));
    let http = Port::http("http", 8080);
    s.add(
        Service::new("app")
            .image(Image::new("acme/catalog-app").tag("1.0.0"))
            .port(http)
            .env("DATABASE_URL", vectors.url())
            .env("LEGACY_DATABASE_URL", legacy.url())
            .env("CACHE_URL", cache.url(0))
            .env("MONGODB_URL", mongo.url("app"))
            .env("AMQP_URL", rabbit.url())
            .env("KAFKA_BROKERS", kafka.brokers())
            .env("NATS_URL", nats.url())
            .liveness(Probe::http_get("/live", http))
            .readiness(Probe::http_get("/ready", http))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(128))
                    .limits(Cpu::m(500), Memory::mi(256)),
            ),
    );
    s
}
