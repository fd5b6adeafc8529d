//! The example stacks against the upstream deployments they reproduce. The facts below are
//! written from upstream's own files (Bank of Anthos `kubernetes-manifests/` at
//! `d0af04743a6d`, release v0.6.10; the voting app's `k8s-specifications/` and
//! `docker-compose.yml` at `63e9150ca17a`), never read from our output: every port, env
//! var name, probe (type, path, timings), resources, replicas and Service type upstream
//! states is checked against what the examples render. Where ours differs on purpose
//! (a probe upstream lacks, a variable the catalog adds), the difference is listed beside
//! the fact with its reason, so any other difference fails.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use stackdsl::cli::{Cli, StackFn};
use stackdsl::model::Env;
use stackdsl_tests::workspace_root;

/// `cargo run -p <package> -- --check` in dev and prod (what the example's `main` runs):
/// the committed `examples/<package>/out/` is what the stack renders.
fn assert_committed_and_current(package: &'static str, f: StackFn) {
    let out = workspace_root().join("examples").join(package).join("out");
    for env in [Env::Dev, Env::Prod] {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let argv = ["x", "--check", "--out", out.to_str().unwrap()];
        let code = Cli::new(env)
            .package(package)
            .run(&[f], argv, &mut stdout, &mut stderr, false);
        assert_eq!(
            code,
            0,
            "{env}: run `cargo run -p {package}`:\n{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    }
}

/// Every YAML document stack `f` renders in `env`, by file path.
fn documents(f: StackFn, env: Env) -> BTreeMap<String, Vec<Value>> {
    stackdsl_tests::render_fn(f, env)
        .into_iter()
        .filter(|d| d.path.ends_with(".yaml"))
        .map(|d| {
            let docs = serde_saphyr::from_multiple(&d.contents)
                .unwrap_or_else(|e| panic!("{}: {e}", d.path));
            (d.path, docs)
        })
        .collect()
}

/// The Kubernetes objects of `f` in prod.
fn objects(f: StackFn) -> Vec<Value> {
    documents(f, Env::Prod)
        .into_iter()
        .filter(|(path, _)| path.contains("/k8s/"))
        .flat_map(|(_, docs)| docs)
        .collect()
}

/// The Compose file of `f` in dev.
fn compose(f: StackFn) -> Value {
    documents(f, Env::Dev)
        .into_iter()
        .find(|(path, _)| path.ends_with("compose.yaml"))
        .map(|(_, mut docs)| docs.remove(0))
        .expect("dev renders compose.yaml")
}

fn find<'o>(objects: &'o [Value], kind: &str, name: &str) -> Option<&'o Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

/// The Deployment or StatefulSet `name`.
fn workload<'o>(objects: &'o [Value], name: &str) -> &'o Value {
    find(objects, "Deployment", name)
        .or_else(|| find(objects, "StatefulSet", name))
        .unwrap_or_else(|| panic!("no workload `{name}`"))
}

fn pod(w: &Value) -> &Value {
    &w["spec"]["template"]["spec"]
}

fn container<'w>(w: &'w Value, name: &str) -> &'w Value {
    pod(w)["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| {
            panic!(
                "workload `{}` has no container `{name}`",
                w["metadata"]["name"]
            )
        })
}

/// A container port by number or name, as a number.
fn port_number(c: &Value, port: &Value) -> u64 {
    port.as_u64().unwrap_or_else(|| {
        c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == *port)
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("container `{}` has no port {port}", c["name"]))
    })
}

/// The names of the variables a container gets: `env`, and every key of the ConfigMaps
/// its `envFrom` reads.
fn env_names(objects: &[Value], c: &Value) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    for from in c["envFrom"].as_array().into_iter().flatten() {
        let cm = from["configMapRef"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("envFrom other than a ConfigMap: {from}"));
        let cm = find(objects, "ConfigMap", cm).unwrap_or_else(|| panic!("no ConfigMap {cm}"));
        names.extend(cm["data"].as_object().unwrap().keys().cloned());
    }
    names
}

/// A probe as upstream writes it: (type, path, port, initialDelaySeconds, periodSeconds,
/// timeoutSeconds, failureThreshold), Kubernetes' defaults filled in.
type ProbeFact = (&'static str, &'static str, u64, u64, u64, u64, u64);

/// The probe type upstream uses throughout.
const H: &str = "httpGet";

fn probe(c: &Value, kind: &str) -> Option<ProbeFact> {
    let p = c.get(format!("{kind}Probe"))?;
    let kind: &'static str = ["httpGet", "exec", "tcpSocket", "grpc"]
        .into_iter()
        .find(|k| p.get(*k).is_some())
        .expect("a probe handler");
    let path: &'static str = p["httpGet"]["path"]
        .as_str()
        .map(|s| &*s.to_owned().leak())
        .unwrap_or("");
    let port = match kind {
        "httpGet" | "tcpSocket" | "grpc" => port_number(c, &p[kind]["port"]),
        _ => 0,
    };
    let n = |k: &str, default: u64| p[k].as_u64().unwrap_or(default);
    Some((
        kind,
        path,
        port,
        n("initialDelaySeconds", 0),
        n("periodSeconds", 10),
        n("timeoutSeconds", 1),
        n("failureThreshold", 3),
    ))
}

/// requests then limits: cpu, memory, ephemeral-storage ("" where not set).
fn resources(c: &Value) -> [String; 6] {
    let r = &c["resources"];
    let q = |side: &str, k: &str| r[side][k].as_str().unwrap_or_default().to_owned();
    [
        q("requests", "cpu"),
        q("requests", "memory"),
        q("requests", "ephemeral-storage"),
        q("limits", "cpu"),
        q("limits", "memory"),
        q("limits", "ephemeral-storage"),
    ]
}

/// (type, port, targetPort as a number, nodePort) of Service `name`'s only port.
fn service(objects: &[Value], name: &str) -> Option<(String, u64, u64, Option<u64>)> {
    let svc = find(objects, "Service", name)?;
    let ports = svc["spec"]["ports"].as_array().unwrap();
    assert_eq!(ports.len(), 1, "Service {name}: {ports:?}");
    let p = &ports[0];
    let c = &pod(workload(objects, name))["containers"][0];
    Some((
        svc["spec"]["type"]
            .as_str()
            .unwrap_or("ClusterIP")
            .to_owned(),
        p["port"].as_u64().unwrap(),
        port_number(c, &p["targetPort"]),
        p["nodePort"].as_u64(),
    ))
}

/// One workload of an upstream deployment, as its manifests state it.
struct Upstream {
    name: &'static str,
    container: &'static str,
    /// The port the container serves (declared, probed, or a Service's targetPort).
    port: Option<u64>,
    /// (type, port, nodePort); `None`: upstream has no Service for it.
    service: Option<(&'static str, u64, Option<u64>)>,
    replicas: u64,
    /// `env` names and the keys of the ConfigMaps in `envFrom`.
    env: Vec<&'static str>,
    /// (liveness|readiness|startup, the probe); a kind not listed: upstream has none.
    probes: &'static [(&'static str, ProbeFact)],
    /// requests then limits: cpu, memory, ephemeral-storage; `None`: upstream sets none.
    resources: Option<[&'static str; 6]>,
    /// Ours, on purpose: variables upstream lacks, variables upstream has that we do not
    /// render, and probe kinds upstream lacks (the reasons are at each table).
    adds_env: &'static [&'static str],
    omits_env: &'static [&'static str],
    adds_probes: &'static [&'static str],
}

/// Checks every fact of `want` against the rendered `objects`, collecting every mismatch.
fn check(objects: &[Value], want: &[Upstream]) -> Vec<String> {
    let mut errors = Vec::new();
    let mut expect = |what: String, ok: bool| {
        if !ok {
            errors.push(what);
        }
    };
    for u in want {
        let w = workload(objects, u.name);
        let c = container(w, u.container);
        let replicas = w["spec"]["replicas"].as_u64().unwrap_or(1);
        expect(
            format!("{}: replicas {replicas}, upstream {}", u.name, u.replicas),
            replicas == u.replicas,
        );
        let ports: Vec<u64> = c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["containerPort"].as_u64())
            .collect();
        expect(
            format!(
                "{}: container ports {ports:?}, upstream {:?}",
                u.name, u.port
            ),
            ports == u.port.into_iter().collect::<Vec<_>>(),
        );
        let got = service(objects, u.name);
        let want_svc = u
            .service
            .map(|(t, port, node)| (t.to_owned(), port, u.port.expect("a served port"), node));
        expect(
            format!("{}: Service {got:?}, upstream {want_svc:?}", u.name),
            got == want_svc,
        );
        let names = env_names(objects, c);
        let mut want_env: BTreeSet<String> = u.env.iter().map(|s| (*s).to_owned()).collect();
        for v in u.omits_env {
            want_env.remove(*v);
        }
        want_env.extend(u.adds_env.iter().map(|s| (*s).to_owned()));
        expect(
            format!(
                "{}: env names differ: ours only {:?}, upstream only {:?}",
                u.name,
                names.difference(&want_env).collect::<Vec<_>>(),
                want_env.difference(&names).collect::<Vec<_>>()
            ),
            names == want_env,
        );
        for kind in ["liveness", "readiness", "startup"] {
            let got = probe(c, kind);
            match u.probes.iter().find(|(k, _)| *k == kind) {
                Some((_, fact)) => {
                    // stackdsl refuses a timeout longer than the period (a probe still
                    // waiting when the next starts); ours wait at most the period.
                    let mut fact = *fact;
                    fact.5 = fact.5.min(fact.4);
                    expect(
                        format!("{}: {kind} probe {got:?}, upstream {fact:?}", u.name),
                        got == Some(fact),
                    );
                }
                None => expect(
                    format!(
                        "{}: {kind} probe {got:?}, upstream has none and none is listed as ours",
                        u.name
                    ),
                    got.is_some() == u.adds_probes.contains(&kind),
                ),
            }
        }
        if let Some(r) = u.resources {
            let got = resources(c);
            expect(
                format!("{}: resources {got:?}, upstream {r:?}", u.name),
                got == r.map(str::to_owned),
            );
        }
    }
    // No workload of ours that upstream lacks, and none of upstream's missing.
    let workloads: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "Deployment" || o["kind"] == "StatefulSet")
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    let upstream: BTreeSet<&str> = want.iter().map(|u| u.name).collect();
    expect(
        format!("workloads {workloads:?}, upstream {upstream:?}"),
        workloads == upstream,
    );
    errors
}

// ---------------------------------------------------------------------------------------
// The voting app
// ---------------------------------------------------------------------------------------

/// Upstream's `k8s-specifications/` state no probes and no resources; the probes ours
/// adds are upstream's Compose health checks (checked against `docker-compose.yml` in
/// the next test); the worker, which upstream does not check at all, is ready when it
/// reaches both stores. The database gets the catalog's `POSTGRES_DB` and `PGDATA`.
fn voting_app_facts() -> Vec<Upstream> {
    vec![
        Upstream {
            name: "db",
            container: "postgres",
            port: Some(5432),
            service: Some(("ClusterIP", 5432, None)),
            replicas: 1,
            env: vec!["POSTGRES_USER", "POSTGRES_PASSWORD"],
            probes: &[],
            resources: None,
            adds_env: &["POSTGRES_DB", "PGDATA"],
            omits_env: &[],
            adds_probes: &["liveness", "readiness"],
        },
        Upstream {
            name: "redis",
            container: "redis",
            port: Some(6379),
            service: Some(("ClusterIP", 6379, None)),
            replicas: 1,
            env: vec![],
            probes: &[],
            resources: None,
            adds_env: &[],
            omits_env: &[],
            adds_probes: &["liveness", "readiness"],
        },
        Upstream {
            name: "result",
            container: "result",
            port: Some(80),
            service: Some(("NodePort", 8081, Some(31001))),
            replicas: 1,
            env: vec![],
            probes: &[],
            resources: None,
            adds_env: &[],
            omits_env: &[],
            adds_probes: &["liveness", "readiness"],
        },
        Upstream {
            name: "vote",
            container: "vote",
            port: Some(80),
            service: Some(("NodePort", 8080, Some(31000))),
            replicas: 1,
            env: vec![],
            probes: &[],
            resources: None,
            adds_env: &[],
            omits_env: &[],
            adds_probes: &["liveness", "readiness"],
        },
        Upstream {
            name: "worker",
            container: "worker",
            port: None,
            service: None,
            replicas: 1,
            env: vec![],
            probes: &[],
            resources: None,
            adds_env: &[],
            omits_env: &[],
            adds_probes: &["liveness", "readiness"],
        },
    ]
}

#[test]
fn voting_app_output_is_committed_and_current() {
    assert_committed_and_current("voting-app", voting_app::voting_app);
}

#[test]
fn voting_app_keeps_every_fact_of_the_upstream_manifests() {
    let objects = objects(voting_app::voting_app);
    let errors = check(&objects, &voting_app_facts());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // Upstream's data folders: Postgres' and Redis'.
    for (name, path) in [("db", "/var/lib/postgresql/data"), ("redis", "/data")] {
        let c = &pod(workload(&objects, name))["containers"][0];
        assert!(
            c["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["mountPath"] == path),
            "{name} mounts nothing at {path}"
        );
    }
    // Upstream's Compose health checks, as Kubernetes probes: vote and result answer
    // `GET /` on port 80 (curl every 15 s, 5 s timeout, 3 retries, 10 s start period).
    for name in ["vote", "result"] {
        let c = container(workload(&objects, name), name);
        for kind in ["liveness", "readiness"] {
            assert_eq!(
                probe(c, kind),
                Some((H, "/", 80, 10, 15, 5, 3)),
                "{name} {kind}"
            );
        }
    }
    for name in ["db", "redis"] {
        let c = &pod(workload(&objects, name))["containers"][0];
        let p = probe(c, "readiness").unwrap();
        assert_eq!((p.0, p.4), ("exec", 5), "{name}: every 5 s, as upstream's");
    }
}

/// What upstream's `docker-compose.yml` states: published ports (ours on loopback only),
/// the start order and its conditions, the health checks and their timings, the database
/// volume, the builds (vote's `dev` stage, result under nodemon with the inspector) with
/// the sources mounted, and the seed under its profile, run once.
#[test]
fn voting_app_keeps_every_fact_of_the_upstream_compose_file() {
    let compose = compose(voting_app::voting_app);
    let svc = |name: &str| compose["services"][name].clone();
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let names: BTreeSet<String> = compose["services"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    // Ours adds `db-volumes`: the one-shot that hands Postgres' named volume to its user
    // (Docker creates it root-owned; the db runs as uid 70, not root as upstream's does).
    assert_eq!(
        names,
        [
            "vote",
            "result",
            "worker",
            "redis",
            "db",
            "seed",
            "db-volumes"
        ]
        .map(str::to_owned)
        .into()
    );
    assert_eq!(
        svc("db")["depends_on"]["db-volumes"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(
        list(&svc("db-volumes")["entrypoint"])[..2],
        ["chown", "70:70"]
    );
    assert_eq!(list(&svc("vote")["ports"]), ["127.0.0.1:8080:80"]);
    assert_eq!(
        list(&svc("result")["ports"]),
        ["127.0.0.1:8081:80", "127.0.0.1:9229:9229"]
    );
    for quiet in ["worker", "redis", "db", "seed"] {
        assert!(svc(quiet).get("ports").is_none(), "{quiet} publishes ports");
    }
    let depends = |name: &str| -> BTreeMap<String, String> {
        svc(name)["depends_on"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v["condition"].as_str().unwrap().to_owned()))
            .collect()
    };
    let healthy = |deps: &[&str]| -> BTreeMap<String, String> {
        deps.iter()
            .map(|d| ((*d).to_owned(), "service_healthy".to_owned()))
            .collect()
    };
    assert_eq!(depends("vote"), healthy(&["redis"]));
    assert_eq!(depends("result"), healthy(&["db"]));
    assert_eq!(depends("worker"), healthy(&["redis", "db"]));
    assert_eq!(depends("seed"), healthy(&["vote"]));
    assert!(depends("redis").is_empty());
    // Ours: the db waits for the one-shot that hands it its volume (checked above).
    assert_eq!(
        depends("db"),
        BTreeMap::from([(
            "db-volumes".to_owned(),
            "service_completed_successfully".to_owned()
        )])
    );

    // Health checks: (what the test runs, interval, timeout, retries, start period).
    let check = |name: &str| {
        let h = svc(name)["healthcheck"].clone();
        let s = |k: &str| h[k].as_str().unwrap_or_default().to_owned();
        (
            list(&h["test"]).join(" "),
            s("interval"),
            s("timeout"),
            h["retries"].as_u64(),
            s("start_period"),
        )
    };
    let vote = check("vote");
    assert!(
        vote.0.contains("curl") && vote.0.contains("http://127.0.0.1:80/"),
        "{vote:?}"
    );
    assert_eq!(
        (vote.1.as_str(), vote.2.as_str(), vote.3, vote.4.as_str()),
        ("15s", "5s", Some(3), "10s")
    );
    let redis = check("redis");
    assert!(
        redis.0.contains("redis-cli") && redis.0.contains("ping") && redis.0.contains("PONG"),
        "{redis:?}"
    );
    assert_eq!(redis.1, "5s");
    let db = check("db");
    assert!(db.0.contains("psql") && db.0.contains("SELECT 1"), "{db:?}");
    assert_eq!(db.1, "5s");

    assert!(
        list(&svc("db")["volumes"]).contains(&"db-data:/var/lib/postgresql/data".to_owned()),
        "{:?}",
        svc("db")["volumes"]
    );
    assert!(compose["volumes"].get("db-data").is_some());
    let db_service = svc("db");
    let env: BTreeSet<&str> = db_service["environment"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        env.is_superset(&["POSTGRES_USER", "POSTGRES_PASSWORD"].into()),
        "{env:?}"
    );

    assert_eq!(svc("vote")["build"]["target"], "dev");
    assert_eq!(
        list(&svc("result")["entrypoint"]),
        ["nodemon", "--inspect=0.0.0.0", "server.js"]
    );
    for name in ["vote", "result"] {
        assert!(
            list(&svc(name)["volumes"])
                .iter()
                .any(|v| v.ends_with(&format!("upstream/{name}:/usr/local/app"))),
            "{name}: {:?}",
            svc(name)["volumes"]
        );
    }
    assert_eq!(list(&svc("seed")["profiles"]), ["seed"]);
    assert_eq!(svc("seed")["restart"], "no");
}

// ---------------------------------------------------------------------------------------
// Bank of Anthos
// ---------------------------------------------------------------------------------------

const BOA_COMMON: &[&str] = &["VERSION", "PORT", "ENABLE_TRACING", "LOG_LEVEL"];
/// ConfigMap `environment-config`.
const ENVIRONMENT_CONFIG: &[&str] = &["LOCAL_ROUTING_NUM", "PUB_KEY_PATH"];
/// ConfigMap `service-api-config`.
const SERVICE_API_CONFIG: &[&str] = &[
    "TRANSACTIONS_API_ADDR",
    "BALANCES_API_ADDR",
    "HISTORY_API_ADDR",
    "CONTACTS_API_ADDR",
    "USERSERVICE_API_ADDR",
];
/// ConfigMap `accounts-db-config`.
const ACCOUNTS_DB_CONFIG: &[&str] = &[
    "ACCOUNTS_DB_URI",
    "POSTGRES_DB",
    "POSTGRES_PASSWORD",
    "POSTGRES_USER",
];
/// ConfigMap `ledger-db-config`.
const LEDGER_DB_CONFIG: &[&str] = &[
    "POSTGRES_DB",
    "POSTGRES_PASSWORD",
    "POSTGRES_USER",
    "SPRING_DATASOURCE_PASSWORD",
    "SPRING_DATASOURCE_URL",
    "SPRING_DATASOURCE_USERNAME",
];
/// ConfigMap `demo-data-config`.
const DEMO_DATA_CONFIG: &[&str] = &[
    "USE_DEMO_DATA",
    "DEMO_LOGIN_USERNAME",
    "DEMO_LOGIN_PASSWORD",
];

/// Ours: the database URI interpolates the password from a variable of its own
/// (`$(…)`), since the password is a Secret reference where upstream writes it into a
/// ConfigMap.
const ACCOUNTS_DB_PASSWORD_VAR: &str = "BANK_OF_ANTHOS_ACCOUNTS_DB_PASSWORD";

/// The lists, then the single names, as one list.
fn names(lists: &[&[&'static str]], more: &[&'static str]) -> Vec<&'static str> {
    let mut out = lists.concat();
    out.extend_from_slice(more);
    out
}

/// Upstream's `kubernetes-manifests/`. Ours adds, on purpose: a liveness probe on
/// `/version` where upstream has none (ledgerwriter, contacts, userservice: the service
/// answers it without its database); Locust's readiness and liveness (the frontend
/// answering); the catalog's `pg_isready` probes on the databases, and `PGDATA` (a
/// subfolder of the volume, so Postgres' `initdb` gets an empty folder). The frontend
/// does not get upstream's two optional Apigee variables: they read ConfigMap
/// `oauth-config` from `extras/apigee`, which the deployment does not include.
fn bank_of_anthos_facts() -> Vec<Upstream> {
    vec![
        Upstream {
            name: "frontend",
            container: "front",
            port: Some(8080),
            service: Some(("LoadBalancer", 80, None)),
            replicas: 1,
            env: names(
                &[BOA_COMMON, ENVIRONMENT_CONFIG, SERVICE_API_CONFIG],
                &[
                    "SCHEME",
                    "DEFAULT_USERNAME",
                    "DEFAULT_PASSWORD",
                    "REGISTERED_OAUTH_CLIENT_ID",
                    "ALLOWED_OAUTH_REDIRECT_URI",
                ],
            ),
            probes: &[
                ("liveness", (H, "/ready", 8080, 60, 15, 30, 3)),
                ("readiness", (H, "/ready", 8080, 10, 5, 10, 3)),
            ],
            resources: Some(["100m", "64Mi", "", "250m", "128Mi", ""]),
            adds_env: &[],
            omits_env: &["REGISTERED_OAUTH_CLIENT_ID", "ALLOWED_OAUTH_REDIRECT_URI"],
            adds_probes: &[],
        },
        Upstream {
            name: "balancereader",
            container: "balancereader",
            port: Some(8080),
            service: Some(("ClusterIP", 8080, None)),
            replicas: 1,
            env: names(
                &[BOA_COMMON, ENVIRONMENT_CONFIG, LEDGER_DB_CONFIG],
                &[
                    "ENABLE_METRICS",
                    "POLL_MS",
                    "CACHE_SIZE",
                    "JVM_OPTS",
                    "NAMESPACE",
                ],
            ),
            probes: &[
                ("liveness", (H, "/healthy", 8080, 120, 5, 10, 3)),
                ("readiness", (H, "/ready", 8080, 60, 5, 10, 3)),
                ("startup", (H, "/healthy", 8080, 0, 10, 1, 30)),
            ],
            resources: Some(["100m", "256Mi", "0.5Gi", "500m", "512Mi", "0.5Gi"]),
            adds_env: &[],
            omits_env: &[],
            adds_probes: &[],
        },
        Upstream {
            name: "ledgerwriter",
            container: "ledgerwriter",
            port: Some(8080),
            service: Some(("ClusterIP", 8080, None)),
            replicas: 1,
            env: names(
                &[
                    BOA_COMMON,
                    ENVIRONMENT_CONFIG,
                    SERVICE_API_CONFIG,
                    LEDGER_DB_CONFIG,
                ],
                &["ENABLE_METRICS", "JVM_OPTS", "NAMESPACE"],
            ),
            probes: &[
                ("readiness", (H, "/ready", 8080, 60, 5, 10, 3)),
                ("startup", (H, "/ready", 8080, 0, 10, 1, 30)),
            ],
            resources: Some(["100m", "256Mi", "0.5Gi", "500m", "512Mi", "0.5Gi"]),
            adds_env: &[],
            omits_env: &[],
            adds_probes: &["liveness"],
        },
        Upstream {
            name: "transactionhistory",
            container: "transactionhistory",
            port: Some(8080),
            service: Some(("ClusterIP", 8080, None)),
            replicas: 1,
            env: names(
                &[BOA_COMMON, ENVIRONMENT_CONFIG, LEDGER_DB_CONFIG],
                &[
                    "ENABLE_METRICS",
                    "POLL_MS",
                    "CACHE_SIZE",
                    "CACHE_MINUTES",
                    "HISTORY_LIMIT",
                    "JVM_OPTS",
                    "NAMESPACE",
                ],
            ),
            probes: &[
                ("liveness", (H, "/healthy", 8080, 120, 5, 10, 3)),
                ("readiness", (H, "/ready", 8080, 60, 5, 10, 3)),
                ("startup", (H, "/healthy", 8080, 0, 10, 1, 30)),
            ],
            resources: Some(["100m", "256Mi", "0.5Gi", "500m", "512Mi", "0.5Gi"]),
            adds_env: &[],
            omits_env: &[],
            adds_probes: &[],
        },
        Upstream {
            name: "contacts",
            container: "contacts",
            port: Some(8080),
            service: Some(("ClusterIP", 8080, None)),
            replicas: 1,
            env: names(&[BOA_COMMON, ENVIRONMENT_CONFIG, ACCOUNTS_DB_CONFIG], &[]),
            probes: &[("readiness", (H, "/ready", 8080, 10, 5, 10, 3))],
            resources: Some(["100m", "64Mi", "0.25Gi", "250m", "128Mi", "0.25Gi"]),
            adds_env: &[ACCOUNTS_DB_PASSWORD_VAR],
            omits_env: &[],
            adds_probes: &["liveness"],
        },
        Upstream {
            name: "userservice",
            container: "userservice",
            port: Some(8080),
            service: Some(("ClusterIP", 8080, None)),
            replicas: 1,
            env: names(
                &[BOA_COMMON, ENVIRONMENT_CONFIG, ACCOUNTS_DB_CONFIG],
                &["TOKEN_EXPIRY_SECONDS", "PRIV_KEY_PATH"],
            ),
            probes: &[("readiness", (H, "/ready", 8080, 10, 5, 10, 3))],
            resources: Some(["260m", "128Mi", "0.25Gi", "500m", "256Mi", "0.25Gi"]),
            adds_env: &[ACCOUNTS_DB_PASSWORD_VAR],
            omits_env: &[],
            adds_probes: &["liveness"],
        },
        Upstream {
            name: "loadgenerator",
            container: "loadgenerator",
            port: None,
            service: None,
            replicas: 1,
            env: vec!["FRONTEND_ADDR", "USERS", "LOG_LEVEL"],
            probes: &[],
            resources: Some(["100m", "512Mi", "", "250m", "1Gi", ""]),
            adds_env: &[],
            omits_env: &[],
            adds_probes: &["liveness", "readiness"],
        },
        Upstream {
            name: "accounts-db",
            container: "accounts-db",
            port: Some(5432),
            service: Some(("ClusterIP", 5432, None)),
            replicas: 1,
            env: names(
                &[ENVIRONMENT_CONFIG, ACCOUNTS_DB_CONFIG, DEMO_DATA_CONFIG],
                &[],
            ),
            probes: &[],
            resources: Some(["100m", "128Mi", "", "250m", "512Mi", ""]),
            adds_env: &[ACCOUNTS_DB_PASSWORD_VAR, "PGDATA"],
            omits_env: &[],
            adds_probes: &["liveness", "readiness"],
        },
        Upstream {
            name: "ledger-db",
            container: "postgres",
            port: Some(5432),
            service: Some(("ClusterIP", 5432, None)),
            replicas: 1,
            env: names(
                &[ENVIRONMENT_CONFIG, LEDGER_DB_CONFIG, DEMO_DATA_CONFIG],
                &[],
            ),
            probes: &[],
            resources: Some(["100m", "512Mi", "", "250m", "1Gi", ""]),
            adds_env: &["PGDATA"],
            omits_env: &[],
            adds_probes: &["liveness", "readiness"],
        },
    ]
}

#[test]
fn bank_of_anthos_output_is_committed_and_current() {
    assert_committed_and_current("bank-of-anthos", bank_of_anthos::bank_of_anthos);
}

#[test]
fn bank_of_anthos_keeps_every_fact_of_the_upstream_manifests() {
    let objects = objects(bank_of_anthos::bank_of_anthos);
    let errors = check(&objects, &bank_of_anthos_facts());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The pod settings every upstream Deployment shares: uid/gid/fsGroup 1000, non-root, a
/// read-only root filesystem with a writable `/tmp`, no privilege escalation, every
/// capability dropped, five seconds to stop; the six services also mount the `jwt-key`
/// Secret at `/tmp/.ssh` (userservice both keys, the others the public key), hold the
/// app until Istio's proxy starts, and act as the Google service account.
#[test]
fn bank_of_anthos_pods_run_as_upstream_runs_them() {
    let objects = objects(bank_of_anthos::bank_of_anthos);
    let apps = [
        "frontend",
        "balancereader",
        "ledgerwriter",
        "transactionhistory",
        "contacts",
        "userservice",
    ];
    for name in apps.iter().chain(["loadgenerator"].iter()) {
        let w = workload(&objects, name);
        let p = pod(w);
        let c = &p["containers"][0];
        let at = |k: &str| {
            c["securityContext"]
                .get(k)
                .or_else(|| p["securityContext"].get(k))
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(at("runAsUser"), 1000, "{name}");
        assert_eq!(at("runAsGroup"), 1000, "{name}");
        assert_eq!(p["securityContext"]["fsGroup"], 1000, "{name}");
        assert_eq!(at("runAsNonRoot"), true, "{name}");
        assert_eq!(
            c["securityContext"]["readOnlyRootFilesystem"], true,
            "{name}"
        );
        assert_eq!(
            c["securityContext"]["allowPrivilegeEscalation"], false,
            "{name}"
        );
        let dropped = c["securityContext"]["capabilities"]["drop"][0]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert_eq!(dropped, "all", "{name}");
        assert_eq!(p["terminationGracePeriodSeconds"], 5, "{name}");
    }
    for name in apps {
        let w = workload(&objects, name);
        let p = pod(w);
        let c = &p["containers"][0];
        // mountPath → the volume's source.
        let mounts: BTreeMap<String, Value> = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let v = p["volumes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["name"] == m["name"])
                    .unwrap();
                (m["mountPath"].as_str().unwrap().to_owned(), v.clone())
            })
            .collect();
        assert!(
            mounts["/tmp"].get("emptyDir").is_some(),
            "{name}: {mounts:?}"
        );
        let keys = &mounts["/tmp/.ssh"]["secret"];
        assert_eq!(keys["secretName"], "jwt-key", "{name}");
        let mut files: Vec<(String, String)> = keys["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["key"].to_string(), i["path"].to_string()))
            .collect();
        files.sort();
        let mut want = vec![(
            "\"jwtRS256.key.pub\"".to_owned(),
            "\"publickey\"".to_owned(),
        )];
        if name == "userservice" {
            want.insert(
                0,
                ("\"jwtRS256.key\"".to_owned(), "\"privatekey\"".to_owned()),
            );
        }
        assert_eq!(files, want, "{name}");
        assert_eq!(
            w["spec"]["template"]["metadata"]["annotations"]["proxy.istio.io/config"],
            r#"{ "holdApplicationUntilProxyStarts": true }"#,
            "{name}"
        );
        let sa = p["serviceAccountName"].as_str().unwrap();
        let sa = find(&objects, "ServiceAccount", sa).unwrap();
        assert_eq!(
            sa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"],
            "gke-workload-development@bank-of-anthos-ci.iam.gserviceaccount.com",
            "{name}"
        );
    }
}
