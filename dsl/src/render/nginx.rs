//! The edge from the stack's routes: Compose's nginx (`nginx/nginx.conf` beside
//! `compose.yaml`, and the `edge` service running it) and, when a stack chooses Ingresses
//! served by ingress-nginx, their annotations, both from the same
//! [`Edge`](crate::model::Edge) and [`Route`] values.
//!
//! `nginx.conf` has one `upstream` per routed service port (every Compose member, balanced
//! as the edge says; Docker's DNS answers a replicated service's name with every replica,
//! and nginx balances over all of them), one `server` per host (plain HTTP redirecting to
//! HTTPS for TLS hosts), a `location` per route with its `limit_req`, body size and
//! timeouts, `limit_req_zone`s from the routes' rate limits, security headers, HSTS and
//! gzip. A gRPC route (its port is [`Port::grpc`](crate::model::Port::grpc)) is passed with
//! `grpc_pass` and `grpc_*_timeout`s; it needs HTTP/2, so only on a TLS host. Paths nginx writes are relative to its prefix, and the container runs
//! `nginx -p /tmp/` on a tmpfs (its root filesystem stays read-only); `mime.types` and the
//! certificates (`tls/<host>/fullchain.pem`, `privkey.pem`, mounted read-only from the
//! edge's certificate folder) are relative to the configuration's folder, `/etc/nginx/`.
//!
//! With ingress-nginx on Kubernetes, per-route settings become annotations: `limit-rps` and
//! `limit-burst-multiplier` (burst = rate × multiplier: validation requires a burst that
//! is a multiple of the rate, so the two targets limit alike), `proxy-body-size`,
//! `proxy-connect-timeout`, `proxy-send-timeout`, `proxy-read-timeout`. Response headers
//! and gzip are settings of the ingress-nginx *controller* (`add-headers`, `use-gzip`;
//! per-Ingress snippets are disabled by default for security) and HSTS is on by default
//! there, so the Ingress objects do not carry them (the Kubernetes README says so).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::diagnostics::{ErrorKind, Errors};
use crate::model::{
    Balance, IngressController, Port, RateLimit, Route, RouteApi, Service, Stack, Target, Timeouts,
};
use crate::plan::Plan;
use crate::render::{Document, hash_header};
use crate::validate::Validator;

pub use crate::plan::{NGINX_HTTP as HTTP_PORT, NGINX_HTTPS as HTTPS_PORT};

/// Does Compose's edge serve a route over TLS?
fn uses_tls(plan: &Plan<'_>) -> bool {
    plan.compose_routes().any(|(_, i)| i.tls.is_some())
}

/// Volumes Compose mounts into the proxy: the rendered configuration and the certificates.
pub fn compose_volumes(plan: &Plan<'_>) -> Vec<String> {
    let Some(edge) = plan.compose_edge() else {
        return Vec::new();
    };
    let mut v = vec!["./nginx/nginx.conf:/etc/nginx/nginx.conf:ro".to_owned()];
    if let Some(dir) = edge.certificates.as_ref().filter(|_| uses_tls(plan)) {
        v.push(format!("{dir}:/etc/nginx/tls:ro"));
    }
    v
}

fn upstream_name(svc: &Service, port: &Port) -> String {
    format!("{}_{}", svc.name, port.name).replace('-', "_")
}

/// `<module>_connect_timeout` and friends; `module` is `proxy` or `grpc`.
fn timeouts(out: &mut String, indent: &str, module: &str, t: Timeouts) {
    let _ = writeln!(out, "{indent}{module}_connect_timeout {}s;", t.connect);
    let _ = writeln!(out, "{indent}{module}_send_timeout {}s;", t.send);
    let _ = writeln!(out, "{indent}{module}_read_timeout {}s;", t.read);
}

/// Every distinct rate-limit zone of `routes`, in first-use order.
pub fn zones<'a>(routes: impl IntoIterator<Item = &'a Route>) -> Vec<&'a RateLimit> {
    let mut seen: std::collections::BTreeSet<&str> = Default::default();
    routes
        .into_iter()
        .filter_map(|i| i.limit.as_ref())
        .filter(|l| seen.insert(&l.zone))
        .collect()
}

/// `nginx/nginx.conf` for Compose, when the stack has an edge there.
pub fn render(plan: &Plan<'_>) -> Option<Document> {
    let stack = plan.stack();
    let edge = plan.compose_edge()?;
    let routes: Vec<(&Service, &Route)> = plan.compose_routes().collect();
    let tls = uses_tls(plan);
    let mut t = hash_header(stack);
    t.push_str(
        "# Runs as `nginx -e stderr -p /tmp/ -c /etc/nginx/nginx.conf`: pid and temp files under the\n\
         # prefix (a tmpfs), `mime.types` and `tls/` beside this file.\n",
    );
    t.push_str("worker_processes auto;\npid nginx.pid;\n\nevents {\n    worker_connections 1024;\n}\n\nhttp {\n");
    for line in [
        "include mime.types;",
        "default_type application/octet-stream;",
        "sendfile on;",
        "server_tokens off;",
        "access_log /dev/stdout;",
        "client_body_temp_path client_temp;",
        "proxy_temp_path proxy_temp;",
        "fastcgi_temp_path fastcgi_temp;",
        "uwsgi_temp_path uwsgi_temp;",
        "scgi_temp_path scgi_temp;",
        "",
        "proxy_http_version 1.1;",
        "proxy_set_header Connection \"\";",
        "proxy_set_header Host $host;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
    ] {
        if line.is_empty() {
            t.push('\n');
        } else {
            let _ = writeln!(t, "    {line}");
        }
    }
    if let Some(mb) = edge.client_body_mb {
        let _ = writeln!(t, "    client_max_body_size {mb}m;");
    }
    if let Some(to) = edge.timeouts {
        timeouts(&mut t, "    ", "proxy", to);
    }
    if let Some(g) = &edge.gzip {
        let _ = writeln!(
            t,
            "\n    gzip on;\n    gzip_vary on;\n    gzip_proxied any;\n    gzip_min_length {};\n    gzip_types {};",
            g.min_length,
            g.types.join(" ")
        );
    }
    if tls {
        let _ = writeln!(
            t,
            "\n    ssl_protocols {};\n    ssl_session_cache shared:SSL:10m;\n    ssl_session_timeout 1d;",
            edge.tls_protocols.join(" ")
        );
        if let Some(c) = &edge.tls_ciphers {
            let _ = writeln!(t, "    ssl_ciphers {c};");
        }
    }
    let zones = zones(routes.iter().map(|(_, i)| *i));
    if !zones.is_empty() {
        t.push('\n');
        for z in &zones {
            let _ = writeln!(
                t,
                "    limit_req_zone $binary_remote_addr zone={}:{}m rate={}r/s;",
                z.zone, z.zone_mb, z.rps
            );
        }
        t.push_str("    limit_req_status 429;\n");
    }

    // One upstream per routed service port.
    let mut upstreams: std::collections::BTreeSet<String> = Default::default();
    for (svc, i) in &routes {
        let name = upstream_name(svc, &i.port);
        if !upstreams.insert(name.clone()) {
            continue;
        }
        let _ = writeln!(t, "\n    upstream {name} {{");
        match edge.balance {
            Balance::LeastConn => t.push_str("        least_conn;\n"),
            Balance::IpHash => t.push_str("        ip_hash;\n"),
            _ => {}
        }
        for member in plan.members(svc) {
            let _ = writeln!(
                t,
                "        server {member}:{} max_fails=3 fail_timeout=10s;",
                i.port.number
            );
        }
        t.push_str("        keepalive 16;\n    }\n");
    }

    // The default server: health checks, and nothing for unknown hosts.
    let _ = writeln!(
        t,
        "\n    server {{\n        listen {} default_server;\n        location = /healthz {{\n            access_log off;\n            return 200 \"ok\\n\";\n        }}\n        location / {{\n            return 404;\n        }}\n    }}",
        HTTP_PORT.number
    );

    // One server per host, in first-route order.
    let mut hosts: indexmap::IndexMap<&str, Vec<&(&Service, &Route)>> = Default::default();
    for r in &routes {
        hosts.entry(r.1.host.as_str()).or_default().push(r);
    }
    for (host, host_routes) in hosts {
        let secure = host_routes.iter().any(|(_, i)| i.tls.is_some());
        if secure {
            let _ = writeln!(
                t,
                "\n    server {{\n        listen {};\n        server_name {host};\n        return 301 https://$host$request_uri;\n    }}",
                HTTP_PORT.number
            );
            let _ = writeln!(
                t,
                "\n    server {{\n        listen {} ssl http2;\n        server_name {host};\n        ssl_certificate tls/{host}/fullchain.pem;\n        ssl_certificate_key tls/{host}/privkey.pem;",
                HTTPS_PORT.number
            );
        } else {
            let _ = writeln!(
                t,
                "\n    server {{\n        listen {};\n        server_name {host};",
                HTTP_PORT.number
            );
        }
        for (name, value) in &edge.headers {
            let _ = writeln!(t, "        add_header {name} \"{value}\" always;");
        }
        if let (true, Some(age)) = (secure, edge.hsts) {
            let _ = writeln!(
                t,
                "        add_header Strict-Transport-Security \"max-age={age}\" always;"
            );
        }
        for (svc, i) in host_routes {
            let _ = writeln!(t, "\n        location {} {{", i.path);
            if let Some(l) = &i.limit {
                let _ = writeln!(
                    t,
                    "            limit_req zone={} burst={}{};",
                    l.zone,
                    l.burst,
                    if l.nodelay { " nodelay" } else { "" }
                );
            }
            if let Some(mb) = i.client_body_mb {
                let _ = writeln!(t, "            client_max_body_size {mb}m;");
            }
            if i.is_grpc() {
                // The http-level `proxy_*` defaults do not apply to `grpc_pass`.
                if let Some(to) = i.timeouts.or(edge.timeouts) {
                    timeouts(&mut t, "            ", "grpc", to);
                }
                let _ = writeln!(
                    t,
                    "            grpc_pass grpc://{};\n        }}",
                    upstream_name(svc, &i.port)
                );
                continue;
            }
            if let Some(to) = i.timeouts {
                timeouts(&mut t, "            ", "proxy", to);
            }
            let _ = writeln!(
                t,
                "            proxy_pass http://{};\n        }}",
                upstream_name(svc, &i.port)
            );
        }
        t.push_str("    }\n");
    }
    t.push_str("}\n");
    Some(Document::new(
        format!("{}/nginx/nginx.conf", stack.out_dir()),
        t,
    ))
}

/// Does the stack render its Kubernetes routes as Ingresses served by ingress-nginx?
pub(crate) fn uses_ingress_nginx(stack: &Stack) -> bool {
    matches!(
        stack.kubernetes.routes,
        RouteApi::Ingress(IngressController::IngressNginx { .. })
    )
}

/// The ingress-nginx annotations of one route: gRPC to the backend, its rate limit, and its
/// (or the edge's) body size and timeouts. Only when the stack's Ingresses are served by
/// ingress-nginx.
pub fn ingress_annotations(stack: &Stack, i: &Route) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    if !uses_ingress_nginx(stack) {
        return a;
    }
    let key = |k: &str| format!("nginx.ingress.kubernetes.io/{k}");
    if i.is_grpc() {
        a.insert(key("backend-protocol"), "GRPC".to_owned());
    }
    if let Some(l) = &i.limit {
        a.insert(key("limit-rps"), l.rps.to_string());
        if l.burst != l.rps.saturating_mul(5) && l.rps > 0 {
            a.insert(
                key("limit-burst-multiplier"),
                l.burst.div_ceil(l.rps).to_string(),
            );
        }
    }
    let edge = stack.edge.as_ref();
    if let Some(mb) = i.client_body_mb.or(edge.and_then(|e| e.client_body_mb)) {
        a.insert(key("proxy-body-size"), format!("{mb}m"));
    }
    if let Some(t) = i.timeouts.or(edge.and_then(|e| e.timeouts)) {
        a.insert(key("proxy-connect-timeout"), t.connect.to_string());
        a.insert(key("proxy-send-timeout"), t.send.to_string());
        a.insert(key("proxy-read-timeout"), t.read.to_string());
    }
    a
}

/// The edge's settings and the routes' rate limits: what nginx and ingress-nginx can both
/// express, written so a value cannot break out of its nginx directive.
pub(crate) fn check(plan: &Plan<'_>) -> Errors {
    let mut v = Validator::new(plan);
    v.edge_rules();
    v.errors
}

fn nginx_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+'))
}

impl Validator<'_> {
    /// The edge's settings and the routes' rate limits: what nginx and ingress-nginx can
    /// both express, written so a value cannot break out of its nginx directive.
    fn edge_rules(&mut self) {
        let stack = self.stack;
        let name = &stack.name;
        // ingress-nginx's annotations are what must limit alike; other route APIs list what
        // they cannot express in the Kubernetes README.
        let kubernetes = stack.targets.contains(&Target::Kubernetes) && uses_ingress_nginx(stack);
        let mut zones: std::collections::BTreeMap<&str, (&crate::model::RateLimit, String)> =
            Default::default();
        for svc in &stack.services {
            for i in &svc.routes {
                let ipath = format!("{name}.services[{}].routes[{}]", svc.name, i.host);
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
        if let Some(problem) = crate::validate::names::dns1035_problem(&edge.service) {
            self.err(
                ErrorKind::InvalidName,
                path.clone(),
                format!("edge service name `{}` {problem}", edge.service),
                format!(
                    "use a DNS-1035 label such as `{}`",
                    crate::validate::names::suggest_label(&edge.service)
                ),
            );
        }
        if let Some(other) = self.by_name.get(edge.service.as_str())
            && self.plan.compose_edge().is_some()
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
        if let Some(p) = crate::validate::reference::image_problem(&edge.image) {
            self.err(
                ErrorKind::InvalidName,
                format!("{path}.image"),
                p.message,
                p.hint,
            );
        } else if edge.image.tag.is_none() && edge.image.digest.is_none() {
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
        if self.plan.compose_edge().is_some() {
            let tls_hosts: std::collections::BTreeSet<&str> = self
                .plan
                .compose_routes()
                .filter(|(_, r)| r.tls.is_some())
                .map(|(_, r)| r.host.as_str())
                .collect();
            for (svc, r) in self.plan.compose_routes() {
                if r.is_grpc() && !tls_hosts.contains(r.host.as_str()) {
                    self.err(
                        ErrorKind::Unsupported,
                        format!("{name}.services[{}].routes[{}]", svc.name, r.host),
                        "this gRPC route's host is served over plain HTTP, but gRPC needs HTTP/2, which the Compose edge serves on TLS hosts only",
                        "add `.tls(ClusterIssuer::new(…))` to a route of this host",
                    );
                }
            }
        }
        if self.plan.compose_edge().is_some() && edge.certificates.is_none() {
            for (svc, i) in self.plan.compose_routes() {
                if i.tls.is_some() {
                    self.err(
                        ErrorKind::InvalidValue,
                        format!("{name}.services[{}].routes[{}]", svc.name, i.host),
                        "this route is served over TLS, but the Compose edge has no certificates",
                        "set `Edge::nginx().certificates(\"/etc/<stack>/tls\")`: a host folder with `<host>/fullchain.pem` and `<host>/privkey.pem`",
                    );
                }
            }
        }
    }
}
