//! NATS with JetStream: a container or a Helm release.

use serde_json::json;

use super::{BackingService, pod_labels, resources_json, sized, values};
use crate::model::{
    BackingKind, BackingSpec, CiService, HelmChart, Image, Memory, Mount, Port, Probe, Resources,
    Security, Service, ServiceRef, Stack, Url,
};

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
                // The Alpine image's BusyBox `wget` runs the probe in Compose.
                .health_tool(crate::model::HealthTool::Wget)
                .mount(Mount::persistent(format!("{}-data", self.name), "/data").size(self.storage))
                .security(Security::restricted().run_as_user(1000).fs_group(1000))
                .resources(self.resources)
                .backing(spec),
        );
        NatsRef { service, port }
    }
}
