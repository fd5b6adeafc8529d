//! Named ports.

use std::net::{IpAddr, Ipv4Addr};

/// Transport protocol of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `TCP` / `UDP`, as Kubernetes spells it.
    pub const fn k8s(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}

/// What speaks over a port; decides URL schemes and probe styles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AppProtocol {
    /// HTTP/1.1 or HTTP/2.
    Http,
    /// gRPC (HTTP/2).
    Grpc,
    /// Any other TCP protocol (databases, brokers, cluster gossip).
    Tcp,
    /// A UDP protocol.
    Udp,
}

/// A named container port. `Copy`, so one value declared once serves the service, its
/// probes, its clients' URLs and its routes: renaming it is one edit.
///
/// ```
/// use stackdsl::prelude::*;
/// let http = Port::http("http", 3000).service_port(80);
/// assert_eq!((http.name, http.number, http.client_port()), ("http", 3000, 80));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Port {
    /// IANA service name (≤ 15 characters, lowercase letters, digits and `-`).
    pub name: &'static str,
    /// The port the container listens on.
    pub number: u16,
    /// Transport.
    pub protocol: Protocol,
    /// Application protocol.
    pub app: AppProtocol,
    /// The port clients use through a Kubernetes Service, if it differs from `number`.
    pub service_port: Option<u16>,
}

impl Port {
    const fn new(name: &'static str, number: u16, protocol: Protocol, app: AppProtocol) -> Self {
        Port {
            name,
            number,
            protocol,
            app,
            service_port: None,
        }
    }

    /// An HTTP port.
    pub const fn http(name: &'static str, number: u16) -> Self {
        Port::new(name, number, Protocol::Tcp, AppProtocol::Http)
    }

    /// A gRPC port.
    pub const fn grpc(name: &'static str, number: u16) -> Self {
        Port::new(name, number, Protocol::Tcp, AppProtocol::Grpc)
    }

    /// A plain TCP port.
    pub const fn tcp(name: &'static str, number: u16) -> Self {
        Port::new(name, number, Protocol::Tcp, AppProtocol::Tcp)
    }

    /// A UDP port.
    pub const fn udp(name: &'static str, number: u16) -> Self {
        Port::new(name, number, Protocol::Udp, AppProtocol::Udp)
    }

    /// Clients reach this port as `port` through the Kubernetes Service (e.g. 80 → 3000).
    pub const fn service_port(mut self, port: u16) -> Self {
        self.service_port = Some(port);
        self
    }

    /// The port number clients use in Kubernetes.
    pub const fn client_port(&self) -> u16 {
        match self.service_port {
            Some(p) => p,
            None => self.number,
        }
    }
}

/// A port published on the Docker host (Compose).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Publish {
    /// The container port, by name and number.
    pub port: Port,
    /// Host port.
    pub host_port: u16,
    /// Host address to bind. Loopback unless published publicly on purpose.
    pub host_ip: IpAddr,
}

impl Publish {
    pub(crate) fn loopback(port: Port, host_port: u16) -> Self {
        Publish {
            port,
            host_port,
            host_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }

    pub(crate) fn all_interfaces(port: Port, host_port: u16) -> Self {
        Publish {
            port,
            host_port,
            host_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }
}
