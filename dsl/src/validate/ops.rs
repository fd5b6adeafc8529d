//! Rules for what runs beside a service: migrations and the edge.

use super::{ErrorKind, Validator};
use crate::model::{Service, Target};

impl<'a> Validator<'a> {
    pub(super) fn migration_rules(&mut self, svc: &'a Service, path: &str) {
        let Some(m) = &svc.migrations else {
            return;
        };
        let path = format!("{path}.migrations");
        if m.argv.is_empty() || m.argv[0].trim().is_empty() {
            self.err(
                ErrorKind::InvalidValue,
                path.clone(),
                "the migration command is empty",
                "name the tool and its arguments, e.g. `Migration::command([\"alembic\", \"upgrade\", \"head\"])`",
            );
        }
        for var in m.variables() {
            if !svc.env.iter().any(|v| v.name == var) {
                let known: Vec<&str> = svc.env.iter().map(|v| v.name.as_str()).collect();
                self.err(
                    ErrorKind::InvalidValue,
                    path.clone(),
                    format!(
                        "the migration command references `$({var})`, which service `{}` does not set",
                        svc.name
                    ),
                    format!(
                        "set `{var}` on the service with `.env(…)`, or reference one it sets ({})",
                        if known.is_empty() { "it sets none".to_owned() } else { known.join(", ") }
                    ),
                );
            }
        }
        let one_shot = format!("{}-migrate", svc.name);
        if svc.renders_on(Target::Compose)
            && let Some(other) = self.by_name.get(one_shot.as_str())
        {
            self.err(
                ErrorKind::DuplicateName,
                path,
                format!(
                    "Compose runs the migrations of `{}` as service `{one_shot}`, but a service of that name is declared at {}",
                    svc.name, other.origin
                ),
                format!("rename the service declared at {}", other.origin),
            );
        }
    }
}

fn nginx_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+'))
}

impl<'a> Validator<'a> {
    /// The edge's settings and the routes' rate limits: what nginx and ingress-nginx can
    /// both express, written so a value cannot break out of its nginx directive.
    pub(super) fn edge_rules(&mut self) {
        let stack = self.stack;
        let name = &stack.name;
        let kubernetes = stack.targets.contains(&Target::Kubernetes);
        let mut zones: std::collections::BTreeMap<&str, (&crate::model::RateLimit, String)> =
            Default::default();
        for svc in &stack.services {
            for i in &svc.ingress {
                let ipath = format!("{name}.services[{}].ingress[{}]", svc.name, i.host);
                if !i
                    .path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/-._~".contains(c))
                {
                    self.err(
                        ErrorKind::InvalidValue,
                        ipath.clone(),
                        format!(
                            "route path `{}` has characters the edge cannot match literally",
                            i.path
                        ),
                        "use letters, digits and `/-._~` only, e.g. `/api/v1/`",
                    );
                }
                let Some(l) = &i.limit else { continue };
                if l.zone.is_empty()
                    || !l
                        .zone
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    self.err(
                        ErrorKind::InvalidName,
                        ipath.clone(),
                        format!(
                            "rate-limit zone `{}` is not a valid nginx zone name",
                            l.zone
                        ),
                        "use letters, digits and `_`, e.g. `api_limit`",
                    );
                }
                if l.rps == 0 || l.zone_mb == 0 {
                    self.err(
                        ErrorKind::InvalidValue,
                        ipath.clone(),
                        format!("rate-limit zone `{}` allows 0 requests per second or has no memory", l.zone),
                        "use a positive rate and zone size, e.g. `RateLimit::per_client(\"api\", 10)`",
                    );
                } else if kubernetes && l.burst % l.rps != 0 {
                    self.err(
                        ErrorKind::Unsupported,
                        ipath.clone(),
                        format!(
                            "burst {} is not a multiple of the rate {}: ingress-nginx sets the burst as rate × `limit-burst-multiplier`, so Kubernetes would limit differently from Compose",
                            l.burst, l.rps
                        ),
                        format!("use a burst of {} or {}", l.burst / l.rps * l.rps, l.burst.div_ceil(l.rps) * l.rps),
                    );
                }
                if kubernetes && !l.nodelay {
                    self.err(
                        ErrorKind::Unsupported,
                        ipath.clone(),
                        "ingress-nginx always serves a burst at once (`nodelay`), so a delayed burst would differ between Compose and Kubernetes",
                        "drop `.delayed()`",
                    );
                }
                match zones.get(l.zone.as_str()) {
                    Some((first, at)) if first.rps != l.rps || first.zone_mb != l.zone_mb => {
                        let at = at.clone();
                        self.err(
                            ErrorKind::InvalidValue,
                            ipath.clone(),
                            format!(
                                "rate-limit zone `{}` is {} r/s ({} MiB) here but {} r/s ({} MiB) at {at}",
                                l.zone, l.rps, l.zone_mb, first.rps, first.zone_mb
                            ),
                            "routes sharing a zone share its rate: give one of them another zone name, or the same rate",
                        );
                    }
                    Some(_) => {}
                    None => {
                        zones.insert(&l.zone, (l, ipath.clone()));
                    }
                }
            }
        }
        let Some(edge) = &stack.edge else { return };
        let path = format!("{name}.edge");
        if let Some(problem) = super::names::dns1035_problem(&edge.service) {
            self.err(
                ErrorKind::InvalidName,
                path.clone(),
                format!("edge service name `{}` {problem}", edge.service),
                format!(
                    "use a DNS-1035 label such as `{}`",
                    super::names::suggest_label(&edge.service)
                ),
            );
        }
        if let Some(other) = self.by_name.get(edge.service.as_str())
            && crate::render::nginx::compose_edge(stack).is_some()
        {
            self.err(
                ErrorKind::DuplicateName,
                path.clone(),
                format!(
                    "the edge runs as Compose service `{}`, but a service of that name is declared at {}",
                    edge.service, other.origin
                ),
                "name the edge otherwise with `Edge::nginx().service(\"proxy\")`",
            );
        }
        if edge.image.tag.is_none() && edge.image.digest.is_none() {
            self.err(
                ErrorKind::UnpinnedImage,
                format!("{path}.image"),
                format!("edge image `{}` has no tag", edge.image),
                "pin it, e.g. `Image::new(\"nginxinc/nginx-unprivileged\").tag(\"1.27.3-alpine\")`",
            );
        }
        for (h, v) in &edge.headers {
            let name_ok = !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            let value_ok = !v.is_empty()
                && v.chars()
                    .all(|c| (' '..='~').contains(&c) && !matches!(c, '"' | '\\' | '$'));
            if !name_ok || !value_ok {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.headers[{h}]"),
                    format!("header `{h}: {v}` cannot be written into nginx.conf as is"),
                    "use a name of letters, digits and `-`, and a printable value without `\"`, `\\` or `$`",
                );
            }
        }
        let words = edge.tls_protocols.iter().chain(edge.tls_ciphers.iter());
        let gzip = edge.gzip.iter().flat_map(|g| g.types.iter());
        for w in words.chain(gzip) {
            if !w.split(':').all(nginx_word) {
                self.err(
                    ErrorKind::InvalidValue,
                    path.clone(),
                    format!("`{w}` is not a TLS protocol, cipher list or MIME type nginx accepts"),
                    "use values such as `TLSv1.3`, `ECDHE-RSA-AES128-GCM-SHA256` or `application/json`",
                );
            }
        }
        if let Some(dir) = &edge.certificates
            && (dir.is_empty() || dir.contains([':', '\n', '$']))
        {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.certificates"),
                format!("certificate folder `{dir}` cannot be mounted"),
                "use a host path without `:` or `$`, e.g. `/etc/easyflow/tls`",
            );
        }
        if crate::render::nginx::compose_edge(stack).is_some() && edge.certificates.is_none() {
            for (svc, i) in crate::render::nginx::compose_routes(stack) {
                if i.tls.is_some() {
                    self.err(
                        ErrorKind::InvalidValue,
                        format!("{name}.services[{}].ingress[{}]", svc.name, i.host),
                        "this route is served over TLS, but the Compose edge has no certificates",
                        "set `Edge::nginx().certificates(\"/etc/<stack>/tls\")`: a host folder with `<host>/fullchain.pem` and `<host>/privkey.pem`",
                    );
                }
            }
        }
    }
}
