//! The backing-service catalog: Postgres (and PgBouncer), Redis, MongoDB, RabbitMQ, NATS
//! and Kafka, each declared once and rendered right for every target.
//!
//! - **Compose** (and Kubernetes stacks without Terraform): a hardened container with a
//!   health check, a named volume and its password from a secret reference.
//! - **Terraform**: a `helm_release` of a pinned chart, small values files per concern
//!   (topology, resources), passwords passed as sensitive variables; the Kubernetes
//!   manifests then leave the service out and point consumers at the chart's Service.
//!
//! Each item returns a typed handle whose URL builders make consumers' connection strings
//! with the password as a secret reference, so the same declaration wires every consumer in
//! every target.
//!
//! ```
//! use stackdsl::prelude::*;
//! use stackdsl::catalog::{Postgres, Redis};
//!
//! let mut s = Stack::new("shop", Env::Dev);
//! let pg = s.backing(Postgres::new("shop", SecretRef::new("shop-secrets", "postgres-password")));
//! let cache = s.backing(Redis::new(SecretRef::new("shop-secrets", "redis-password")));
//! assert_eq!(pg.url().template().preview(), "postgresql://shop:${SHOP_SECRETS_POSTGRES_PASSWORD}@postgres:5432/shop");
//! assert_eq!(cache.url(0).template().preview(), "redis://:${SHOP_SECRETS_REDIS_PASSWORD}@redis:6379/0");
//! ```

mod backup;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::builder::{Conditional, HasImage, ServiceBuilder};
use crate::model::{
    BackingKind, BackingSpec, Backup, CiService, Cpu, HelmChart, Image, Memory, Mount, Port, Probe,
    Resources, SecretRef, Security, Service, ServiceRef, Stack, Template, Url, ValuesFile,
};

/// Bitnami's chart registry.
pub const BITNAMI: &str = "oci://registry-1.docker.io/bitnamicharts";

// Catalog items are configured per environment like services are.
impl Conditional for Postgres {}
impl Conditional for PgBouncer {}
impl Conditional for Redis {}
impl Conditional for MongoDb {}
impl Conditional for RabbitMq {}
impl Conditional for Nats {}
impl Conditional for Kafka {}

/// A catalog item: adds itself to a stack and returns a typed handle.
pub trait BackingService {
    /// What consumers use: the service handle and its URL builders.
    type Handle;
    /// Adds the service to `stack`.
    fn install(self, stack: &mut Stack) -> Self::Handle;
}

impl Stack {
    /// Adds a backing service from the [`catalog`](crate::catalog) and returns its handle.
    /// Errors about the services it adds name this call's location.
    #[track_caller]
    pub fn backing<B: BackingService>(&mut self, item: B) -> B::Handle {
        let outer = self.origin_override.replace(crate::model::Origin::caller());
        let handle = item.install(self);
        self.origin_override = outer;
        handle
    }
}

fn resources_json(r: &Resources) -> Value {
    let amount = |a: crate::model::Amount| {
        let mut m = serde_json::Map::new();
        if let Some(c) = a.cpu {
            m.insert("cpu".into(), Value::String(c.to_string()));
        }
        if let Some(mem) = a.memory {
            m.insert("memory".into(), Value::String(mem.to_string()));
        }
        Value::Object(m)
    };
    json!({ "requests": amount(r.requests), "limits": amount(r.limits) })
}

fn pod_labels(release: &str, chart: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/instance".to_owned(), release.to_owned()),
        ("app.kubernetes.io/name".to_owned(), chart.to_owned()),
    ])
}

fn values(concern: &str, values: Value) -> ValuesFile {
    ValuesFile {
        concern: concern.to_owned(),
        values,
    }
}

fn sized(cpu: (u32, u32), memory_mi: (u64, u64)) -> Resources {
    Resources::requests(Cpu::m(cpu.0), Memory::mi(memory_mi.0))
        .limits(Cpu::m(cpu.1), Memory::mi(memory_mi.1))
}

// --- Postgres ---------------------------------------------------------------------------

/// PostgreSQL 17: a role and database of the same name; optional streaming read replicas
/// (Helm). Chart: bitnami `postgresql`.
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct Postgres {
    name: String,
    database: String,
    password: SecretRef,
    storage: Memory,
    read_replicas: u32,
    resources: Resources,
    backup: Option<Backup>,
}

impl Postgres {
    /// Database and role `database`, the role's password from `password`.
    pub fn new(database: impl Into<String>, password: SecretRef) -> Self {
        Postgres {
            name: "postgres".into(),
            database: database.into(),
            password,
            storage: Memory::gi(10),
            read_replicas: 0,
            resources: sized((250, 1000), (256, 1024)),
            backup: None,
        }
    }

    /// Service name (default `postgres`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Volume size (default 10 GiB).
    pub fn storage(mut self, size: Memory) -> Self {
        self.storage = size;
        self
    }

    /// Backs the database up on a schedule with `pg_dump` (a CronJob in Kubernetes).
    pub fn backup(mut self, policy: Backup) -> Self {
        self.backup = Some(policy);
        self
    }

    /// Streaming read replicas beside the primary (Helm only; Compose runs the primary).
    pub fn read_replicas(mut self, n: u32) -> Self {
        self.read_replicas = n;
        self
    }

    /// CPU and memory of each instance.
    pub fn resources(mut self, r: Resources) -> Self {
        self.resources = r;
        self
    }
}

/// A Postgres in a stack.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PostgresRef {
    /// The service.
    pub service: ServiceRef,
    /// Its port.
    pub port: Port,
    /// Role and database name.
    pub database: String,
    /// The role's password.
    pub password: SecretRef,
}

impl PostgresRef {
    /// `postgresql://<db>:<password>@<host>:5432/<db>`.
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

impl BackingService for Postgres {
    type Handle = PostgresRef;
    fn install(self, s: &mut Stack) -> PostgresRef {
        let port = Port::tcp("postgres", 5432);
        let db = self.database.clone();
        let ready = Probe::exec(["pg_isready", "-U", &db, "-d", &db]);
        let image = Image::new("postgres").tag("17.2-alpine");
        let replication = self.read_replicas > 0;
        let mut spec = BackingSpec {
            kind: BackingKind::Postgres {
                database: db.clone(),
                password: self.password.clone(),
                major_version: 17,
            },
            chart: HelmChart::new(BITNAMI, "postgresql", "17.1.0"),
            values: vec![
                values(
                    "topology",
                    json!({
                        "fullnameOverride": self.name,
                        "architecture": if replication { "replication" } else { "standalone" },
                        "auth": { "enablePostgresUser": false, "username": db, "database": db },
                        "readReplicas": { "replicaCount": self.read_replicas },
                        "networkPolicy": { "enabled": false },
                    }),
                ),
                values(
                    "resources",
                    json!({
                        "primary": {
                            "resources": resources_json(&self.resources),
                            "persistence": { "size": self.storage.to_string() },
                        },
                        "readReplicas": {
                            "resources": resources_json(&self.resources),
                            "persistence": { "size": self.storage.to_string() },
                        },
                    }),
                ),
            ],
            sensitive: vec![("auth.password".into(), self.password.clone())],
            host_suffix: if replication {
                "-primary".into()
            } else {
                String::new()
            },
            pod_labels: pod_labels(&self.name, "postgresql"),
            ci: Some(CiService {
                env: vec![
                    ("POSTGRES_DB".into(), db.clone()),
                    ("POSTGRES_USER".into(), db.clone()),
                    ("POSTGRES_PASSWORD".into(), CiService::PASSWORD.into()),
                ],
                health_cmd: Some(format!("pg_isready -U {db} -d {db}")),
                password: true,
            }),
        };
        if replication {
            let repl = SecretRef::new(self.password.name(), "postgres-replication-password")
                .describe("Password of the Postgres replication role");
            spec.sensitive
                .push(("auth.replicationPassword".into(), repl));
        }
        let service = s.add(
            Service::new(self.name)
                .image(image.clone())
                .port(port)
                .env("POSTGRES_DB", &db)
                .env("POSTGRES_USER", &db)
                .env("POSTGRES_PASSWORD", &self.password)
                .env("PGDATA", "/var/lib/postgresql/data/pgdata")
                .readiness(ready.clone().period(5))
                .liveness(ready.period(10).timeout(5))
                .mount(
                    Mount::persistent("postgres-data", "/var/lib/postgresql/data")
                        .size(self.storage),
                )
                .mount(Mount::scratch("/var/run/postgresql"))
                .mount(Mount::scratch("/tmp"))
                // The image's `postgres` user (uid 70 on Alpine) owns the data directory.
                .security(Security::restricted().run_as_user(70).fs_group(70))
                .resources(self.resources)
                .backing(spec),
        );
        backup::attach(s, &service, self.backup, || {
            backup::postgres(&service, port, image, &db, &self.password, 70)
        });
        PostgresRef {
            service,
            port,
            database: db,
            password: self.password,
        }
    }
}

// --- PgBouncer ----------------------------------------------------------------------------

/// PgBouncer in front of a [`Postgres`]: transaction pooling for many short-lived
/// connections. Runs as an ordinary service in every target (no chart needed).
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct PgBouncer {
    postgres: PostgresRef,
    pool_mode: String,
    max_client_connections: u32,
    replicas: u32,
}

impl PgBouncer {
    /// A pooler for `postgres`.
    pub fn new(postgres: &PostgresRef) -> Self {
        PgBouncer {
            postgres: postgres.clone(),
            pool_mode: "transaction".into(),
            max_client_connections: 1000,
            replicas: 1,
        }
    }

    /// `session`, `transaction` (default) or `statement`.
    pub fn pool_mode(mut self, mode: impl Into<String>) -> Self {
        self.pool_mode = mode.into();
        self
    }

    /// Maximum client connections (default 1000).
    pub fn max_client_connections(mut self, n: u32) -> Self {
        self.max_client_connections = n;
        self
    }

    /// Instances (default 1).
    pub fn replicas(mut self, n: u32) -> Self {
        self.replicas = n;
        self
    }
}

impl BackingService for PgBouncer {
    type Handle = PostgresRef;
    fn install(self, s: &mut Stack) -> PostgresRef {
        let port = Port::tcp("pgbouncer", 6432);
        let pg = &self.postgres;
        let service = s.add(
            Service::new("pgbouncer")
                .image(Image::new("edoburu/pgbouncer").tag("v1.23.1-p3"))
                .port(port)
                .env("DB_HOST", Template::new().host(&pg.service))
                .env(
                    "DB_PORT",
                    Template::new().port(&pg.service.endpoint(pg.port)),
                )
                .env("DB_NAME", &pg.database)
                .env("DB_USER", &pg.database)
                .env("DB_PASSWORD", &pg.password)
                .env("AUTH_TYPE", "scram-sha-256")
                .env("POOL_MODE", &self.pool_mode)
                .env("MAX_CLIENT_CONN", self.max_client_connections)
                .env("LISTEN_PORT", port.number)
                .readiness(Probe::tcp(port).period(5))
                .liveness(Probe::tcp(port).period(10))
                // The entrypoint writes pgbouncer.ini from the environment.
                .mount(Mount::scratch("/etc/pgbouncer"))
                .mount(Mount::scratch("/tmp"))
                .security(Security::restricted().run_as_user(70))
                .resources(sized((50, 250), (32, 128)))
                .replicas(self.replicas),
        );
        PostgresRef {
            service,
            port,
            database: pg.database.clone(),
            password: pg.password.clone(),
        }
    }
}

// --- Redis -------------------------------------------------------------------------------

/// Redis 7 with a password, append-only persistence and optional replicas (Helm) and
/// keyspace notifications. Chart: bitnami `redis`.
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct Redis {
    name: String,
    password: SecretRef,
    storage: Memory,
    replicas: u32,
    append_only: bool,
    notify_keyspace_events: Option<String>,
    resources: Resources,
    backup: Option<Backup>,
}

impl Redis {
    /// A Redis requiring `password` from every client.
    pub fn new(password: SecretRef) -> Self {
        Redis {
            name: "redis".into(),
            password,
            storage: Memory::gi(5),
            replicas: 0,
            append_only: true,
            notify_keyspace_events: None,
            resources: sized((100, 500), (128, 512)),
            backup: None,
        }
    }

    /// Backs the dataset up on a schedule with `redis-cli --rdb` (a CronJob in Kubernetes).
    pub fn backup(mut self, policy: Backup) -> Self {
        self.backup = Some(policy);
        self
    }

    /// Service name (default `redis`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Volume size (default 5 GiB).
    pub fn storage(mut self, size: Memory) -> Self {
        self.storage = size;
        self
    }

    /// Read replicas beside the master (Helm only).
    pub fn replicas(mut self, n: u32) -> Self {
        self.replicas = n;
        self
    }

    /// Append-only-file persistence (default on).
    pub fn append_only(mut self, on: bool) -> Self {
        self.append_only = on;
        self
    }

    /// Keyspace notifications, e.g. `KA` (`notify-keyspace-events`).
    pub fn notify_keyspace_events(mut self, classes: impl Into<String>) -> Self {
        self.notify_keyspace_events = Some(classes.into());
        self
    }

    /// CPU and memory of each instance.
    pub fn resources(mut self, r: Resources) -> Self {
        self.resources = r;
        self
    }

    fn config_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "appendonly {}",
            if self.append_only { "yes" } else { "no" }
        )];
        if let Some(n) = &self.notify_keyspace_events {
            lines.push(format!("notify-keyspace-events {n}"));
        }
        lines
    }
}

/// A Redis in a stack.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisRef {
    /// The service.
    pub service: ServiceRef,
    /// Its port.
    pub port: Port,
    /// The password.
    pub password: SecretRef,
}

impl RedisRef {
    /// `redis://:<password>@<host>:6379/<db>`.
    pub fn url(&self, db: u32) -> Url {
        self.service
            .endpoint(self.port)
            .url()
            .scheme("redis")
            .password(&self.password)
            .path(format!("/{db}"))
    }
}

impl BackingService for Redis {
    type Handle = RedisRef;
    fn install(self, s: &mut Stack) -> RedisRef {
        let port = Port::tcp("redis", 6379);
        let image = Image::new("redis").tag("7.4-alpine");
        let mut cmd = format!("exec redis-server --port {}", port.number);
        for line in self.config_lines() {
            cmd.push_str(&format!(" --{line}"));
        }
        cmd.push_str(" --requirepass \"$REDIS_PASSWORD\"");
        let spec = BackingSpec {
            kind: BackingKind::Redis {
                password: self.password.clone(),
            },
            chart: HelmChart::new(BITNAMI, "redis", "23.1.1"),
            values: vec![
                values(
                    "topology",
                    json!({
                        "fullnameOverride": self.name,
                        "architecture": if self.replicas > 0 { "replication" } else { "standalone" },
                        "auth": { "enabled": true, "sentinel": false },
                        "commonConfiguration": self.config_lines().join("\n"),
                        "replica": { "replicaCount": self.replicas },
                        "networkPolicy": { "enabled": false },
                    }),
                ),
                values(
                    "resources",
                    json!({
                        "master": {
                            "resources": resources_json(&self.resources),
                            "persistence": { "size": self.storage.to_string() },
                        },
                        "replica": {
                            "resources": resources_json(&self.resources),
                            "persistence": { "size": self.storage.to_string() },
                        },
                    }),
                ),
            ],
            sensitive: vec![("auth.password".into(), self.password.clone())],
            host_suffix: "-master".into(),
            pod_labels: pod_labels(&self.name, "redis"),
            // A service container cannot be given `--requirepass`: CI's Redis has none.
            ci: Some(CiService {
                env: Vec::new(),
                health_cmd: Some("redis-cli ping".into()),
                password: false,
            }),
        };
        let service = s.add(
            Service::new(self.name.clone())
                .image(image.clone())
                .port(port)
                .env("REDIS_PASSWORD", &self.password)
                // redis-cli reads its password from REDISCLI_AUTH, so the probe needs no argument.
                .env("REDISCLI_AUTH", &self.password)
                .command(["sh", "-c"])
                .args([cmd])
                .readiness(Probe::exec(["redis-cli", "ping"]).period(5))
                .liveness(Probe::exec(["redis-cli", "ping"]).timeout(5))
                .mount(Mount::persistent(format!("{}-data", self.name), "/data").size(self.storage))
                // The image's `redis` user.
                .security(Security::restricted().run_as_user(999).fs_group(999))
                .resources(self.resources)
                .backing(spec),
        );
        backup::attach(s, &service, self.backup, || {
            backup::redis(&service, port, image, &self.password, 999)
        });
        RedisRef {
            service,
            port,
            password: self.password,
        }
    }
}

// --- MongoDB -----------------------------------------------------------------------------

/// MongoDB 7 with a root user. Chart: bitnami `mongodb` (standalone).
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct MongoDb {
    name: String,
    user: String,
    password: SecretRef,
    storage: Memory,
    resources: Resources,
    backup: Option<Backup>,
}

impl MongoDb {
    /// Root user `user` with `password`.
    pub fn new(user: impl Into<String>, password: SecretRef) -> Self {
        MongoDb {
            name: "mongo".into(),
            user: user.into(),
            password,
            storage: Memory::gi(20),
            resources: sized((250, 1000), (512, 2048)),
            backup: None,
        }
    }

    /// Backs every database up on a schedule with `mongodump` (a CronJob in Kubernetes).
    pub fn backup(mut self, policy: Backup) -> Self {
        self.backup = Some(policy);
        self
    }

    /// Service name (default `mongo`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Volume size (default 20 GiB).
    pub fn storage(mut self, size: Memory) -> Self {
        self.storage = size;
        self
    }

    /// CPU and memory.
    pub fn resources(mut self, r: Resources) -> Self {
        self.resources = r;
        self
    }
}

/// A MongoDB in a stack.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MongoRef {
    /// The service.
    pub service: ServiceRef,
    /// Its port.
    pub port: Port,
    /// Root user.
    pub user: String,
    /// Root password.
    pub password: SecretRef,
}

impl MongoRef {
    /// `mongodb://<user>:<password>@<host>:27017/<database>?authSource=admin`.
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

impl BackingService for MongoDb {
    type Handle = MongoRef;
    fn install(self, s: &mut Stack) -> MongoRef {
        let port = Port::tcp("mongo", 27017);
        let ping = Probe::exec(["mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]);
        let image = Image::new("mongo").tag("7.0.16");
        let spec = BackingSpec {
            kind: BackingKind::MongoDb,
            chart: HelmChart::new(BITNAMI, "mongodb", "17.0.2"),
            values: vec![
                values(
                    "topology",
                    json!({
                        "fullnameOverride": self.name,
                        "architecture": "standalone",
                        "auth": { "enabled": true, "rootUser": self.user },
                        "networkPolicy": { "enabled": false },
                    }),
                ),
                values(
                    "resources",
                    json!({
                        "resources": resources_json(&self.resources),
                        "persistence": { "size": self.storage.to_string() },
                    }),
                ),
            ],
            sensitive: vec![("auth.rootPassword".into(), self.password.clone())],
            host_suffix: String::new(),
            pod_labels: pod_labels(&self.name, "mongodb"),
            ci: Some(CiService {
                env: vec![
                    ("MONGO_INITDB_ROOT_USERNAME".into(), self.user.clone()),
                    (
                        "MONGO_INITDB_ROOT_PASSWORD".into(),
                        CiService::PASSWORD.into(),
                    ),
                ],
                health_cmd: Some("mongosh --quiet --eval \"db.adminCommand('ping').ok\"".into()),
                password: true,
            }),
        };
        let service = s.add(
            Service::new(self.name.clone())
                .image(image.clone())
                .port(port)
                .env("MONGO_INITDB_ROOT_USERNAME", &self.user)
                .env("MONGO_INITDB_ROOT_PASSWORD", &self.password)
                .readiness(ping.clone().period(10).timeout(5))
                .liveness(ping.period(20).timeout(10))
                .mount(
                    Mount::persistent(format!("{}-data", self.name), "/data/db").size(self.storage),
                )
                .mount(Mount::scratch("/data/configdb"))
                .mount(Mount::scratch("/tmp"))
                // The image's `mongodb` user.
                .security(Security::restricted().run_as_user(999).fs_group(999))
                .resources(self.resources)
                .backing(spec),
        );
        backup::attach(s, &service, self.backup, || {
            backup::mongo(&service, port, image, &self.user, &self.password, 999)
        });
        MongoRef {
            service,
            port,
            user: self.user,
            password: self.password,
        }
    }
}

// --- RabbitMQ ----------------------------------------------------------------------------

/// RabbitMQ with the management plugin. Chart: bitnami `rabbitmq`.
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct RabbitMq {
    name: String,
    user: String,
    password: SecretRef,
    erlang_cookie: SecretRef,
    replicas: u32,
    storage: Memory,
    resources: Resources,
}

impl RabbitMq {
    /// Default user `user` with `password`; cluster nodes share `erlang_cookie`.
    pub fn new(user: impl Into<String>, password: SecretRef, erlang_cookie: SecretRef) -> Self {
        RabbitMq {
            name: "rabbitmq".into(),
            user: user.into(),
            password,
            erlang_cookie,
            replicas: 1,
            storage: Memory::gi(5),
            resources: sized((250, 1000), (512, 1024)),
        }
    }

    /// Service name (default `rabbitmq`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Cluster nodes (Helm; Compose runs one).
    pub fn replicas(mut self, n: u32) -> Self {
        self.replicas = n;
        self
    }

    /// Volume size (default 5 GiB).
    pub fn storage(mut self, size: Memory) -> Self {
        self.storage = size;
        self
    }

    /// CPU and memory of each node.
    pub fn resources(mut self, r: Resources) -> Self {
        self.resources = r;
        self
    }
}

/// A RabbitMQ in a stack.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RabbitRef {
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

impl RabbitRef {
    /// `amqp://<user>:<password>@<host>:5672`.
    pub fn url(&self) -> Url {
        self.service
            .endpoint(self.amqp)
            .url()
            .scheme("amqp")
            .user(&self.user)
            .password(&self.password)
    }
}

impl BackingService for RabbitMq {
    type Handle = RabbitRef;
    fn install(self, s: &mut Stack) -> RabbitRef {
        let amqp = Port::tcp("amqp", 5672);
        let management = Port::http("management", 15672);
        let ping = Probe::exec(["rabbitmq-diagnostics", "-q", "ping"]);
        let spec = BackingSpec {
            kind: BackingKind::RabbitMq,
            chart: HelmChart::new(BITNAMI, "rabbitmq", "16.0.16"),
            values: vec![
                values(
                    "topology",
                    json!({
                        "fullnameOverride": self.name,
                        "replicaCount": self.replicas,
                        "auth": { "username": self.user },
                        "networkPolicy": { "enabled": false },
                    }),
                ),
                values(
                    "resources",
                    json!({
                        "resources": resources_json(&self.resources),
                        "persistence": { "size": self.storage.to_string() },
                    }),
                ),
            ],
            sensitive: vec![
                ("auth.password".into(), self.password.clone()),
                ("auth.erlangCookie".into(), self.erlang_cookie.clone()),
            ],
            host_suffix: String::new(),
            pod_labels: pod_labels(&self.name, "rabbitmq"),
            ci: Some(CiService {
                env: vec![
                    ("RABBITMQ_DEFAULT_USER".into(), self.user.clone()),
                    ("RABBITMQ_DEFAULT_PASS".into(), CiService::PASSWORD.into()),
                ],
                health_cmd: Some("rabbitmq-diagnostics -q ping".into()),
                password: true,
            }),
        };
        let service = s.add(
            Service::new(self.name.clone())
                .image(Image::new("rabbitmq").tag("3.13-management"))
                .port(amqp)
                .port(management)
                .env("RABBITMQ_DEFAULT_USER", &self.user)
                .env("RABBITMQ_DEFAULT_PASS", &self.password)
                .readiness(ping.clone().period(10).timeout(5))
                .liveness(ping.period(30).timeout(10))
                .startup(
                    Probe::exec(["rabbitmq-diagnostics", "-q", "ping"])
                        .period(5)
                        .timeout(5)
                        .failure_threshold(24),
                )
                .mount(
                    Mount::persistent(format!("{}-data", self.name), "/var/lib/rabbitmq")
                        .size(self.storage),
                )
                .security(
                    Security::restricted()
                        .run_as_user(999)
                        .fs_group(999)
                        .writable_root_fs(
                            "the entrypoint writes generated configuration under /etc/rabbitmq",
                        ),
                )
                .resources(self.resources)
                .backing(spec),
        );
        RabbitRef {
            service,
            amqp,
            management,
            user: self.user,
            password: self.password,
        }
    }
}

// --- NATS --------------------------------------------------------------------------------

/// NATS with JetStream. Chart: `nats` from the NATS project.
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct Nats {
    name: String,
    replicas: u32,
    storage: Memory,
    resources: Resources,
}

impl Nats {
    /// A NATS server (a 3-node cluster under Helm unless set otherwise).
    pub fn new() -> Self {
        Nats {
            name: "nats".into(),
            replicas: 3,
            storage: Memory::gi(10),
            resources: sized((100, 500), (128, 512)),
        }
    }

    /// Cluster nodes under Helm (default 3; Compose runs one).
    pub fn replicas(mut self, n: u32) -> Self {
        self.replicas = n;
        self
    }

    /// JetStream file-store volume per node (default 10 GiB).
    pub fn storage(mut self, size: Memory) -> Self {
        self.storage = size;
        self
    }
}

impl Default for Nats {
    fn default() -> Self {
        Nats::new()
    }
}

/// A NATS in a stack.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NatsRef {
    /// The service.
    pub service: ServiceRef,
    /// Client port.
    pub port: Port,
}

impl NatsRef {
    /// `nats://<host>:4222`.
    pub fn url(&self) -> Url {
        self.service.endpoint(self.port).url().scheme("nats")
    }
}

impl BackingService for Nats {
    type Handle = NatsRef;
    fn install(self, s: &mut Stack) -> NatsRef {
        let port = Port::tcp("client", 4222);
        let monitor = Port::http("monitor", 8222);
        let spec = BackingSpec {
            kind: BackingKind::Nats,
            chart: HelmChart::new(
                "https://nats-io.github.io/k8s/helm/charts/",
                "nats",
                "1.3.7",
            ),
            values: vec![
                values(
                    "topology",
                    json!({
                        "fullnameOverride": self.name,
                        "config": {
                            "cluster": { "enabled": self.replicas > 1, "replicas": self.replicas },
                            "jetstream": { "enabled": true, "fileStore": { "pvc": { "size": self.storage.to_string() } } },
                        },
                    }),
                ),
                values(
                    "resources",
                    json!({ "container": { "merge": { "resources": resources_json(&self.resources) } } }),
                ),
            ],
            sensitive: Vec::new(),
            host_suffix: String::new(),
            pod_labels: pod_labels(&self.name, "nats"),
            ci: Some(CiService {
                env: Vec::new(),
                health_cmd: None,
                password: false,
            }),
        };
        let service = s.add(
            Service::new(self.name.clone())
                .image(Image::new("nats").tag("2.10.24-alpine"))
                .port(port)
                .port(monitor)
                .args([
                    "--jetstream",
                    "--store_dir",
                    "/data",
                    "--http_port",
                    &monitor.number.to_string(),
                ])
                .readiness(Probe::http_get("/healthz?js-enabled-only=true", monitor).period(5))
                .liveness(Probe::http_get("/healthz", monitor).period(10))
                .mount(Mount::persistent(format!("{}-data", self.name), "/data").size(self.storage))
                .security(Security::restricted().run_as_user(1000).fs_group(1000))
                .resources(self.resources)
                .backing(spec),
        );
        NatsRef { service, port }
    }
}

// --- Kafka -------------------------------------------------------------------------------

/// Apache Kafka in KRaft mode. Chart: bitnami `kafka` (combined controller/broker nodes).
/// Clients connect in plaintext inside the namespace, fenced by NetworkPolicies.
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct Kafka {
    name: String,
    replicas: u32,
    storage: Memory,
    resources: Resources,
}

impl Kafka {
    /// A Kafka cluster (3 nodes under Helm unless set otherwise).
    pub fn new() -> Self {
        Kafka {
            name: "kafka".into(),
            replicas: 3,
            storage: Memory::gi(20),
            resources: sized((500, 2000), (1024, 2048)),
        }
    }

    /// Nodes under Helm (default 3; Compose runs one).
    pub fn replicas(mut self, n: u32) -> Self {
        self.replicas = n;
        self
    }

    /// Log volume per node (default 20 GiB).
    pub fn storage(mut self, size: Memory) -> Self {
        self.storage = size;
        self
    }
}

impl Default for Kafka {
    fn default() -> Self {
        Kafka::new()
    }
}

/// A Kafka in a stack.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KafkaRef {
    /// The service.
    pub service: ServiceRef,
    /// Client port.
    pub port: Port,
}

impl KafkaRef {
    /// The bootstrap servers (`<host>:9092`).
    pub fn brokers(&self) -> Template {
        Template::host_port(&self.service.endpoint(self.port))
    }
}

impl BackingService for Kafka {
    type Handle = KafkaRef;
    fn install(self, s: &mut Stack) -> KafkaRef {
        let port = Port::tcp("client", 9092);
        let controller = Port::tcp("controller", 9093);
        let spec = BackingSpec {
            kind: BackingKind::Kafka,
            chart: HelmChart::new(BITNAMI, "kafka", "32.4.4"),
            values: vec![
                values(
                    "topology",
                    json!({
                        "fullnameOverride": self.name,
                        "controller": { "replicaCount": self.replicas },
                        "listeners": { "client": { "protocol": "PLAINTEXT" } },
                        "networkPolicy": { "enabled": false },
                    }),
                ),
                values(
                    "resources",
                    json!({
                        "controller": {
                            "resources": resources_json(&self.resources),
                            "persistence": { "size": self.storage.to_string() },
                        },
                    }),
                ),
            ],
            sensitive: Vec::new(),
            host_suffix: String::new(),
            pod_labels: pod_labels(&self.name, "kafka"),
            // A broker advertises the address clients resolve: in CI the tests run on the
            // runner and reach the service container's published port on localhost.
            ci: Some(CiService {
                env: kraft_env("localhost", port, controller),
                health_cmd: Some(format!(
                    "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:{}",
                    port.number
                )),
                password: false,
            }),
        };
        // A single KRaft node for Compose, advertising the address clients resolve.
        let mut node: ServiceBuilder<HasImage> = Service::new(self.name.clone())
            .image(Image::new("apache/kafka").tag("3.9.0"))
            .port(port)
            .port(controller);
        for (var, value) in kraft_env(&self.name, port, controller) {
            node = node.env(var, value);
        }
        let node = node
            .env("KAFKA_LOG_DIRS", "/var/lib/kafka/data")
            .readiness(Probe::tcp(port).period(10))
            .liveness(Probe::tcp(port).period(20))
            .health_tool(crate::model::HealthTool::None)
            .mount(Mount::persistent(format!("{}-data", self.name), "/var/lib/kafka/data").size(self.storage))
            .mount(Mount::scratch("/tmp"))
            .security(
                Security::restricted()
                    .run_as_user(1000)
                    .fs_group(1000)
                    .writable_root_fs("the image's launcher writes server.properties from the environment into /opt/kafka/config"),
            )
            .resources(self.resources)
            .backing(spec);
        let service = s.add(node);
        KafkaRef { service, port }
    }
}

/// The environment of a single-node KRaft broker (broker and controller in one) that
/// advertises itself as `host`.
fn kraft_env(host: &str, port: Port, controller: Port) -> Vec<(String, String)> {
    [
        ("KAFKA_NODE_ID", "1".to_owned()),
        ("KAFKA_PROCESS_ROLES", "broker,controller".to_owned()),
        (
            "KAFKA_LISTENERS",
            format!(
                "PLAINTEXT://:{},CONTROLLER://:{}",
                port.number, controller.number
            ),
        ),
        ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER".to_owned()),
        (
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
            "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT".to_owned(),
        ),
        (
            "KAFKA_CONTROLLER_QUORUM_VOTERS",
            format!("1@{host}:{}", controller.number),
        ),
        (
            "KAFKA_ADVERTISED_LISTENERS",
            format!("PLAINTEXT://{host}:{}", port.number),
        ),
        ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1".to_owned()),
        (
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
            "1".to_owned(),
        ),
        ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}
