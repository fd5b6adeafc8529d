//! How a service's Kubernetes Service is reached: inside the cluster only (the default),
//! on every node's port, or through a cloud load balancer.

use super::Port;

/// The Kubernetes Service type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ServiceType {
    /// A virtual IP inside the cluster (the default).
    #[default]
    ClusterIp,
    /// A port on every node (30000–32767 by default) forwards to the service.
    NodePort,
    /// The cloud provisions a load balancer with an external (or internal) address.
    LoadBalancer,
}

impl ServiceType {
    /// The Kubernetes spelling.
    pub const fn k8s(self) -> &'static str {
        match self {
            ServiceType::ClusterIp => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

/// Where external traffic is routed (`externalTrafficPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TrafficPolicy {
    /// To any ready pod in the cluster (the Kubernetes default); the client address is
    /// replaced by a node's.
    Cluster,
    /// Only to pods on the node that received it: the client address is kept, and nodes
    /// without a pod fail the load balancer's health check.
    Local,
}

impl TrafficPolicy {
    /// The Kubernetes spelling.
    pub const fn k8s(self) -> &'static str {
        match self {
            TrafficPolicy::Cluster => "Cluster",
            TrafficPolicy::Local => "Local",
        }
    }
}

/// A cloud whose load balancer can be made internal (an address inside the VPC only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Cloud {
    /// Google Kubernetes Engine: `networking.gke.io/load-balancer-type: Internal`.
    Gke,
    /// Amazon EKS: `service.beta.kubernetes.io/aws-load-balancer-internal: "true"` (read by
    /// the in-tree provider and by the AWS Load Balancer Controller).
    Eks,
    /// Azure Kubernetes Service: `service.beta.kubernetes.io/azure-load-balancer-internal:
    /// "true"`.
    Aks,
}

impl Cloud {
    /// The Service annotation that makes the cloud's load balancer internal.
    pub const fn internal_annotation(self) -> (&'static str, &'static str) {
        match self {
            Cloud::Gke => ("networking.gke.io/load-balancer-type", "Internal"),
            Cloud::Eks => (
                "service.beta.kubernetes.io/aws-load-balancer-internal",
                "true",
            ),
            Cloud::Aks => (
                "service.beta.kubernetes.io/azure-load-balancer-internal",
                "true",
            ),
        }
    }
}

/// How a service's Kubernetes Service is exposed (set with
/// [`ServiceKubernetes::exposure`](crate::builder::ServiceKubernetes::exposure)).
///
/// Compose has no counterpart: it publishes ports on the host with
/// [`publish`](crate::builder::ServiceBuilder::publish).
///
/// ```
/// use stackdsl::prelude::*;
/// use stackdsl::model::{Cloud, Exposure, ServiceType, TrafficPolicy};
/// let http = Port::http("http", 8080).service_port(80);
/// let lb = Exposure::load_balancer()
///     .traffic_policy(TrafficPolicy::Local)
///     .internal(Cloud::Gke)
///     .source_ranges(["10.0.0.0/8"]);
/// assert_eq!(lb.kind, ServiceType::LoadBalancer);
/// let np = Exposure::node_port().fixed(http, 30080);
/// assert_eq!(np.node_ports, [(http, 30080)]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exposure {
    /// The Service type.
    pub kind: ServiceType,
    /// Node ports fixed by the stack (the others are allocated by the cluster).
    pub node_ports: Vec<(Port, u16)>,
    /// `externalTrafficPolicy` (`None`: the Kubernetes default, `Cluster`).
    pub traffic_policy: Option<TrafficPolicy>,
    /// Make the cloud's load balancer internal.
    pub internal: Option<Cloud>,
    /// Client networks the load balancer admits (`loadBalancerSourceRanges`; empty: all).
    pub source_ranges: Vec<String>,
    /// Other Service annotations (cloud load balancer settings), in order.
    pub annotations: Vec<(String, String)>,
}

impl Exposure {
    /// Inside the cluster only (the default).
    pub fn cluster_ip() -> Self {
        Exposure::default()
    }

    /// A port on every node.
    pub fn node_port() -> Self {
        Exposure {
            kind: ServiceType::NodePort,
            ..Exposure::default()
        }
    }

    /// A cloud load balancer.
    pub fn load_balancer() -> Self {
        Exposure {
            kind: ServiceType::LoadBalancer,
            ..Exposure::default()
        }
    }

    /// Pins `port`'s node port to `node_port` (in the cluster's node-port range,
    /// 30000–32767 by default) instead of letting the cluster pick one.
    pub fn fixed(mut self, port: Port, node_port: u16) -> Self {
        self.node_ports.push((port, node_port));
        self
    }

    /// Where external traffic goes (`externalTrafficPolicy`).
    pub fn traffic_policy(mut self, policy: TrafficPolicy) -> Self {
        self.traffic_policy = Some(policy);
        self
    }

    /// Makes the load balancer internal on `cloud`.
    pub fn internal(mut self, cloud: Cloud) -> Self {
        self.internal = Some(cloud);
        self
    }

    /// Admits only clients from these networks (CIDRs) at the load balancer.
    pub fn source_ranges<I: IntoIterator<Item = T>, T: Into<String>>(mut self, cidrs: I) -> Self {
        self.source_ranges.extend(cidrs.into_iter().map(Into::into));
        self
    }

    /// Adds a Service annotation (a cloud load balancer setting). Repeatable.
    pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.push((key.into(), value.into()));
        self
    }

    /// Every annotation of the Service: the internal-load-balancer one first.
    pub fn all_annotations(&self) -> Vec<(&str, &str)> {
        self.internal
            .map(|c| -> (&str, &str) { c.internal_annotation() })
            .into_iter()
            .chain(
                self.annotations
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .collect()
    }

    /// Does the Service accept traffic from outside the cluster?
    pub fn is_external(&self) -> bool {
        self.kind != ServiceType::ClusterIp
    }
}
