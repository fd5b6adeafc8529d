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

/// What speaks over a port. It decides:
///
/// - the scheme of URLs to the port (`http://` for HTTP and gRPC, `tcp://`, `udp://`);
/// - the probe styles validation accepts on it (a gRPC health check needs a gRPC port; an
///   HTTP GET against a gRPC port is refused);
/// - the Kubernetes Service port's `appProtocol` ([`AppProtocol::kubernetes`]), which
///   service meshes, Gateway implementations and cloud load balancers read to pick a
///   protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AppProtocol {
    /// HTTP/1.1 or HTTP/2.
    Http,
    /// gRPC (HTTP/2) in clear text; TLS, where there is any, is terminated in front of it.
    Grpc,
    /// Any other TCP protocol (databases, brokers, cluster gossip).
    Tcp,
    /// A UDP protocol.
    Udp,
}

impl AppProtocol {
    /// The Kubernetes Service port `appProtocol`: the IANA service name `http` for HTTP,
    /// and `kubernetes.io/h2c` (HTTP/2 over clear text, a value Kubernetes itself defines)
    /// for gRPC; none for an unspecified TCP or UDP protocol, where any value would be a
    /// guess.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// assert_eq!(AppProtocol::Grpc.kubernetes(), Some("kubernetes.io/h2c"));
    /// assert_eq!(Port::http("web", 80).app.kubernetes(), Some("http"));
    /// assert_eq!(AppProtocol::Tcp.kubernetes(), None);
    /// ```
    pub const fn kubernetes(self) -> Option<&'static str> {
        match self {
            AppProtocol::Http => Some("http"),
            AppProtocol::Grpc => Some("kubernetes.io/h2c"),
            AppProtocol::Tcp | AppProtocol::Udp => None,
        }
    }
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
