//! Typed handles: the only way to point from one part of a stack to another.

use std::fmt;
use std::panic::Location;

use super::{Port, Url};

/// A source location, captured with `#[track_caller]` where a stack, service or component
/// is declared. Used in error messages only, never in generated output (so moving code does
/// not churn `out/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Source file as the compiler sees it (workspace-relative for workspace members).
    pub file: &'static str,
    /// 1-based line.
    pub line: u32,
}

impl Origin {
    /// The caller's location.
    #[track_caller]
    pub fn caller() -> Origin {
        let l = Location::caller();
        Origin {
            file: l.file(),
            line: l.line(),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A handle to a service added to a stack, returned by [`Stack::add`](crate::model::Stack).
///
/// Handles are how services refer to each other (`depends_on`, derived URLs), so a typo is
/// a compile error rather than a dangling string. A handle from another stack is caught by
/// validation.
///
/// ```
/// use stackdsl::prelude::*;
/// let mut s = Stack::new("shop", Env::Dev);
/// let db = s.add(Service::new("db").image(Image::new("postgres").tag("17.2")));
/// assert_eq!(db.name(), "db");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRef {
    pub(crate) name: String,
    pub(crate) stack: String,
    pub(crate) origin: Origin,
}

impl ServiceRef {
    /// The service name (also its host name inside the stack).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stack the service was added to.
    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// Where the service was declared.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// An endpoint of this service on one of its ports. Validation checks the service
    /// really declares `port`.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let otlp = Port::grpc("otlp", 4317);
    /// let mut s = Stack::new("obs", Env::Dev);
    /// let collector = s.add(Service::new("collector").image(Image::new("otel/col").tag("1")).port(otlp));
    /// assert_eq!(collector.endpoint(otlp).port().number, 4317);
    /// ```
    pub fn endpoint(&self, port: Port) -> Endpoint {
        Endpoint {
            service: self.clone(),
            port,
        }
    }
}

/// A [`Stack::update`](crate::model::Stack::update) whose handle names no service of the
/// stack (a handle of another stack, say): nothing was changed, and validation reports it
/// naming both the handle's declaration and the `update` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StrayUpdate {
    /// The handle passed to `update`.
    pub(crate) handle: ServiceRef,
    /// Where `update` was called.
    pub(crate) at: Origin,
}

/// A service together with one of its ports: what a client connects to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub(crate) service: ServiceRef,
    pub(crate) port: Port,
}

impl Endpoint {
    /// The service behind the endpoint.
    pub fn service(&self) -> &ServiceRef {
        &self.service
    }

    /// The port (as declared by the service).
    pub fn port(&self) -> Port {
        self.port
    }

    /// A URL to this endpoint; the scheme follows the port's application protocol
    /// (`http` for HTTP and gRPC ports). Refine it with [`Url::scheme`], [`Url::path`],
    /// [`Url::user`] and [`Url::password`].
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let http = Port::http("http", 3000);
    /// let mut s = Stack::new("web", Env::Dev);
    /// let api = s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")).port(http));
    /// let url = api.endpoint(http).url().path("/v1");
    /// assert_eq!(url.template().preview(), "http://api:3000/v1");
    /// ```
    pub fn url(&self) -> Url {
        Url::new(self.clone())
    }
}
