//! Compose healthchecks: the command that runs a service's probe inside its image, with
//! the client the stack states ([`HealthTool`]); and the rule that a stated client can
//! run the probe. Whether a service gets a healthcheck at all is a fact of the plan
//! ([`Plan::compose_check`]).

use serde::Serialize;

use crate::diagnostics::ErrorKind;
use crate::model::{HealthTool, Probe, ProbeAction, Service, Target};
use crate::plan::Plan;
use crate::validate::Validator;

use super::escape;

#[derive(Serialize)]
pub(super) struct Healthcheck {
    pub(super) test: Vec<String>,
    pub(super) interval: String,
    pub(super) timeout: String,
    pub(super) retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) start_period: Option<String>,
}

/// Seconds of grace a Compose healthcheck gives a service that states neither a startup
/// probe nor an initial delay (see [`Probe`]): failures in it do not count.
const DEFAULT_START_PERIOD: u32 = 60;

/// Seconds a Compose check may take when the probe states no timeout: a process started
/// in the container (a `wget`, a `node -e`) needs longer than the kubelet's own request,
/// so 5 s, but never more than the period between checks.
const DEFAULT_TIMEOUT: u32 = 5;

/// The timeout of `probe`'s Compose check (see [`DEFAULT_TIMEOUT`]).
fn compose_timeout(probe: &Probe) -> u32 {
    probe
        .timeout
        .unwrap_or_else(|| DEFAULT_TIMEOUT.min(probe.effective_period()))
}

/// The Compose healthcheck for a service, if its probe can run inside its image.
pub(super) fn healthcheck(plan: &Plan<'_>, svc: &Service) -> Option<Healthcheck> {
    let (probe, tool) = plan.compose_check(svc)?;
    let test = probe_command(probe, tool)?;
    let start_period = match (&svc.probes.startup, probe.initial_delay) {
        (Some(s), _) => Some(
            s.initial_delay.unwrap_or(0) + s.effective_period() * s.effective_failure_threshold(),
        ),
        (None, Some(d)) => Some(d),
        (None, None) => Some(DEFAULT_START_PERIOD),
    };
    Some(Healthcheck {
        test,
        interval: format!("{}s", probe.effective_period()),
        timeout: format!("{}s", compose_timeout(probe)),
        retries: probe.effective_failure_threshold(),
        start_period: start_period.filter(|s| *s > 0).map(|s| format!("{s}s")),
    })
}

/// The `test` of a healthcheck; `None` when `tool` cannot run `probe`.
fn probe_command(probe: &Probe, tool: Option<HealthTool>) -> Option<Vec<String>> {
    let form = |form: &str, parts: Vec<String>| {
        let mut v = vec![form.to_owned()];
        v.extend(parts.iter().map(|p| escape(p)));
        Some(v)
    };
    let cmd = |parts: &[&str]| form("CMD", parts.iter().map(|s| (*s).to_owned()).collect());
    match (&probe.action, tool) {
        (ProbeAction::Exec { command }, _) => form("CMD", command.clone()),
        (ProbeAction::HttpGet { path, port }, Some(tool)) => {
            let url = format!("http://127.0.0.1:{}{path}", port.number);
            let headers = &probe.headers;
            match tool {
                HealthTool::Wget => {
                    let mut v = vec!["wget".to_owned(), "-q".into(), "--spider".into()];
                    for (name, value) in headers {
                        v.extend(["--header".to_owned(), format!("{name}: {value}")]);
                    }
                    v.push(url);
                    form("CMD", v)
                }
                HealthTool::Curl => {
                    let mut v = ["curl", "-fsS", "-o", "/dev/null"]
                        .map(str::to_owned)
                        .to_vec();
                    for (name, value) in headers {
                        v.extend(["-H".to_owned(), format!("{name}: {value}")]);
                    }
                    v.push(url);
                    form("CMD", v)
                }
                HealthTool::Node => cmd(&["node", "-e", &node_http_check(&url, headers)]),
                HealthTool::Python => cmd(&["python", "-c", &python_http_check(&url, headers)]),
                HealthTool::GrpcHealthProbe | HealthTool::None | HealthTool::ImageHealthcheck => {
                    None
                }
            }
        }
        (ProbeAction::Tcp { port }, Some(tool)) => match tool {
            HealthTool::Wget => form(
                "CMD-SHELL",
                vec![format!("nc -z 127.0.0.1 {} || exit 1", port.number)],
            ),
            HealthTool::Node => cmd(&[
                "node",
                "-e",
                &format!(
                    "require('net').connect({}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))",
                    port.number
                ),
            ]),
            HealthTool::Python => cmd(&[
                "python",
                "-c",
                &format!(
                    "import socket; socket.create_connection(('127.0.0.1', {}), timeout=5)",
                    port.number
                ),
            ]),
            HealthTool::Curl
            | HealthTool::GrpcHealthProbe
            | HealthTool::None
            | HealthTool::ImageHealthcheck => None,
        },
        (ProbeAction::Grpc { port, service }, Some(HealthTool::GrpcHealthProbe)) => {
            let timeout = format!("{}s", compose_timeout(probe));
            let mut v = vec![
                "grpc_health_probe".to_owned(),
                format!("-addr=127.0.0.1:{}", port.number),
                format!("-connect-timeout={timeout}"),
                format!("-rpc-timeout={timeout}"),
            ];
            v.extend(service.iter().map(|s| format!("-service={s}")));
            form("CMD", v)
        }
        _ => None,
    }
}

/// `s` as a single-quoted JavaScript and Python string literal.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `{'Name': 'value', …}`: an object literal in JavaScript, a dict in Python.
fn header_map(headers: &[(String, String)]) -> String {
    let entries: Vec<String> = headers
        .iter()
        .map(|(n, v)| format!("{}: {}", quoted(n), quoted(v)))
        .collect();
    format!("{{{}}}", entries.join(", "))
}

fn node_http_check(url: &str, headers: &[(String, String)]) -> String {
    let options = if headers.is_empty() {
        String::new()
    } else {
        format!("{{ headers: {} }}, ", header_map(headers))
    };
    format!(
        "require('http').get({}, {options}(r) => process.exit(r.statusCode < 400 ? 0 : 1)).on('error', () => process.exit(1))",
        quoted(url)
    )
}

fn python_http_check(url: &str, headers: &[(String, String)]) -> String {
    let request = if headers.is_empty() {
        quoted(url)
    } else {
        format!(
            "urllib.request.Request({}, headers={})",
            quoted(url),
            header_map(headers)
        )
    };
    format!("import urllib.request; urllib.request.urlopen({request}, timeout=5)")
}

impl Validator<'_> {
    /// A stated health-check client must be able to run the service's Compose probe.
    pub(super) fn compose_health_rules(&mut self, svc: &Service) {
        let (Some(tool), Some(probe)) = (svc.health_tool, svc.health_probe()) else {
            return;
        };
        if tool == HealthTool::None || tool.runs(probe) {
            return;
        }
        let kind = probe.action.kind();
        let can: Vec<&str> = [
            HealthTool::Wget,
            HealthTool::Curl,
            HealthTool::Node,
            HealthTool::Python,
            HealthTool::GrpcHealthProbe,
        ]
        .into_iter()
        .filter(|t| t.runs(probe))
        .map(HealthTool::name)
        .collect();
        let slot = if svc.probes.readiness.is_some() {
            "readiness"
        } else {
            "liveness"
        };
        self.err(
            ErrorKind::Unsupported,
            format!("{}.health_tool", self.svc_path(svc)),
            format!(
                "Compose runs the {slot} probe of `{}` ({kind}) with {}, which cannot run a {kind} check",
                svc.name,
                tool.name()
            ),
            format!(
                "state a client the image ships that can ({}), or `HealthTool::None` for no Compose healthcheck",
                can.join(", ")
            ),
        );
    }
}

/// Every service Compose runs with a stated client gets the rule.
pub(super) fn rules(v: &mut Validator<'_>) {
    let plan = v.plan;
    for svc in plan.services(Target::Compose) {
        v.compose_health_rules(svc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Port;

    fn test(probe: &Probe, tool: HealthTool) -> Vec<String> {
        probe_command(probe, Some(tool)).expect("the tool runs the probe")
    }

    #[test]
    fn every_tool_sends_the_http_headers() {
        let http = Port::http("http", 8080);
        let p = Probe::http_get("/ready", http)
            .header("Host", "shop.example.com")
            .header("X-Quote", "it's $HOME");
        assert_eq!(
            test(&p, HealthTool::Wget),
            [
                "CMD",
                "wget",
                "-q",
                "--spider",
                "--header",
                "Host: shop.example.com",
                "--header",
                "X-Quote: it's $$HOME",
                "http://127.0.0.1:8080/ready"
            ]
        );
        assert_eq!(
            test(&p, HealthTool::Curl)[5..9],
            ["-H", "Host: shop.example.com", "-H", "X-Quote: it's $$HOME"]
        );
        assert_eq!(
            test(&p, HealthTool::Node)[3],
            "require('http').get('http://127.0.0.1:8080/ready', { headers: {'Host': 'shop.example.com', 'X-Quote': 'it\\'s $$HOME'} }, (r) => process.exit(r.statusCode < 400 ? 0 : 1)).on('error', () => process.exit(1))"
        );
        assert_eq!(
            test(&p, HealthTool::Python)[3],
            "import urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8080/ready', headers={'Host': 'shop.example.com', 'X-Quote': 'it\\'s $$HOME'}), timeout=5)"
        );
    }

    #[test]
    fn grpc_runs_with_grpc_health_probe_only() {
        let grpc = Port::grpc("grpc", 7070);
        let p = Probe::grpc_service(grpc, "shop.Cart").timeout(3);
        assert_eq!(
            test(&p, HealthTool::GrpcHealthProbe),
            [
                "CMD",
                "grpc_health_probe",
                "-addr=127.0.0.1:7070",
                "-connect-timeout=3s",
                "-rpc-timeout=3s",
                "-service=shop.Cart"
            ]
        );
        for tool in [
            HealthTool::Wget,
            HealthTool::Curl,
            HealthTool::Node,
            HealthTool::Python,
        ] {
            assert_eq!(probe_command(&p, Some(tool)), None, "{tool:?}");
        }
        let tcp = Probe::tcp(Port::tcp("db", 5432));
        assert_eq!(probe_command(&tcp, Some(HealthTool::Curl)), None);
        assert_eq!(probe_command(&tcp, Some(HealthTool::GrpcHealthProbe)), None);
    }
}
