//! Apache Kafka in KRaft mode: a container or a Helm release.

use serde_json::json;

use super::{BITNAMI, BackingService, pod_labels, resources_json, sized, values};
use crate::builder::{HasImage, ServiceBuilder};
use crate::model::{
    BackingKind, BackingSpec, CiService, HelmChart, Image, Memory, Mount, Port, Probe, Resources,
    Security, Service, ServiceRef, Stack, Template,
};

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
