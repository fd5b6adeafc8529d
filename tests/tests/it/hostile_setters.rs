//! Every builder setter with hostile values (issue 19, item 6): full integer ranges, empty
//! and whitespace strings, unicode, control characters, interpolation syntax. A run either
//! fails validation — every error with a path into the stack, exit 2 and nothing written —
//! or its output passes `docker-compose config` and `kubernetes-validate --strict`.
//!
//! Valid cases are collected into one corpus and checked by the external tools once at the
//! end (they take seconds per call); `STACKDSL_HOSTILE_CASES` sets the number of cases.

use std::fs;
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use stackdsl::model::{Cluster, Metrics, Timeouts};
use stackdsl::prelude::*;
use stackdsl_tests::{cli, files_with_suffix, run, tool, tree};

/// A string a hostile user might pass: empty, blank, control characters, unicode,
/// interpolation, quotes, very long, or a plain name.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" ".to_owned()),
        Just("\t\n".to_owned()),
        Just("a\0b".to_owned()),
        Just("line\nbreak".to_owned()),
        Just("${VERSION:-release}".to_owned()),
        Just("$(whoami)".to_owned()),
        Just("\"quoted' \\".to_owned()),
        Just("Ünïcödé ✓ 🚀".to_owned()),
        Just("\u{202e}rtl".to_owned()),
        Just("x".repeat(300)),
        Just("../../etc/passwd".to_owned()),
        "[a-z][a-z0-9-]{0,12}",
        "\\PC{0,20}",
    ]
}

/// A `u32` from the whole range, edges first.
fn hostile_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(2),
        Just(i32::MAX as u32),
        Just(i32::MAX as u32 + 1),
        Just(u32::MAX),
        0u32..100,
        any::<u32>(),
    ]
}

fn hostile_u16() -> impl Strategy<Value = u16> {
    prop_oneof![Just(0u16), Just(1), Just(80), Just(u16::MAX), any::<u16>()]
}

/// A `&'static str` for APIs that take one (port names).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// One setter call with its arguments.
#[derive(Clone, Debug)]
enum Call {
    Port(String, u16),
    Publish(u16),
    Env(String, String),
    Config(String, String),
    Command(Vec<String>),
    Args(Vec<String>),
    Replicas(u32),
    Probe(String, u32, u32, u32, u32),
    Resources(u32, u32),
    Autoscale(u32, u32, u32),
    Scratch(String),
    Persistent(String, String),
    Bind(String, String),
    File(String, String, String),
    Expose(String, String),
    Image(String, String),
    ContainerName(String),
    Annotation(String, String),
    RunAsUser(u32),
    Cluster(u32),
    Metrics(String, u32),
    NotASecret(String, String),
    DependsOnPrevious,
}

/// Mostly sane values, one in four hostile: enough valid cases reach the external tools,
/// and every setter still sees every hostile value.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z][a-z0-9-]{0,10}",
        1 => hostile_text(),
    ]
}

fn number() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 1u32..20, 1 => hostile_u32()]
}

fn call() -> impl Strategy<Value = Call> {
    let t = text;
    prop_oneof![
        (t(), prop_oneof![3 => 1024u16..9000, 1 => hostile_u16()])
            .prop_map(|(n, p)| Call::Port(n, p)),
        prop_oneof![3 => 10000u16..20000, 1 => hostile_u16()].prop_map(Call::Publish),
        (t(), t()).prop_map(|(n, v)| Call::Env(n, v)),
        (t(), t()).prop_map(|(n, v)| Call::Config(n, v)),
        prop::collection::vec(t(), 0..3).prop_map(Call::Command),
        prop::collection::vec(t(), 0..3).prop_map(Call::Args),
        hostile_u32().prop_map(Call::Replicas),
        (
            t(),
            hostile_u32(),
            hostile_u32(),
            hostile_u32(),
            hostile_u32()
        )
            .prop_map(|(p, a, b, c, d)| Call::Probe(p, a, b, c, d)),
        (hostile_u32(), hostile_u32()).prop_map(|(c, m)| Call::Resources(c, m)),
        (hostile_u32(), hostile_u32(), hostile_u32())
            .prop_map(|(a, b, c)| Call::Autoscale(a, b, c)),
        t().prop_map(Call::Scratch),
        (t(), t()).prop_map(|(n, p)| Call::Persistent(n, p)),
        (t(), t()).prop_map(|(h, p)| Call::Bind(h, p)),
        (t(), t(), t()).prop_map(|(n, p, c)| Call::File(n, p, c)),
        (t(), t()).prop_map(|(h, p)| Call::Expose(h, p)),
        (t(), t()).prop_map(|(r, tag)| Call::Image(r, tag)),
        t().prop_map(Call::ContainerName),
        (t(), t()).prop_map(|(k, v)| Call::Annotation(k, v)),
        number().prop_map(Call::RunAsUser),
        number().prop_map(Call::Cluster),
        (t(), number()).prop_map(|(p, i)| Call::Metrics(p, i)),
        (t(), t()).prop_map(|(v, r)| Call::NotASecret(v, r)),
        Just(Call::DependsOnPrevious),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    name: String,
    env: Env,
    targets: Vec<Target>,
    services: Vec<(String, Vec<Call>)>,
    namespace: Option<String>,
    edge_header: Option<(String, String)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![4 => Just("shop".to_owned()), 1 => hostile_text()],
        prop::sample::select(&Env::ALL[..]),
        prop_oneof![
            Just(vec![Target::Compose]),
            Just(vec![Target::Kubernetes]),
            Just(vec![Target::Compose, Target::Kubernetes]),
        ],
        prop::collection::vec(
            (
                prop_oneof![
                    Just("api".to_owned()),
                    Just("db".to_owned()),
                    hostile_text()
                ],
                prop::collection::vec(call(), 0..6),
            ),
            1..4,
        ),
        prop::option::weighted(0.2, hostile_text()),
        prop::option::weighted(0.2, (text(), text())),
    )
        .prop_map(
            |(name, env, targets, services, namespace, edge_header)| Case {
                name,
                env,
                targets,
                services,
                namespace,
                edge_header,
            },
        )
}

fn build(case: &Case) -> Stack {
    let mut s = Stack::new(case.name.clone(), case.env);
    s.targets(case.targets.clone());
    if let Some(ns) = &case.namespace {
        s.in_namespace(ns.clone());
    }
    if let Some((h, v)) = &case.edge_header {
        s.edge(
            Edge::nginx()
                .header(h.clone(), v.clone())
                .timeouts(Timeouts::all(30)),
        );
    }
    let mut previous: Option<ServiceRef> = None;
    for (name, calls) in &case.services {
        let mut b = Service::new(name.clone())
            .image(Image::new("acme/app").tag("1.0.0"))
            // Staging and prod require resources; a `Resources` call replaces these.
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(64))
                    .limits(Cpu::m(200), Memory::mi(128)),
            );
        let mut last_port = Port::http("http", 8080);
        for c in calls {
            b = match c.clone() {
                Call::Port(n, p) => {
                    last_port = Port::tcp(leak(n), p);
                    b.port(last_port)
                }
                Call::Publish(h) => b.publish(last_port, h),
                Call::Env(n, v) => b.env(n, v),
                Call::Config(n, v) => b.config(n, v),
                Call::Command(argv) => b.command(argv),
                Call::Args(argv) => b.args(argv),
                Call::Replicas(n) => b.replicas(n),
                Call::Probe(path, d, p, t, f) => b.readiness(
                    Probe::http_get(path, last_port)
                        .initial_delay(d)
                        .period(p)
                        .timeout(t)
                        .failure_threshold(f),
                ),
                Call::Resources(c, m) => b.resources(
                    Resources::requests(Cpu::m(c), Memory::mi(u64::from(m)))
                        .limits(Cpu::m(c), Memory::mi(u64::from(m))),
                ),
                Call::Autoscale(min, max, cpu) => {
                    b.autoscale(Autoscale::between(min, max).cpu(cpu))
                }
                Call::Scratch(p) => b.mount(Mount::scratch(p)),
                Call::Persistent(n, p) => b.mount(Mount::persistent(n, p)),
                Call::Bind(h, p) => b.mount(Mount::bind(h, p)),
                Call::File(n, p, c) => b.mount(Mount::file(n, p, Template::new().text(c))),
                Call::Expose(h, p) => b.expose(Route::host(h, last_port).path(p)),
                Call::Image(r, tag) => b.image(Image::new(r).tag(tag)),
                Call::ContainerName(n) => b.kubernetes(|k| k.main_container_name(n)),
                Call::Annotation(k, v) => b.kubernetes(|x| x.annotation(k, v)),
                Call::RunAsUser(u) => b.security(Security::restricted().run_as_user(u)),
                Call::Cluster(n) => b
                    .port(Port::tcp("gossip", 4369))
                    .replicas(n)
                    .cluster(Cluster::new(Port::tcp("gossip", 4369))),
                Call::Metrics(p, i) => b.metrics(Metrics::new(last_port).path(p).interval(i)),
                Call::NotASecret(v, r) => b.not_a_secret(v, r),
                Call::DependsOnPrevious => match &previous {
                    Some(p) => b.depends_on(p),
                    None => b,
                },
            };
        }
        previous = Some(s.add(b));
    }
    s
}

/// An invalid case: every error has a path into the stack, a message and a hint, and the
/// CLI exits 2 and writes nothing.
fn check_invalid(stack: &Stack, errors: &stackdsl::validate::Errors) -> Result<(), TestCaseError> {
    for e in errors {
        prop_assert!(
            e.path.starts_with(&stack.name),
            "error path {:?} does not start at the stack {:?}",
            e.path.as_str(),
            stack.name
        );
        prop_assert!(
            !e.message.trim().is_empty() && !e.hint.trim().is_empty(),
            "{e}"
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let s = stack.clone();
    thread_local!(static STACK: std::cell::RefCell<Option<Stack>> = const { std::cell::RefCell::new(None) });
    STACK.with(|c| *c.borrow_mut() = Some(s));
    fn current(_: Env) -> Stack {
        STACK.with(|c| c.borrow().clone().expect("a stack"))
    }
    let r = cli(
        stack.env,
        &[current],
        &["--out", out.to_str().unwrap(), "--allow-outside"],
    );
    prop_assert_eq!(r.code, 2, "stderr:\n{}", r.stderr);
    prop_assert!(tree(dir.path()).is_empty(), "an invalid run wrote files");
    Ok(())
}

/// A valid case's files, added to the corpus under `dir`.
fn add_valid(stack: &Stack, dir: &Path) -> Result<(), TestCaseError> {
    let plan = stackdsl::validate(stack).expect("valid");
    let docs = stackdsl::render(&plan)
        .map_err(|e| TestCaseError::fail(format!("a valid stack does not render:\n{e}")))?;
    for d in docs {
        let path = dir.join(&d.path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, d.contents).unwrap();
    }
    fs::write(dir.join("case.txt"), format!("{stack:#?}")).unwrap();
    Ok(())
}

#[test]
fn every_setter_with_hostile_values_is_refused_with_a_path_or_renders_valid_files() {
    let cases = std::env::var("STACKDSL_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let corpus = tempfile::tempdir().expect("temp dir");
    let counter = std::cell::Cell::new(0usize);
    let (valid, invalid) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    // Most hostile cases are invalid: a run of `cases` sometimes yields no valid one (seen
    // in CI), which would leave the external check below with nothing. Further rounds of
    // new cases run until one is valid, at most 8.
    for _round in 0..8 {
        if valid.get() > 0 {
            break;
        }
        let mut runner = TestRunner::new(ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let result = runner.run(&case(), |c| {
            let stack = build(&c);
            match stackdsl::validate(&stack) {
                Err(e) => {
                    invalid.set(invalid.get() + 1);
                    check_invalid(&stack, &e)
                }
                Ok(_) => {
                    valid.set(valid.get() + 1);
                    let i = counter.get();
                    counter.set(i + 1);
                    add_valid(&stack, &corpus.path().join(format!("case-{i}")))
                }
            }
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
    assert!(
        invalid.get() > 0,
        "no case was invalid: the generator is not hostile"
    );
    assert!(
        valid.get() > 0,
        "no case was valid: the external check checks nothing"
    );
    // The valid cases' files through the real tools.
    for f in files_with_suffix(corpus.path(), &["compose.yaml"]) {
        let env_file = f.with_file_name("dummy.env");
        let example = fs::read_to_string(f.with_file_name(".env.example")).unwrap_or_default();
        let vars: String = example
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains('='))
            .map(|l| format!("{}=dummy\n", l.split('=').next().unwrap()))
            .collect();
        fs::write(&env_file, vars).unwrap();
        let (ok, out) = run(tool("docker-compose")
            .arg("-f")
            .arg(&f)
            .arg("--env-file")
            .arg(&env_file)
            .args(["config", "--quiet"]));
        let case =
            fs::read_to_string(f.ancestors().nth(3).unwrap().join("case.txt")).unwrap_or_default();
        assert!(
            ok,
            "docker-compose config rejected {}:\n{out}\n{}\n{case}",
            f.display(),
            fs::read_to_string(&f).unwrap()
        );
    }
    let manifests: Vec<_> = files_with_suffix(corpus.path(), &[".yaml"])
        .into_iter()
        .filter(|p| {
            p.parent().is_some_and(|d| d.ends_with("k8s"))
                && !p.ends_with("kustomization.yaml")
                && !p.ends_with("50-monitoring.yaml")
        })
        .collect();
    if !manifests.is_empty() {
        let (ok, out) = run(tool("kubernetes-validate")
            .args(["--strict", "-k", "1.33.0", "--quiet"])
            .args(&manifests));
        assert!(
            ok,
            "kubernetes-validate --strict rejected a valid case's manifests:\n{out}"
        );
    }
}
