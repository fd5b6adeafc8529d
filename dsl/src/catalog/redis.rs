//! Redis: a container or a Helm release, and its connection URLs.

use serde_json::json;

use super::{BITNAMI, BackingService, pod_labels, resources_json, sized, values};
use crate::model::{
    BackingKind, BackingSpec, Backup, CiService, HelmChart, Image, Memory, Mount, Port, Probe,
    Resources, SecretRef, Security, Service, ServiceRef, Stack, Url,
};

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
        super::backup::attach(s, &service, self.backup, || {
            super::backup::redis(&service, port, image, &self.password, 999)
        });
        RedisRef {
            service,
            port,
            password: self.password,
        }
    }
}
