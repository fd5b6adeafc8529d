//! Probes real services need, on every target: gRPC health checks (Kubernetes' native
//! `grpc` probe; Compose only through a client the stack states), request headers on HTTP
//! probes, `appProtocol` on Service ports from the port's protocol; and Compose health
//! checks that never assume a client the image may lack (no check, `service_started`, a
//! warning the CLI prints).

use serde_json::Value;
use stackdsl::diagnostics::WarningKind;
use stackdsl::prelude::*;
use stackdsl::validate::ErrorKind;
use stackdsl_tests::{cli, render};

fn yaml(stack: &Stack, suffix: &str) -> Vec<Value> {
    let doc = render(stack)
        .into_iter()
        .find(|d| d.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("{} renders no {suffix}", stack.name));
    serde_saphyr::from_multiple(&doc.contents).expect("YAML")
}

fn object(stack: &Stack, file: &str, kind: &str) -> Value {
    yaml(stack, file)
        .into_iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("{file} has no {kind}"))
}

/// A gRPC cart (distroless image with grpc_health_probe) and an HTTP front that needs a
/// `Host` header on its probes and depends on the cart and on a pulled cache nobody
/// stated a client for.
fn shop(env: Env, targets: &[Target]) -> Stack {
    let mut s = Stack::new("shop", env);
    s.targets(targets.iter().copied());
    let grpc = Port::grpc("grpc", 7070);
    let cart = s.add(
        Service::new("cart")
            .image(Image::new("acme/cart").tag("1.0.0"))
            .port(grpc)
            .readiness(Probe::grpc(grpc).period(5).timeout(2))
            .liveness(Probe::grpc_service(grpc, "shop.CartService"))
            .health_tool(HealthTool::GrpcHealthProbe),
    );
    let redis = Port::tcp("redis", 6379);
    let cache = s.add(
        Service::new("cache")
            .image(Image::new("acme/cache").tag("7.4.1"))
            .port(redis)
            .readiness(Probe::tcp(redis)),
    );
    let http = Port::http("http", 8080).service_port(80);
    s.add(
        Service::new("front")
            .image(Image::new("acme/front").tag("1.0.0"))
            .port(http)
            .env("CART_ADDR", cart.endpoint(grpc).url())
            .env("CACHE_ADDR", cache.endpoint(redis).url())
            .readiness(Probe::http_get("/_healthz", http).header("Host", "shop.example.com"))
            .liveness(Probe::http_get("/_healthz", http).header("Host", "shop.example.com"))
            .health_tool(HealthTool::Curl),
    );
    s
}

#[test]
fn kubernetes_probes_grpc_natively_and_sends_headers() {
    let s = shop(Env::Dev, &[Target::Kubernetes]);
    let cart = object(&s, "/k8s/20-cart.yaml", "Deployment");
    let c = &cart["spec"]["template"]["spec"]["containers"][0];
    // The kubelet's gRPC probe takes the port number (it has no named-port form).
    assert_eq!(
        c["readinessProbe"]["grpc"],
        serde_json::json!({ "port": 7070 })
    );
    assert_eq!(
        c["livenessProbe"]["grpc"],
        serde_json::json!({ "port": 7070, "service": "shop.CartService" })
    );
    let front = object(&s, "/k8s/20-front.yaml", "Deployment");
    let c = &front["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["readinessProbe"]["httpGet"]["httpHeaders"],
        serde_json::json!([{ "name": "Host", "value": "shop.example.com" }])
    );
}

#[test]
fn service_ports_carry_the_app_protocol_kubernetes_defines() {
    let s = shop(Env::Dev, &[Target::Kubernetes]);
    let port = |svc: &str| {
        object(&s, &format!("/k8s/20-{svc}.yaml"), "Service")["spec"]["ports"][0].clone()
    };
    assert_eq!(port("cart")["appProtocol"], "kubernetes.io/h2c");
    assert_eq!(port("front")["appProtocol"], "http");
    // A plain TCP protocol is not guessed.
    assert_eq!(port("cache").get("appProtocol"), None);
}

#[test]
fn compose_runs_the_stated_client_and_never_assumes_one() {
    let s = shop(Env::Dev, &[Target::Compose]);
    let compose = yaml(&s, "/compose.yaml").remove(0);
    let svc = |n: &str| compose["services"][n].clone();
    assert_eq!(
        svc("cart")["healthcheck"]["test"],
        serde_json::json!([
            "CMD",
            "grpc_health_probe",
            "-addr=127.0.0.1:7070",
            "-connect-timeout=2s",
            "-rpc-timeout=2s"
        ])
    );
    assert_eq!(
        svc("front")["healthcheck"]["test"],
        serde_json::json!([
            "CMD",
            "curl",
            "-fsS",
            "-o",
            "/dev/null",
            "-H",
            "Host: shop.example.com",
            "http://127.0.0.1:8080/_healthz"
        ])
    );
    // The cache image is pulled and nothing says it ships a client: no check that could
    // never pass, and the front waits for it to start only.
    assert_eq!(svc("cache").get("healthcheck"), None);
    assert_eq!(
        svc("front")["depends_on"]["cache"]["condition"],
        "service_started"
    );
    assert_eq!(
        svc("front")["depends_on"]["cart"]["condition"],
        "service_healthy"
    );
    let plan = stackdsl::validate(&s).expect("valid");
    let warnings: Vec<(WarningKind, &str)> = plan
        .warnings()
        .iter()
        .filter(|w| w.kind == WarningKind::NoHealthCheck)
        .map(|w| (w.kind, w.path.as_str()))
        .collect();
    assert_eq!(
        warnings,
        [(
            WarningKind::NoHealthCheck,
            "shop.services[cache].health_tool"
        )]
    );
    assert!(
        plan.warnings()[0]
            .message
            .contains("`front` waits for it to start")
    );
}

#[test]
fn the_cli_prints_the_warning_and_writes_the_files() {
    fn dev(env: Env) -> Stack {
        shop(env, &[Target::Compose])
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = cli(Env::Dev, &[dev], &["--out", out, "--allow-outside"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "warning[no-health-check]: shop.services[cache].health_tool: Compose gives `cache` no healthcheck"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("  hint: state the client the image ships"),
        "{}",
        r.stderr
    );
    assert!(dir.path().join("shop/dev/compose.yaml").is_file());
    // `--check` reports it too, and is still clean.
    let r = cli(Env::Dev, &[dev], &["--out", out, "--check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("warning[no-health-check]"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_stated_client_that_cannot_run_the_probe_is_an_error() {
    let redis = Port::tcp("redis", 6379);
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("cache")
            .image(Image::new("acme/cache").tag("7.4.1"))
            .port(redis)
            .readiness(Probe::tcp(redis))
            .health_tool(HealthTool::Curl),
    );
    let errors = stackdsl::validate(&s).unwrap_err();
    let e = errors.iter().next().unwrap();
    assert_eq!(
        (e.kind, e.path.as_str()),
        (ErrorKind::Unsupported, "shop.services[cache].health_tool")
    );
    assert!(
        e.message
            .contains("HealthTool::Curl, which cannot run a TCP check"),
        "{}",
        e.message
    );
    assert!(
        e.hint
            .contains("HealthTool::Wget, HealthTool::Node, HealthTool::Python"),
        "{}",
        e.hint
    );
    // Kubernetes alone does not run the Compose client: no error there.
    s.targets([Target::Kubernetes]);
    assert!(stackdsl::validate(&s).is_ok());
}

#[test]
fn paas_health_checks_refuse_probe_headers() {
    let http = Port::http("http", 8080);
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Paas(Platform::Fly)]);
    s.add(
        Service::new("front")
            .image(Image::new("acme/front").tag("1.0.0"))
            .port(http)
            .readiness(Probe::http_get("/_healthz", http).header("Host", "shop.example.com"))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(128))
                    .limits(Cpu::m(500), Memory::mi(256)),
            ),
    );
    let errors = stackdsl::validate(&s).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.path == "shop.services[front].probes.readiness.headers"),
        "{errors}"
    );
}
