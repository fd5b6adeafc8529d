//! Rules of one service: its name, image, hardening, and the per-concern rules it runs.

use super::{ErrorKind, Validator, names, reference};
use crate::model::{Env, Image, Service};

impl<'a> Validator<'a> {
    pub(super) fn service_rules(&mut self, svc: &'a Service) {
        let path = self.svc_path(svc);
        if let Some(problem) = names::dns1035_problem(&svc.name) {
            self.err(
                ErrorKind::InvalidName,
                path.clone(),
                format!("service name `{}` {problem}; service names become host names and Kubernetes Service names (DNS-1035 labels)", svc.name),
                format!("rename it, e.g. `{}` (declared at {})", names::suggest_label(&svc.name), svc.origin),
            );
        }
        self.image_rules(svc, &path);
        self.port_rules(svc, &path);
        self.env_rules(svc, &path);
        self.service_secret_rules(svc, &path);
        self.text_rules(svc, &path);
        self.probe_rules(svc, &path);
        self.mount_rules(svc, &path);
        self.interpolation_rules(svc, &path);
        self.scaling_rules(svc, &path);
        self.bound_rules(svc, &path);
        self.migration_rules(svc, &path);
        self.container_rules(svc, &path);
        self.lifecycle_rules(svc, &path);
        self.runtime_rules(svc, &path);
        self.security_rules(svc, &path);
        for (what, reason) in &svc.security.relaxations {
            if reason.trim().is_empty() {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.security"),
                    format!("security relaxation ({what}) has no reason"),
                    "say why the container needs it, e.g. `.writable_root_fs(\"nginx writes its pid file to /var/run\")`",
                );
            }
        }
        for route in &svc.routes {
            self.route_rules(svc, route, &path);
        }
        self.backup_rules(svc, &path);
        if let Some(m) = &svc.metrics {
            self.metrics_rules(svc, m, &path);
            self.check_own_port(svc, m.port, &format!("{path}.metrics"), "serves metrics on");
            if !m.path.starts_with('/') {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.metrics"),
                    format!("metrics path `{}` does not start with '/'", m.path),
                    "use a path such as `/metrics`",
                );
            }
        }
        if let Some(c) = &svc.cluster {
            self.cluster_rules(svc, c, &format!("{path}.cluster"));
        }
    }

    fn image_rules(&mut self, svc: &Service, path: &str) {
        let env = self.stack.env;
        match &svc.source.image {
            Some(image) => self.image_reference_rules(image, &format!("{path}.image")),
            None if env != Env::Dev => self.err(
                ErrorKind::UnpinnedImage,
                format!("{path}.image"),
                format!("service is built from source but has no image reference; {env} runs pushed images"),
                "add `.image(registry.image(\"name\").tag(version))` next to `.build(…)`",
            ),
            None => {}
        }
        if let Some(image) = svc.migrations.as_ref().and_then(|m| m.image.as_ref()) {
            self.image_reference_rules(image, &format!("{path}.migrations.image"));
        }
    }

    /// An image reference is valid (the OCI distribution grammar), and outside dev pinned
    /// to a real tag or digest.
    pub(crate) fn image_reference_rules(&mut self, image: &Image, path: &str) {
        let env = self.stack.env;
        if let Some(p) = reference::image_problem(image) {
            self.err(ErrorKind::InvalidName, path.to_owned(), p.message, p.hint);
        } else if env != Env::Dev && !reference::is_pinned(image) {
            self.err(
                ErrorKind::UnpinnedImage,
                path.to_owned(),
                format!("image `{image}` has no pinned tag; {env} deploys must be reproducible"),
                "set an explicit version with `.tag(\"1.2.3\")` (or `.digest(\"sha256:…\")`)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Build, Env, Image, Security, Service};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{found, stack};

    #[test]
    fn a_service_name_is_a_dns_1035_label() {
        let s = stack(
            Env::Dev,
            [Service::new("1api").image(Image::new("a").tag("1"))],
        );
        assert_eq!(found(&s), [(InvalidName, "t.services[1api]".to_owned())]);
    }

    #[test]
    fn staging_and_prod_images_are_pinned_and_pushed() {
        let latest = Service::new("api").image(Image::new("a").tag("latest"));
        assert_eq!(found(&stack(Env::Dev, [latest.clone()])), []);
        let errors = found(&stack(Env::Staging, [latest]));
        assert!(errors.contains(&(UnpinnedImage, "t.services[api].image".to_owned())));
        let built = Service::new("web").build(Build::new("."));
        let errors = found(&stack(Env::Prod, [built]));
        assert!(errors.contains(&(UnpinnedImage, "t.services[web].image".to_owned())));
    }

    #[test]
    fn an_image_reference_follows_the_distribution_grammar() {
        for bad in [
            Image::new(" ").tag("1"),
            Image::new("acme/x").tag(""),
            Image::new("Acme/X").tag("1.0"),
            Image::new("acme/x y").tag("1 0"),
            Image::new("acme/x").digest("not-a-digest"),
        ] {
            let shown = bad.to_string();
            let s = stack(Env::Dev, [Service::new("api").image(bad)]);
            assert_eq!(
                found(&s),
                [(InvalidName, "t.services[api].image".to_owned())],
                "{shown}"
            );
        }
        // An empty tag pins nothing: it is an invalid reference, not a pinned one.
        let s = stack(
            Env::Prod,
            [Service::new("api").image(Image::new("acme/x").tag(""))],
        );
        assert!(found(&s).contains(&(InvalidName, "t.services[api].image".to_owned())));
    }

    #[test]
    fn every_relaxation_has_a_reason() {
        let s = stack(
            Env::Dev,
            [Service::new("api")
                .image(Image::new("a").tag("1"))
                .security(Security::restricted().writable_root_fs(" "))],
        );
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].security".to_owned())]
        );
    }
}
