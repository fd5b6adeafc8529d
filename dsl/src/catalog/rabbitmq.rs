//! RabbitMQ: a container or a Helm release, and its AMQP URL.

use serde_json::json;

use super::{BITNAMI, BackingService, pod_labels, resources_json, sized, values};
use crate::model::{
    BackingKind, BackingSpec, CiService, HelmChart, Image, Memory, Mount, Port, Probe, Resources,
    SecretRef, Security, Service, ServiceRef, Stack, Url,
};

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
