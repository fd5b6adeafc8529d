//! PgBouncer in front of a catalog Postgres.

use super::{BackingService, PostgresRef, sized};
use crate::model::{Image, Mount, Port, Probe, Security, Service, Stack, Template};

/// PgBouncer in front of a [`Postgres`](super::Postgres): transaction pooling for many short-lived
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
                .env("DB_USER", &pg.user)
                .env("DB_PASSWORD", &pg.password)
                .env("AUTH_TYPE", "scram-sha-256")
                .env("POOL_MODE", &self.pool_mode)
                .env("MAX_CLIENT_CONN", self.max_client_connections)
                .env("LISTEN_PORT", port.number)
                .readiness(Probe::tcp(port).period(5))
                .liveness(Probe::tcp(port).period(10))
                // The Alpine image's BusyBox `nc` runs the probe in Compose.
                .health_tool(crate::model::HealthTool::Wget)
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
            user: pg.user.clone(),
            password: pg.password.clone(),
        }
    }
}
