//! RabbitMQ: a container, or a cluster run by the RabbitMQ Cluster Operator where the stack
//! renders Terraform; and its AMQP URL.
//!
//! # Sources
//!
//! - **Compose** (and Kubernetes without Terraform): Docker's official
//!   `rabbitmq:4.2.9-management` (user `rabbitmq`, uid 999): the 4.2 line the operator
//!   release is tested with, with the management plugin.
//! - **Terraform**: the RabbitMQ team's Cluster Operator v2.22.3 in `rabbitmq-system`. The
//!   project publishes no Helm chart (its maintainers removed theirs in 2020 and 2021; an
//!   official one is still an open request, rabbitmq/cluster-operator#1637), and its
//!   documented install is the release manifest `cluster-operator.yml`. Terraform therefore
//!   fetches that manifest at the pinned release URL (`hashicorp/http`) and applies each
//!   object with the kubernetes provider's `kubernetes_manifest` (server-side apply,
//!   namespace and CRDs first, the Deployment last and waited for). Nothing of the
//!   manifest is copied into the output, and no third-party provider is needed. Its webhook
//!   certificate comes from cert-manager, which the cluster must run. The manifests carry a
//!   `RabbitmqCluster` (`rabbitmq.com/v1beta1`) of [`RabbitMq::replicas`] nodes running the
//!   same image; consumers reach the operator's Service `<name>`.
//! - **Secrets**: the operator takes the default user from a Secret of its own shape
//!   (`secretBackend.externalSecret`: `username`, `password` and `default_user.conf`),
//!   `<name>-credentials`, which the Kubernetes README says how to create from the stack's
//!   variables; the nodes' Erlang cookie is the operator's own.
//! - **NetworkPolicies**: the operator (`app.kubernetes.io/name: rabbitmq-cluster-operator`)
//!   reaches the nodes' management API on 15672; nodes reach each other. RabbitMQ 4.1+
//!   finds its peers by name, without calling the Kubernetes API.

use serde_json::json;

use super::{BackingService, labels, resources_json, sized};
use crate::model::{
    BackingKind, BackingSpec, CiService, CustomResource, Image, Install, Memory, Mount, Operated,
    Operator, OperatorSource, Port, Probe, Resources, SecretRef, Security, Service, ServiceRef,
    ShapedSecret, Stack, Template, Url,
};

/// Docker's official image, the 4.2 line with the management plugin.
const IMAGE: (&str, &str) = ("rabbitmq", "4.2.9-management");
const UID: u32 = 999;
/// The operator's release.
const OPERATOR: &str = "v2.22.3";

/// RabbitMQ with the management plugin and a default user. See the [module docs](self).
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct RabbitMq {
    name: String,
    user: String,
    password: SecretRef,
    image: Option<Image>,
    uid: u32,
    replicas: u32,
    storage: Memory,
    resources: Resources,
    bitnami: Option<SecretRef>,
}

impl RabbitMq {
    /// Default user `user` with `password`.
    pub fn new(user: impl Into<String>, password: SecretRef) -> Self {
        RabbitMq {
            name: "rabbitmq".into(),
            user: user.into(),
            password,
            image: None,
            uid: UID,
            replicas: 1,
            storage: Memory::gi(5),
            resources: sized((250, 1000), (512, 1024)),
            bitnami: None,
        }
    }

    /// Service name (default `rabbitmq`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Runs `image` (one with the management plugin) instead of
    /// `rabbitmq:4.2.9-management`, in Compose and in the operator's cluster.
    pub fn image(mut self, image: Image) -> Self {
        self.image = Some(image);
        self
    }

    /// The uid of the image's `rabbitmq` user (default 999, as in Docker's official image).
    pub fn run_as_user(mut self, uid: u32) -> Self {
        self.uid = uid;
        self
    }

    /// Cluster nodes (Terraform; Compose runs one). Odd numbers keep a quorum.
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

    /// Installs it with Bitnami's `rabbitmq` chart instead of the Cluster Operator; its
    /// nodes share `erlang_cookie`. Bitnami's versioned images stopped getting fixes on
    /// 2025-08-28; validation warns about it.
    pub fn bitnami_chart(mut self, erlang_cookie: SecretRef) -> Self {
        self.bitnami = Some(erlang_cookie);
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

/// The Cluster Operator, from its release manifest.
fn cluster_operator() -> Operator {
    Operator {
        name: "rabbitmq-cluster-operator".into(),
        product: "RabbitMQ Cluster Operator".into(),
        namespace: "rabbitmq-system".into(),
        source: OperatorSource::Manifest {
            url: format!(
                "https://github.com/rabbitmq/cluster-operator/releases/download/{OPERATOR}/cluster-operator.yml"
            ),
            version: OPERATOR.into(),
        },
        pod_labels: labels(&[("app.kubernetes.io/name", "rabbitmq-cluster-operator")]),
        ports: vec![15672],
    }
}

impl BackingService for RabbitMq {
    type Handle = RabbitRef;
    fn install(self, s: &mut Stack) -> RabbitRef {
        let amqp = Port::tcp("amqp", 5672);
        let management = Port::http("management", 15672);
        let ping = Probe::exec(["rabbitmq-diagnostics", "-q", "ping"]);
        let image = self
            .image
            .clone()
            .unwrap_or_else(|| Image::new(IMAGE.0).tag(IMAGE.1));
        let ci = Some(CiService {
            env: vec![
                ("RABBITMQ_DEFAULT_USER".into(), self.user.clone()),
                ("RABBITMQ_DEFAULT_PASS".into(), CiService::PASSWORD.into()),
            ],
            health_cmd: Some("rabbitmq-diagnostics -q ping".into()),
            password: true,
        });
        let spec = match &self.bitnami {
            Some(cookie) => {
                let release = super::bitnami::rabbitmq(
                    &self.name,
                    (&self.user, &self.password),
                    cookie,
                    self.replicas,
                    &self.resources,
                    self.storage,
                );
                super::bitnami::spec(
                    &self.name,
                    "rabbitmq",
                    release,
                    "",
                    BackingKind::RabbitMq,
                    ci,
                )
            }
            None => {
                let credentials = format!("{}-credentials", self.name);
                let cluster = json!({
                    "replicas": self.replicas,
                    "image": image.to_string(),
                    "service": { "type": "ClusterIP" },
                    "persistence": { "storage": self.storage.to_string() },
                    "resources": resources_json(&self.resources),
                    "secretBackend": { "externalSecret": { "name": credentials } },
                });
                BackingSpec {
                    kind: BackingKind::RabbitMq,
                    install: Install::Operator(Operated {
                        operator: cluster_operator(),
                        resources: vec![CustomResource::new(
                            "rabbitmq.com/v1beta1",
                            "RabbitmqCluster",
                            &self.name,
                            cluster,
                        )],
                        api_server: false,
                        service_account: None,
                    }),
                    host: self.name.clone(),
                    pod_labels: labels(&[
                        ("app.kubernetes.io/component", "rabbitmq"),
                        ("app.kubernetes.io/name", &self.name),
                    ]),
                    reads: Vec::new(),
                    shaped_secrets: vec![
                        ShapedSecret::new(credentials)
                            .key("username", Template::new().text(&self.user))
                            .key("password", Template::new().secret(&self.password))
                            .key(
                                "default_user.conf",
                                Template::new()
                                    .text(format!("default_user = {}\ndefault_pass = ", self.user))
                                    .secret(&self.password)
                                    .text("\n"),
                            ),
                    ],
                    ci,
                    not_installable: None,
                }
            }
        };
        let service = s.add(
            Service::new(self.name.clone())
                .image(image)
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
                        .run_as_user(self.uid)
                        .fs_group(self.uid)
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
