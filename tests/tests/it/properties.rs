//! Property tests: random stacks built through the public builder API.
//!
//! - A random *valid* stack validates, renders, synthesizes byte-identically twice, reads back
//!   the same under YAML 1.1 (PyYAML) and YAML 1.2 (serde-saphyr), and its Kubernetes
//!   objects have unique, well-formed names; a few of them also pass docker-compose and
//!   kubernetes-validate.
//! - A random valid stack with one injected defect fails with an error whose path points at
//!   the defect, through the CLI, and the output folder is left byte-for-byte as it was.
//!
//! Case counts: `PROPTEST_CASES` (default 256) for the in-process properties;
//! `STACKDSL_EXTERNAL_CASES` (default 10) for the external-validator sample. The defaults are
//! as deep as `.ci/run` affords within its 20-minute budget (measured in TESTING.md); the long
//! run is `just test-long`.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use serde_json::Value;
use stackdsl::emit::{self, Output, Scope};
use stackdsl::model::Protocol;
use stackdsl::prelude::*;
use stackdsl::validate::{MAX_CLUSTER_NAME, names};
use stackdsl_tests::fixtures::YAML11_HAZARDS;
use stackdsl_tests::{cli, files_with_suffix, run, tool, tree, workspace_root};

// --- Specs: plain data proptest generates and shrinks -------------------------------------

/// Port names are `&'static str` in the model, so they come from a pool; some of them are
/// YAML 1.1 hazards (`on`, `yes`, `y`, `null`). `gossip` is reserved for clusters.
const PORT_NAMES: &[&str] = &[
    "http",
    "grpc",
    "metrics",
    "admin",
    "on",
    "yes",
    "no",
    "y",
    "null",
    "p-1",
    "x9",
    "web-ui",
    "a",
    "very-long-name1",
];
const GOSSIP: &str = "gossip";

/// Names that are valid DNS labels but hazards elsewhere: YAML 1.1 booleans and nulls as
/// Compose keys, and names the Kubernetes renderer derives for its own objects.
const HAZARD_NAMES: &[&str] = &[
    "on",
    "yes",
    "no",
    "y",
    "n",
    "off",
    "null",
    "true",
    "default-deny",
];

#[derive(Clone, Debug)]
struct PortSpec {
    name: Index,
    number: u16,
    kind: u8,
    service_port: Option<u16>,
}

#[derive(Clone, Debug)]
struct SecretSpec {
    name: String,
    key: String,
    var: Option<String>,
    description: Option<String>,
}

#[derive(Clone, Debug)]
enum ValueSpec {
    Plain(String),
    Config(String),
    Secret(SecretSpec),
    Url {
        to: Index,
        port: Index,
        user: Option<String>,
        password: Option<SecretSpec>,
        path: String,
    },
    HostPort {
        to: Index,
        port: Index,
    },
}

#[derive(Clone, Debug)]
struct ProbeSpec {
    kind: u8,
    port: Index,
    path: String,
    period: u32,
    timeout: u32,
    /// Seconds before the first check, often none and sometimes explicitly 0.
    initial_delay: Option<u32>,
    failure_threshold: Option<u32>,
}

#[derive(Clone, Debug)]
struct ClusterSpec {
    nodes: u32,
    seeds: u32,
    port: u16,
    secret: Option<SecretSpec>,
    parallel: bool,
    host_port_seeds: bool,
    autoscale_extra: Option<(u32, u32)>,
}

#[derive(Clone, Debug)]
struct IngressSpec {
    host: String,
    port: Index,
    class: u8,
    tls: bool,
    rate_limit: Option<u32>,
    path: String,
}

#[derive(Clone, Debug)]
enum FileName {
    Fixed(&'static str),
    /// `<other service>-config`: the name of another service's configuration ConfigMap.
    ConfigOf(Index),
}

#[derive(Clone, Debug)]
struct SvcSpec {
    name: String,
    tag: String,
    ports: Vec<PortSpec>,
    env: Vec<(String, ValueSpec)>,
    readiness: Option<ProbeSpec>,
    liveness: Option<ProbeSpec>,
    startup: Option<ProbeSpec>,
    health_tool: u8,
    replicas: u32,
    resources: Option<(u32, u32, u64, u64)>,
    publish: Option<(Index, u16, bool)>,
    depends_on: Vec<Index>,
    autoscale: Option<(u32, u32, u32)>,
    cluster: Option<ClusterSpec>,
    metrics: Option<Index>,
    scratch: bool,
    persistent: Option<&'static str>,
    file: Option<(FileName, String)>,
    ingress: Vec<IngressSpec>,
    writable_root: bool,
}

#[derive(Clone, Debug)]
struct StackSpec {
    name: String,
    env: Env,
    targets: Vec<Target>,
    services: Vec<SvcSpec>,
}

fn dns_label() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,6}){0,2}",
        2 => "[a-z][a-z0-9-]{0,61}[a-z0-9]",
        1 => proptest::sample::select(HAZARD_NAMES).prop_map(str::to_owned),
    ]
}

fn env_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[A-Z_][A-Z0-9_]{0,14}",
        1 => proptest::sample::select(&["ON", "NO", "Y", "N", "NULL", "TRUE", "YES", "OFF", "_"][..])
            .prop_map(str::to_owned),
    ]
    .prop_filter("not secret-looking, not a cluster variable", |n| {
        !stackdsl::validate::leaks::looks_secret(n) && !matches!(n.as_str(), "NODE_NAME" | "CLUSTER_SEEDS")
    })
}

/// Literal text: printable ASCII (quotes, `$`, `#`, `:` …), any printable Unicode,
/// number-like strings and the known YAML 1.1 hazards.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{0,20}",
        2 => "\\PC{0,12}",
        2 => "[-+0-9._:eExob]{1,8}",
        2 => proptest::sample::select(YAML11_HAZARDS).prop_map(str::to_owned),
    ]
}

fn secret() -> impl Strategy<Value = SecretSpec> {
    (
        "[a-z]([a-z0-9-]{0,10}[a-z0-9])?",
        prop_oneof![
            3 => "[a-z0-9][a-zA-Z0-9._-]{0,10}",
            1 => proptest::sample::select(&["on", "0755", "1e3", "yes", "null", ".inf"][..])
                .prop_map(str::to_owned),
        ],
        proptest::option::of("[A-Z][A-Z0-9_]{0,12}"),
        proptest::option::of("[ -~]{0,30}"),
    )
        .prop_map(|(name, key, var, description)| SecretSpec {
            name,
            key,
            var,
            description,
        })
}

fn value() -> impl Strategy<Value = ValueSpec> {
    prop_oneof![
        4 => text().prop_map(ValueSpec::Plain),
        2 => text().prop_map(ValueSpec::Config),
        2 => secret().prop_map(ValueSpec::Secret),
        2 => (
            any::<Index>(),
            any::<Index>(),
            proptest::option::of("[a-z]{1,8}"),
            proptest::option::of(secret()),
            // `$(` is literal text to the URL, a variable reference to the kubelet.
            "(/[a-z0-9]{1,6}|/\\$\\([a-z]{1,4}\\)){0,2}",
        )
            .prop_map(|(to, port, user, password, path)| ValueSpec::Url {
                to,
                port,
                user,
                password,
                path,
            }),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(to, port)| ValueSpec::HostPort { to, port }),
    ]
}

fn probe() -> impl Strategy<Value = ProbeSpec> {
    let delay = prop_oneof![2 => Just(None), 1 => Just(Some(0)), 1 => (1u32..120).prop_map(Some)];
    (
        0u8..3,
        any::<Index>(),
        "/[a-z]{0,8}",
        1u32..30,
        1u32..30,
        delay,
        proptest::option::of(1u32..10),
    )
        .prop_map(
            |(kind, port, path, period, timeout, initial_delay, failure_threshold)| ProbeSpec {
                kind,
                port,
                path,
                period,
                timeout: timeout.min(period),
                initial_delay,
                failure_threshold,
            },
        )
}

fn port() -> impl Strategy<Value = PortSpec> {
    (
        any::<Index>(),
        1u16..=65535,
        0u8..4,
        proptest::option::weighted(0.2, 1u16..=65535),
    )
        .prop_map(|(name, number, kind, service_port)| PortSpec {
            name,
            number,
            kind,
            service_port,
        })
}

fn cluster() -> impl Strategy<Value = ClusterSpec> {
    (
        3u32..=7,
        1u32..=3,
        1u16..=65535,
        proptest::option::of(secret()),
        any::<bool>(),
        any::<bool>(),
        proptest::option::weighted(0.3, (0u32..3, 0u32..5)),
    )
        .prop_map(
            |(nodes, seeds, port, secret, parallel, host_port_seeds, autoscale_extra)| {
                ClusterSpec {
                    nodes,
                    seeds: seeds.min(nodes),
                    port,
                    secret,
                    parallel,
                    host_port_seeds,
                    autoscale_extra,
                }
            },
        )
}

fn ingress() -> impl Strategy<Value = IngressSpec> {
    (
        "[a-z][a-z0-9]{0,8}\\.example\\.(com|org)",
        any::<Index>(),
        0u8..3,
        any::<bool>(),
        proptest::option::of(1u32..100),
        prop_oneof![Just("/".to_owned()), "/[a-z]{1,6}"],
    )
        .prop_map(|(host, port, class, tls, rate_limit, path)| IngressSpec {
            host,
            port,
            class,
            tls,
            rate_limit,
            path,
        })
}

fn file_name() -> impl Strategy<Value = FileName> {
    prop_oneof![
        proptest::sample::select(&["app-config", "proxy-conf", "settings"][..])
            .prop_map(FileName::Fixed),
        any::<Index>().prop_map(FileName::ConfigOf),
    ]
}

fn service() -> impl Strategy<Value = SvcSpec> {
    let head = (
        dns_label(),
        "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}",
        prop::collection::vec(port(), 0..4),
        prop::collection::vec((env_name(), value()), 0..6),
        proptest::option::of(probe()),
        proptest::option::of(probe()),
        proptest::option::weighted(0.2, probe()),
        0u8..4,
        1u32..=4,
        proptest::option::weighted(0.9, (10u32..500, 0u32..1500, 16u64..256, 0u64..512)),
    );
    let tail = (
        proptest::option::weighted(0.3, (any::<Index>(), 1024u16..=65535, any::<bool>())),
        prop::collection::vec(any::<Index>(), 0..3),
        proptest::option::weighted(0.2, (0u32..3, 0u32..5, 10u32..=90)),
        proptest::option::weighted(0.15, cluster()),
        proptest::option::weighted(0.2, any::<Index>()),
        any::<bool>(),
        proptest::option::weighted(
            0.2,
            proptest::sample::select(&["data", "cache", "state"][..]),
        ),
        proptest::option::weighted(0.15, (file_name(), "[ -~\n]{0,40}")),
        prop::collection::vec(ingress(), 0..3),
        proptest::bool::weighted(0.1),
    );
    (head, tail).prop_map(
        |(
            (name, tag, ports, env, readiness, liveness, startup, health_tool, replicas, resources),
            (
                publish,
                depends_on,
                autoscale,
                cluster,
                metrics,
                scratch,
                persistent,
                file,
                ingress,
                writable_root,
            ),
        )| SvcSpec {
            name,
            tag,
            ports,
            env,
            readiness,
            liveness,
            startup,
            health_tool,
            replicas,
            resources,
            publish,
            depends_on,
            autoscale,
            cluster,
            metrics,
            scratch,
            persistent,
            file,
            ingress,
            writable_root,
        },
    )
}

fn stack_spec() -> impl Strategy<Value = StackSpec> {
    (
        "[a-z]([a-z0-9-]{0,20}[a-z0-9])?",
        proptest::sample::select(&Env::ALL[..]),
        prop_oneof![
            Just(vec![Target::Compose]),
            Just(vec![Target::Kubernetes]),
            Just(vec![Target::Compose, Target::Kubernetes]),
            Just(vec![Target::Kubernetes, Target::Compose]),
        ],
        prop::collection::vec(service(), 1..=30),
    )
        .prop_map(|(name, env, targets, services)| StackSpec {
            name,
            env,
            targets,
            services,
        })
}

// --- Building a stack from a spec (the public builder API only) ---------------------------

/// What building produced besides the stack: handles and published host ports, for the
/// defect injectors.
struct Built {
    stack: Stack,
    handles: Vec<ServiceRef>,
    /// `(container port, host port)` of every publish.
    published: Vec<(Port, u16)>,
}

fn make_port(name: &'static str, number: u16, kind: u8) -> Port {
    match kind {
        0 => Port::http(name, number),
        1 => Port::grpc(name, number),
        2 => Port::tcp(name, number),
        _ => Port::udp(name, number),
    }
}

/// Variables given out so far, by the secret (name, key) that owns each.
type SecretVars = std::cell::RefCell<BTreeMap<String, (String, String)>>;

/// The secret of `s`; when its variable is already another secret's (which validation
/// rightly refuses: `.env` would hand one value to both), a numbered variable instead.
fn secret_ref(s: &SecretSpec, vars: &SecretVars) -> SecretRef {
    let mut r = SecretRef::new(&s.name, &s.key);
    if let Some(v) = &s.var {
        r = r.var_name(v);
    }
    let owner = (s.name.clone(), s.key.clone());
    let mut vars = vars.borrow_mut();
    let base = r.var();
    let mut n = 0;
    while vars.get(&r.var()).is_some_and(|o| *o != owner) {
        n += 1;
        r = r.var_name(format!("{base}_{n}"));
    }
    vars.insert(r.var(), owner);
    if let Some(d) = &s.description {
        r = r.describe(d);
    }
    r
}

/// Names the renderers derive from a service's name for objects of their own.
fn derived_names(name: &str, cluster_nodes: Option<u32>) -> Vec<String> {
    let mut out = vec![format!("{name}-config")];
    if let Some(n) = cluster_nodes {
        out.push(format!("{name}-headless"));
        out.push(format!("{name}-seed"));
        out.extend((1..n).map(|i| format!("{name}-worker-{i}")));
    }
    out
}

fn build(spec: &StackSpec) -> Built {
    let mut s = Stack::new(spec.name.clone(), spec.env);
    s.targets(spec.targets.clone());
    let kubernetes = spec.targets.contains(&Target::Kubernetes);
    // (handle, client ports) of the services added so far.
    let mut earlier: Vec<(ServiceRef, Vec<Port>)> = Vec::new();
    let mut names_taken: BTreeSet<String> = BTreeSet::new();
    let mut host_ports: BTreeSet<u16> = BTreeSet::new();
    let mut published = Vec::new();
    let mut files: BTreeSet<String> = BTreeSet::new();
    let mut claims: BTreeSet<&str> = BTreeSet::new();
    let mut ingress_hosts: BTreeSet<(String, String)> = BTreeSet::new();
    // The stack's route API, from the first route's `class`: the default Gateway API,
    // Ingresses served by ingress-nginx, or by another controller.
    match spec
        .services
        .iter()
        .flat_map(|s| s.ingress.first())
        .next()
        .map_or(0, |i| i.class)
    {
        1 => {
            s.kubernetes(|k| k.routes(RouteApi::ingress(IngressController::ingress_nginx())));
        }
        2 => {
            s.kubernetes(|k| {
                k.routes(RouteApi::ingress(IngressController::class(
                    "traefik", "traefik",
                )))
            });
        }
        _ => {}
    }
    let vars = SecretVars::default();
    if kubernetes {
        // The name of the namespace-wide deny-all NetworkPolicy.
        names_taken.insert("default-deny".to_owned());
    }
    for (index, svc) in spec.services.iter().enumerate() {
        // Clusters with names too long for their members' names are the defect tests' job.
        let cluster = svc
            .cluster
            .as_ref()
            .filter(|_| svc.name.len() <= MAX_CLUSTER_NAME);
        let cluster_nodes = cluster.map(|c| c.nodes);
        // A name that clashes with one taken (or derived) is replaced by a fresh one.
        let own = |name: &str| {
            let mut all = vec![name.to_owned()];
            all.extend(derived_names(name, cluster_nodes));
            all
        };
        let name = std::iter::once(svc.name.clone())
            .chain((0..).map(|i| format!("s{index}x{i}")))
            .find(|n| own(n).iter().all(|o| !names_taken.contains(o)))
            .unwrap_or_default();
        names_taken.extend(own(&name));

        // Ports: unique by name and by number per protocol.
        let mut ports: Vec<Port> = Vec::new();
        for p in &svc.ports {
            let mut port = make_port(p.name.get::<&str>(PORT_NAMES), p.number, p.kind);
            if let Some(sp) = p.service_port {
                port = port.service_port(sp);
            }
            if ports.iter().any(|q| {
                q.name == port.name || (q.number, q.protocol) == (port.number, port.protocol)
            }) {
                continue;
            }
            ports.push(port);
        }
        let gossip = cluster.map(|c| {
            let mut n = c.port;
            while ports
                .iter()
                .any(|q| (q.number, q.protocol) == (n, Protocol::Tcp))
            {
                n = n.checked_add(1).unwrap_or(1);
            }
            Port::tcp(GOSSIP, n)
        });
        let tcp_ports: Vec<Port> = ports
            .iter()
            .filter(|p| p.protocol == Protocol::Tcp)
            .copied()
            .collect();
        let http_ports: Vec<Port> = ports
            .iter()
            .filter(|p| p.app == AppProtocol::Http)
            .copied()
            .collect();

        let mut b = Service::new(name.clone()).image(
            Registry::new("ghcr.io/acme")
                .image(name.clone())
                .tag(svc.tag.clone()),
        );
        for p in ports.iter().chain(gossip.iter()) {
            b = b.port(*p);
        }

        // Environment.
        let mut env_names: BTreeSet<&str> = BTreeSet::new();
        for (name, v) in &svc.env {
            if !env_names.insert(name) {
                continue;
            }
            let endpoint = |to: &Index, port: &Index| -> Option<Endpoint> {
                if earlier.is_empty() {
                    return None;
                }
                let (r, ports) = &earlier[to.index(earlier.len())];
                (!ports.is_empty()).then(|| r.endpoint(ports[port.index(ports.len())]))
            };
            b = match v {
                ValueSpec::Plain(t) | ValueSpec::Config(t)
                    if stackdsl::validate::leaks::url_with_literal_password(t, '\0').is_some() =>
                {
                    continue;
                }
                ValueSpec::Plain(t) => b.env(name, t),
                ValueSpec::Config(t) => b.config(name, t),
                ValueSpec::Secret(sec) => b.env(name, secret_ref(sec, &vars)),
                ValueSpec::Url {
                    to,
                    port,
                    user,
                    password,
                    path,
                } => {
                    let Some(e) = endpoint(to, port) else {
                        continue;
                    };
                    let mut url = e.url().path(path);
                    if let Some(u) = user {
                        url = url.user(u);
                    }
                    if let Some(p) = password {
                        // The secret reaches the URL through its variable, which no other
                        // variable of the service may take (validation refuses that).
                        let mut p = p.clone();
                        let mut r = secret_ref(&p, &vars);
                        while svc.env.iter().any(|(n, _)| *n == r.var()) {
                            p.var = Some(format!("{}_S", r.var()));
                            r = secret_ref(&p, &vars);
                        }
                        url = url.password(&r);
                    }
                    b.env(name, url)
                }
                ValueSpec::HostPort { to, port } => {
                    let Some(e) = endpoint(to, port) else {
                        continue;
                    };
                    b.env(name, &e)
                }
            };
        }

        // Probes on declared TCP ports (or commands).
        let make_probe = |p: &ProbeSpec| -> Probe {
            let probe = match (p.kind, tcp_ports.is_empty()) {
                // The port's protocol decides the style: a gRPC health check on a gRPC port.
                (0, false) => match tcp_ports[p.port.index(tcp_ports.len())] {
                    port if port.app == AppProtocol::Grpc => Probe::grpc(port),
                    port => Probe::http_get(p.path.clone(), port),
                },
                (1, false) => Probe::tcp(tcp_ports[p.port.index(tcp_ports.len())]),
                _ => Probe::exec(["true"]),
            };
            let probe = probe.period(p.period).timeout(p.timeout);
            let probe = match p.initial_delay {
                Some(d) => probe.initial_delay(d),
                None => probe,
            };
            match p.failure_threshold {
                Some(n) => probe.failure_threshold(n),
                None => probe,
            }
        };
        if let Some(p) = &svc.readiness {
            b = b.readiness(make_probe(p));
        }
        if let Some(p) = &svc.liveness {
            b = b.liveness(make_probe(p));
        }
        if let Some(p) = &svc.startup {
            b = b.startup(make_probe(p));
        }
        // A stated client must run the Compose probe: else the one that can.
        let tool = match svc.health_tool {
            0 => HealthTool::Wget,
            1 => HealthTool::Curl,
            2 => HealthTool::Node,
            _ => HealthTool::None,
        };
        let compose_probe = b.peek().health_probe().cloned();
        b = b.health_tool(match compose_probe {
            Some(p) if tool != HealthTool::None && !tool.runs(&p) => {
                if HealthTool::GrpcHealthProbe.runs(&p) {
                    HealthTool::GrpcHealthProbe
                } else {
                    HealthTool::Wget
                }
            }
            _ => tool,
        });

        // Replicas, scaling, clustering.
        let single = cluster.is_none() && svc.autoscale.is_none();
        let persistent = svc.persistent.filter(|_| single && svc.replicas == 1);
        let replicas = match (cluster, persistent) {
            (Some(c), _) => c.nodes,
            (None, Some(_)) => 1,
            (None, None) => svc.replicas,
        };
        b = b.replicas(replicas);
        let needs_resources = spec.env != Env::Dev
            || svc.autoscale.is_some()
            || cluster.is_some_and(|c| c.autoscale_extra.is_some());
        let resources = svc
            .resources
            .or(needs_resources.then_some((100, 100, 64, 64)));
        if let Some((cpu, cpu_extra, mem, mem_extra)) = resources {
            let requests = Resources::requests(Cpu::m(cpu), Memory::mi(mem));
            // Dev asks for no limits; some random dev services state requests alone.
            b = b.resources(if spec.env == Env::Dev && cpu_extra % 3 == 0 {
                requests
            } else {
                requests.limits(Cpu::m(cpu + cpu_extra), Memory::mi(mem + mem_extra))
            });
        }
        if let (Some(c), Some(gossip)) = (cluster, gossip) {
            let mut cl = Cluster::new(gossip).seeds(c.seeds);
            if let Some(sec) = &c.secret {
                cl = cl.secret("CLUSTER_SECRET", &secret_ref(sec, &vars));
            }
            if c.parallel {
                cl = cl.pod_management(PodManagement::Parallel);
            }
            if c.host_port_seeds {
                cl = cl.seed_format(SeedFormat::HostPort);
            }
            b = b.cluster(cl);
            if let Some((extra_min, extra_max)) = c.autoscale_extra {
                // Quorum-safe: the floor stays above the majority the budget keeps.
                let min = c.nodes / 2 + 2 + extra_min;
                b = b.autoscale(Autoscale::between(min, min + extra_max).cpu(70));
            }
        } else if let Some((min_off, extra, cpu)) = svc.autoscale {
            let min = 1 + min_off;
            let mut a = Autoscale::between(min, min + extra).cpu(cpu);
            // Scaling behaviour from the same draws: a third scale up at a bounded rate over
            // a window (0 s included), half scale down without one.
            if cpu % 3 == 0 {
                a = a.scale_up(
                    Scaling::percent(cpu)
                        .every(Window::secs(15 * (extra + 1)))
                        .stabilized_over(Window::secs(30 * min_off)),
                );
            }
            if cpu % 2 == 0 {
                a = a.scale_down(Scaling::percent(10 + extra));
            }
            b = b.autoscale(a);
        }

        // Publishing (Compose runs one container per published port).
        if let Some((idx, host, public)) = &svc.publish
            && !ports.is_empty()
            && (replicas == 1 || cluster.is_some())
            && host_ports.insert(*host)
        {
            let p = ports[idx.index(ports.len())];
            b = if *public {
                b.publish_public(p, *host)
            } else {
                b.publish(p, *host)
            };
            published.push((p, *host));
        }

        // Dependencies on earlier services only: acyclic by construction.
        let mut deps: BTreeSet<usize> = BTreeSet::new();
        for d in &svc.depends_on {
            if !earlier.is_empty() {
                deps.insert(d.index(earlier.len()));
            }
        }
        for d in deps {
            b = b.depends_on(&earlier[d].0);
        }

        if let Some(m) = &svc.metrics {
            let candidates: Vec<Port> = http_ports.clone();
            if !candidates.is_empty() {
                b = b.metrics(Metrics::new(candidates[m.index(candidates.len())]));
            }
        }
        if svc.scratch {
            b = b.mount(Mount::scratch("/tmp"));
        }
        if let Some(claim) = persistent
            && claims.insert(claim)
        {
            b = b.mount(Mount::persistent(claim, "/var/lib/data"));
        }
        if let Some((name, content)) = &svc.file {
            let name = match name {
                FileName::Fixed(n) => (*n).to_owned(),
                FileName::ConfigOf(i) => {
                    let all: Vec<&String> = spec.services.iter().map(|s| &s.name).collect();
                    format!("{}-config", all[i.index(all.len())])
                }
            };
            if names::dns1123_problem(&name).is_none()
                && !names_taken.contains(&name)
                && files.insert(name.clone())
            {
                names_taken.insert(name.clone());
                let mut t = Template::new().text(content.clone());
                if let Some((r, _)) = earlier.last() {
                    t = t.text("\nupstream=").host(r);
                }
                b = b.mount(Mount::file(name, "/etc/app/app.conf", t));
            }
        }
        if kubernetes && !http_ports.is_empty() {
            for i in &svc.ingress {
                let port = http_ports[i.port.index(http_ports.len())];
                if !ingress_hosts.insert((i.host.clone(), i.path.clone())) {
                    continue;
                }
                let mut ing = Route::host(i.host.clone(), port).path(i.path.clone());
                if let Some(rps) = i.rate_limit {
                    ing = ing.rate_limit(rps);
                }
                if i.tls {
                    ing = ing.tls(ClusterIssuer::new("letsencrypt"));
                }
                b = b.expose(ing);
            }
        }
        if svc.writable_root {
            b = b.security(Security::restricted().writable_root_fs("the app writes its cache"));
        }
        let handle = s.add(b);
        earlier.push((
            handle,
            ports
                .iter()
                .filter(|p| Some(p.name) != gossip.map(|g| g.name))
                .copied()
                .collect(),
        ));
    }
    let handles = earlier.into_iter().map(|(h, _)| h).collect();
    Built {
        stack: s,
        handles,
        published,
    }
}

// --- PyYAML as a long-lived helper process ------------------------------------------------

struct PyYaml {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

fn pyyaml() -> &'static Mutex<PyYaml> {
    static P: OnceLock<Mutex<PyYaml>> = OnceLock::new();
    P.get_or_init(|| {
        let script = workspace_root().join("tests/validators/yaml11.py");
        let mut child = tool("python")
            .arg(&script)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start PyYAML");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Mutex::new(PyYaml {
            _child: child,
            stdin,
            stdout,
        })
    })
}

/// PyYAML's reading of `files`: path → list of documents.
fn yaml11(files: &[PathBuf]) -> serde_json::Map<String, Value> {
    let request: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut p = pyyaml().lock().unwrap_or_else(|e| e.into_inner());
    let line = serde_json::to_string(&request).expect("json");
    writeln!(p.stdin, "{line}").expect("write to PyYAML");
    p.stdin.flush().expect("flush");
    let mut answer = String::new();
    p.stdout.read_line(&mut answer).expect("read from PyYAML");
    let mut v: serde_json::Map<String, Value> =
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("PyYAML answered {answer:?}: {e}"));
    match v.remove("ok") {
        Some(Value::Object(m)) => m,
        _ => panic!("PyYAML failed: {}", v["error"]),
    }
}

// --- The properties ---------------------------------------------------------------------

fn cases(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The case count from `var`; shrinking and persistence honour proptest's own variables
/// (`PROPTEST_MAX_SHRINK_ITERS`, `PROPTEST_DISABLE_FAILURE_PERSISTENCE`), which proptest
/// itself reads only for its default config. The mutation runs set both: a mutant's
/// failure needs no minimal case, and must not be saved into the source tree.
fn config(cases: u32) -> ProptestConfig {
    let persist = std::env::var_os("PROPTEST_DISABLE_FAILURE_PERSISTENCE").is_none();
    ProptestConfig {
        cases,
        // Shrinking a 30-service stack can take thousands of steps; keep it bounded.
        max_shrink_iters: self::cases("PROPTEST_MAX_SHRINK_ITERS", 2048),
        // Failing cases are saved beside this file and replayed first on later runs.
        failure_persistence: persist.then(|| {
            Box::new(FileFailurePersistence::WithSource("proptest-regressions"))
                as Box<dyn proptest::test_runner::FailurePersistence>
        }),
        ..ProptestConfig::default()
    }
}

fn outputs_of(stack: &Stack) -> Result<Vec<Output>, TestCaseError> {
    let plan = stackdsl::validate(stack)
        .map_err(|e| TestCaseError::fail(format!("a valid stack was rejected:\n{e}")))?;
    let docs = stackdsl::render(&plan)
        .map_err(|e| TestCaseError::fail(format!("a valid stack did not render:\n{e}")))?;
    Ok(docs
        .into_iter()
        .map(|doc| Output {
            stack: stack.name.clone(),
            env: stack.env,
            doc,
        })
        .collect())
}

/// Kubernetes' `IsDNS1123Subdomain`: at most 253 characters of dot-separated parts that are
/// lowercase alphanumerics and `-`, each starting and ending alphanumeric (no 63 limit per part).
fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Every Kubernetes object is unique by kind and name, and its name is one the API server
/// accepts (Services: DNS-1035 labels; the rest: DNS-1123 subdomains). Label values fit.
fn check_k8s_objects(
    stack: &Stack,
    docs: &BTreeMap<String, Vec<Value>>,
) -> Result<(), TestCaseError> {
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    for (path, objects) in docs {
        if !path.contains("/k8s/") || path.ends_with("kustomization.yaml") {
            continue;
        }
        for o in objects {
            let kind = o["kind"].as_str().unwrap_or_default().to_owned();
            let name = o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if let Some(first) = seen.insert((kind.clone(), name.clone()), path.clone()) {
                return Err(TestCaseError::fail(format!(
                    "{kind}/{name} is rendered twice (in {first} and {path}); kubectl apply would keep only one"
                )));
            }
            let ok = match kind.as_str() {
                "Service" => names::dns1035_problem(&name).is_none(),
                // Its pods carry `controller-revision-hash: <name>-<10 characters>`, a label
                // value (≤ 63 characters).
                "StatefulSet" => names::dns1123_problem(&name).is_none() && name.len() <= 52,
                _ => is_dns1123_subdomain(&name),
            };
            prop_assert!(
                ok,
                "{kind} name `{name}` (in {path}) is not one Kubernetes accepts"
            );
            for (k, v) in o["metadata"]["labels"].as_object().into_iter().flatten() {
                let v = v.as_str().unwrap_or_default();
                prop_assert!(v.len() <= 63, "label {k}={v} of {kind}/{name} is too long");
            }
        }
    }
    if stack.targets.contains(&Target::Kubernetes) {
        let ns = format!("{}/k8s/00-namespace.yaml", stack.out_dir());
        prop_assert!(
            docs.contains_key(&ns),
            "Kubernetes is a target but {ns} was not rendered"
        );
    }
    Ok(())
}

/// Compose writes one service per model service (a member per cluster node): none is lost
/// to a clash of keys.
fn check_compose(stack: &Stack, docs: &BTreeMap<String, Vec<Value>>) -> Result<(), TestCaseError> {
    let Some(compose) = docs.get(&format!("{}/compose.yaml", stack.out_dir())) else {
        prop_assert!(!stack.targets.contains(&Target::Compose), "no compose.yaml");
        return Ok(());
    };
    let expected: usize = stack
        .services
        .iter()
        .filter(|s| s.renders_on(Target::Compose))
        // A cluster is one Compose service per member; anything else one service.
        .map(|s| {
            if s.cluster.is_some() {
                s.replicas.max(1) as usize
            } else {
                1
            }
        })
        .sum();
    let services = compose[0]["services"].as_object().map_or(0, |m| m.len());
    prop_assert_eq!(services, expected, "compose.yaml lost services");
    Ok(())
}

fn check_valid(spec: &StackSpec) -> Result<(), TestCaseError> {
    let built = build(spec);
    let stack = &built.stack;
    let outs = outputs_of(stack)?;
    // Byte-identical on a second build and render.
    let again = outputs_of(&build(spec).stack)?;
    prop_assert!(
        outs == again,
        "a second synthesis of the same stack differs"
    );

    // Synthesize twice into a folder: the second run writes nothing.
    let dir = tempfile::Builder::new()
        .prefix("stackdsl-prop-")
        .tempdir()
        .expect("temp dir");
    let scope = Scope {
        env: stack.env,
        stacks: None,
    };
    emit::synthesize(dir.path(), &outs, &scope)
        .map_err(|e| TestCaseError::fail(format!("synthesis failed: {e}")))?;
    let first = tree(dir.path());
    let report = emit::synthesize(dir.path(), &outs, &scope)
        .map_err(|e| TestCaseError::fail(format!("second synthesis failed: {e}")))?;
    prop_assert!(
        report.written.is_empty(),
        "second run wrote {:?}",
        report.written
    );
    prop_assert!(first == tree(dir.path()), "second run changed the folder");

    // YAML 1.2 (ours) and YAML 1.1 (PyYAML) read every file the same.
    let files = files_with_suffix(dir.path(), &[".yaml"]);
    let theirs = yaml11(&files);
    let mut parsed: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for f in &files {
        let text = fs::read_to_string(f).expect("read");
        let ours: Vec<Value> = serde_saphyr::from_multiple(&text)
            .map_err(|e| TestCaseError::fail(format!("{}: YAML 1.2 parse: {e}", f.display())))?;
        let key = f.display().to_string();
        let theirs = theirs.get(&key).cloned().unwrap_or(Value::Null);
        prop_assert_eq!(
            &Value::Array(ours.clone()),
            &theirs,
            "{} reads differently under YAML 1.1 and YAML 1.2:\n{}",
            f.display(),
            text
        );
        let rel = f
            .strip_prefix(dir.path())
            .expect("inside")
            .display()
            .to_string();
        parsed.insert(rel, ours);
    }
    check_compose(stack, &parsed)?;
    check_k8s_objects(stack, &parsed)?;
    // The derived behaviour follows the model (the oracles of the `semantics` module).
    let rendered: super::semantics::Docs = outs
        .iter()
        .filter(|o| o.doc.path.ends_with(".yaml"))
        .map(|o| {
            let v: Vec<Value> = serde_saphyr::from_multiple(&o.doc.contents).unwrap_or_default();
            (o.doc.path.clone(), v)
        })
        .collect();
    super::semantics::check_all(stack, &rendered).map_err(TestCaseError::fail)?;
    Ok(())
}

proptest! {
    #![proptest_config(config(cases("PROPTEST_CASES", 256)))]

    #[test]
    fn valid_stacks_synthesize_stably_and_read_back_the_same(spec in stack_spec()) {
        check_valid(&spec)?;
    }
}

// --- External validators on a sample ------------------------------------------------------

/// `KEY=dummy` for every variable `.env.example` lists.
fn env_file(compose: &Path, into: &Path) -> PathBuf {
    let mut text = String::new();
    if let Ok(ex) = fs::read_to_string(compose.with_file_name(".env.example")) {
        for line in ex
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains('='))
        {
            let key = line.split('=').next().unwrap_or_default();
            text.push_str(&format!("{key}=dummy\n"));
        }
    }
    let path = into.join("dummy.env");
    fs::write(&path, text).expect("write env file");
    path
}

fn check_external(spec: &StackSpec) -> Result<(), TestCaseError> {
    let stack = build(spec).stack;
    let outs = outputs_of(&stack)?;
    let dir = tempfile::Builder::new()
        .prefix("stackdsl-prop-ext-")
        .tempdir()
        .expect("temp dir");
    emit::synthesize(
        dir.path(),
        &outs,
        &Scope {
            env: stack.env,
            stacks: None,
        },
    )
    .map_err(|e| TestCaseError::fail(format!("synthesis failed: {e}")))?;
    for f in files_with_suffix(dir.path(), &["compose.yaml"]) {
        let envs = tempfile::tempdir().expect("temp dir");
        let (ok, out) = run(tool("docker-compose")
            .arg("-f")
            .arg(&f)
            .arg("--env-file")
            .arg(env_file(&f, envs.path()))
            .args(["config", "--quiet"]));
        prop_assert!(
            ok,
            "docker-compose config rejected {}:\n{out}\n{}",
            f.display(),
            fs::read_to_string(&f).unwrap_or_default()
        );
    }
    let manifests: Vec<PathBuf> = files_with_suffix(dir.path(), &[".yaml"])
        .into_iter()
        .filter(|p| {
            p.parent().is_some_and(|d| d.ends_with("k8s"))
                && !p.ends_with("kustomization.yaml")
                && !stackdsl_tests::CUSTOM_RESOURCE_FILES
                    .iter()
                    .any(|f| p.ends_with(f))
        })
        .collect();
    if !manifests.is_empty() {
        let (ok, out) = run(tool("kubernetes-validate")
            .args(["--strict", "-k", "1.33.0", "--quiet"])
            .args(&manifests));
        prop_assert!(ok, "kubernetes-validate --strict failed:\n{out}");
    }
    Ok(())
}

/// Run with a `TestRunner` of its own rather than `proptest!`, which would let
/// `PROPTEST_CASES` (meant for the fast in-process properties) override the case count.
#[test]
fn a_sample_of_valid_stacks_passes_docker_compose_and_kubernetes_validate() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases("STACKDSL_EXTERNAL_CASES", 10),
        // Each step runs the external tools: shrink briefly, report soon.
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = stack_spec().prop_filter("both targets", |s| s.targets.len() == 2);
    if let Err(e) = runner.run(&strategy, |spec| check_external(&spec)) {
        panic!("{e}");
    }
}

// --- Invalid stacks: one injected defect --------------------------------------------------

#[derive(Clone, Debug)]
enum Defect {
    DuplicateName(Index),
    BadName(String),
    HostPortClash(Index),
    UndeclaredProbePort(Index),
    Cycle(Index, Index),
    SelfDependency(Index),
    SecretLiteral(Index, &'static str, String),
    UrlWithPassword(Index),
    ProdClusterOfTwo,
    UnpinnedImage(Index),
    /// A service named like the namespace-wide deny-all NetworkPolicy.
    DefaultDenyName,
    /// A config file named like another service's configuration ConfigMap.
    ConfigMapClash(Index),
    /// Two services mounting one persistent volume in Kubernetes.
    SharedVolume,
    LongClusterName(String),
}

fn defect() -> impl Strategy<Value = Defect> {
    prop_oneof![
        any::<Index>().prop_map(Defect::DuplicateName),
        prop_oneof![
            Just("Web_1".to_owned()),
            "[0-9][a-z0-9]{0,5}",
            "[a-z]{1,5}-",
            "[a-z]{64,70}",
            "[a-z]{1,4}\\.[a-z]{1,4}",
        ]
        .prop_map(Defect::BadName),
        any::<Index>().prop_map(Defect::HostPortClash),
        any::<Index>().prop_map(Defect::UndeclaredProbePort),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Defect::Cycle(a, b)),
        any::<Index>().prop_map(Defect::SelfDependency),
        (
            any::<Index>(),
            proptest::sample::select(
                &["API_TOKEN", "DB_PASSWORD", "JWT_SECRET", "STRIPE_API_KEY"][..]
            ),
            "[a-zA-Z0-9]{1,20}",
        )
            .prop_map(|(i, n, v)| Defect::SecretLiteral(i, n, v)),
        any::<Index>().prop_map(Defect::UrlWithPassword),
        Just(Defect::ProdClusterOfTwo),
        any::<Index>().prop_map(Defect::UnpinnedImage),
        Just(Defect::DefaultDenyName),
        any::<Index>().prop_map(Defect::ConfigMapClash),
        Just(Defect::SharedVolume),
        "c[a-z0-9]{52,62}".prop_map(Defect::LongClusterName),
    ]
}

/// A service name not in `stack` whose derived names (`<name>-…`) are not either; `base`
/// has no `-`, so no existing name's derived names can equal the candidate.
fn fresh_name(stack: &Stack, base: &str) -> String {
    (0..)
        .map(|i| format!("{base}{i}"))
        .find(|n| clash_free(stack, n))
        .unwrap_or_default()
}

fn clash_free(stack: &Stack, name: &str) -> bool {
    let derived = format!("{name}-");
    stack
        .services
        .iter()
        .all(|s| s.name != name && !s.name.starts_with(&derived))
}

fn small() -> Resources {
    Resources::requests(Cpu::m(10), Memory::mi(16)).limits(Cpu::m(20), Memory::mi(32))
}

/// What the injected defect must be reported as: the error code and the path prefix of the
/// broken part (and, for cycles, the services the cycle must pass through).
struct Expected {
    code: &'static str,
    path: String,
    cycle_through: Vec<String>,
}

/// Injects `d` into a freshly built stack; `None` when the stack lacks what the defect
/// needs (then the case is regenerated).
fn inject(spec: &mut StackSpec, d: &Defect) -> Option<(Stack, Expected)> {
    if matches!(d, Defect::ProdClusterOfTwo) {
        spec.env = Env::Prod;
    }
    if matches!(d, Defect::UnpinnedImage(_)) && spec.env == Env::Dev {
        spec.env = Env::Staging;
    }
    let kubernetes_only = matches!(
        d,
        Defect::DefaultDenyName | Defect::ConfigMapClash(_) | Defect::SharedVolume
    );
    if kubernetes_only && !spec.targets.contains(&Target::Kubernetes) {
        spec.targets.push(Target::Kubernetes);
    }
    let Built {
        mut stack,
        handles,
        published,
    } = build(spec);
    let name = stack.name.clone();
    let svc_path = |s: &str| format!("{name}.services[{s}]");
    let pick = |i: &Index| handles[i.index(handles.len())].clone();
    let expect = |code, path| Expected {
        code,
        path,
        cycle_through: Vec::new(),
    };
    let image = || Image::new("acme/x").tag("1.0.0");
    let e = match d {
        Defect::DuplicateName(i) => {
            let h = pick(i);
            stack.add(Service::new(h.name()).image(image()).resources(small()));
            expect("duplicate-name", svc_path(h.name()))
        }
        Defect::BadName(n) => {
            stack.add(Service::new(n.clone()).image(image()).resources(small()));
            expect("invalid-name", svc_path(n))
        }
        Defect::HostPortClash(i) => {
            // Same host port and protocol as a publish of the stack (or of a new service).
            let (port, host) = match published.get(i.index(published.len().max(1))) {
                Some(p) => *p,
                None => {
                    let http = Port::http("http", 8080);
                    let first = fresh_name(&stack, "puba");
                    stack.add(
                        Service::new(first)
                            .image(image())
                            .port(http)
                            .publish(http, 18080)
                            .resources(small()),
                    );
                    (http, 18080)
                }
            };
            let clash = fresh_name(&stack, "pubb");
            stack.add(
                Service::new(clash.clone())
                    .image(image())
                    .port(port)
                    .publish_public(port, host)
                    .resources(small()),
            );
            expect(
                "host-port-clash",
                format!("{}.publish[{host}]", svc_path(&clash)),
            )
        }
        Defect::UndeclaredProbePort(i) => {
            let h = pick(i);
            let undeclared = Port::tcp("undeclared", 1);
            stack.update(&h, |b| b.readiness(Probe::tcp(undeclared)));
            expect(
                "unknown-port",
                format!("{}.probes.readiness", svc_path(h.name())),
            )
        }
        Defect::Cycle(a, b) => {
            let (a, b) = (pick(a), pick(b));
            if a.name() == b.name() {
                return None;
            }
            stack.update(&a, |s| s.depends_on(&b));
            stack.update(&b, |s| s.depends_on(&a));
            Expected {
                code: "dependency-cycle",
                path: format!("{name}.services["),
                cycle_through: vec![a.name().to_owned(), b.name().to_owned()],
            }
        }
        Defect::SelfDependency(i) => {
            let h = pick(i);
            stack.update(&h, |s| s.depends_on(&h));
            expect(
                "dependency-cycle",
                format!("{}.depends_on[{}]", svc_path(h.name()), h.name()),
            )
        }
        Defect::SecretLiteral(i, var, value) => {
            let h = pick(i);
            if stack
                .service(h.name())
                .is_some_and(|s| s.env.iter().any(|v| v.name == *var))
            {
                return None;
            }
            stack.update(&h, |s| s.env(*var, value.clone()));
            expect(
                "secret-literal",
                format!("{}.env[{var}]", svc_path(h.name())),
            )
        }
        Defect::UrlWithPassword(i) => {
            let h = pick(i);
            if stack
                .service(h.name())
                .is_some_and(|s| s.env.iter().any(|v| v.name == "UPSTREAM_URL"))
            {
                return None;
            }
            stack.update(&h, |s| {
                s.env("UPSTREAM_URL", "amqp://guest:guest@broker:5672/")
            });
            expect(
                "secret-literal",
                format!("{}.env[UPSTREAM_URL]", svc_path(h.name())),
            )
        }
        Defect::ProdClusterOfTwo => {
            let ring = fresh_name(&stack, "ring");
            let gossip = Port::tcp("gossip", 4369);
            stack.add(
                Service::new(ring.clone())
                    .image(image())
                    .port(gossip)
                    .replicas(2)
                    .cluster(Cluster::new(gossip))
                    .resources(small()),
            );
            expect(
                "invalid-value",
                format!("{}.cluster.nodes", svc_path(&ring)),
            )
        }
        Defect::UnpinnedImage(i) => {
            let h = pick(i);
            stack.update(&h, |s| s.image(Image::new("acme/floating").tag("latest")));
            expect("unpinned-image", format!("{}.image", svc_path(h.name())))
        }
        Defect::DefaultDenyName => {
            if stack.service("default-deny").is_some() {
                return None;
            }
            stack.add(
                Service::new("default-deny")
                    .image(image())
                    .resources(small()),
            );
            expect("duplicate-name", svc_path("default-deny"))
        }
        Defect::ConfigMapClash(i) => {
            let h = pick(i);
            let has_config = stack
                .service(h.name())
                .is_some_and(|s| s.env.iter().any(|v| matches!(v.value, EnvValue::Config(_))));
            if !has_config {
                if stack
                    .service(h.name())
                    .is_some_and(|s| s.env.iter().any(|v| v.name == "LOG_LEVEL"))
                {
                    return None;
                }
                stack.update(&h, |s| s.config("LOG_LEVEL", "info"));
            }
            let file = format!("{}-config", h.name());
            if stack.services.iter().any(|s| {
                s.mounts.iter().any(
                    |m| matches!(&m.source, stackdsl::model::VolumeSource::File(f) if f.name == file),
                )
            }) {
                return None;
            }
            let other = fresh_name(&stack, "files");
            stack.add(
                Service::new(other.clone())
                    .image(image())
                    .mount(Mount::file(file, "/etc/app.conf", "x=1"))
                    .resources(small()),
            );
            expect(
                "duplicate-name",
                format!("{}.mounts[/etc/app.conf]", svc_path(&other)),
            )
        }
        Defect::SharedVolume => {
            let (a, b) = (fresh_name(&stack, "vola"), fresh_name(&stack, "volb"));
            for n in [&a, &b] {
                stack.add(
                    Service::new(n.clone())
                        .image(image())
                        .mount(Mount::persistent("shared", "/data"))
                        .resources(small()),
                );
            }
            expect("duplicate-name", format!("{}.mounts[/data]", svc_path(&b)))
        }
        Defect::LongClusterName(n) => {
            if stack
                .services
                .iter()
                .any(|s| n.starts_with(s.name.as_str()))
            {
                return None;
            }
            let gossip = Port::tcp("gossip", 4369);
            stack.add(
                Service::new(n.clone())
                    .image(image())
                    .port(gossip)
                    .replicas(3)
                    .cluster(Cluster::new(gossip))
                    .resources(small()),
            );
            expect("invalid-name", svc_path(n))
        }
    };
    Some((stack, e))
}

thread_local! {
    /// The stack the CLI synthesizes in this thread (`StackFn` is a plain `fn`).
    static CURRENT: RefCell<Option<Stack>> = const { RefCell::new(None) };
}

fn current(_: Env) -> Stack {
    CURRENT.with(|c| c.borrow().clone().expect("a current stack"))
}

fn cli_with(stack: Stack, out: &Path, extra: &[&str]) -> stackdsl_tests::CliRun {
    let env = stack.env;
    CURRENT.with(|c| *c.borrow_mut() = Some(stack));
    let mut args = vec!["--out", out.to_str().expect("utf-8 path"), "--quiet"];
    // A temp folder, outside the working folder.
    if !extra.contains(&"--check") {
        args.push("--allow-outside");
    }
    args.extend_from_slice(extra);
    cli(env, &[current], &args)
}

fn check_invalid(mut spec: StackSpec, d: &Defect) -> Result<(), TestCaseError> {
    let Some((broken, expected)) = inject(&mut spec, d) else {
        return Err(TestCaseError::reject(
            "the stack lacks what the defect needs",
        ));
    };
    // The folder holds the valid stack's output first.
    let dir = tempfile::Builder::new()
        .prefix("stackdsl-prop-bad-")
        .tempdir()
        .expect("temp dir");
    let good = cli_with(build(&spec).stack, dir.path(), &[]);
    prop_assert_eq!(good.code, 0, "the valid stack failed:\n{}", good.stderr);
    let before = tree(dir.path());
    prop_assert!(!before.is_empty());
    for extra in [&[][..], &["--check"][..]] {
        let r = cli_with(broken.clone(), dir.path(), extra);
        prop_assert_eq!(r.code, 2, "{:?}: exit {}\n{}", extra, r.code, r.stderr);
        let lines: Vec<(&str, &str, &str)> = r
            .stderr
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("error[")?;
                let (code, rest) = rest.split_once("]: ")?;
                let (path, message) = rest.split_once(": ")?;
                Some((code, path, message))
            })
            .collect();
        let hit = lines.iter().any(|(code, path, message)| {
            *code == expected.code
                && path.starts_with(&expected.path)
                && expected.cycle_through.iter().all(|n| {
                    message
                        .rsplit(": ")
                        .next()
                        .is_some_and(|c| c.split(" → ").any(|m| m == n))
                })
        });
        prop_assert!(
            hit,
            "no error[{}] at {} (through {:?}) among:\n{}",
            expected.code,
            expected.path,
            expected.cycle_through,
            r.stderr
        );
        prop_assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
        prop_assert!(
            before == tree(dir.path()),
            "an invalid run changed the output folder"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(cases("PROPTEST_CASES", 256)))]

    #[test]
    fn one_defect_is_reported_at_its_path_and_nothing_is_written(
        spec in stack_spec(),
        d in defect(),
    ) {
        check_invalid(spec, &d)?;
    }
}
