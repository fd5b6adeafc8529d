//! The edge from the stack's routes: Compose's nginx (`nginx/nginx.conf` beside
//! `compose.yaml`, and the `edge` service running it) and the ingress-nginx annotations of
//! the Kubernetes Ingresses, both from the same [`Edge`] and [`Ingress`] values.
//!
//! `nginx.conf` has one `upstream` per routed service port (every Compose member, balanced
//! as the edge says; Docker's DNS answers a replicated service's name with every replica,
//! and nginx balances over all of them), one `server` per host (plain HTTP redirecting to
//! HTTPS for TLS hosts), a `location` per route with its `limit_req`, body size and
//! timeouts, `limit_req_zone`s from the routes' rate limits, security headers, HSTS and
//! gzip. Paths nginx writes are relative to its prefix, and the container runs
//! `nginx -p /tmp/` on a tmpfs (its root filesystem stays read-only); `mime.types` and the
//! certificates (`tls/<host>/fullchain.pem`, `privkey.pem`, mounted read-only from the
//! edge's certificate folder) are relative to the configuration's folder, `/etc/nginx/`.
//!
//! On Kubernetes, per-route settings become annotations: `limit-rps` and
//! `limit-burst-multiplier` (burst = rate × multiplier: validation requires a burst that
//! is a multiple of the rate, so the two targets limit alike), `proxy-body-size`,
//! `proxy-connect-timeout`, `proxy-send-timeout`, `proxy-read-timeout`. Response headers
//! and gzip are settings of the ingress-nginx *controller* (`add-headers`, `use-gzip`;
//! per-Ingress snippets are disabled by default for security) and HSTS is on by default
//! there, so the Ingress objects do not carry them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::{
    Balance, Cpu, Edge, Ingress, Memory, Origin, Port, Probe, RateLimit, Resources, Security,
    Service, ServiceRef, Stack, Target, Timeouts,
};
use crate::render::{Document, hash_header};

/// Port nginx listens on for plain HTTP inside the container (unprivileged).
pub const HTTP_PORT: Port = Port::http("http", 8080);
/// Port nginx listens on for HTTPS inside the container.
pub const HTTPS_PORT: Port = Port::http("https", 8443);

/// The routes Compose's edge serves: every route of a service Compose runs, in order.
pub fn compose_routes(stack: &Stack) -> Vec<(&Service, &Ingress)> {
    stack
        .services
        .iter()
        .filter(|s| s.renders_on(Target::Compose))
        .flat_map(|s| s.ingress.iter().map(move |i| (s, i)))
        .collect()
}

/// The stack's edge, when Compose renders one: an [`Edge`] is set, Compose is a target and
/// some service Compose runs has routes.
pub fn compose_edge(stack: &Stack) -> Option<&Edge> {
    stack
        .edge
        .as_ref()
        .filter(|_| stack.targets.contains(&Target::Compose) && !compose_routes(stack).is_empty())
}

fn uses_tls(stack: &Stack) -> bool {
    compose_routes(stack).iter().any(|(_, i)| i.tls.is_some())
}

/// The proxy as a service of the model, for Compose (and the architecture diagram): the
/// pinned image, restricted (uid 101, read-only root, a tmpfs for nginx's prefix), ports
/// published on every interface, waiting for every routed service.
pub fn edge_service(stack: &Stack) -> Option<Service> {
    let edge = compose_edge(stack)?;
    let mut b = Service::new(edge.service.clone())
        .image(edge.image.clone())
        .port(HTTP_PORT)
        .command([
            "nginx",
            "-e",
            "stderr",
            "-p",
            "/tmp/",
            "-c",
            "/etc/nginx/nginx.conf",
            "-g",
            "daemon off;",
        ])
        .mount(crate::model::Mount::scratch("/tmp"))
        .readiness(Probe::http_get("/healthz", HTTP_PORT).period(10))
        // The unprivileged image's `nginx` user.
        .security(Security::restricted().run_as_user(101))
        .resources(
            Resources::requests(Cpu::m(50), Memory::mi(32)).limits(Cpu::m(250), Memory::mi(128)),
        )
        .publish_public(HTTP_PORT, edge.http_port)
        .only_on([Target::Compose]);
    if uses_tls(stack) {
        b = b
            .port(HTTPS_PORT)
            .publish_public(HTTPS_PORT, edge.https_port);
    }
    let mut seen: std::collections::BTreeSet<&str> = Default::default();
    for (svc, _) in compose_routes(stack) {
        if seen.insert(&svc.name) {
            b = b.depends_on(&ServiceRef {
                name: svc.name.clone(),
                stack: stack.name.clone(),
                origin: Origin::caller(),
            });
        }
    }
    use crate::builder::IntoService as _;
    let mut svc = b.into_service();
    svc.origin = stack.origin;
    Some(svc)
}

/// Volumes Compose mounts into the proxy: the rendered configuration and the certificates.
pub fn compose_volumes(stack: &Stack) -> Vec<String> {
    let Some(edge) = compose_edge(stack) else {
        return Vec::new();
    };
    let mut v = vec!["./nginx/nginx.conf:/etc/nginx/nginx.conf:ro".to_owned()];
    if let Some(dir) = edge.certificates.as_ref().filter(|_| uses_tls(stack)) {
        v.push(format!("{dir}:/etc/nginx/tls:ro"));
    }
    v
}

fn upstream_name(svc: &Service, port: &Port) -> String {
    format!("{}_{}", svc.name, port.name).replace('-', "_")
}

fn timeouts(out: &mut String, indent: &str, t: Timeouts) {
    let _ = writeln!(out, "{indent}proxy_connect_timeout {}s;", t.connect);
    let _ = writeln!(out, "{indent}proxy_send_timeout {}s;", t.send);
    let _ = writeln!(out, "{indent}proxy_read_timeout {}s;", t.read);
}

/// Every distinct rate-limit zone of `routes`, in first-use order.
pub fn zones<'a>(routes: impl IntoIterator<Item = &'a Ingress>) -> Vec<&'a RateLimit> {
    let mut seen: std::collections::BTreeSet<&str> = Default::default();
    routes
        .into_iter()
        .filter_map(|i| i.limit.as_ref())
        .filter(|l| seen.insert(&l.zone))
        .collect()
}

/// `nginx/nginx.conf` for Compose, when the stack has an edge there.
pub fn render(stack: &Stack) -> Option<Document> {
    let edge = compose_edge(stack)?;
    let routes = compose_routes(stack);
    let tls = uses_tls(stack);
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
        timeouts(&mut t, "    ", to);
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
        for member in svc.compose_members() {
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
    let mut hosts: indexmap::IndexMap<&str, Vec<&(&Service, &Ingress)>> = Default::default();
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
            if let Some(to) = i.timeouts {
                timeouts(&mut t, "            ", to);
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

/// The ingress-nginx annotations of one route: its rate limit, and its (or the edge's)
/// body size and timeouts. Only for Ingresses of class `nginx`.
pub fn ingress_annotations(stack: &Stack, i: &Ingress) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    if i.class.as_deref() != Some("nginx") {
        return a;
    }
    let key = |k: &str| format!("nginx.ingress.kubernetes.io/{k}");
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
