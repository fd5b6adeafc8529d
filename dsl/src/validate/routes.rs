//! Route rules: the port, path and host name of every route a service is exposed on.

use super::{ErrorKind, Validator, names};
use crate::model::{AppProtocol, Route, Service};

impl Validator<'_> {
    pub(super) fn route_rules(&mut self, svc: &Service, route: &Route, path: &str) {
        let ipath = format!("{path}.routes[{}]", route.host);
        self.check_own_port(svc, route.port, &ipath, "exposes");
        if matches!(route.port.app, AppProtocol::Tcp | AppProtocol::Udp) {
            self.err(
                ErrorKind::Unsupported,
                ipath.clone(),
                format!(
                    "port `{}` is not an HTTP or gRPC port: routes carry HTTP (nginx locations, HTTPRoutes, Ingress paths) or gRPC",
                    route.port.name
                ),
                "expose a `Port::http(…)` or `Port::grpc(…)` port",
            );
        }
        if !route.path.starts_with('/') {
            self.err(
                ErrorKind::InvalidValue,
                ipath.clone(),
                format!("route path `{}` does not start with '/'", route.path),
                "use a path such as `/` or `/api`",
            );
        }
        let host_ok = !route.host.is_empty()
            && route.host.len() <= 253
            && route
                .host
                .split('.')
                .all(|l| names::dns1123_problem(l).is_none());
        if !host_ok {
            self.err(
                ErrorKind::InvalidName,
                ipath,
                format!("`{}` is not a valid host name", route.host),
                "use a lowercase DNS name such as `api.example.com`",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Env, Image, Port, Route, Service};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{found, stack};

    const HTTP: Port = Port::http("http", 80);

    #[test]
    fn a_route_exposes_a_declared_port_on_a_valid_host_and_path() {
        let api = || {
            Service::new("api")
                .image(Image::new("a").tag("1"))
                .port(HTTP)
        };
        assert_eq!(
            found(&stack(
                Env::Dev,
                [api().expose(Route::host("api.example.com", HTTP))]
            )),
            []
        );
        let s = stack(
            Env::Dev,
            [api().expose(Route::host("API.example.com", HTTP).path("v1"))],
        );
        assert_eq!(
            found(&s),
            [
                (
                    InvalidValue,
                    "t.services[api].routes[API.example.com]".to_owned()
                ),
                (
                    InvalidName,
                    "t.services[api].routes[API.example.com]".to_owned()
                ),
            ]
        );
        let tcp = Port::tcp("raw", 9000);
        let s = stack(
            Env::Dev,
            [api().port(tcp).expose(Route::host("raw.example.com", tcp))],
        );
        assert_eq!(
            found(&s),
            [(
                Unsupported,
                "t.services[api].routes[raw.example.com]".to_owned()
            )]
        );
        let s = stack(
            Env::Dev,
            [api().expose(Route::host("a.example.com", Port::http("web", 81)))],
        );
        assert_eq!(
            found(&s),
            [(
                UnknownPort,
                "t.services[api].routes[a.example.com]".to_owned()
            )]
        );
    }
}
