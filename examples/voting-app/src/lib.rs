//! Docker's [example voting app](https://github.com/dockersamples/example-voting-app),
//! written from its `docker-compose.yml` and `k8s-specifications/` as a stackdsl user
//! would: a Python front end (`vote`) queues votes in Redis, a .NET `worker` moves them
//! into Postgres (`db`), and a Node.js page (`result`) shows the tally.
//!
//! - **dev** (Compose): vote, result, worker and seed built from a clone of the upstream
//!   repository in `upstream/` (not committed), with the sources mounted for live reload
//!   and the Node.js inspector on `127.0.0.1:9229`, as upstream's Compose file does; vote
//!   on `127.0.0.1:8080`, result on `127.0.0.1:8081`; `docker compose --profile seed up`
//!   casts 3000 votes.
//! - **staging**/**prod** (Kubernetes): vote and result on node ports 31000 and 31001,
//!   the images your CI builds from the same sources ([`registry`], [`VERSION`]).
//!
//! The apps hard-code their wiring (hosts `redis` and `db`, Postgres user and password
//! `postgres`), so the service names are fixed and the database's password Secret must
//! hold `postgres` until upstream reads it from the environment.
//!
//! `cargo run -p voting-app` writes `examples/voting-app/out/`.

use stackdsl::catalog::Postgres;
use stackdsl::k8s_openapi::api::core::v1::{PodSpec, Sysctl};
use stackdsl::model::{Exposure, Restart};
use stackdsl::prelude::*;

/// Where CI pushes the images it builds from the upstream sources. Upstream publishes only
/// moving tags (`latest`, `before`, `after`), which stackdsl refuses in staging and prod.
pub fn registry() -> Registry {
    Registry::new("ghcr.io/acme")
}

/// The release staging and prod run.
pub const VERSION: &str = "1.0.0";

/// Where the upstream repository is cloned for dev (relative to this crate, which holds
/// `out/`): `git clone https://github.com/dockersamples/example-voting-app upstream`.
pub const UPSTREAM: &str = "upstream";

/// The Secret with the database's password.
pub const SECRETS: Secrets = Secrets::external("voting-app");

/// The voting app's stack for `env`.
pub fn voting_app(env: Env) -> Stack {
    let dev = env == Env::Dev;
    let mut s = Stack::new("voting-app", env);
    s.targets(if dev {
        [Target::Compose]
    } else {
        [Target::Kubernetes]
    });
    let small =
        Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256));

    // Upstream's healthchecks/redis.sh: `PONG` from redis-cli over the container's own
    // address, not its socket.
    let redis_port = Port::tcp("redis", 6379);
    let pong = Probe::exec([
        "sh",
        "-c",
        r#"[ "$(redis-cli -h "$(hostname -i)" ping)" = PONG ]"#,
    ])
    .period(5)
    .timeout(5);
    let redis = s.add(
        Service::new("redis")
            .image(Image::new("redis").tag("alpine"))
            .port(redis_port)
            .readiness(pong.clone())
            .liveness(pong)
            // The queue lives as long as the pod, as upstream's emptyDir.
            .mount(Mount::scratch("/data"))
            // The image's `redis` user and group.
            .security(
                Security::restricted()
                    .run_as_user(999)
                    .run_as_group(1000)
                    .fs_group(1000),
            )
            .resources(
                Resources::requests(Cpu::m(50), Memory::mi(64))
                    .limits(Cpu::m(250), Memory::mi(128)),
            ),
    );

    // The catalog's Postgres, as upstream runs it: Postgres 15, user `postgres`, its data in
    // volume `db-data`.
    let db = s.backing(
        Postgres::new(
            "postgres",
            SECRETS.key("postgres-password").describe(
                "Password of the `postgres` role; the worker and result hard-code `postgres`",
            ),
        )
        .name("db")
        .user("postgres")
        .image(Image::new("postgres").tag("15-alpine"), 15)
        .run_as_user(70)
        .storage(Memory::gi(1)),
    );
    // Upstream's healthchecks/postgres.sh: `SELECT 1` answered over the container's own
    // address (deliberately not the socket), as the configured user and database.
    let select_one = Probe::exec([
        "sh",
        "-c",
        r#"[ "$(PGPASSWORD="$POSTGRES_PASSWORD" psql -h "$(hostname -i)" -U "$POSTGRES_USER" -d "$POSTGRES_DB" -qAt -c 'SELECT 1')" = 1 ]"#,
    ])
    .period(5)
    .timeout(5);
    s.update(&db.service, |b| {
        b.readiness(select_one.clone())
            .liveness(select_one.period(10))
            .kubernetes(|k| k.main_container_name("postgres"))
    });

    let http = |service_port| Port::http("http", 80).service_port(service_port);
    let vote_http = http(8080);
    // Upstream's Compose healthcheck: `curl -f http://localhost` every 15 s.
    let home = |port| {
        Probe::http_get("/", port)
            .initial_delay(10)
            .period(15)
            .timeout(5)
            .failure_threshold(3)
    };
    let vote = s.add(
        app("vote", dev)
            .port(vote_http)
            .depends_on(&redis)
            .readiness(home(vote_http))
            .liveness(home(vote_http))
            .resources(small)
            .kubernetes(|k| k.exposure(Exposure::node_port().fixed(vote_http, 31000)))
            .when(dev, |b| b.publish(vote_http, 8080)),
    );

    let result_http = http(8081);
    let inspector = Port::tcp("inspector", 9229);
    s.add(
        app("result", dev)
            .port(result_http)
            .depends_on(&db.service)
            .readiness(home(result_http))
            .liveness(home(result_http))
            .resources(small)
            .kubernetes(|k| k.exposure(Exposure::node_port().fixed(result_http, 31001)))
            // dev: nodemon restarts on changes, with the inspector for the debugger.
            .when(dev, |b| {
                b.port(inspector)
                    .command(["nodemon", "--inspect=0.0.0.0", "server.js"])
                    .publish(result_http, 8081)
                    .publish(inspector, 9229)
            }),
    );

    // The worker listens on nothing; it is ready when it can reach both stores (bash's
    // /dev/tcp: the .NET runtime image ships bash, no network client).
    let reaches_stores = Probe::exec([
        "bash",
        "-c",
        "exec 3<>/dev/tcp/redis/6379 4<>/dev/tcp/db/5432",
    ])
    .period(10)
    .timeout(5);
    s.add(
        app("worker", dev)
            .depends_on(&redis)
            .depends_on(&db.service)
            .readiness(reaches_stores.clone())
            .liveness(reaches_stores.failure_threshold(30))
            .resources(small),
    );

    // dev: casts 3000 votes with ApacheBench, once, under the `seed` profile.
    if dev {
        s.add(
            Service::new("seed")
                .build(Build::new(format!("{UPSTREAM}/seed-data")))
                .depends_on(&vote)
                .restart(Restart::Never)
                .security(Security::restricted().run_as_user(1000))
                .compose(|c| c.profile("seed")),
        );
    }
    s
}

/// One of the three services built from upstream's sources: the released image, built
/// from `upstream/<name>`; dev mounts the sources for live reload.
fn app(name: &'static str, dev: bool) -> ServiceBuilder<HasImage> {
    let mut build = Build::new(format!("{UPSTREAM}/{name}"));
    if dev && name == "vote" {
        // The Dockerfile's `dev` stage runs Flask's reloading server.
        build = build.target("dev");
    }
    let web = name != "worker";
    Service::new(name)
        .image(registry().image(format!("voting-app-{name}")).tag(if dev {
            "dev"
        } else {
            VERSION
        }))
        .build(build)
        .mount(Mount::scratch("/tmp"))
        .when(dev && web, |b| {
            b.mount(Mount::bind(format!("{UPSTREAM}/{name}"), "/usr/local/app"))
        })
        // No Dockerfile sets a user; the Node.js image's `node` has uid 1000, the others run as
        // it too (they write nothing outside /tmp).
        .security(Security::restricted().run_as_user(1000))
        // vote's and result's images install curl for their health checks.
        .when(web, |b| {
            b.health_tool(HealthTool::Curl)
                .kubernetes(|k| k.pod(unprivileged_port_80))
        })
}

/// Escape hatch: vote and result listen on port 80 as a non-root user. Docker lets any user
/// bind low ports in a container's own network namespace; Kubernetes needs the namespaced
/// sysctl (safe since 1.22, allowed by the restricted Pod Security Standard), which the
/// intent API does not set.
fn unprivileged_port_80(pod: &mut PodSpec) {
    pod.security_context
        .get_or_insert_default()
        .sysctls
        .get_or_insert_default()
        .push(Sysctl {
            name: "net.ipv4.ip_unprivileged_port_start".to_owned(),
            value: "80".to_owned(),
        });
}
