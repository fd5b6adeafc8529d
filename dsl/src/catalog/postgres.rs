//! PostgreSQL: a Compose/Kubernetes container or a Helm release, and its connection URLs.

use serde_json::json;

use super::{BITNAMI, BackingService, pod_labels, resources_json, sized, values};
use crate::model::{
    BackingKind, BackingSpec, Backup, CiService, HelmChart, Image, Memory, Mount, Port, Probe,
    Resources, SecretRef, Security, Service, ServiceRef, Stack, Url,
};

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
        super::backup::attach(s, &service, self.backup, || {
            super::backup::postgres(&service, port, image, &db, &self.password, 70)
        });
        PostgresRef {
            service,
            port,
            database: db,
            password: self.password,
        }
    }
}
