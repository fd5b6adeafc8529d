//! Migrations run before the app: a one-shot Compose service the app waits for, and an init
//! container in Kubernetes that is the app container's twin (environment, mounts,
//! hardening), with the pod's egress to the database.

use serde_json::Value;
use stackdsl::model::Env;
use stackdsl::prelude::*;
use stackdsl::validate;
use stackdsl::validate::ErrorKind;

fn docs(stack: &Stack) -> Vec<stackdsl::render::Document> {
    // The prod stacks' pipeline spans environments: render with their stack function.
    let f: Option<StackFn> = match stack.name.as_str() {
        "easyflow" => Some(stacks::easyflow::easyflow),
        "potter" => Some(stacks::potter::potter),
        _ => None,
    };
    match f {
        Some(f) => stackdsl_tests::render_fn(f, stack.env),
        None => stackdsl_tests::render(stack),
    }
}

fn yaml_docs(stack: &Stack, suffix: &str) -> Vec<Value> {
    let doc = docs(stack)
        .into_iter()
        .find(|d| d.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("{} renders no {suffix}", stack.name));
    serde_saphyr::from_multiple(&doc.contents).expect("YAML")
}

fn compose(stack: &Stack) -> Value {
    yaml_docs(stack, "/compose.yaml").remove(0)
}

fn workload(stack: &Stack, service: &str) -> Value {
    yaml_docs(stack, &format!("/k8s/20-{service}.yaml"))
        .into_iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("a Deployment")
}

/// (stack, env, app service, database the migration must wait for, argv)
fn cases() -> Vec<(Stack, &'static str, &'static str, Vec<&'static str>)> {
    vec![
        (
            stacks::easyflow::easyflow(Env::Dev),
            "app",
            "postgres",
            vec!["alembic", "upgrade", "head"],
        ),
        (
            stacks::easyflow::easyflow(Env::Prod),
            "app",
            "postgres",
            vec!["alembic", "upgrade", "head"],
        ),
        (
            stacks::potter::potter(Env::Dev),
            "product-service",
            "pgbouncer",
            vec!["goose", "-dir", "migrations", "postgres", "$DB", "up"],
        ),
    ]
}

#[test]
fn compose_runs_migrations_once_before_the_app() {
    for (stack, app, db, argv) in cases() {
        let c = compose(&stack);
        let services = &c["services"];
        let one_shot = format!("{app}-migrate");
        let m = &services[&one_shot];
        let a = &services[app];
        let ctx = format!("{} ({}) {one_shot}", stack.name, stack.env);
        assert!(m.is_object(), "{ctx}: missing");
        assert_eq!(
            a["depends_on"][&one_shot]["condition"], "service_completed_successfully",
            "{ctx}"
        );
        assert_eq!(m["restart"], "no", "{ctx}");
        assert!(
            m.get("ports").is_none() && m.get("healthcheck").is_none(),
            "{ctx}"
        );
        assert_eq!(
            m["depends_on"][db]["condition"], "service_healthy",
            "{ctx}: waits for the database"
        );
        // Derived, not copied: the app's environment, image/build, mounts and hardening.
        for key in [
            "environment",
            "image",
            "build",
            "tmpfs",
            "user",
            "read_only",
            "cap_drop",
            "security_opt",
        ] {
            assert_eq!(m.get(key), a.get(key), "{ctx}: {key}");
        }
        let entry: Vec<String> = m["entrypoint"]
            .as_array()
            .expect("entrypoint")
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let url = a["environment"]["DATABASE_URL"].as_str().unwrap();
        let expected: Vec<String> = argv
            .iter()
            .map(|a| {
                if *a == "$DB" {
                    url.to_owned()
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        assert_eq!(
            entry, expected,
            "{ctx}: `$(DATABASE_URL)` becomes the app's value"
        );
        assert!(
            m.get("deploy").and_then(|d| d.get("replicas")).is_none(),
            "{ctx}: one instance"
        );
    }
}

#[test]
fn kubernetes_init_container_is_the_app_containers_twin() {
    for (stack, app) in [
        (stacks::easyflow::easyflow(Env::Staging), "app"),
        (stacks::easyflow::easyflow(Env::Prod), "app"),
        (stacks::potter::potter(Env::Staging), "product-service"),
        (stacks::potter::potter(Env::Prod), "product-service"),
    ] {
        let d = workload(&stack, app);
        let pod = &d["spec"]["template"]["spec"];
        let ctx = format!("{} ({})", stack.name, stack.env);
        let inits = pod["initContainers"].as_array().expect("initContainers");
        assert_eq!(inits.len(), 1, "{ctx}");
        let (init, main) = (&inits[0], &pod["containers"][0]);
        assert_eq!(init["name"], "migrate", "{ctx}");
        for key in [
            "env",
            "image",
            "imagePullPolicy",
            "securityContext",
            "resources",
            "volumeMounts",
        ] {
            assert_eq!(init.get(key), main.get(key), "{ctx}: {key}");
        }
        assert_eq!(init["securityContext"]["runAsNonRoot"], true, "{ctx}");
        assert_eq!(
            init["securityContext"]["readOnlyRootFilesystem"], true,
            "{ctx}"
        );
        assert!(init.get("ports").is_none() && init.get("readinessProbe").is_none());
        let cmd: Vec<&str> = init["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        if stack.name == "potter" {
            // Kubernetes expands `$(DATABASE_URL)` from the container's env: no shell needed.
            assert_eq!(
                cmd,
                [
                    "goose",
                    "-dir",
                    "migrations",
                    "postgres",
                    "$(DATABASE_URL)",
                    "up"
                ]
            );
            assert!(
                init["env"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["name"] == "DATABASE_URL"),
                "{ctx}"
            );
        } else {
            assert_eq!(cmd, ["alembic", "upgrade", "head"]);
        }
    }
}

#[test]
fn the_pods_egress_reaches_the_database() {
    for (stack, app, db_pod) in [
        // CloudNativePG's instances carry their cluster's name.
        (stacks::easyflow::easyflow(Env::Prod), "app", "postgres"),
        (
            stacks::potter::potter(Env::Prod),
            "product-service",
            "pgbouncer",
        ),
    ] {
        let policies = yaml_docs(&stack, "/k8s/30-network-policies.yaml");
        let policy = policies
            .iter()
            .find(|p| p["metadata"]["name"] == app)
            .expect("the app's policy");
        let egress = serde_json::to_string(&policy["spec"]["egress"]).unwrap();
        assert!(
            egress.contains(&format!("\"{db_pod}\"")),
            "{} {app}: no egress to {db_pod}: {egress}",
            stack.name
        );
    }
}

fn api(m: Migration) -> Stack {
    let mut s = Stack::new("mig", Env::Dev);
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0"))
            .env("DATABASE_URL", "postgres://db/app")
            .migrations(m),
    );
    s
}

#[test]
fn a_command_referencing_an_unset_variable_is_reported_at_its_path() {
    let errors = validate(&api(Migration::command([
        "goose",
        "postgres",
        "$(DATABSE_URL)",
        "up",
    ])))
    .unwrap_err();
    let e = errors.iter().next().unwrap();
    assert_eq!(errors.len(), 1, "{errors}");
    assert_eq!(e.kind, ErrorKind::InvalidValue);
    assert_eq!(e.path, "mig.services[api].migrations");
    assert!(e.message.contains("$(DATABSE_URL)"), "{e}");
    assert!(e.hint.contains("DATABASE_URL"), "{e}");

    let empty = validate(&api(Migration::command(Vec::<String>::new()))).unwrap_err();
    assert!(empty.iter().any(|e| e.message.contains("empty")), "{empty}");
}

#[test]
fn the_one_shot_service_name_may_not_clash() {
    let mut s = api(Migration::command(["migrate"]));
    s.add(Service::new("api-migrate").image(Image::new("acme/x").tag("1")));
    let errors = validate(&s).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.kind == ErrorKind::DuplicateName && e.path.ends_with("[api].migrations")),
        "{errors}"
    );
}

#[test]
fn another_tool_image_and_escaped_dollars() {
    let s = api(
        Migration::command(["sh", "-c", "echo $$(date) $(DATABASE_URL)"])
            .image(Image::new("acme/migrator").tag("2.0")),
    );
    let c = compose(&s);
    let m = &c["services"]["api-migrate"];
    assert_eq!(m["image"], "acme/migrator:2.0");
    // Compose: the variable's value, and the literal `$(` escaped as `$$(`.
    assert_eq!(m["entrypoint"][2], "echo $$(date) postgres://db/app");
    let mut k = api(
        Migration::command(["sh", "-c", "echo $$(date) $(DATABASE_URL)"])
            .image(Image::new("acme/migrator").tag("2.0")),
    );
    k.targets([Target::Kubernetes]);
    let d = workload(&k, "api");
    let init = &d["spec"]["template"]["spec"]["initContainers"][0];
    assert_eq!(init["image"], "acme/migrator:2.0");
    assert_eq!(init["command"][2], "echo $$(date) $(DATABASE_URL)");
}

#[test]
fn services_without_migrations_are_unchanged() {
    let s = stacks::easyflow::easyflow(Env::Prod);
    let c = compose(&s);
    let worker = &c["services"]["celery-worker"];
    assert!(
        worker["depends_on"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.ends_with("-migrate"))
    );
    assert!(c["services"].get("celery-worker-migrate").is_none());
    let d = workload(&s, "celery-worker");
    assert!(
        d["spec"]["template"]["spec"]
            .get("initContainers")
            .is_none()
    );
}
