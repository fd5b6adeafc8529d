//! Monitoring: every Prometheus file passes `promtool` (from Debian's `prometheus`
//! package), every PrometheusRule's groups pass `promtool check rules` and, with the
//! ServiceMonitors, the Prometheus Operator's schema; Grafana dashboards reference only
//! metrics the stack's services declare; a new service with metrics is scraped with no
//! other edit.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use stackdsl::model::{Alert, HttpMetrics, Monitoring, Quantile};
use stackdsl::prelude::*;
use stackdsl::validate::ErrorKind;
use stackdsl_tests::{corpus, debian_package, files_with_suffix, run, tool, workspace_root};

fn promtool() -> Command {
    Command::new(debian_package(&["prometheus"]).join("usr/bin/promtool"))
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap();
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `(file, PrometheusRule)` of the corpus.
fn prometheus_rules(dir: &Path) -> Vec<(PathBuf, Value)> {
    files_with_suffix(dir, &["50-monitoring.yaml"])
        .into_iter()
        .flat_map(|f| {
            yaml_docs(&f)
                .into_iter()
                .filter(|d| d["kind"] == "PrometheusRule")
                .map(move |d| (f.clone(), d))
        })
        .collect()
}

fn rel(corpus: &Path, f: &Path) -> String {
    f.strip_prefix(corpus).unwrap().display().to_string()
}

#[test]
fn every_prometheus_yml_passes_promtool_check_config() {
    let corpus = corpus();
    let files = files_with_suffix(corpus.path(), &["prometheus/prometheus.yml"]);
    let names: Vec<String> = files.iter().map(|f| rel(corpus.path(), f)).collect();
    for expected in [
        "potter/dev/prometheus/prometheus.yml",
        "noex/dev/prometheus/prometheus.yml",
        "srvthreds/dev/prometheus/prometheus.yml",
        "easyflow/dev/prometheus/prometheus.yml",
        "easyflow/prod/prometheus/prometheus.yml",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "no {expected} in {names:?}"
        );
    }
    for f in &files {
        // `check config` also loads and checks every file `rule_files` names.
        let (ok, out) = run(promtool().args(["check", "config"]).arg(f));
        assert!(ok, "promtool check config {}:\n{out}", f.display());
        if f.with_file_name("rules.yml").exists() {
            assert!(
                out.contains("rules.yml") && out.contains("SUCCESS"),
                "{out}"
            );
        }
    }
    // Negative control: promtool rejects a config with an unknown field.
    let bad = corpus.path().join("bad-prometheus.yml");
    fs::write(
        &bad,
        fs::read_to_string(&files[0])
            .unwrap()
            .replace("scrape_interval:", "scrape_intervall:"),
    )
    .unwrap();
    let (ok, out) = run(promtool().args(["check", "config"]).arg(&bad));
    assert!(!ok, "promtool accepted an unknown field:\n{out}");
}

#[test]
fn every_rules_file_passes_promtool_check_rules() {
    let corpus = corpus();
    let files = files_with_suffix(corpus.path(), &["prometheus/rules.yml"]);
    let names: Vec<String> = files.iter().map(|f| rel(corpus.path(), f)).collect();
    for expected in [
        "potter/dev/prometheus/rules.yml",
        "noex/dev/prometheus/rules.yml",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "no {expected} in {names:?}"
        );
    }
    let (ok, out) = run(promtool().args(["check", "rules"]).args(&files));
    assert!(ok, "promtool check rules:\n{out}");
    // Negative control: a broken expression fails.
    let bad = corpus.path().join("bad-rules.yml");
    let potter = corpus.path().join("potter/dev/prometheus/rules.yml");
    fs::write(
        &bad,
        fs::read_to_string(&potter)
            .unwrap()
            .replacen("sum(rate(", "sum(rate((", 1),
    )
    .unwrap();
    let (ok, out) = run(promtool().args(["check", "rules"]).arg(&bad));
    assert!(!ok, "promtool accepted a broken expression:\n{out}");
}

#[test]
fn prometheus_rules_groups_pass_promtool_check_rules() {
    let corpus = corpus();
    let work = tempfile::tempdir().unwrap();
    let rules = prometheus_rules(corpus.path());
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, (f, doc)) in rules.iter().enumerate() {
        let r = rel(corpus.path(), f);
        seen.insert(format!(
            "{}:{}",
            r.split("/k8s/").next().unwrap(),
            doc["metadata"]["name"].as_str().unwrap()
        ));
        // The spec of a PrometheusRule is a rules file: `groups:`. JSON is YAML.
        let path = work.path().join(format!("rule-{i}.yml"));
        fs::write(&path, serde_json::to_string_pretty(&doc["spec"]).unwrap()).unwrap();
        files.push(path);
    }
    for expected in [
        "potter/staging:product-service",
        "potter/prod:product-service",
        "noex/staging:noex",
        "noex/prod:noex",
    ] {
        assert!(
            seen.contains(expected),
            "no PrometheusRule {expected}: {seen:?}"
        );
    }
    let (ok, out) = run(promtool().args(["check", "rules"]).args(&files));
    assert!(ok, "promtool check rules on PrometheusRule groups:\n{out}");
    // Kubernetes rules select the namespace as well as the job.
    for (f, doc) in &rules {
        let ns = doc["metadata"]["namespace"].as_str().unwrap();
        for g in doc["spec"]["groups"].as_array().unwrap() {
            for r in g["rules"].as_array().unwrap() {
                let expr = r["expr"].as_str().unwrap();
                assert!(
                    expr.contains(&format!("namespace=\"{ns}\"")),
                    "{}: {expr}",
                    f.display()
                );
            }
        }
    }
}

#[test]
fn potter_alerts_are_the_guides_with_their_defects_fixed() {
    let s = stacks::potter::potter(Env::Prod);
    let m = stackdsl_tests::manifests(&s);
    let rule = m
        .objects()
        .find(|o| o.key() == "PrometheusRule/product-service")
        .expect("a PrometheusRule for the product service")
        .to_json();
    let rules = rule["spec"]["groups"][0]["rules"].as_array().unwrap();
    let by_name = |n: &str| {
        rules
            .iter()
            .find(|r| r["alert"] == n)
            .unwrap_or_else(|| panic!("no {n}: {rules:?}"))
    };
    // Long expressions are written one operand per line.
    let flat = |r: &Value| {
        r["expr"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let err = by_name("ProductServiceHighErrorRate");
    assert_eq!(err["for"], "5m");
    let e = flat(err);
    // A share of requests, not 5xx per second.
    assert!(
        e.contains("status=~\"5..\"") && e.contains(" / ") && e.ends_with("> 0.05"),
        "{e}"
    );
    let lat = by_name("ProductServiceHighLatency");
    let e = flat(lat);
    assert!(
        e.starts_with(
            "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{"
        ) && e.ends_with("> 1"),
        "{e}"
    );
}

#[test]
fn monitoring_custom_resources_pass_the_prometheus_operator_schema() {
    let corpus = corpus();
    let work = tempfile::tempdir().unwrap();
    for kind in ["PrometheusRule", "ServiceMonitor"] {
        let schema = work.path().join(format!("{kind}.json"));
        let (ok, out) = run(tool("python")
            .arg(workspace_root().join("tests/validators/crd_schema.py"))
            .arg(kind)
            .arg(&schema));
        assert!(ok, "{out}");
        let mut docs = Vec::new();
        for f in files_with_suffix(corpus.path(), &["50-monitoring.yaml"]) {
            for (i, doc) in yaml_docs(&f).into_iter().enumerate() {
                if doc["kind"] == kind {
                    let path = work.path().join(format!(
                        "{kind}-{}-{i}.json",
                        rel(corpus.path(), &f).replace('/', "_")
                    ));
                    fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
                    docs.push(path);
                }
            }
        }
        // noex, potter, srvthreds and easyflow in staging and prod.
        let floor = if kind == "PrometheusRule" { 4 } else { 8 };
        assert!(docs.len() >= floor, "{kind}: {docs:?}");
        let (ok, out) = run(tool("check-jsonschema")
            .arg("--schemafile")
            .arg(&schema)
            .args(&docs));
        assert!(ok, "{kind}:\n{out}");
        // Negative control: a misspelt field fails the closed schema.
        let bad = work.path().join("bad.json");
        let text = fs::read_to_string(&docs[0]).unwrap();
        let broken = if kind == "PrometheusRule" {
            text.replacen("\"expr\"", "\"exprr\"", 1)
        } else {
            text.replacen("\"interval\"", "\"intervall\"", 1)
        };
        fs::write(&bad, broken).unwrap();
        let (ok, out) = run(tool("check-jsonschema")
            .arg("--schemafile")
            .arg(&schema)
            .arg(&bad));
        assert!(!ok, "{kind}: the schema accepted a misspelt field:\n{out}");
    }
}

/// Metric names a PromQL expression reads: identifiers followed by `{` or `[` (every
/// selector we write has matchers), read from the text alone.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if b[i].is_ascii_alphabetic() || b[i] == b'_' || b[i] == b':' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            if i < b.len() && (b[i] == b'{' || b[i] == b'[') {
                out.push(expr[start..i].to_owned());
            }
            continue;
        }
        i += 1;
    }
    out
}

#[test]
fn dashboards_reference_only_metrics_the_services_declare() {
    assert_eq!(
        metric_names("sum(rate(a_total{job=\"x{y\"}[5m])) / sum(rate(b{job=\"x\"}[5m]))"),
        ["a_total", "b"]
    );
    let corpus = corpus();
    let dashboards = files_with_suffix(corpus.path(), &[".json"])
        .into_iter()
        .filter(|f| {
            f.parent()
                .is_some_and(|p| p.ends_with("grafana/dashboards"))
        })
        .collect::<Vec<_>>();
    let names: Vec<String> = dashboards.iter().map(|f| rel(corpus.path(), f)).collect();
    for expected in [
        "potter/dev/grafana/dashboards/potter.json",
        "easyflow/dev/grafana/dashboards/easyflow.json",
        "easyflow/prod/grafana/dashboards/easyflow.json",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "no {expected} in {names:?}"
        );
    }
    for f in &dashboards {
        let r = rel(corpus.path(), f);
        let mut parts = r.split('/');
        let (name, env) = (parts.next().unwrap(), parts.next().unwrap());
        let env = Env::parse(env).unwrap();
        let stack = stacks::ALL
            .iter()
            .map(|f| f(env))
            .find(|s| s.name == name)
            .unwrap();
        let declared: BTreeSet<String> = stack
            .services
            .iter()
            .filter(|s| s.renders_on(Target::Compose))
            .filter_map(|s| s.metrics.as_ref())
            .flat_map(|m| m.families())
            .flat_map(|f| f.series())
            .collect();
        let dash: Value = serde_json::from_str(&fs::read_to_string(f).unwrap())
            .unwrap_or_else(|e| panic!("{r} is not JSON: {e}"));
        let panels = dash["panels"].as_array().unwrap();
        let mut rows = Vec::new();
        let mut exprs = 0;
        for p in panels {
            if p["type"] == "row" {
                rows.push(p["title"].as_str().unwrap().to_owned());
            }
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().unwrap();
                exprs += 1;
                let used = metric_names(expr);
                assert!(!used.is_empty(), "{r}: {expr} reads no metric");
                for m in used {
                    assert!(
                        declared.contains(&m),
                        "{r}: `{m}` is not a metric the services declare ({declared:?})"
                    );
                }
            }
        }
        // One row per service with HTTP metrics, three panels each.
        let http: Vec<String> = stack
            .services
            .iter()
            .filter(|s| s.renders_on(Target::Compose))
            .filter(|s| s.metrics.as_ref().is_some_and(|m| m.http.is_some()))
            .map(|s| s.name.clone())
            .collect();
        assert_eq!(rows, http, "{r}");
        assert_eq!(exprs, 3 * http.len(), "{r}");
        // Grafana finds it: the provider's path is where compose mounts the folder.
        let dir = f.parent().unwrap().parent().unwrap();
        let provider = &yaml_docs(&dir.join("provisioning/dashboards/stackdsl.yaml"))[0];
        let path = provider["providers"][0]["options"]["path"]
            .as_str()
            .unwrap();
        let compose = fs::read_to_string(dir.parent().unwrap().join("compose.yaml")).unwrap();
        assert!(
            compose.contains(&format!("./grafana/dashboards:{path}:ro")),
            "{r}: compose does not mount the dashboards at {path}"
        );
        // Grafana starts once Prometheus answers its healthcheck, not merely once started.
        let compose: Value = serde_saphyr::from_str(&compose).unwrap();
        assert!(compose["services"]["prometheus"]["healthcheck"].is_object());
        assert_eq!(
            compose["services"]["grafana"]["depends_on"]["prometheus"]["condition"],
            "service_healthy",
            "{r}"
        );
    }
}

fn jobs(prometheus_yml: &str) -> Vec<(String, Vec<String>)> {
    let doc: Value = serde_saphyr::from_str(prometheus_yml).unwrap();
    doc["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let targets = j["static_configs"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["targets"].as_array().unwrap().iter())
                .map(|t| t.as_str().unwrap().to_owned())
                .collect();
            (j["job_name"].as_str().unwrap().to_owned(), targets)
        })
        .collect()
}

fn doc<'a>(docs: &'a [stackdsl::render::Document], suffix: &str) -> &'a str {
    &docs
        .iter()
        .find(|d| d.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix}"))
        .contents
}

#[test]
fn every_service_with_metrics_is_a_scrape_job() {
    for env in Env::ALL {
        for f in stacks::ALL {
            let s = f(env);
            if s.monitoring.prometheus.is_none() {
                continue;
            }
            let docs = stackdsl_tests::render_fn(*f, env);
            let got: Vec<String> = jobs(doc(&docs, "prometheus/prometheus.yml"))
                .into_iter()
                .map(|(j, _)| j)
                .collect();
            let want: Vec<String> = s
                .services
                .iter()
                .filter(|x| x.renders_on(Target::Compose) && x.metrics.is_some())
                .map(|x| x.name.clone())
                .collect();
            assert_eq!(got, want, "{} ({env})", s.name);
        }
    }
}

#[test]
fn adding_a_service_with_metrics_adds_it_to_the_scrape_config() {
    let metrics = Port::http("metrics", 9464);
    let reporting = || {
        Service::new("reporting")
            .image(Image::new("ghcr.io/potter/reporting").tag("1.0.0"))
            .port(metrics)
            .metrics(
                Metrics::new(metrics)
                    .http(HttpMetrics::standard())
                    .alert(Alert::latency(Quantile::P99, 500)),
            )
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(128))
                    .limits(Cpu::m(200), Memory::mi(256)),
            )
    };
    // Compose: a scrape job, its rules and a dashboard row; nothing else was edited.
    let before = stacks::potter::potter(Env::Dev);
    let mut after = stacks::potter::potter(Env::Dev);
    after.add(reporting());
    stackdsl::validate(&after).unwrap();
    let (b, a) = (
        stackdsl_tests::render(&before),
        stackdsl_tests::render(&after),
    );
    let (jb, ja) = (
        jobs(doc(&b, "prometheus/prometheus.yml")),
        jobs(doc(&a, "prometheus/prometheus.yml")),
    );
    assert_eq!(ja.len(), jb.len() + 1);
    assert_eq!(
        ja.last().unwrap(),
        &("reporting".to_owned(), vec!["reporting:9464".to_owned()])
    );
    assert!(doc(&a, "prometheus/rules.yml").contains("alert: ReportingHighLatency"));
    assert!(doc(&a, "grafana/dashboards/potter.json").contains("\"title\": \"reporting\""));
    // The result passes promtool too.
    let dir = tempfile::tempdir().unwrap();
    for d in &a {
        let p = dir.path().join(&d.path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, &d.contents).unwrap();
    }
    let (ok, out) = run(promtool()
        .args(["check", "config"])
        .arg(dir.path().join("potter/dev/prometheus/prometheus.yml")));
    assert!(ok, "{out}");
    // Kubernetes: a ServiceMonitor and a PrometheusRule.
    let mut staging = stacks::potter::potter(Env::Staging);
    staging.add(reporting());
    let keys: Vec<String> = stackdsl_tests::manifests(&staging)
        .objects()
        .map(|o| o.key())
        .collect();
    for k in ["ServiceMonitor/reporting", "PrometheusRule/reporting"] {
        assert!(keys.iter().any(|x| x == k), "no {k}: {keys:?}");
    }
}

#[test]
fn a_cluster_is_scraped_member_by_member_in_compose() {
    let s = stacks::noex::noex(Env::Dev);
    let docs = stackdsl_tests::render(&s);
    let j = jobs(doc(&docs, "prometheus/prometheus.yml"));
    assert_eq!(
        j,
        [(
            "noex".to_owned(),
            vec![
                "noex-seed:8080".to_owned(),
                "noex-worker-1:8080".to_owned(),
                "noex-worker-2:8080".to_owned()
            ]
        )]
    );
    let rules = doc(&docs, "prometheus/rules.yml");
    for alert in ["NoexMemberDown", "NoexBelowQuorum", "NoexMemberIsolated"] {
        assert!(rules.contains(&format!("alert: {alert}")), "{rules}");
    }
    // Three members, so a quorum of two.
    assert!(rules.contains("or vector(0)) < 2"), "{rules}");
}

fn errors(s: &Stack) -> Vec<(ErrorKind, String, String)> {
    stackdsl_tests::validation_errors(s)
}

fn api(metrics: Metrics) -> ServiceBuilder<HasImage> {
    Service::new("api")
        .image(Image::new("acme/api").tag("1.0.0"))
        .port(Port::http("http", 8080))
        .metrics(metrics)
}

#[test]
fn bad_monitoring_is_reported_at_its_path() {
    let http = Port::http("http", 8080);
    let mut s = Stack::new("shop", Env::Dev);
    s.add(api(Metrics::new(http)
        .interval(30)
        .family(stackdsl::model::MetricFamily::gauge(
            "queue-depth",
            "bad name",
        ))
        .alert(Alert::error_rate(50))
        .alert(Alert::latency(Quantile::P95, 0))
        .alert(Alert::member_down())
        .alert(
            Alert::error_rate(1000).window(stackdsl::model::Window::secs(30)),
        )));
    let e = errors(&s);
    let at = |path: &str, needle: &str| {
        assert!(
            e.iter().any(|(_, p, m)| p == path && m.contains(needle)),
            "no error at {path} containing {needle:?}: {e:#?}"
        );
    };
    at(
        "shop.services[api].metrics.families[queue-depth]",
        "not a Prometheus metric name",
    );
    at(
        "shop.services[api].metrics.alerts[0]",
        "HTTP request counter",
    );
    at("shop.services[api].metrics.alerts[1]", "0ms");
    at("shop.services[api].metrics.alerts[2]", "clustered services");
    at(
        "shop.services[api].metrics.alerts[3]",
        "not between 0 and 100%",
    );
    at(
        "shop.services[api].metrics.alerts[3]",
        "fewer than two scrapes",
    );
    assert_eq!(e.len(), 8, "{e:#?}");
}

#[test]
fn compose_monitoring_needs_free_names_and_ports_and_prometheus_for_grafana() {
    let mut s = Stack::new("shop", Env::Dev);
    s.monitoring(Monitoring::prometheus().grafana());
    s.add(
        Service::new("grafana")
            .image(Image::new("acme/grafana").tag("1.0.0"))
            .port(Port::http("http", 8080))
            .publish(Port::http("http", 8080), 9090),
    );
    let e = errors(&s);
    assert!(
        e.iter()
            .any(|(k, p, _)| *k == ErrorKind::DuplicateName && p == "shop.monitoring.grafana"),
        "{e:#?}"
    );
    assert!(
        e.iter().any(|(k, p, m)| *k == ErrorKind::HostPortClash
            && p == "shop.monitoring.prometheus"
            && m.contains("9090")),
        "{e:#?}"
    );
    let mut only_grafana = Stack::new("shop", Env::Dev);
    only_grafana.monitoring = Monitoring::default().grafana();
    only_grafana.add(Service::new("api").image(Image::new("acme/api").tag("1.0.0")));
    let e = errors(&only_grafana);
    assert!(
        e.iter()
            .any(|(_, p, m)| p == "shop.monitoring" && m.contains("without the Prometheus")),
        "{e:#?}"
    );
}

/// A Prometheus that selects ServiceMonitors and PrometheusRules by label (as
/// kube-prometheus-stack does with `release`) finds ours once the stack names the label;
/// without it nothing changes.
#[test]
fn prometheus_selector_labels_land_on_service_monitors_and_rules_only() {
    let kinds = |s: &Stack| -> Vec<(String, Value)> {
        stackdsl_tests::manifests(s)
            .objects()
            .map(|o| o.to_json())
            .map(|o| {
                (
                    o["kind"].as_str().unwrap().to_owned(),
                    o["metadata"]["labels"].clone(),
                )
            })
            .collect()
    };
    let plain = stacks::potter::potter(Env::Prod);
    assert!(
        kinds(&plain)
            .iter()
            .all(|(_, l)| l.get("release").is_none())
    );
    let mut selected = stacks::potter::potter(Env::Prod);
    selected
        .kubernetes
        .prometheus_selector([("release", "kube-prometheus-stack")]);
    stackdsl::validate(&selected).unwrap();
    let mut labelled = BTreeSet::new();
    for (kind, labels) in kinds(&selected) {
        let has = labels["release"] == "kube-prometheus-stack";
        assert_eq!(
            has,
            kind == "ServiceMonitor" || kind == "PrometheusRule",
            "{kind}: {labels}"
        );
        if has {
            labelled.insert(kind);
        }
    }
    assert_eq!(labelled.len(), 2, "{labelled:?}");

    let mut bad = Stack::new("shop", Env::Prod);
    bad.targets([Target::Kubernetes]);
    bad.kubernetes.prometheus_selector([
        ("release", "not a value"),
        ("app.kubernetes.io/name", "x"),
        ("-bad", "ok"),
    ]);
    let e = errors(&bad);
    // (The empty stack's own error is not this test's concern.)
    let got: Vec<(ErrorKind, &str)> = e
        .iter()
        .filter(|(_, p, _)| p.contains("prometheus_selector"))
        .map(|(k, p, _)| (*k, p.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                ErrorKind::InvalidName,
                "shop.kubernetes.prometheus_selector[-bad]"
            ),
            (
                ErrorKind::DuplicateName,
                "shop.kubernetes.prometheus_selector[app.kubernetes.io/name]"
            ),
            (
                ErrorKind::InvalidName,
                "shop.kubernetes.prometheus_selector[release]"
            ),
        ],
        "{e:#?}"
    );
}
