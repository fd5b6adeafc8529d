//! Route rules: the port, path and host name of every route a service is exposed on.

use super::{ErrorKind, Validator, names};
use crate::model::{Ingress, Service};

impl Validator<'_> {
    pub(super) fn ingress_rules(&mut self, svc: &Service, ingress: &Ingress, path: &str) {
        let ipath = format!("{path}.ingress[{}]", ingress.host);
        self.check_own_port(svc, ingress.port, &ipath, "exposes");
        if !ingress.path.starts_with('/') {
            self.err(
                ErrorKind::InvalidValue,
                ipath.clone(),
                format!("ingress path `{}` does not start with '/'", ingress.path),
                "use a path such as `/` or `/api`",
            );
        }
        let host_ok = !ingress.host.is_empty()
            && ingress.host.len() <= 253
            && ingress
                .host
                .split('.')
                .all(|l| names::dns1123_problem(l).is_none());
        if !host_ok {
            self.err(
                ErrorKind::InvalidName,
                ipath,
                format!("`{}` is not a valid host name", ingress.host),
                "use a lowercase DNS name such as `api.example.com`",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Env, Image, Ingress, Port, Service};
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
                [api().expose(Ingress::host("api.example.com", HTTP))]
            )),
            []
        );
        let s = stack(
            Env::Dev,
            [api().expose(Ingress::host("API.example.com", HTTP).path("v1"))],
        );
        assert_eq!(
            found(&s),
            [
                (
                    InvalidValue,
                    "t.services[api].ingress[API.example.com]".to_owned()
                ),
                (
                    InvalidName,
                    "t.services[api].ingress[API.example.com]".to_owned()
                ),
            ]
        );
        let s = stack(
            Env::Dev,
            [api().expose(Ingress::host("a.example.com", Port::http("web", 81)))],
        );
        assert_eq!(
            found(&s),
            [(
                UnknownPort,
                "t.services[api].ingress[a.example.com]".to_owned()
            )]
        );
    }
}
