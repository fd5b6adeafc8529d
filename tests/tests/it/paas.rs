//! PaaS targets: every platform file parses with an independent parser and matches the
//! platform's own schema or types where a registry ships them, else typed mirrors of the
//! documented fields; what a platform cannot do is a validation error.
//!
//! | file | parser | checked against |
//! |---|---|---|
//! | `fly.toml` | Python `tomllib` | mirror of Fly.io's documented `fly.toml` fields (no published schema package) |
//! | `railway.toml` | Python `tomllib` | mirror of Railway's documented config-as-code fields (no published schema package) |
//! | `render.yaml` | PyYAML (YAML 1.1) | mirror of Render's Blueprint reference (no published schema package) + cross-references |
//! | `vercel.json` | Python `json` | `VercelConfig` of npm `@vercel/config@0.7.2`, type-checked by `typescript@5.9.3` |
//! | `serverless.yml` | PyYAML (YAML 1.1) | the schema `serverless@3.40.0`'s own handler assembles, via `check-jsonschema` |

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stackdsl::catalog::{MongoDb, Postgres};
use stackdsl::emit::{self, Output, Scope};
use stackdsl::prelude::*;
use stackdsl::validate;
use stackdsl::validate::{ErrorKind, Errors};
use stackdsl_tests::{outputs, run, serverless_schema, tool, vercel_types};

const STACKS: &[stackdsl::cli::StackFn] = &[stacks::tsdev::monolith, stacks::tsdev::microservices];

/// Every PaaS file of both tsdev stacks, written into a temp folder: `(stack, platform) → path`.
fn files() -> (tempfile::TempDir, BTreeMap<(String, Platform), PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let mut map = BTreeMap::new();
    for o in outputs(Env::Prod, STACKS) {
        let path = dir.path().join(&o.doc.path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &o.doc.contents).unwrap();
        for p in Platform::ALL {
            if o.doc.path == format!("{}/paas/{}/{}", o.stack, p.as_str(), p.file()) {
                map.insert((o.stack.clone(), p), path.clone());
            }
        }
    }
    (dir, map)
}

fn of(map: &BTreeMap<(String, Platform), PathBuf>, p: Platform) -> Vec<&PathBuf> {
    map.iter()
        .filter(|((_, q), _)| *q == p)
        .map(|(_, f)| f)
        .collect()
}

/// Parses files with the venv's Python: `kind` is `toml`, `yaml` or `json`.
fn python_parse(kind: &str, files: &[&PathBuf]) -> Vec<Value> {
    let script = match kind {
        "toml" => {
            "import json, sys, tomllib\nprint(json.dumps([tomllib.load(open(p, 'rb')) for p in sys.argv[1:]]))"
        }
        "yaml" => {
            "import json, sys, yaml\nprint(json.dumps([yaml.safe_load(open(p)) for p in sys.argv[1:]]))"
        }
        _ => "import json, sys\nprint(json.dumps([json.load(open(p)) for p in sys.argv[1:]]))",
    };
    let out = tool("python")
        .arg("-c")
        .arg(script)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "Python's {kind} parser rejected {files:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn mirror<T: DeserializeOwned>(v: &Value, what: &str) -> T {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{what} has fields the platform does not document: {e}\n{v:#}"))
}

#[test]
fn both_tsdev_stacks_render_all_five_platforms_with_readmes() {
    let outs = outputs(Env::Prod, STACKS);
    for stack in ["tsdev-monolith", "tsdev-microservices"] {
        for p in Platform::ALL {
            let dir = format!("{stack}/paas/{}", p.as_str());
            for name in [p.file(), "README.md"] {
                let path = format!("{dir}/{name}");
                let doc = outs.iter().find(|o| o.doc.path == path);
                let doc = doc.unwrap_or_else(|| panic!("{path} is not rendered"));
                assert_eq!(doc.env, Env::Prod);
                // Where the format has comments, the marker names the owner.
                if !name.ends_with(".json") {
                    assert_eq!(
                        stackdsl::marker::owner(&doc.doc.contents),
                        Some((stack.to_owned(), Env::Prod)),
                        "{path}"
                    );
                } else {
                    assert!(!stackdsl::marker::has_marker(&doc.doc.contents));
                }
            }
        }
    }
    // Other environments render no PaaS files.
    for env in [Env::Dev, Env::Staging] {
        assert!(
            outputs(env, STACKS)
                .iter()
                .all(|o| !o.doc.path.contains("/paas/"))
        );
    }
}

// --- fly.toml ------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FlyToml {
    app: String,
    primary_region: Option<String>,
    kill_signal: Option<String>,
    kill_timeout: Option<Value>,
    swap_size_mb: Option<u32>,
    console_command: Option<String>,
    build: Option<FlyBuild>,
    deploy: Option<Value>,
    env: Option<BTreeMap<String, String>>,
    processes: Option<BTreeMap<String, String>>,
    mounts: Option<FlyMounts>,
    http_service: Option<FlyHttpService>,
    services: Option<Vec<Value>>,
    checks: Option<Value>,
    vm: Option<Vec<FlyVm>>,
    statics: Option<Value>,
    files: Option<Value>,
    metrics: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FlyBuild {
    image: Option<String>,
    dockerfile: Option<String>,
    builder: Option<String>,
    buildpacks: Option<Vec<String>>,
    #[serde(rename = "build-target")]
    build_target: Option<String>,
    ignorefile: Option<String>,
    args: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FlyMounts {
    source: String,
    destination: String,
    initial_size: Option<String>,
    processes: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
enum FlyAutoStop {
    Off,
    Stop,
    Suspend,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FlyHttpService {
    internal_port: u16,
    force_https: Option<bool>,
    auto_stop_machines: Option<FlyAutoStop>,
    auto_start_machines: Option<bool>,
    min_machines_running: Option<u32>,
    processes: Option<Vec<String>>,
    concurrency: Option<Value>,
    tls_options: Option<Value>,
    http_options: Option<Value>,
    checks: Option<Vec<FlyCheck>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FlyCheck {
    grace_period: Option<String>,
    interval: Option<String>,
    timeout: Option<String>,
    method: Option<String>,
    path: Option<String>,
    protocol: Option<String>,
    tls_server_name: Option<String>,
    tls_skip_verify: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
enum FlyCpuKind {
    Shared,
    Performance,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FlyVm {
    size: Option<String>,
    memory: Option<String>,
    memory_mb: Option<u32>,
    cpus: Option<u32>,
    cpu_kind: Option<FlyCpuKind>,
    gpus: Option<u32>,
    gpu_kind: Option<String>,
    kernel_args: Option<String>,
    host_dedication_id: Option<String>,
    processes: Option<Vec<String>>,
}

/// Fly.io durations: a number and a unit.
fn fly_duration(s: &str) -> bool {
    let unit = s.trim_start_matches(|c: char| c.is_ascii_digit());
    unit.len() < s.len() && ["ms", "s", "m", "h"].contains(&unit)
}

#[test]
fn fly_toml_parses_and_uses_only_documented_fields() {
    let (_dir, map) = files();
    let files = of(&map, Platform::Fly);
    assert_eq!(files.len(), 2);
    for (v, path) in python_parse("toml", &files).iter().zip(&files) {
        let fly: FlyToml = mirror(v, &path.display().to_string());
        let http = fly.http_service.expect("an HTTP app has an http_service");
        for c in http.checks.iter().flatten() {
            for d in [&c.grace_period, &c.interval, &c.timeout]
                .into_iter()
                .flatten()
            {
                assert!(
                    fly_duration(d),
                    "{}: `{d}` is not a Fly duration",
                    path.display()
                );
            }
        }
        for vm in fly.vm.iter().flatten() {
            let m = vm.memory.as_deref().unwrap_or_default();
            let mb: u32 = m
                .strip_suffix("mb")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            assert!(
                mb > 0 && mb.is_multiple_of(256),
                "{}: memory `{m}`",
                path.display()
            );
        }
        // Secrets never land in [env] (they are `fly secrets set`).
        let env = fly.env.unwrap_or_default();
        assert!(
            !env.contains_key("SENTRY_DSN") && !env.contains_key("OTEL_EXPORTER_OTLP_ENDPOINT")
        );
        assert!(env.values().all(|v| !v.contains("${")));
    }
    // Negative control: a misspelt field is refused.
    let bad = serde_json::json!({ "app": "x", "http_service": { "internal_prot": 3000 } });
    assert!(serde_json::from_value::<FlyToml>(bad).is_err());
}

// --- railway.toml --------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RailwayToml {
    #[serde(rename = "$schema")]
    schema: Option<String>,
    build: Option<RailwayBuild>,
    deploy: Option<RailwayDeploy>,
    environments: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
enum RailwayBuilderName {
    #[serde(rename = "RAILPACK")]
    Railpack,
    #[serde(rename = "DOCKERFILE")]
    Dockerfile,
    #[serde(rename = "NIXPACKS")]
    Nixpacks,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct RailwayBuild {
    builder: Option<RailwayBuilderName>,
    watch_patterns: Option<Vec<String>>,
    build_command: Option<String>,
    dockerfile_path: Option<String>,
    nixpacks_config_path: Option<String>,
    nixpacks_plan: Option<Value>,
    nixpacks_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
enum RailwayRestart {
    #[serde(rename = "ON_FAILURE")]
    OnFailure,
    #[serde(rename = "ALWAYS")]
    Always,
    #[serde(rename = "NEVER")]
    Never,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct RailwayDeploy {
    start_command: Option<String>,
    pre_deploy_command: Option<Value>,
    num_replicas: Option<u32>,
    multi_region_config: Option<BTreeMap<String, RailwayRegion>>,
    healthcheck_path: Option<String>,
    healthcheck_timeout: Option<u32>,
    restart_policy_type: Option<RailwayRestart>,
    restart_policy_max_retries: Option<u32>,
    cron_schedule: Option<String>,
    sleep_application: Option<bool>,
    required_mount_path: Option<String>,
    draining_seconds: Option<u32>,
    overlap_seconds: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct RailwayRegion {
    num_replicas: u32,
}

#[test]
fn railway_toml_parses_and_uses_only_documented_fields() {
    let (_dir, map) = files();
    let files = of(&map, Platform::Railway);
    assert_eq!(files.len(), 2);
    for (v, path) in python_parse("toml", &files).iter().zip(&files) {
        let r: RailwayToml = mirror(v, &path.display().to_string());
        let deploy = r.deploy.expect("deploy section");
        assert!(deploy.healthcheck_path.is_some_and(|p| p.starts_with('/')));
        assert!(deploy.num_replicas.is_some() != deploy.multi_region_config.is_some());
    }
    let bad = serde_json::json!({ "deploy": { "restartPolicyType": "SOMETIMES" } });
    assert!(serde_json::from_value::<RailwayToml>(bad).is_err());
}

// --- render.yaml ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct Blueprint {
    services: Option<Vec<RenderService>>,
    databases: Option<Vec<RenderDatabase>>,
    env_var_groups: Option<Vec<Value>>,
    previews: Option<Value>,
    projects: Option<Vec<Value>>,
    ungrouped: Option<Vec<Value>>,
}

#[derive(Deserialize, PartialEq, Eq, Clone, Copy, Debug)]
#[serde(rename_all = "lowercase")]
enum RenderType {
    Web,
    Pserv,
    Worker,
    Cron,
    Keyvalue,
    Redis,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RenderRuntime {
    Docker,
    Elixir,
    Go,
    Image,
    Node,
    Python,
    Ruby,
    Rust,
    Static,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct RenderService {
    #[serde(rename = "type")]
    kind: RenderType,
    name: String,
    runtime: Option<RenderRuntime>,
    image: Option<RenderImage>,
    repo: Option<String>,
    branch: Option<String>,
    root_dir: Option<String>,
    build_command: Option<String>,
    start_command: Option<String>,
    pre_deploy_command: Option<String>,
    docker_command: Option<String>,
    dockerfile_path: Option<String>,
    docker_context: Option<String>,
    plan: Option<String>,
    region: Option<String>,
    num_instances: Option<u32>,
    scaling: Option<RenderScaling>,
    health_check_path: Option<String>,
    env_vars: Option<Vec<RenderEnvVar>>,
    disk: Option<RenderDisk>,
    auto_deploy: Option<bool>,
    auto_deploy_trigger: Option<String>,
    domains: Option<Vec<String>>,
    schedule: Option<String>,
    ip_allow_list: Option<Vec<RenderAllow>>,
    maxmemory_policy: Option<RenderMaxmemory>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RenderImage {
    url: String,
    creds: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct RenderScaling {
    min_instances: u32,
    max_instances: u32,
    #[serde(rename = "targetCPUPercent")]
    target_cpu_percent: Option<u32>,
    target_memory_percent: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct RenderDisk {
    name: String,
    mount_path: String,
    #[serde(rename = "sizeGB")]
    size_gb: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RenderAllow {
    source: String,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RenderMaxmemory {
    AllkeysLru,
    VolatileLru,
    AllkeysLfu,
    VolatileLfu,
    AllkeysRandom,
    VolatileRandom,
    VolatileTtl,
    Noeviction,
}

#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum RenderEnvVar {
    Value(RenderValue),
    Sync(RenderSync),
    Generate(RenderGenerate),
    Database(RenderFromDatabase),
    Service(RenderFromService),
    Group(RenderFromGroup),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RenderValue {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RenderSync {
    key: String,
    sync: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct RenderGenerate {
    key: String,
    generate_value: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RenderFromDatabase {
    key: String,
    from_database: RenderDbRef,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
enum RenderDbProperty {
    Host,
    Port,
    Database,
    User,
    Password,
    ConnectionString,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenderDbRef {
    name: String,
    #[allow(dead_code)]
    property: RenderDbProperty,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RenderFromService {
    key: String,
    from_service: RenderSvcRef,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct RenderSvcRef {
    #[serde(rename = "type")]
    kind: RenderType,
    name: String,
    property: Option<String>,
    env_var_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct RenderFromGroup {
    from_group: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct RenderDatabase {
    name: String,
    database_name: Option<String>,
    user: Option<String>,
    plan: Option<String>,
    region: Option<String>,
    postgres_major_version: Option<String>,
    #[serde(rename = "diskSizeGB")]
    disk_size_gb: Option<u32>,
    ip_allow_list: Option<Vec<RenderAllow>>,
    high_availability: Option<Value>,
    read_replicas: Option<Vec<Value>>,
    preview_plan: Option<String>,
}

#[test]
fn render_yaml_parses_uses_only_documented_fields_and_references_resolve() {
    let (_dir, map) = files();
    let files = of(&map, Platform::Render);
    assert_eq!(files.len(), 2);
    for (v, path) in python_parse("yaml", &files).iter().zip(&files) {
        let what = path.display().to_string();
        let bp: Blueprint = mirror(v, &what);
        let services = bp.services.unwrap_or_default();
        let databases = bp.databases.unwrap_or_default();
        let mut refs = 0;
        for s in &services {
            for e in s.env_vars.iter().flatten() {
                match e {
                    RenderEnvVar::Database(d) => {
                        refs += 1;
                        assert!(
                            databases.iter().any(|db| db.name == d.from_database.name),
                            "{what}: {} names database `{}`, which the Blueprint does not declare",
                            d.key,
                            d.from_database.name
                        );
                    }
                    RenderEnvVar::Service(f) => {
                        refs += 1;
                        let r = &f.from_service;
                        assert!(
                            services
                                .iter()
                                .any(|o| o.name == r.name && o.kind == r.kind),
                            "{what}: {} names {:?} `{}`, which the Blueprint does not declare",
                            f.key,
                            r.kind,
                            r.name
                        );
                    }
                    _ => {}
                }
            }
        }
        if what.contains("microservices") {
            // Postgres and Redis from the catalog became a database and a Key Value instance,
            // and both consumers reference them.
            assert_eq!(databases.len(), 1);
            assert_eq!(
                refs, 4,
                "{what}: DATABASE_URL and REDIS_URL of workflows and procedures"
            );
        }
    }
    let bad = serde_json::json!({ "services": [{ "type": "web", "name": "x", "envVars": [{ "key": "A", "valu": "b" }] }] });
    assert!(serde_json::from_value::<Blueprint>(bad).is_err());
}

// --- vercel.json ---------------------------------------------------------------------------

/// Type-checks `json` against `VercelConfig`: a fresh object literal, so TypeScript rejects
/// unknown properties at every depth. Returns (ok, compiler output).
fn tsc_check(dir: &Path, json: &str) -> (bool, String) {
    let (types, tsc) = vercel_types();
    let file = dir.join("check.ts");
    fs::write(
        &file,
        format!(
            "import type {{ VercelConfig }} from {:?};\nconst config: VercelConfig = {json};\nexport {{ config }};\n",
            types.with_extension("").with_extension("").display().to_string()
        ),
    )
    .unwrap();
    run(
        std::process::Command::new(stackdsl_tests::machine_tool("node"))
            .arg(&tsc)
            .args([
                "--noEmit",
                "--strict",
                "--lib",
                "es5",
                "--skipLibCheck",
                "--typeRoots",
            ])
            .arg(dir.join("no-types"))
            .arg(&file),
    )
}

#[test]
fn vercel_json_parses_and_type_checks_against_vercel_config() {
    let (dir, map) = files();
    let files = of(&map, Platform::Vercel);
    assert_eq!(files.len(), 2);
    let parsed = python_parse("json", &files);
    for (v, path) in parsed.iter().zip(&files) {
        let text = fs::read_to_string(path).unwrap();
        assert_eq!(&serde_json::from_str::<Value>(&text).unwrap(), v);
        let (ok, out) = tsc_check(dir.path(), &text);
        assert!(
            ok,
            "{} does not type-check as VercelConfig:\n{out}",
            path.display()
        );
        assert!(v["env"].get("SENTRY_DSN").is_none());
    }
    // Negative controls: an unknown property and a wrong type are both refused.
    let (ok, out) = tsc_check(dir.path(), r#"{ "regions": ["iad1"], "region": "iad1" }"#);
    assert!(!ok && out.contains("region"), "{out}");
    let (ok, out) = tsc_check(
        dir.path(),
        r#"{ "functions": { "api/index.ts": { "memory": "1GB" } } }"#,
    );
    assert!(!ok && out.contains("TS2322"), "{out}");
}

// --- serverless.yml ------------------------------------------------------------------------

fn check_jsonschema(schema: &Path, files: &[&Path]) -> (bool, String) {
    run(tool("check-jsonschema")
        .arg("--schemafile")
        .arg(schema)
        .args(files))
}

#[test]
fn serverless_yml_passes_the_frameworks_own_schema() {
    let (dir, map) = files();
    let files = of(&map, Platform::Serverless);
    assert_eq!(files.len(), 2);
    let parsed = python_parse("yaml", &files);
    // Secrets and platform variables by reference only: SSM parameters and stage parameters.
    for v in &parsed {
        for (k, val) in v["provider"]["environment"].as_object().unwrap() {
            let val = val.as_str().unwrap();
            assert!(
                !val.contains("${") || val.starts_with("${ssm:/") || val.starts_with("${param:"),
                "{k}: {val}"
            );
        }
    }
    let monolith = files
        .iter()
        .position(|f| f.display().to_string().contains("monolith"))
        .unwrap();
    assert_eq!(
        parsed[monolith]["provider"]["environment"]["SENTRY_DSN"],
        "${ssm:/tsdev-secrets/sentry-dsn}"
    );
    let schema = serverless_schema();
    let paths: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let (ok, out) = check_jsonschema(&schema, &paths);
    assert!(ok, "serverless@3.40.0's schema rejects the files:\n{out}");
    // Negative control: the same schema refuses an unknown runtime and an unknown key.
    let mut bad = parsed[monolith].clone();
    bad["provider"]["runtime"] = "nodejs99.x".into();
    bad["functions"]["api"]["memory"] = 512.into();
    let bad_file = dir.path().join("bad-serverless.json");
    fs::write(&bad_file, bad.to_string()).unwrap();
    let (ok, out) = check_jsonschema(&schema, &[&bad_file]);
    assert!(!ok, "the schema accepted an invalid file");
    assert!(
        out.contains("nodejs99.x") || out.contains("runtime"),
        "{out}"
    );
}

// --- emit: JSON without a marker ----------------------------------------------------------

fn shop(env: Env, with_vercel: bool) -> Stack {
    let mut targets = vec![Target::Paas(Platform::Fly)];
    if with_vercel {
        targets.push(Target::Paas(Platform::Vercel));
    }
    let mut s = Stack::new("shop", env);
    s.targets(targets);
    let http = Port::http("http", 3000);
    let api = s.add(
        Service::new("api")
            .image(Image::new("ghcr.io/acme/api").tag("1.0.0"))
            .port(http)
            .env("NODE_ENV", "production")
            .readiness(Probe::http_get("/ready", http))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(128))
                    .limits(Cpu::m(500), Memory::mi(512)),
            ),
    );
    s.paas(|p| p.app(&api).vercel(|v| v.function("api/index.ts")));
    s
}

fn synth(dir: &Path, stack: &Stack) {
    let outs: Vec<Output> = stackdsl_tests::render(stack)
        .into_iter()
        .map(|doc| Output {
            stack: stack.name.clone(),
            env: stack.env,
            doc,
        })
        .collect();
    emit::synthesize(
        dir,
        &outs,
        &Scope {
            env: Env::Prod,
            stacks: None,
        },
    )
    .unwrap();
}

#[test]
fn vercel_json_is_cleaned_up_by_content_hash_and_kept_when_edited() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("shop/paas/vercel/vercel.json");
    synth(dir.path(), &shop(Env::Prod, true));
    assert!(json.exists());
    synth(dir.path(), &shop(Env::Prod, false));
    assert!(
        !json.exists(),
        "an unchanged vercel.json we wrote is removed with its target"
    );
    assert!(dir.path().join("shop/paas/fly/fly.toml").exists());
    // Edited by hand (no marker, hash differs): kept.
    synth(dir.path(), &shop(Env::Prod, true));
    fs::write(&json, "{ \"regions\": [\"fra1\"] }\n").unwrap();
    synth(dir.path(), &shop(Env::Prod, false));
    assert!(json.exists(), "a hand-edited vercel.json must be kept");
}

// --- what platforms cannot do ---------------------------------------------------------------

fn errors(stack: &Stack) -> Errors {
    validate(stack).expect_err("the stack should be refused")
}

fn find<'a>(errors: &'a Errors, path: &str) -> &'a stackdsl::validate::Error {
    errors
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no error at `{path}` in:\n{errors}"))
}

#[test]
fn a_clustered_service_on_vercel_is_refused_and_the_error_says_why() {
    let clustered = |targets: &[Target]| {
        let mut s = shop(Env::Prod, true);
        s.targets(targets.iter().copied());
        let gossip = Port::tcp("cluster", 4369);
        let app = s.paas.app.clone().unwrap();
        s.update(&app, |b| {
            b.port(gossip).replicas(3).cluster(Cluster::new(gossip))
        });
        s
    };
    let e = errors(&clustered(&[Target::Paas(Platform::Vercel)]));
    let err = find(&e, "shop.services[api].cluster");
    assert_eq!(err.kind, ErrorKind::Unsupported);
    assert!(
        err.message.starts_with("Vercel cannot run service `api`"),
        "{err}"
    );
    assert!(
        err.message.contains("it is a cluster of 3 members"),
        "{err}"
    );
    assert!(err.message.contains("functions are stateless"), "{err}");
    assert!(err.hint.contains("Kubernetes"), "{err}");
    // Fly.io refuses it too, for its own reason.
    let e = errors(&clustered(&[Target::Paas(Platform::Fly)]));
    let err = find(&e, "shop.services[api].cluster");
    assert!(
        err.message.starts_with("Fly.io cannot run service `api`"),
        "{err}"
    );
    // The same service without the cluster passes.
    validate(&shop(Env::Prod, true)).unwrap();
}

#[test]
fn a_secret_composed_into_fly_env_is_refused_until_set_in_the_platform() {
    let mut s = shop(Env::Prod, false);
    let token = SecretRef::new("shop-secrets", "token");
    let app = s.paas.app.clone().unwrap();
    s.update(&app, |b| {
        b.env(
            "AUTH_HEADER",
            Template::new().text("Bearer ").secret(&token),
        )
    });
    let e = errors(&s);
    let err = find(&e, "shop.services[api].env[AUTH_HEADER]");
    assert!(
        err.message.contains("[env]") && err.message.contains("fly secrets set"),
        "{err}"
    );
    assert!(err.hint.contains("set_in_platform"), "{err}");
    s.paas(|p| p.set_in_platform("AUTH_HEADER", "`Bearer ` and the token"));
    validate(&s).unwrap();
    let docs = stackdsl_tests::render(&s);
    let fly = docs.iter().find(|d| d.path.ends_with("fly.toml")).unwrap();
    assert!(!fly.contents.contains("AUTH_HEADER"), "{}", fly.contents);
    let readme = docs
        .iter()
        .find(|d| d.path == "shop/paas/fly/README.md")
        .unwrap();
    assert!(
        readme
            .contents
            .contains("fly secrets set --stage AUTH_HEADER=…")
    );
}

#[test]
fn persistent_volumes_are_refused_on_function_platforms() {
    for p in [Platform::Vercel, Platform::Serverless] {
        let mut s = shop(Env::Prod, false);
        s.targets([Target::Paas(p)]);
        s.paas(|o| o.serverless(|f| f.handler("dist/h.handler")));
        let app = s.paas.app.clone().unwrap();
        s.update(&app, |b| b.mount(Mount::persistent("data", "/data")));
        let e = errors(&s);
        let err = find(&e, "shop.services[api].mounts[/data]");
        assert!(
            err.message.contains("no persistent storage"),
            "{p:?}: {err}"
        );
    }
}

#[test]
fn several_services_on_a_single_app_platform_need_an_explicit_app() {
    let mut s = shop(Env::Prod, false);
    s.paas.app = None;
    s.add(
        Service::new("worker")
            .image(Image::new("ghcr.io/acme/worker").tag("1.0.0"))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(128))
                    .limits(Cpu::m(500), Memory::mi(256)),
            ),
    );
    let e = errors(&s);
    let err = find(&e, "shop.paas.app");
    assert!(
        err.message
            .contains("describes one app, but 2 services render there (api, worker)"),
        "{err}"
    );
    assert!(err.hint.contains("p.app(&handle)"), "{err}");
}

#[test]
fn paas_targets_render_from_prod_only() {
    let e = errors(&shop(Env::Staging, false));
    let err = find(&e, "shop.targets");
    assert!(err.message.contains("prod only"), "{err}");
}

#[test]
fn urls_to_services_a_platform_does_not_run_are_refused_until_set_in_the_platform() {
    let mut s = Stack::new("shop", Env::Prod);
    s.targets(Platform::targets());
    let pg = s.backing(Postgres::new("shop", SecretRef::new("shop-secrets", "pg")));
    let mongo = s.backing(MongoDb::new(
        "root",
        SecretRef::new("shop-secrets", "mongo"),
    ));
    let http = Port::http("http", 3000);
    let api = s.add(
        Service::new("api")
            .image(Image::new("ghcr.io/acme/api").tag("1.0.0"))
            .port(http)
            .env("DATABASE_URL", pg.url())
            .env("MONGO_URL", mongo.url("shop"))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(128))
                    .limits(Cpu::m(500), Memory::mi(512)),
            ),
    );
    s.paas(|p| {
        p.app(&api)
            .vercel(|v| v.function("api/index.ts"))
            .serverless(|f| f.handler("dist/h.handler"))
    });
    let e = errors(&s);
    // Fly.io runs the app only: the database URL cannot reach it.
    let fly = e
        .iter()
        .find(|x| x.path == "shop.services[api].env[DATABASE_URL]" && x.message.contains("Fly.io"))
        .unwrap();
    assert!(fly.message.contains("deploys `api` only"), "{fly}");
    // Render has Postgres (fromDatabase) but no MongoDB.
    assert!(
        !e.iter()
            .any(|x| x.path.ends_with("env[DATABASE_URL]") && x.message.contains("Render")),
        "{e}"
    );
    let mongo_err = find(&e, "shop.services[mongo]");
    assert!(
        mongo_err.message.contains("Render has no managed MongoDB"),
        "{mongo_err}"
    );
    // Declared as set in the platform, and Mongo kept off Render, the stack passes.
    s.paas(|p| {
        p.set_in_platform("DATABASE_URL", "Postgres URL")
            .set_in_platform("MONGO_URL", "MongoDB URL")
    });
    s.update(&mongo.service, |b| {
        b.not_on([Target::Paas(Platform::Render)])
    });
    validate(&s).unwrap();
    let docs = stackdsl_tests::render(&s);
    let render = docs
        .iter()
        .find(|d| d.path == "shop/paas/render/render.yaml")
        .unwrap();
    assert!(
        render.contents.contains("databaseName: shop"),
        "{}",
        render.contents
    );
}

#[test]
fn function_platforms_need_their_entry_point() {
    let mut s = shop(Env::Prod, true);
    s.targets([
        Target::Paas(Platform::Vercel),
        Target::Paas(Platform::Serverless),
    ]);
    s.paas.vercel.function = None;
    let e = errors(&s);
    assert!(
        find(&e, "shop.paas.vercel.function")
            .hint
            .contains("v.function(")
    );
    assert!(
        find(&e, "shop.paas.serverless.handler")
            .hint
            .contains("f.handler(")
    );
}

#[test]
fn fly_machine_sizes_are_checked() {
    let mut s = shop(Env::Prod, false);
    let app = s.paas.app.clone().unwrap();
    s.update(&app, |b| {
        b.resources(
            Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(300)),
        )
    });
    let err = find(&errors(&s), "shop.services[api].resources").clone();
    assert!(
        err.message.contains("steps of 256 MiB") && err.message.contains("300 MiB"),
        "{err}"
    );
}
