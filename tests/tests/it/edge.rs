//! The edge: every rendered `nginx.conf` passes `nginx -t` (Debian's nginx, bootstrapped
//! under target/validators), Compose's nginx and the Kubernetes routes (Gateway API with
//! Envoy Gateway policies, or ingress-nginx Ingresses) limit alike where their API can, and
//! a routed service added to a stack gets its upstream with no other edit.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use stackdsl::model::Env;
use stackdsl::prelude::*;
use stackdsl::validate;
use stackdsl::validate::ErrorKind;
use stackdsl_tests::{corpus, debian_package, files_with_suffix, run, workspace_root};

/// Runs `nginx -t` on `conf` as the container would (`-p <prefix>/`, configuration folder
/// with `mime.types` and `tls/<host>/` certificates), returning (success, output).
///
/// nginx resolves upstream host names while loading the configuration; on the Compose
/// network Docker's DNS answers them. Here the tested copy names loopback instead (the
/// port and every parameter stay); [`upstream_hosts`] checks the names themselves against
/// the Compose file. No namespace, no root and no change to the machine is needed.
fn nginx_t(conf_text: &str, work: &Path) -> (bool, String) {
    let root = debian_package(&["nginx", "nginx-common"]);
    let conf_dir = work.join("conf");
    let prefix = work.join("prefix");
    fs::create_dir_all(&conf_dir).unwrap();
    fs::create_dir_all(&prefix).unwrap();
    fs::copy(
        root.join("etc/nginx/mime.types"),
        conf_dir.join("mime.types"),
    )
    .expect("mime.types from the nginx-common package");
    // A throwaway self-signed certificate for every TLS host the file names.
    for line in conf_text.lines().map(str::trim) {
        if let Some(path) = line
            .strip_prefix("ssl_certificate ")
            .and_then(|p| p.strip_suffix("/fullchain.pem;"))
        {
            let dir = conf_dir.join(path);
            fs::create_dir_all(&dir).unwrap();
            let host = dir.file_name().unwrap().to_string_lossy().into_owned();
            let (ok, out) = run(Command::new(stackdsl_tests::machine_tool("openssl"))
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                ])
                .arg("-subj")
                .arg(format!("/CN={host}"))
                .arg("-keyout")
                .arg(dir.join("privkey.pem"))
                .arg("-out")
                .arg(dir.join("fullchain.pem")));
            assert!(ok, "openssl could not make a test certificate: {out}");
        }
    }
    let hosts = upstream_hosts(conf_text);
    let tested: String = conf_text
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            match trimmed
                .strip_prefix("server ")
                .and_then(|rest| rest.split_once(':'))
            {
                Some((host, rest)) if hosts.iter().any(|h| h == host) => {
                    let indent = &line[..line.len() - trimmed.len()];
                    format!("{indent}server 127.0.0.1:{rest}\n")
                }
                _ => format!("{line}\n"),
            }
        })
        .collect();
    let conf = conf_dir.join("nginx.conf");
    fs::write(&conf, tested).unwrap();
    run(Command::new(root.join("usr/sbin/nginx"))
        .arg("-t")
        .args(["-e", "stderr"])
        .arg("-p")
        .arg(format!("{}/", prefix.display()))
        .arg("-c")
        .arg(&conf))
}

/// The host names of the `server host:port` lines of the upstream blocks.
fn upstream_hosts(conf_text: &str) -> Vec<String> {
    let mut hosts = Vec::new();
    let mut in_upstream = false;
    for line in conf_text.lines().map(str::trim) {
        if line.starts_with("upstream ") {
            in_upstream = true;
        } else if line == "}" {
            in_upstream = false;
        } else if in_upstream
            && let Some((host, _)) = line
                .strip_prefix("server ")
                .and_then(|rest| rest.split_once(':'))
            && !hosts.iter().any(|h| h == host)
        {
            hosts.push(host.to_owned());
        }
    }
    hosts
}

fn confs(dir: &Path) -> Vec<PathBuf> {
    files_with_suffix(dir, &["/nginx/nginx.conf"])
}

#[test]
fn nginx_t_accepts_every_rendered_nginx_conf() {
    let corpus = corpus();
    let files = confs(corpus.path());
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(corpus.path()).unwrap().display().to_string())
        .collect();
    for expected in [
        "easyflow/prod/nginx/nginx.conf",
        "tsdev-monolith/prod/nginx/nginx.conf",
        "tsdev-microservices/prod/nginx/nginx.conf",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
    let mut failures = Vec::new();
    for (f, name) in files.iter().zip(&names) {
        // Every upstream is a service of the Compose file beside it (Docker's DNS name).
        let compose = f.parent().unwrap().parent().unwrap().join("compose.yaml");
        let compose: Value =
            serde_saphyr::from_str(&fs::read_to_string(&compose).unwrap()).unwrap();
        let conf_text = fs::read_to_string(f).unwrap();
        let hosts = upstream_hosts(&conf_text);
        assert!(!hosts.is_empty(), "{name} has no upstream");
        for host in hosts {
            assert!(
                compose["services"].get(&host).is_some(),
                "{name}: upstream host `{host}` is not a service of its compose.yaml"
            );
        }
        let work = tempfile::tempdir().unwrap();
        let (ok, out) = nginx_t(&fs::read_to_string(f).unwrap(), work.path());
        if !ok || !out.contains("test is successful") {
            failures.push(format!("{name}:\n{out}"));
        }
    }
    assert!(
        failures.is_empty(),
        "nginx -t rejected:\n{}",
        failures.join("\n")
    );
    // The committed files are the ones tested (fixtures are not committed).
    for name in names.iter().filter(|n| !n.starts_with("fixture-")) {
        let committed = workspace_root().join("out").join(name);
        assert_eq!(
            fs::read_to_string(&committed).unwrap(),
            fs::read_to_string(corpus.path().join(name)).unwrap(),
            "{name} is stale"
        );
    }
}

#[test]
fn nginx_t_rejects_a_broken_conf() {
    // Negative controls: the check really reads the zones, the certificates and the syntax.
    let text =
        fs::read_to_string(workspace_root().join("out/easyflow/prod/nginx/nginx.conf")).unwrap();
    for (what, broken) in [
        (
            "unknown zone",
            text.replace("zone=api_limit burst=20", "zone=nope burst=20"),
        ),
        (
            "unknown upstream",
            text.replacen("upstream app_http {", "upstream other {", 1),
        ),
        (
            "syntax",
            text.replacen("server_tokens off;", "server_tokens off", 1),
        ),
    ] {
        assert_ne!(broken, text, "{what}: the edit applies");
        let work = tempfile::tempdir().unwrap();
        let (ok, out) = nginx_t(&broken, work.path());
        assert!(!ok, "{what}: nginx -t accepted a broken file:\n{out}");
    }
}

fn yaml(stack: &Stack, f: StackFn, suffix: &str) -> Vec<Value> {
    let doc = stackdsl_tests::render_fn(f, stack.env)
        .into_iter()
        .find(|d| d.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix}"));
    serde_saphyr::from_multiple(&doc.contents).expect("YAML")
}

fn nginx_conf(stack: &Stack) -> String {
    let plan = validate(stack).unwrap_or_else(|e| panic!("{e}"));
    stackdsl::render::nginx::render(&plan)
        .expect("an nginx.conf")
        .contents
}

/// The `location` block of `path` in `conf`.
fn location<'a>(conf: &'a str, path: &str) -> &'a str {
    let start = conf
        .find(&format!("location {path} {{"))
        .unwrap_or_else(|| panic!("no location {path}"));
    let rest = &conf[start..];
    &rest[..rest.find('}').unwrap()]
}

#[test]
fn compose_and_the_gateway_limit_alike() {
    let prod = stacks::easyflow::easyflow(Env::Prod);
    let conf = nginx_conf(&prod);
    assert!(conf.contains("limit_req_zone $binary_remote_addr zone=api_limit:10m rate=10r/s;"));
    let objects = yaml(&prod, stacks::easyflow::easyflow, "/k8s/40-gateway.yaml");
    let of = |kind: &str| -> Vec<&Value> { objects.iter().filter(|o| o["kind"] == kind).collect() };
    let policies: std::collections::BTreeMap<&str, &Value> = of("BackendTrafficPolicy")
        .into_iter()
        .map(|p| (p["spec"]["targetRefs"][0]["name"].as_str().unwrap(), p))
        .collect();
    let mut seen = 0;
    for route in of("HTTPRoute") {
        let name = route["metadata"]["name"].as_str().unwrap();
        if name.ends_with("-https-redirect") {
            continue;
        }
        let policy = policies.get(name);
        for rule in route["spec"]["rules"].as_array().unwrap() {
            seen += 1;
            let path = rule["matches"][0]["path"]["value"].as_str().unwrap();
            let loc = location(&conf, path);
            let limit = policy.map(|p| &p["spec"]["rateLimit"]["local"]["rules"]);
            match limit.and_then(|rules| rules.as_array()) {
                Some(rules) => {
                    assert!(loc.contains("limit_req zone=api_limit "), "{loc}");
                    // One rule per address family, each client address counted apart.
                    assert_eq!(rules.len(), 2);
                    for r in rules {
                        assert_eq!(
                            r["limit"],
                            serde_json::json!({"requests": 10, "unit": "Second"})
                        );
                        assert_eq!(r["clientSelectors"][0]["sourceCIDR"]["type"], "Distinct");
                    }
                }
                None => assert!(!loc.contains("limit_req"), "{loc}"),
            }
            match rule["timeouts"]["request"].as_str() {
                Some(t) => assert!(loc.contains(&format!("proxy_read_timeout {t};")), "{loc}"),
                None => assert!(!loc.contains("timeout"), "{loc}"),
            }
            // The edge's headers and HSTS travel with every rule.
            let set = &rule["filters"][0]["responseHeaderModifier"]["set"];
            for (header, value) in [
                ("X-Frame-Options", "DENY"),
                ("Strict-Transport-Security", "max-age=31536000"),
            ] {
                assert!(
                    set.as_array()
                        .unwrap()
                        .iter()
                        .any(|h| h["name"] == header && h["value"] == value),
                    "{header} in {set}"
                );
            }
            // gzip, and the connect timeout Gateway API has no field for.
            if let Some(p) = policy {
                assert_eq!(p["spec"]["compressor"][0]["type"], "Gzip");
            }
        }
    }
    assert_eq!(
        seen, 3,
        "the guide's three locations are three HTTPRoute rules"
    );
    let ctp = of("ClientTrafficPolicy");
    assert_eq!(
        ctp[0]["spec"]["tls"]["ciphers"][1],
        "ECDHE-RSA-AES256-GCM-SHA384"
    );
    // What Envoy Gateway cannot express is in the README, not dropped.
    let readme = stackdsl_tests::render_fn(stacks::easyflow::easyflow, Env::Prod)
        .into_iter()
        .find(|d| d.path == "easyflow/prod/k8s/README.md")
        .unwrap()
        .contents;
    for needle in [
        "| `api.easyflow.dev` `/api/` → `app` | burst 20 |",
        "| `api.easyflow.dev` `/api/v1/messaging/webhook/` → `app` | burst 100 |",
        "zone `api_limit` shared with other routes",
        "send timeout 60 s, read timeout 60 s",
        "gzip MIME types text/plain application/json application/javascript text/css",
    ] {
        assert!(readme.contains(needle), "README misses {needle}:\n{readme}");
    }
    // The guide's TLS and headers.
    for needle in [
        "listen 8443 ssl http2;",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384;",
        "add_header X-Frame-Options \"DENY\" always;",
        "add_header Strict-Transport-Security \"max-age=31536000\" always;",
        "gzip_types text/plain application/json application/javascript text/css;",
        "return 301 https://$host$request_uri;",
    ] {
        assert!(conf.contains(needle), "missing {needle}");
    }
}

#[test]
fn the_compose_edge_service_is_pinned_hardened_and_mounts_the_conf() {
    let prod = stacks::easyflow::easyflow(Env::Prod);
    let compose = &yaml(&prod, stacks::easyflow::easyflow, "/compose.yaml")[0];
    let e = &compose["services"]["edge"];
    assert_eq!(e["image"], "nginxinc/nginx-unprivileged:1.27.3-alpine");
    assert_eq!(e["user"], "101");
    assert_eq!(e["read_only"], true);
    assert_eq!(e["tmpfs"][0], "/tmp");
    assert_eq!(
        e["ports"],
        serde_json::json!(["0.0.0.0:80:8080", "0.0.0.0:443:8443"])
    );
    assert_eq!(
        e["volumes"],
        serde_json::json!([
            "./nginx/nginx.conf:/etc/nginx/nginx.conf:ro",
            "/etc/easyflow/tls:/etc/nginx/tls:ro"
        ])
    );
    assert_eq!(e["depends_on"]["app"]["condition"], "service_healthy");
    // Dev has no routes, so no edge; staging has no Compose file.
    let dev = stacks::easyflow::easyflow(Env::Dev);
    assert!(stackdsl::render::nginx::render(&validate(&dev).unwrap()).is_none());
    let docs = stackdsl_tests::render(&dev);
    assert!(docs.iter().all(|d| !d.path.contains("nginx")));
}

const HTTP: Port = Port::http("http", 8080);

/// Requests and limits, which staging and prod require.
fn small() -> Resources {
    Resources::requests(Cpu::m(100), Memory::mi(64)).limits(Cpu::m(200), Memory::mi(128))
}

fn base(env: Env) -> (Stack, ServiceBuilder<HasImage>) {
    let mut s = Stack::new("shop", env);
    s.edge(
        Edge::nginx()
            .timeouts(Timeouts::all(30))
            .client_body_mb(8)
            .balance(Balance::RoundRobin),
    );
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0"))
            .resources(small())
            .port(HTTP)
            .replicas(3)
            .expose(Route::host("api.example.com", HTTP).limit(RateLimit::per_client("api", 20))),
    );
    let reports = Service::new("reports")
        .image(Image::new("acme/reports").tag("2.0"))
        .resources(small())
        .port(HTTP)
        .expose(Route::host("reports.example.com", HTTP).path("/v1/"));
    (s, reports)
}

fn shop(env: Env) -> Stack {
    base(env).0
}

fn shop_plus_reports(env: Env) -> Stack {
    let (mut s, reports) = base(env);
    s.add(reports);
    s
}

#[test]
fn adding_a_routed_service_adds_its_upstream_with_no_other_edit() {
    let before = nginx_conf(&shop(Env::Prod));
    let after = nginx_conf(&shop_plus_reports(Env::Prod));
    assert!(!before.contains("reports"));
    for needle in [
        "upstream reports_http {\n        server reports:8080 max_fails=3 fail_timeout=10s;\n        keepalive 16;\n    }",
        "server_name reports.example.com;",
        "location /v1/ {\n            proxy_pass http://reports_http;\n        }",
    ] {
        assert!(after.contains(needle), "missing {needle}:\n{after}");
    }
    // The edge's defaults, and the replicated service behind one name Docker's DNS answers
    // with every replica.
    assert!(before.contains("client_max_body_size 8m;\n"));
    assert!(before.contains("proxy_read_timeout 30s;\n"));
    assert!(before.contains("upstream api_http {\n        server api:8080 "));
    assert!(!before.contains("least_conn"), "round robin");
    // It passes nginx -t, too.
    let work = tempfile::tempdir().unwrap();
    let (ok, out) = nginx_t(&after, work.path());
    assert!(ok, "{out}");
    // And the diagram shows the new service behind the edge.
    let readme = |f: StackFn| {
        stackdsl_tests::render_fn(f, Env::Prod)
            .into_iter()
            .find(|d| d.path == "shop/README.md")
            .unwrap()
            .contents
    };
    let (b, a) = (readme(shop), readme(shop_plus_reports));
    assert!(!b.contains("s_reports") && a.contains("s_edge -->|\"http 8080\"| s_reports"));
}

#[test]
fn kubernetes_annotations_follow_the_edge_and_the_route() {
    let sized =
        Resources::requests(Cpu::m(100), Memory::mi(64)).limits(Cpu::m(200), Memory::mi(128));
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Kubernetes])
        .edge(Edge::nginx().timeouts(Timeouts::all(30)).client_body_mb(8))
        .kubernetes(|k| k.routes(RouteApi::ingress(IngressController::ingress_nginx())));
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0"))
            .port(HTTP)
            .resources(sized)
            .expose(
                Route::host("api.example.com", HTTP)
                    .limit(RateLimit::per_client("api", 20).burst(60))
                    .timeouts(Timeouts::all(30).read(300)),
            ),
    );
    validate(&s).unwrap_or_else(|e| panic!("{e}"));
    let doc = stackdsl_tests::render(&s)
        .into_iter()
        .find(|d| d.path.ends_with("40-ingress.yaml"))
        .unwrap();
    let ing: Vec<Value> = serde_saphyr::from_multiple(&doc.contents).unwrap();
    let a = &ing[0]["metadata"]["annotations"];
    let expect = [
        ("limit-rps", "20"),
        ("limit-burst-multiplier", "3"),
        ("proxy-body-size", "8m"),
        ("proxy-connect-timeout", "30"),
        ("proxy-send-timeout", "30"),
        ("proxy-read-timeout", "300"),
    ];
    for (k, v) in expect {
        assert_eq!(a[format!("nginx.ingress.kubernetes.io/{k}")], v, "{k}");
    }
    assert_eq!(ing[0]["spec"]["ingressClassName"], "nginx");
    // Another controller gets standard fields only; the README lists what it misses.
    s.kubernetes(|k| {
        k.routes(RouteApi::ingress(IngressController::class(
            "traefik", "traefik",
        )))
    });
    let docs = stackdsl_tests::render(&s);
    let ing: Vec<Value> = serde_saphyr::from_multiple(
        &docs
            .iter()
            .find(|d| d.path.ends_with("40-ingress.yaml"))
            .unwrap()
            .contents,
    )
    .unwrap();
    assert_eq!(ing[0]["spec"]["ingressClassName"], "traefik");
    assert!(
        ing[0]["metadata"].get("annotations").is_none(),
        "{}",
        ing[0]
    );
    let readme = &docs
        .iter()
        .find(|d| d.path.ends_with("k8s/README.md"))
        .unwrap()
        .contents;
    for needle in [
        "rate limit 20 r/s per client, burst 60",
        "body size 8 MiB",
        "timeouts connect 30 s, send 30 s, read 300 s",
    ] {
        assert!(readme.contains(needle), "{needle}:\n{readme}");
    }
}

fn errors_of(s: &Stack) -> Vec<(ErrorKind, String, String)> {
    validate(s)
        .unwrap_err()
        .into_iter()
        .map(|e| (e.kind, e.path.to_string(), e.message))
        .collect()
}

#[test]
fn edge_mistakes_are_reported_at_their_paths() {
    let http = Port::http("http", 8000);
    let route = |path: &str| Route::host("api.example.com", http).path(path);
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Compose, Target::Kubernetes])
        .edge(Edge::nginx().header("X-Evil", "a\" always; include /etc/passwd; #"))
        .kubernetes(|k| k.routes(RouteApi::ingress(IngressController::ingress_nginx())));
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0"))
            .port(http)
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(64))
                    .limits(Cpu::m(200), Memory::mi(128)),
            )
            .expose(
                route("/a/")
                    .tls(ClusterIssuer::new("le"))
                    .limit(RateLimit::per_client("z", 10).burst(15)),
            )
            .expose(route("/b/").limit(RateLimit::per_client("z", 20)))
            .expose(route("/c/ { return 200; }"))
            .expose(route("/d/").limit(RateLimit::per_client("z z", 10).delayed())),
    );
    let errors = errors_of(&s);
    let has = |kind: ErrorKind, path: &str, needle: &str| {
        assert!(
            errors
                .iter()
                .any(|(k, p, m)| *k == kind && p == path && m.contains(needle)),
            "no {kind:?} at {path} with {needle:?} in {errors:#?}"
        );
    };
    let ing = "shop.services[api].routes[api.example.com]";
    has(ErrorKind::Unsupported, ing, "not a multiple of the rate");
    has(
        ErrorKind::InvalidValue,
        ing,
        "is 20 r/s (10 MiB) here but 10 r/s",
    );
    has(ErrorKind::InvalidValue, ing, "cannot match literally");
    has(ErrorKind::InvalidName, ing, "not a valid nginx zone name");
    has(ErrorKind::Unsupported, ing, "always serves a burst at once");
    has(
        ErrorKind::InvalidValue,
        ing,
        "the Compose edge has no certificates",
    );
    has(
        ErrorKind::InvalidValue,
        "shop.edge.headers[X-Evil]",
        "cannot be written",
    );
}
