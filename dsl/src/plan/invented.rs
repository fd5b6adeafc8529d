//! Services Compose runs that the stack does not declare: the nginx edge in front of the
//! routes, and Prometheus/Grafana when the stack enables monitoring. They are model
//! services, so Compose renders and hardens them like every other, validation keeps their
//! names free, and the diagram shows them.

use crate::builder::{Conditional as _, IntoService as _};
use crate::model::{
    Cpu, HealthTool, Image, Memory, Mount, Origin, Port, Probe, Resources, Security, Service,
    ServiceRef, Stack, Target,
};

use super::Plan;

/// Port nginx listens on for plain HTTP inside the container (unprivileged).
pub const NGINX_HTTP: Port = Port::http("http", 8080);
/// Port nginx listens on for HTTPS inside the container.
pub const NGINX_HTTPS: Port = Port::http("https", 8443);

/// Name of the Prometheus service monitoring adds to Compose.
pub const PROMETHEUS: &str = "prometheus";
/// Name of the Grafana service monitoring adds to Compose.
pub const GRAFANA: &str = "grafana";
/// Prometheus's port.
pub const PROM_PORT: Port = Port::http("http", 9090);
/// Grafana's port.
pub const GRAFANA_PORT: Port = Port::http("http", 3000);
/// Where Grafana reads the provisioned dashboards.
pub const GRAFANA_DASHBOARDS: &str = "/etc/grafana/dashboards";

/// A monitoring container for Compose: a model service and the generated folders it mounts
/// read-only (`(folder beside compose.yaml, path in the container)`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MonitoringService {
    /// The service.
    pub service: Service,
    /// `(folder beside compose.yaml, path in the container)`.
    pub mounts: Vec<(&'static str, &'static str)>,
}

/// The proxy as a service of the model: the pinned image, restricted (uid 101, read-only
/// root, a tmpfs for nginx's prefix), ports published on every interface, waiting for every
/// routed service.
pub(super) fn edge_service(plan: &Plan<'_>) -> Option<Service> {
    let stack = plan.stack;
    let edge = plan.compose_edge()?;
    let mut b = Service::new(edge.service.clone())
        .image(edge.image.clone())
        .port(NGINX_HTTP)
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
        .mount(Mount::scratch("/tmp"))
        .readiness(Probe::http_get("/healthz", NGINX_HTTP).period(10))
        .apply(|b| match edge.health_tool {
            Some(tool) => b.health_tool(tool),
            None => b,
        })
        // The unprivileged image's `nginx` user.
        .security(Security::restricted().run_as_user(101))
        .resources(
            Resources::requests(Cpu::m(50), Memory::mi(32)).limits(Cpu::m(250), Memory::mi(128)),
        )
        .publish_public(NGINX_HTTP, edge.http_port)
        .only_on([Target::Compose]);
    if plan.compose_routes().any(|(_, i)| i.tls.is_some()) {
        b = b
            .port(NGINX_HTTPS)
            .publish_public(NGINX_HTTPS, edge.https_port);
    }
    let mut seen: std::collections::BTreeSet<&str> = Default::default();
    for (svc, _) in plan.compose_routes() {
        if seen.insert(&svc.name) {
            b = b.depends_on(&ServiceRef {
                name: svc.name.clone(),
                stack: stack.name.clone(),
                origin: Origin::caller(),
            });
        }
    }
    let mut svc = b.into_service();
    svc.origin = stack.origin;
    Some(svc)
}

fn small() -> Resources {
    Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(512))
}

/// Prometheus (and Grafana), when the stack enables them and renders Compose.
pub(super) fn monitoring_services(stack: &Stack) -> Vec<MonitoringService> {
    let Some(prom) = &stack.monitoring.prometheus else {
        return Vec::new();
    };
    if !stack.targets.contains(&Target::Compose) {
        return Vec::new();
    }
    let prometheus = Service::new(PROMETHEUS)
        .image(Image::new("prom/prometheus").tag(&prom.tag))
        .port(PROM_PORT)
        .publish(PROM_PORT, prom.host_port)
        .args([
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=2d",
        ])
        .readiness(Probe::http_get("/-/ready", PROM_PORT).period(10))
        // The image is BusyBox-based.
        .health_tool(HealthTool::Wget)
        .mount(Mount::scratch("/prometheus"))
        // The image's `nobody` user.
        .security(Security::restricted().run_as_user(65534))
        .resources(small())
        .into_service();
    let mut out = vec![MonitoringService {
        service: prometheus,
        mounts: vec![("prometheus", "/etc/prometheus")],
    }];
    if let Some(g) = &stack.monitoring.grafana {
        let grafana = Service::new(GRAFANA)
            .image(Image::new("grafana/grafana").tag(&g.tag))
            .port(GRAFANA_PORT)
            .publish(GRAFANA_PORT, g.host_port)
            // Local dashboards for everyone on the machine; editing stays in code.
            .env("GF_AUTH_ANONYMOUS_ENABLED", "true")
            .env("GF_AUTH_ANONYMOUS_ORG_ROLE", "Viewer")
            .env("GF_ANALYTICS_REPORTING_ENABLED", "false")
            .readiness(Probe::http_get("/api/health", GRAFANA_PORT).period(10))
            // The image is Alpine-based (BusyBox).
            .health_tool(HealthTool::Wget)
            .mount(Mount::scratch("/var/lib/grafana"))
            .mount(Mount::scratch("/var/log/grafana"))
            .mount(Mount::scratch("/tmp"))
            .depends_on(&ServiceRef {
                name: PROMETHEUS.to_owned(),
                stack: stack.name.clone(),
                origin: stack.origin,
            })
            // The image's `grafana` user.
            .security(Security::restricted().run_as_user(472))
            .resources(small())
            .into_service();
        out.push(MonitoringService {
            service: grafana,
            mounts: vec![
                ("grafana/provisioning", "/etc/grafana/provisioning"),
                ("grafana/dashboards", GRAFANA_DASHBOARDS),
            ],
        });
    }
    out
}
