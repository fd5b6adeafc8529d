//! Apache Kafka in KRaft mode: a container, or a cluster run by Strimzi where the stack
//! renders Terraform.
//!
//! # Sources
//!
//! - **Compose** (and Kubernetes without Terraform): `apache/kafka:4.3.1`, the image the
//!   Apache Kafka project publishes with each release (there is no Docker official Kafka
//!   image), as one KRaft node that is broker and controller at once (user `appuser`,
//!   uid 1000).
//! - **Terraform**: [Strimzi](https://strimzi.io) 1.2.0, from its OCI chart
//!   `oci://quay.io/strimzi-helm/strimzi-kafka-operator` (the `https://strimzi.io/charts/`
//!   repository is deprecated), in namespace `strimzi`, watching every namespace. The
//!   manifests carry a `Kafka` and a `KafkaNodePool` (`kafka.strimzi.io/v1`, the only API
//!   since Strimzi 1.0.0; KRaft is its only mode): [`Kafka::replicas`] nodes that are
//!   controllers and brokers, Kafka 4.3.1 (Strimzi's own image of it), one plaintext
//!   internal listener on 9092 and replication settings that fit the node count. Clients
//!   bootstrap through the operator's `<name>-kafka-bootstrap` Service. Why Strimzi: a CNCF
//!   project built for Kafka on Kubernetes (rolling updates, KRaft quorum changes, broker
//!   scaling); Bitnami's chart pins images that no longer get fixes.
//! - **NetworkPolicies**: Strimzi writes NetworkPolicies of its own by default, whose
//!   listener rule admits every pod when no peers are listed; Terraform installs it with
//!   `generateNetworkPolicy: false`, so the stack's policies decide: clients on 9092, the
//!   cluster's pods (`strimzi.io/cluster: <name>`) among themselves, and the operator
//!   (`strimzi.io/kind: cluster-operator`) on the control plane (9090), replication (9091)
//!   and agent (8443) ports.
//!
//! Clients connect in plaintext inside the namespace, fenced by NetworkPolicies.
//! [`Kafka::image`] changes the Compose image only: Strimzi runs images it builds.

use serde_json::json;

use super::{BackingService, labels, resources_json, sized};
use crate::builder::{HasImage, ServiceBuilder};
use crate::model::{
    BackingKind, BackingSpec, CiService, CustomResource, HelmChart, Image, Install, Memory, Mount,
    Operated, Operator, OperatorSource, Port, Probe, Release, Resources, Security, Service,
    ServiceRef, Stack, Template,
};

/// The Apache Kafka project's image, and the Kafka release Strimzi runs.
const IMAGE: (&str, &str) = ("apache/kafka", "4.3.1");
const VERSION: &str = "4.3.1";
const UID: u32 = 1000;

/// Apache Kafka in KRaft mode (combined controller/broker nodes). See the
/// [module docs](self) for where it comes from on each target.
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct Kafka {
    name: String,
    replicas: u32,
    storage: Memory,
    resources: Resources,
    image: Option<Image>,
    uid: u32,
    bitnami: bool,
}

impl Kafka {
    /// A Kafka cluster (3 nodes under Terraform unless set otherwise).
    pub fn new() -> Self {
        Kafka {
            name: "kafka".into(),
            replicas: 3,
            storage: Memory::gi(20),
            resources: sized((500, 2000), (1024, 2048)),
            image: None,
            uid: UID,
            bitnami: false,
        }
    }

    /// Nodes under Terraform (default 3; Compose runs one).
    pub fn replicas(mut self, n: u32) -> Self {
        self.replicas = n;
        self
    }

    /// Log volume per node (default 20 GiB).
    pub fn storage(mut self, size: Memory) -> Self {
        self.storage = size;
        self
    }

    /// Runs `image` in Compose (an `apache/kafka`-compatible image) instead of
    /// `apache/kafka:4.3.1`; Strimzi keeps its own image of the same Kafka release.
    pub fn image(mut self, image: Image) -> Self {
        self.image = Some(image);
        self
    }

    /// The uid of the Compose image's user (default 1000, as in `apache/kafka`).
    pub fn run_as_user(mut self, uid: u32) -> Self {
        self.uid = uid;
        self
    }

    /// CPU and memory of each node.
    pub fn resources(mut self, r: Resources) -> Self {
        self.resources = r;
        self
    }

    /// Installs it with Bitnami's `kafka` chart instead of Strimzi. Bitnami's versioned
    /// images stopped getting fixes on 2025-08-28; validation warns about it.
    pub fn bitnami_chart(mut self) -> Self {
        self.bitnami = true;
        self
    }

    /// The `Kafka` and its `KafkaNodePool`.
    fn resources_of(&self, port: Port) -> Vec<CustomResource> {
        // Internal topics are replicated as widely as the cluster allows, and writes wait
        // for two copies once there are three.
        let factor = self.replicas.clamp(1, 3);
        let min_isr = if factor >= 3 { 2 } else { 1 };
        vec![
            CustomResource::new(
                "kafka.strimzi.io/v1",
                "Kafka",
                &self.name,
                json!({ "kafka": {
                    "version": VERSION,
                    "listeners": [{ "name": "plain", "port": port.number, "type": "internal", "tls": false }],
                    "config": {
                        "offsets.topic.replication.factor": factor,
                        "transaction.state.log.replication.factor": factor,
                        "transaction.state.log.min.isr": min_isr,
                        "default.replication.factor": factor,
                        "min.insync.replicas": min_isr,
                    },
                } }),
            ),
            CustomResource::new(
                "kafka.strimzi.io/v1",
                "KafkaNodePool",
                format!("{}-nodes", self.name),
                json!({
                    "replicas": self.replicas,
                    "roles": ["controller", "broker"],
                    "storage": { "type": "jbod", "volumes": [{
                        "id": 0,
                        "type": "persistent-claim",
                        "size": self.storage.to_string(),
                        "deleteClaim": false,
                        "kraftMetadata": "shared",
                    }] },
                    "resources": resources_json(&self.resources),
                }),
            )
            .label("strimzi.io/cluster", &self.name),
        ]
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

/// Strimzi's cluster operator, watching every namespace and leaving NetworkPolicies to
/// the stacks.
fn strimzi() -> Operator {
    Operator {
        name: "strimzi-kafka-operator".into(),
        product: "Strimzi".into(),
        namespace: "strimzi".into(),
        source: OperatorSource::Chart(Release::new(
            HelmChart::new(
                "oci://quay.io/strimzi-helm",
                "strimzi-kafka-operator",
                "1.2.0",
            ),
            vec![
                super::values(
                    "watch",
                    json!({ "watchAnyNamespace": true, "generateNetworkPolicy": false }),
                ),
                super::values(
                    "resources",
                    json!({ "resources": resources_json(&sized((200, 1000), (384, 384))) }),
                ),
            ],
        )),
        pod_labels: labels(&[("strimzi.io/kind", "cluster-operator")]),
        ports: vec![9090, 9091, 8443],
    }
}

impl BackingService for Kafka {
    type Handle = KafkaRef;
    fn install(self, s: &mut Stack) -> KafkaRef {
        let port = Port::tcp("client", 9092);
        let controller = Port::tcp("controller", 9093);
        // A broker advertises the address clients resolve: in CI the tests run on the
        // runner and reach the service container's published port on localhost.
        let ci = Some(CiService {
            env: kraft_env("localhost", port, controller),
            health_cmd: Some(format!(
                "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:{}",
                port.number
            )),
            password: false,
        });
        let spec = if self.bitnami {
            let release =
                super::bitnami::kafka(&self.name, self.replicas, &self.resources, self.storage);
            super::bitnami::spec(&self.name, "kafka", release, "", BackingKind::Kafka, ci)
        } else {
            BackingSpec {
                kind: BackingKind::Kafka,
                install: Install::Operator(Operated {
                    operator: strimzi(),
                    resources: self.resources_of(port),
                    api_server: false,
                    service_account: None,
                }),
                host: format!("{}-kafka-bootstrap", self.name),
                pod_labels: labels(&[("strimzi.io/cluster", &self.name)]),
                reads: Vec::new(),
                shaped_secrets: Vec::new(),
                ci,
                not_installable: None,
            }
        };
        let image = self
            .image
            .clone()
            .unwrap_or_else(|| Image::new(IMAGE.0).tag(IMAGE.1));
        // A single KRaft node for Compose, advertising the address clients resolve.
        let mut node: ServiceBuilder<HasImage> = Service::new(self.name.clone())
            .image(image)
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
                    .run_as_user(self.uid)
                    .fs_group(self.uid)
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
