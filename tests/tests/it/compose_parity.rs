//! Compose parity (issue 22 item 4): the keys real compose files use, typed, rendered by
//! Compose, answered by Kubernetes (an equivalent, an error or a warning) and checked by
//! `docker-compose config`. One test per setting, each with the output or the error it
//! must produce.

use std::fs;

use serde_json::Value;
use stackdsl::diagnostics::WarningKind;
use stackdsl::model::{Condition, Device, EnvFile, Param, Ulimit};
use stackdsl::prelude::*;
use stackdsl::render::Document;
use stackdsl::validate::ErrorKind;
use stackdsl_tests::{run, tool};

/// `(kind, path)` of every validation error.
fn validation_errors(s: &Stack) -> Vec<(ErrorKind, String)> {
    stackdsl_tests::validation_errors(s)
        .into_iter()
        .map(|(kind, path, _)| (kind, path))
        .collect()
}

fn image(name: &str) -> Image {
    Image::new(format!("ghcr.io/acme/{name}")).tag("1.0.0")
}

fn sized() -> Resources {
    Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(512))
}

fn stack(targets: &[Target]) -> Stack {
    let mut s = Stack::new("parity", Env::Dev);
    s.targets(targets.iter().copied());
    s
}

fn compose(docs: &[Document]) -> Value {
    let doc = docs
        .iter()
        .find(|d| d.path.ends_with("compose.yaml"))
        .expect("a compose file");
    serde_saphyr::from_str(&doc.contents).expect("compose.yaml parses")
}

fn file<'d>(docs: &'d [Document], end: &str) -> &'d str {
    &docs
        .iter()
        .find(|d| d.path.ends_with(end))
        .unwrap_or_else(|| panic!("no {end}"))
        .contents
}

/// `docker-compose config` accepts the file, with a value for every variable
/// `.env.example` lists.
fn compose_config_accepts(docs: &[Document]) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = String::new();
    for d in docs {
        let path = dir
            .path()
            .join(d.path.split('/').skip(2).collect::<Vec<_>>().join("/"));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &d.contents).unwrap();
        if d.path.ends_with(".env.example") {
            for line in d
                .contents
                .lines()
                .filter(|l| !l.starts_with('#') && l.contains('='))
            {
                env.push_str(&format!("{}/srv/x\n", line));
            }
        }
    }
    fs::write(dir.path().join(".env"), env).unwrap();
    let (ok, out) = run(tool("docker-compose").current_dir(dir.path()).args([
        "-f",
        "compose.yaml",
        "config",
        "--quiet",
    ]));
    assert!(ok, "docker-compose config rejected it:\n{out}");
}

#[test]
fn shm_size_is_shm_size_in_compose_and_a_sized_memory_volume_in_kubernetes() {
    let mut s = stack(&[Target::Compose, Target::Kubernetes]);
    s.add(
        Service::new("browser")
            .image(image("browser"))
            .resources(sized())
            .shm_size(Memory::mi(256)),
    );
    let docs = stackdsl_tests::render(&s);
    let c = compose(&docs);
    assert_eq!(c["services"]["browser"]["shm_size"], "256M");
    assert_eq!(c["services"]["browser"].get("tmpfs"), None);
    let k8s = file(&docs, "20-browser.yaml");
    assert!(
        k8s.contains("            - mountPath: /dev/shm\n              name: shm\n"),
        "{k8s}"
    );
    assert!(
        k8s.contains(
            "        - emptyDir:\n            medium: Memory\n            sizeLimit: 256Mi\n          name: shm\n"
        ),
        "{k8s}"
    );
    compose_config_accepts(&docs);

    // More shared memory than the memory limit: the container would be killed first.
    let mut over = stack(&[Target::Compose]);
    over.add(
        Service::new("browser")
            .image(image("browser"))
            .resources(sized())
            .shm_size(Memory::gi(1)),
    );
    assert_eq!(
        validation_errors(&over),
        [(
            ErrorKind::InvalidValue,
            "parity.services[browser].shm_size".to_owned()
        )]
    );
    // A scratch mount at /dev/shm is an unbounded tmpfs: refused, pointing at the setter.
    let mut scratch = stack(&[Target::Compose]);
    scratch.add(
        Service::new("browser")
            .image(image("browser"))
            .mount(Mount::scratch("/dev/shm")),
    );
    let errors = stackdsl::validate(&scratch).unwrap_err();
    assert!(
        errors.to_string().contains(".shm_size(Memory::mi(…))"),
        "{errors}"
    );
}

#[test]
fn ulimits_render_in_compose_and_warn_where_kubernetes_cannot_set_them() {
    let mut s = stack(&[Target::Compose, Target::Kubernetes]);
    s.add(
        Service::new("events")
            .image(image("events"))
            .resources(sized())
            .ulimit(Ulimit::nofile(262_144, 262_144))
            .ulimit(Ulimit::nproc(4096, -1)),
    );
    let plan = stackdsl::validate(&s).unwrap();
    let gaps: Vec<_> = plan
        .warnings()
        .iter()
        .filter(|w| w.kind == WarningKind::TargetGap)
        .collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].path, "parity.services[events].ulimits[nofile]");
    assert!(
        gaps[0]
            .message
            .contains("nofile 262144/262144, nproc 4096/-1")
    );
    let docs = stackdsl::render(&plan).unwrap();
    let c = compose(&docs);
    assert_eq!(
        c["services"]["events"]["ulimits"],
        serde_json::json!({"nofile": {"soft": 262144, "hard": 262144}, "nproc": {"soft": 4096, "hard": -1}})
    );
    compose_config_accepts(&docs);
    // Compose alone: nothing to warn about.
    let mut compose_only = stack(&[Target::Compose]);
    compose_only.add(
        Service::new("events")
            .image(image("events"))
            .ulimit(Ulimit::nofile(1024, 2048)),
    );
    let plan = stackdsl::validate(&compose_only).unwrap();
    assert!(
        plan.warnings()
            .iter()
            .all(|w| w.kind != WarningKind::TargetGap)
    );
}

#[test]
fn devices_render_in_compose_and_are_refused_by_kubernetes_and_paas() {
    let transcoder = || {
        Service::new("transcoder")
            .image(image("transcoder"))
            .resources(sized())
            .device(Device::new("/dev/dri/renderD128").read_write())
    };
    let mut s = stack(&[Target::Compose]);
    s.add(transcoder());
    let docs = stackdsl_tests::render(&s);
    assert_eq!(
        compose(&docs)["services"]["transcoder"]["devices"],
        serde_json::json!(["/dev/dri/renderD128:/dev/dri/renderD128:rw"])
    );
    compose_config_accepts(&docs);

    let mut k = stack(&[Target::Compose, Target::Kubernetes]);
    k.add(transcoder());
    let errors = stackdsl::validate(&k).unwrap_err();
    let e = errors.iter().next().unwrap();
    assert_eq!(
        (e.kind, e.path.to_string()),
        (
            ErrorKind::Unsupported,
            "parity.services[transcoder].devices[/dev/dri/renderD128]".to_owned()
        )
    );
    assert!(e.hint.contains("only_on([Target::Compose])"), "{}", e.hint);

    let mut paas = stack(&[Target::Paas(Platform::Fly)]);
    paas.add(transcoder());
    let errors = stackdsl::validate(&paas).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.path == "parity.services[transcoder].devices"),
        "{errors}"
    );
}

#[test]
fn host_folders_are_required_parameters_listed_in_env_example() {
    let uploads =
        Param::new("UPLOAD_LOCATION").describe("Folder on the Docker host that keeps uploads");
    let mut s = stack(&[Target::Compose]);
    s.add(
        Service::new("server")
            .image(image("server"))
            .mount(Mount::host_dir(&uploads, "/data")),
    );
    s.add(
        Service::new("worker")
            .image(image("worker"))
            .mount(Mount::host_dir(&uploads, "/data").read_only()),
    );
    let docs = stackdsl_tests::render(&s);
    let c = compose(&docs);
    assert_eq!(
        c["services"]["server"]["volumes"][0],
        "${UPLOAD_LOCATION:?set it in .env (see .env.example)}:/data"
    );
    assert_eq!(
        c["services"]["worker"]["volumes"][0],
        "${UPLOAD_LOCATION:?set it in .env (see .env.example)}:/data:ro"
    );
    let example = file(&docs, ".env.example");
    assert!(
        example.contains("\n# Folder on the Docker host that keeps uploads. Used by: server, worker.\nUPLOAD_LOCATION=\n"),
        "{example}"
    );
    assert!(file(&docs, "compose.yaml").contains("# Parameters come from `.env`"));
    compose_config_accepts(&docs);
    // Without `.env`, Compose refuses to start and names the variable.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("compose.yaml"), file(&docs, "compose.yaml")).unwrap();
    let (ok, out) = run(tool("docker-compose").current_dir(dir.path()).args([
        "-f",
        "compose.yaml",
        "config",
        "--quiet",
    ]));
    assert!(!ok && out.contains("UPLOAD_LOCATION"), "{out}");

    // Kubernetes has no deploy-time parameters.
    let mut k = stack(&[Target::Kubernetes]);
    k.add(
        Service::new("server")
            .image(image("server"))
            .resources(sized())
            .mount(Mount::host_dir(&uploads, "/data")),
    );
    assert_eq!(
        validation_errors(&k),
        [(
            ErrorKind::Unsupported,
            "parity.services[server].mounts[/data]".to_owned()
        )]
    );
    // The name must be a variable name.
    let mut bad = stack(&[Target::Compose]);
    bad.add(
        Service::new("server")
            .image(image("server"))
            .mount(Mount::host_dir(&Param::new("upload-dir"), "/data")),
    );
    assert_eq!(
        validation_errors(&bad),
        [(
            ErrorKind::InvalidName,
            "parity.services[server].mounts[/data]".to_owned()
        )]
    );
}

#[test]
fn depends_on_conditions_are_explicit_and_checked() {
    let mut s = stack(&[Target::Compose]);
    let setup = s.add(
        Service::new("setup")
            .image(image("setup"))
            .restart(Restart::Never),
    );
    let cache = s.add(Service::new("cache").image(image("cache")));
    let http = Port::http("http", 8080);
    let db = s.add(
        Service::new("db")
            .image(image("db"))
            .port(http)
            .readiness(Probe::http_get("/ready", http))
            .health_tool(HealthTool::Wget),
    );
    s.add(
        Service::new("api")
            .image(image("api"))
            .depends_on_when(&setup, Condition::CompletedSuccessfully)
            .depends_on_when(&cache, Condition::Started)
            .depends_on_when(&db, Condition::Healthy),
    );
    let docs = stackdsl_tests::render(&s);
    assert_eq!(
        compose(&docs)["services"]["api"]["depends_on"],
        serde_json::json!({
            "setup": {"condition": "service_completed_successfully"},
            "cache": {"condition": "service_started"},
            "db": {"condition": "service_healthy"},
        })
    );
    compose_config_accepts(&docs);

    // Healthy without a Compose healthcheck; completed for a service that restarts.
    let mut bad = stack(&[Target::Compose]);
    let cache = bad.add(Service::new("cache").image(image("cache")));
    bad.add(
        Service::new("api")
            .image(image("api"))
            .depends_on_when(&cache, Condition::Healthy),
    );
    bad.add(
        Service::new("web")
            .image(image("web"))
            .depends_on_when(&cache, Condition::CompletedSuccessfully),
    );
    assert_eq!(
        validation_errors(&bad),
        [
            (
                ErrorKind::Unsupported,
                "parity.services[api].depends_on[cache]".to_owned()
            ),
            (
                ErrorKind::Unsupported,
                "parity.services[web].depends_on[cache]".to_owned()
            ),
        ]
    );
    // Kubernetes cannot wait for a workload to complete.
    let mut k = stack(&[Target::Kubernetes]);
    let setup = k.add(
        Service::new("setup")
            .image(image("setup"))
            .resources(sized())
            .restart(Restart::Never),
    );
    k.add(
        Service::new("api")
            .image(image("api"))
            .resources(sized())
            .depends_on_when(&setup, Condition::CompletedSuccessfully),
    );
    assert!(validation_errors(&k).contains(&(
        ErrorKind::Unsupported,
        "parity.services[api].depends_on[setup]".to_owned()
    )));
}

#[test]
fn the_images_own_healthcheck_is_waited_for_and_never_overwritten() {
    let mut s = stack(&[Target::Compose]);
    let http = Port::http("http", 8080);
    let db = s.add(
        Service::new("db")
            .image(image("db"))
            .port(http)
            .readiness(Probe::http_get("/ready", http))
            .health_tool(HealthTool::ImageHealthcheck),
    );
    s.add(Service::new("api").image(image("api")).depends_on(&db));
    let docs = stackdsl_tests::render(&s);
    let c = compose(&docs);
    assert_eq!(c["services"]["db"].get("healthcheck"), None);
    assert_eq!(
        c["services"]["api"]["depends_on"]["db"]["condition"],
        "service_healthy"
    );

    // Kubernetes ignores Docker's HEALTHCHECK: with no probe the run says so.
    let mut k = stack(&[Target::Compose, Target::Kubernetes]);
    k.add(
        Service::new("db")
            .image(image("db"))
            .resources(sized())
            .health_tool(HealthTool::ImageHealthcheck),
    );
    let plan = stackdsl::validate(&k).unwrap();
    assert!(
        plan.warnings().iter().any(
            |w| w.kind == WarningKind::TargetGap && w.path == "parity.services[db].health_tool"
        ),
        "{:?}",
        plan.warnings()
    );
}

#[test]
fn healthchecks_default_to_timeouts_and_a_start_period_real_images_need() {
    let mut s = stack(&[Target::Compose]);
    let http = Port::http("http", 8080);
    s.add(
        Service::new("api")
            .image(image("api"))
            .port(http)
            .readiness(Probe::http_get("/ready", http))
            .health_tool(HealthTool::Wget),
    );
    s.add(
        Service::new("fast")
            .image(image("fast"))
            .port(http)
            .readiness(Probe::http_get("/ready", http).period(2).initial_delay(5))
            .health_tool(HealthTool::Wget),
    );
    let c = compose(&stackdsl_tests::render(&s));
    let api = &c["services"]["api"]["healthcheck"];
    assert_eq!(
        (&api["timeout"], &api["start_period"]),
        (&Value::from("5s"), &Value::from("60s"))
    );
    // Never longer than the period; a stated initial delay is the start period.
    let fast = &c["services"]["fast"]["healthcheck"];
    assert_eq!(
        (&fast["timeout"], &fast["start_period"]),
        (&Value::from("2s"), &Value::from("5s"))
    );
    // Kubernetes keeps its own default (1 s) for the kubelet's request.
    let mut k = stack(&[Target::Kubernetes]);
    k.add(
        Service::new("api")
            .image(image("api"))
            .resources(sized())
            .port(http)
            .readiness(Probe::http_get("/ready", http)),
    );
    let k8s = stackdsl_tests::render(&k);
    let api = file(&k8s, "20-api.yaml");
    assert!(
        api.contains("readinessProbe:") && !api.contains("timeoutSeconds: 5"),
        "{api}"
    );
}

#[test]
fn no_tool_warning_names_the_choices() {
    let mut s = stack(&[Target::Compose]);
    let http = Port::http("http", 8080);
    s.add(
        Service::new("api")
            .image(image("api"))
            .port(http)
            .readiness(Probe::http_get("/ready", http)),
    );
    let plan = stackdsl::validate(&s).unwrap();
    let w = &plan.warnings()[0];
    for choice in [
        "HealthTool::Wget",
        "HealthTool::Curl",
        "HealthTool::ImageHealthcheck",
        "HealthTool::None",
    ] {
        assert!(w.hint.contains(choice), "{}", w.hint);
    }
}

#[test]
fn project_name_profiles_env_files_and_passed_variables() {
    let mut s = stack(&[Target::Compose]);
    s.compose(|c| c.project_name("acme_parity"));
    let db = s.add(Service::new("db").image(image("db")));
    s.add(
        Service::new("admin")
            .image(image("admin"))
            .depends_on(&db)
            .compose(|c| c.profile("admin").container_name("acme_admin")),
    );
    s.add(
        Service::new("api")
            .image(image("api"))
            .env("LOG_LEVEL", "info")
            .compose(|c| {
                c.env_file("api.env")
                    .env_file(EnvFile::new("local.env").optional())
                    .pass_env(["SMTP_HOST", "SMTP_PORT"])
            }),
    );
    let docs = stackdsl_tests::render(&s);
    let c = compose(&docs);
    assert_eq!(c["name"], "acme_parity");
    assert_eq!(
        c["services"]["admin"]["profiles"],
        serde_json::json!(["admin"])
    );
    assert_eq!(c["services"]["admin"]["container_name"], "acme_admin");
    assert_eq!(
        c["services"]["api"]["env_file"],
        serde_json::json!(["api.env", {"path": "local.env", "required": false}])
    );
    assert_eq!(
        c["services"]["api"]["environment"],
        serde_json::json!({"LOG_LEVEL": "info", "SMTP_HOST": null, "SMTP_PORT": null})
    );
    // The passed-through names are listed, commented out, in `.env.example`.
    assert!(
        file(&docs, ".env.example").contains(
            "# Optional: passed to api when set here (the app's own default otherwise).\n# SMTP_HOST=\n# SMTP_PORT=\n"
        ),
        "{}",
        file(&docs, ".env.example")
    );
    let mut with_env = docs.clone();
    with_env.push(Document::new("parity/dev/api.env", "A=1\n"));
    compose_config_accepts(&with_env);

    // An always-started service may not depend on an optional one.
    let mut bad = stack(&[Target::Compose]);
    let admin = bad.add(
        Service::new("admin")
            .image(image("admin"))
            .compose(|c| c.profile("admin")),
    );
    bad.add(Service::new("api").image(image("api")).depends_on(&admin));
    assert_eq!(
        validation_errors(&bad),
        [(
            ErrorKind::Unsupported,
            "parity.services[api].depends_on[admin]".to_owned()
        )]
    );
    // A dependant started with the same profile is fine; with another profile it is not.
    for (profile, refused) in [("admin", false), ("report", true)] {
        let mut s = stack(&[Target::Compose]);
        let admin = s.add(
            Service::new("admin")
                .image(image("admin"))
                .compose(|c| c.profile("admin")),
        );
        s.add(
            Service::new("report")
                .image(image("report"))
                .compose(|c| c.profile(profile))
                .depends_on(&admin),
        );
        let want = if refused {
            vec![(
                ErrorKind::Unsupported,
                "parity.services[report].depends_on[admin]".to_owned(),
            )]
        } else {
            Vec::new()
        };
        assert_eq!(validation_errors(&s), want, "dependant's profile {profile}");
    }
    // Env files stay beside compose.yaml: empty, absolute and `..` paths are each refused.
    for path in ["", "/etc/app.env", "../app.env", "conf/../../app.env"] {
        let mut s = stack(&[Target::Compose]);
        s.add(
            Service::new("api")
                .image(image("api"))
                .compose(|c| c.env_file(path)),
        );
        assert_eq!(
            validation_errors(&s),
            [(
                ErrorKind::InvalidValue,
                format!("parity.services[api].compose.env_file[{path}]")
            )],
            "{path:?}"
        );
    }
    // A variable is passed through once, and only when the service does not set it: each
    // mistake alone is reported.
    for (passed, set) in [
        (&["SMTP_HOST", "SMTP_HOST"][..], None),
        (&["SMTP_HOST"], Some("SMTP_HOST")),
    ] {
        let mut s = stack(&[Target::Compose]);
        let mut api = Service::new("api").image(image("api"));
        if let Some(name) = set {
            api = api.env(name, "mail");
        }
        s.add(api.compose(|c| c.pass_env(passed.iter().copied())));
        assert_eq!(
            validation_errors(&s),
            [(
                ErrorKind::DuplicateName,
                "parity.services[api].compose.pass_env[SMTP_HOST]".to_owned()
            )],
            "{passed:?} {set:?}"
        );
    }
}

#[test]
fn container_names_are_unambiguous_and_validated_per_target() {
    // Compose's fixed name allows `_`; it cannot be shared or scaled.
    let mut s = stack(&[Target::Compose]);
    s.add(
        Service::new("a")
            .image(image("a"))
            .compose(|c| c.container_name("app_server")),
    );
    s.add(
        Service::new("b")
            .image(image("b"))
            .replicas(2)
            .compose(|c| c.container_name("app_server")),
    );
    assert_eq!(
        validation_errors(&s),
        [
            (
                ErrorKind::Unsupported,
                "parity.services[b].compose.container_name".to_owned()
            ),
            (
                ErrorKind::DuplicateName,
                "parity.services[b].compose.container_name".to_owned()
            ),
        ]
    );
    // The Kubernetes main container's name is a DNS label, with a suggestion.
    let mut k = stack(&[Target::Kubernetes]);
    k.add(
        Service::new("a")
            .image(image("a"))
            .resources(sized())
            .kubernetes(|k| k.main_container_name("app_server")),
    );
    let errors = stackdsl::validate(&k).unwrap_err();
    let e = errors.iter().next().unwrap();
    assert_eq!(e.path.to_string(), "parity.services[a].main_container_name");
    assert!(e.hint.contains("`app-server`"), "{}", e.hint);
}

#[test]
fn raw_keys_with_a_typed_setting_are_refused_with_the_setter() {
    for (key, setter) in [
        ("shm_size", ".shm_size(Memory::mi(…))"),
        ("ulimits", ".ulimit(Ulimit::nofile(…))"),
        ("devices", ".device(Device::new(…))"),
        ("container_name", "c.container_name(…)"),
        ("profiles", "c.profile(…)"),
        ("env_file", "c.env_file(…)"),
    ] {
        let mut s = stack(&[Target::Compose]);
        s.add(
            Service::new("api")
                .image(image("api"))
                .compose(|c| c.extra(key, "x")),
        );
        let errors = stackdsl_tests::validation_errors(&s);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].1, format!("parity.services[api].compose[{key}]"));
        assert!(errors[0].2.contains(setter), "{key}: {}", errors[0].2);
    }
}

#[test]
fn settings_compose_alone_reads_are_announced_where_kubernetes_renders_the_service() {
    let mut s = stack(&[Target::Compose, Target::Kubernetes]);
    s.add(
        Service::new("api")
            .image(image("api"))
            .resources(sized())
            .compose(|c| c.env_file("api.env").pass_env(["SMTP_HOST"])),
    );
    let plan = stackdsl::validate(&s).unwrap();
    let w: Vec<_> = plan
        .warnings()
        .iter()
        .filter(|w| w.kind == WarningKind::TargetGap)
        .collect();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].path, "parity.services[api].compose");
    assert!(
        w[0].message
            .contains("env file api.env; 1 passed through from `.env` (SMTP_HOST)"),
        "{}",
        w[0].message
    );
}
