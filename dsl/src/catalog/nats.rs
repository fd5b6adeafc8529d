//! NATS with JetStream: a container, or the NATS project's own Helm chart where the stack
//! renders Terraform.
//!
//! # Sources
//!
//! - **Compose** (and Kubernetes without Terraform): Docker's official `nats:2.14.5-alpine`,
//!   one server with JetStream's file store on a volume (run as uid 1000).
//! - **Terraform**: the official chart `nats` 2.14.2 from
//!   `https://nats-io.github.io/k8s/helm/charts/` (since 2.12.1 the chart's version is the
//!   server's: it went from 1.3.16 to 2.12.1 in October 2025), a release named after the
//!   service in the stack's namespace: a StatefulSet of [`Nats::replicas`] clustered
//!   servers, JetStream on a volume each, without the chart's `nats-box` toolbox.
//!   Consumers reach the chart's Service `<name>`; its pods carry
//!   `app.kubernetes.io/component: nats`. The chart was already the project's own; only its
//!   pin moved to the current version scheme.

use serde_json::json;

use super::{BackingService, pod_labels, resources_json, sized, values};
use crate::model::{
    BackingKind, BackingSpec, CiService, HelmChart, Image, Install, Memory, Mount, Port, Probe,
    Release, Resources, Security, Service, ServiceRef, Stack, Url,
};

/// Docker's official image.
const IMAGE: (&str, &str) = ("nats", "2.14.5-alpine");

/// NATS with JetStream. See the [module docs](self).
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct Nats {
    name: String,
    replicas: u32,
    storage: Memory,
    resources: Resources,
    image: Option<Image>,
}

impl Nats {
    /// A NATS server (a 3-node cluster under Terraform unless set otherwise).
    pub fn new() -> Self {
        Nats {
            name: "nats".into(),
            replicas: 3,
            storage: Memory::gi(10),
            resources: sized((100, 500), (128, 512)),
            image: None,
        }
    }

    /// Cluster nodes under Terraform (default 3; Compose runs one).
    pub fn replicas(mut self, n: u32) -> Self {
        self.replicas = n;
        self
    }

    /// JetStream file-store volume per node (default 10 GiB).
    pub fn storage(mut self, size: Memory) -> Self {
        self.storage = size;
        self
    }

    /// Runs `image` (a `nats-server` image) instead of `nats:2.14.5-alpine`, in Compose and
    /// in the chart.
    pub fn image(mut self, image: Image) -> Self {
        self.image = Some(image);
        self
    }

    /// CPU and memory of each server.
    pub fn resources(mut self, r: Resources) -> Self {
        self.resources = r;
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
        let mut container = json!({ "resources": resources_json(&self.resources) });
        if let Some(image) = &self.image {
            container["image"] = json!({ "fullImageName": image.to_string() });
        }
        let release = Release::new(
            HelmChart::new(
                "https://nats-io.github.io/k8s/helm/charts/",
                "nats",
                "2.14.2",
            ),
            vec![
                values(
                    "topology",
                    json!({
                        "fullnameOverride": self.name,
                        "config": {
                            "cluster": { "enabled": self.replicas > 1, "replicas": self.replicas },
                            "jetstream": { "enabled": true, "fileStore": { "pvc": { "size": self.storage.to_string() } } },
                        },
                        "natsBox": { "enabled": false },
                    }),
                ),
                values("resources", json!({ "container": container })),
            ],
        );
        let mut labels = pod_labels(&self.name, "nats");
        labels.insert("app.kubernetes.io/component".into(), "nats".into());
        let spec = BackingSpec {
            kind: BackingKind::Nats,
            install: Install::Chart(release),
            host: self.name.clone(),
            pod_labels: labels,
            reads: Vec::new(),
            shaped_secrets: Vec::new(),
            ci: Some(CiService {
                env: Vec::new(),
                health_cmd: None,
                password: false,
            }),
            not_installable: None,
        };
        let image = self
            .image
            .clone()
            .unwrap_or_else(|| Image::new(IMAGE.0).tag(IMAGE.1));
        let service = s.add(
            Service::new(self.name.clone())
                .image(image)
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
