//! Backing services and an edge proxy shared by the stacks: plain functions that add
//! hardened, probed, persistent services to a stack and return typed handles whose `url()`
//! builds each consumer's connection string with the password as a secret reference.
//!
//! Resources are sized for a small production; tune them with
//! [`Stack::update`](stackdsl::model::Stack::update).

use stackdsl::prelude::*;

fn sized(
    b: ServiceBuilder<HasImage>,
    cpu: (u32, u32),
    memory: (u64, u64),
) -> ServiceBuilder<HasImage> {
    b.resources(
        Resources::requests(Cpu::m(cpu.0), Memory::mi(memory.0))
            .limits(Cpu::m(cpu.1), Memory::mi(memory.1)),
    )
}

/// A Postgres database.
#[derive(Clone, Debug)]
pub struct Postgres {
    /// The service.
    pub service: ServiceRef,
    /// Its port.
    pub port: Port,
    /// The role's password.
    pub password: SecretRef,
    /// Role and database name.
    pub database: String,
}

impl Postgres {
    /// `postgresql://<db>:<password>@postgres:5432/<db>`.
    pub fn url(&self) -> Url {
        self.service
            .endpoint(self.port)
            .url()
            .scheme("postgresql")
            .user(&self.database)
            .password(&self.password)
            .path(format!("/{}", self.database))
    }
}

/// Adds Postgres 17 with a role and database named `database`; the password is key
/// `postgres-password` of Secret `secret`.
pub fn postgres(s: &mut Stack, secret: &str, database: &str) -> Postgres {
    let port = Port::tcp("postgres", 5432);
    let password = SecretRef::new(secret, "postgres-password").describe(format!(
        "Password of the `{database}` Postgres role (URL-safe characters)"
    ));
    let ready = Probe::exec(["pg_isready", "-U", database, "-d", database]);
    let service = s.add(sized(
        Service::new("postgres")
            .image(Image::new("postgres").tag("17.2-alpine"))
            .port(port)
            .env("POSTGRES_DB", database)
            .env("POSTGRES_USER", database)
            .env("POSTGRES_PASSWORD", &password)
            .env("PGDATA", "/var/lib/postgresql/data/pgdata")
            .readiness(ready.clone().period(5))
            .liveness(ready.period(10).timeout(5))
            .mount(
                Mount::persistent("postgres-data", "/var/lib/postgresql/data").size(Memory::gi(10)),
            )
            .mount(Mount::scratch("/var/run/postgresql"))
            .mount(Mount::scratch("/tmp"))
            // The image's `postgres` user (uid 70 on Alpine) owns the data directory.
            .security(Security::restricted().run_as_user(70).fs_group(70)),
        (250, 1000),
        (256, 1024),
    ));
    Postgres {
        service,
        port,
        password,
        database: database.to_owned(),
    }
}

/// A Redis server with a password and append-only persistence.
#[derive(Clone, Debug)]
pub struct Redis {
    /// The service.
    pub service: ServiceRef,
    /// Its port.
    pub port: Port,
    /// The password every client sends.
    pub password: SecretRef,
}

impl Redis {
    /// `redis://:<password>@redis:6379`.
    pub fn url(&self) -> Url {
        self.service
            .endpoint(self.port)
            .url()
            .scheme("redis")
            .password(&self.password)
    }
}

/// Adds Redis 7.4 requiring a password (key `redis-password` of Secret `secret`), with
/// append-only persistence and any `extra` server arguments (e.g. keyspace notifications).
pub fn redis(s: &mut Stack, secret: &str, extra: &[&str]) -> Redis {
    let port = Port::tcp("redis", 6379);
    let password = SecretRef::new(secret, "redis-password")
        .describe("Password Redis requires from every client (URL-safe characters)");
    let mut cmd = format!("exec redis-server --port {} --appendonly yes", port.number);
    for arg in extra {
        cmd.push(' ');
        cmd.push_str(arg);
    }
    cmd.push_str(" --requirepass \"$REDIS_PASSWORD\"");
    let service = s.add(sized(
        Service::new("redis")
            .image(Image::new("redis").tag("7.4-alpine"))
            .port(port)
            .env("REDIS_PASSWORD", &password)
            // redis-cli reads its password from REDISCLI_AUTH, so the probe needs no argument.
            .env("REDISCLI_AUTH", &password)
            .command(["sh", "-c"])
            .args([cmd])
            .readiness(Probe::exec(["redis-cli", "ping"]).period(5))
            .liveness(Probe::exec(["redis-cli", "ping"]).timeout(5))
            .mount(Mount::persistent("redis-data", "/data").size(Memory::gi(5)))
            // The image's `redis` user.
            .security(Security::restricted().run_as_user(999).fs_group(999)),
        (100, 500),
        (128, 512),
    ));
    Redis {
        service,
        port,
        password,
    }
}

/// A MongoDB server with a root user.
#[derive(Clone, Debug)]
pub struct Mongo {
    /// The service.
    pub service: ServiceRef,
    /// Its port.
    pub port: Port,
    /// Root user name.
    pub user: String,
    /// Root password.
    pub password: SecretRef,
}

impl Mongo {
    /// `mongodb://<user>:<password>@mongo:27017/<database>?authSource=admin`.
    pub fn url(&self, database: &str) -> Url {
        self.service
            .endpoint(self.port)
            .url()
            .scheme("mongodb")
            .user(&self.user)
            .password(&self.password)
            .path(format!("/{database}?authSource=admin"))
    }
}

/// Adds MongoDB 7 with root user `user` (password: key `mongo-password` of Secret `secret`).
pub fn mongo(s: &mut Stack, secret: &str, user: &str) -> Mongo {
    let port = Port::tcp("mongo", 27017);
    let password = SecretRef::new(secret, "mongo-password")
        .describe("Password of the MongoDB root user (URL-safe characters)");
    let ping = Probe::exec(["mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]);
    let service = s.add(sized(
        Service::new("mongo")
            .image(Image::new("mongo").tag("7.0.16"))
            .port(port)
            .env("MONGO_INITDB_ROOT_USERNAME", user)
            .env("MONGO_INITDB_ROOT_PASSWORD", &password)
            .readiness(ping.clone().period(10).timeout(5))
            .liveness(ping.period(20).timeout(10))
            .mount(Mount::persistent("mongo-data", "/data/db").size(Memory::gi(20)))
            .mount(Mount::scratch("/data/configdb"))
            .mount(Mount::scratch("/tmp"))
            // The image's `mongodb` user.
            .security(Security::restricted().run_as_user(999).fs_group(999)),
        (250, 1000),
        (512, 2048),
    ));
    Mongo {
        service,
        port,
        user: user.to_owned(),
        password,
    }
}

/// A RabbitMQ broker with the management UI.
#[derive(Clone, Debug)]
pub struct RabbitMq {
    /// The service.
    pub service: ServiceRef,
    /// AMQP port.
    pub amqp: Port,
    /// Management UI port.
    pub management: Port,
    /// Default user.
    pub user: String,
    /// Default user's password.
    pub password: SecretRef,
}

impl RabbitMq {
    /// `amqp://<user>:<password>@rabbitmq:5672`.
    pub fn url(&self) -> Url {
        self.service
            .endpoint(self.amqp)
            .url()
            .scheme("amqp")
            .user(&self.user)
            .password(&self.password)
    }
}

/// Adds RabbitMQ 3.13 with the management plugin; default user `user` (password: key
/// `rabbitmq-password` of Secret `secret`).
pub fn rabbitmq(s: &mut Stack, secret: &str, user: &str) -> RabbitMq {
    let amqp = Port::tcp("amqp", 5672);
    let management = Port::http("management", 15672);
    let password = SecretRef::new(secret, "rabbitmq-password")
        .describe("Password of the default RabbitMQ user (URL-safe characters)");
    let ping = Probe::exec(["rabbitmq-diagnostics", "-q", "ping"]);
    let service = s.add(sized(
        Service::new("rabbitmq")
            .image(Image::new("rabbitmq").tag("3.13-management"))
            .port(amqp)
            .port(management)
            .env("RABBITMQ_DEFAULT_USER", user)
            .env("RABBITMQ_DEFAULT_PASS", &password)
            .readiness(ping.clone().period(10).timeout(5))
            .liveness(ping.period(30).timeout(10))
            .startup(
                Probe::exec(["rabbitmq-diagnostics", "-q", "ping"])
                    .period(5)
                    .timeout(5)
                    .failure_threshold(24),
            )
            .mount(Mount::persistent("rabbitmq-data", "/var/lib/rabbitmq").size(Memory::gi(5)))
            .security(
                Security::restricted()
                    .run_as_user(999)
                    .fs_group(999)
                    .writable_root_fs(
                        "the entrypoint writes generated configuration under /etc/rabbitmq",
                    ),
            ),
        (250, 1000),
        (512, 1024),
    ));
    RabbitMq {
        service,
        amqp,
        management,
        user: user.to_owned(),
        password,
    }
}

/// An nginx load balancer in front of every replica of `upstream` (`least_conn`, client
/// addresses forwarded), listening on 8080 and published on the host as `host_port`.
/// Compose only: Kubernetes routes through its Service and Ingress instead.
pub fn edge(s: &mut Stack, upstream: &Endpoint, host_port: u16) -> ServiceRef {
    let http = Port::http("http", 8080);
    let conf = Template::new()
        .text("upstream backend {\n    least_conn;\n    server ")
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
            "        proxy_pass http://backend;",
            "        proxy_set_header Host $host;",
            "        proxy_set_header X-Real-IP $remote_addr;",
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "        proxy_set_header X-Forwarded-Proto $scheme;",
            "    }",
            "}",
        ]));
    let edge = Service::new("edge")
        .image(Image::new("nginxinc/nginx-unprivileged").tag("1.27.3-alpine"))
        .port(http)
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
        .only_on([Target::Compose]);
    let edge = if s.env == Env::Dev {
        edge.publish(http, host_port)
    } else {
        edge.publish_public(http, host_port)
    };
    s.add(sized(edge, (50, 250), (32, 128)))
}

/// Joins lines, each ending in a newline (config files written in Rust).
pub fn lines(lines: &[&str]) -> String {
    lines.iter().flat_map(|l| [*l, "\n"]).collect()
}
