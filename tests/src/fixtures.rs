//! Fixture stacks that exercise edge cases the real stacks do not.

use stackdsl::cli::StackFn;
use stackdsl::prelude::*;

/// Every fixture stack (synthesized into the validator corpus beside the real stacks).
pub const ALL: &[StackFn] = &[
    yaml11_hazards,
    secret_canaries,
    stateful_cluster,
    grpc_gateway,
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
