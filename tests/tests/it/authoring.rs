//! The authoring API: the secrets group, conditional building and the Kubernetes group
//! are ways of writing a stack, not new output. Each test builds one stack two ways — with
//! the API under test and with the plain calls it stands for — and requires identical
//! files, plus the specific lines that prove the setting took effect.

use stackdsl::prelude::*;
use stackdsl::render::Document;

/// Every file of `s`, after validation.
fn files(s: &Stack) -> Vec<Document> {
    stackdsl_tests::render(s)
}

fn file<'a>(docs: &'a [Document], path: &str) -> &'a str {
    docs.iter()
        .find(|d| d.path == path)
        .map(|d| d.contents.as_str())
        .unwrap_or_else(|| {
            panic!(
                "no {path} among {:?}",
                docs.iter().map(|d| &d.path).collect::<Vec<_>>()
            )
        })
}

fn image() -> Image {
    Image::new("acme/api").tag("1.0.0")
}

fn resources() -> Resources {
    Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256))
}

// --- Secrets -------------------------------------------------------------------------------

const SECRETS: Secrets = Secrets::external("shop-secrets");
const UPLOADER: Secrets = Secrets::external("shop-backup-s3").var_prefix("SHOP_BACKUP");

/// A service reading one key of each Secret; `grouped` chooses how the references are made.
fn secrets_stack(grouped: bool) -> Stack {
    let (db, key) = if grouped {
        (
            SECRETS
                .key("db-password")
                .describe("Password of the shop role"),
            UPLOADER
                .key("access-key-id")
                .describe("Access key of the backup uploader"),
        )
    } else {
        (
            SecretRef::new("shop-secrets", "db-password").describe("Password of the shop role"),
            SecretRef::new("shop-backup-s3", "access-key-id")
                .var_name("SHOP_BACKUP_ACCESS_KEY_ID")
                .describe("Access key of the backup uploader"),
        )
    };
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Compose, Target::Kubernetes]);
    s.add(
        Service::new("api")
            .image(image())
            .env("DB_PASSWORD", db)
            .env("AWS_ACCESS_KEY_ID", key)
            .resources(resources()),
    );
    s
}

#[test]
fn a_secrets_group_renders_exactly_the_references_it_stands_for() {
    let grouped = files(&secrets_stack(true));
    assert_eq!(grouped, files(&secrets_stack(false)));

    // The group's name and keys reach Kubernetes; the prefix names the variable elsewhere.
    let env_example = file(&grouped, "shop/prod/.env.example");
    assert!(
        env_example.contains("SHOP_SECRETS_DB_PASSWORD="),
        "{env_example}"
    );
    assert!(
        env_example.contains("SHOP_BACKUP_ACCESS_KEY_ID="),
        "{env_example}"
    );
    let workload = file(&grouped, "shop/prod/k8s/20-api.yaml");
    for (name, key) in [
        ("shop-secrets", "db-password"),
        ("shop-backup-s3", "access-key-id"),
    ] {
        assert!(
            workload.contains(&format!("key: {key}\n                  name: {name}\n")),
            "no secretKeyRef to {name}/{key} in:\n{workload}"
        );
    }
}

// --- Autoscaling behaviour -------------------------------------------------------------------

/// The HPA's `behavior` for an api autoscaled with `autoscale`.
fn hpa_behavior(autoscale: Autoscale) -> serde_json::Value {
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Kubernetes]);
    s.add(
        Service::new("api")
            .image(image())
            .resources(resources())
            .autoscale(autoscale),
    );
    let docs = files(&s);
    let yaml = file(&docs, "shop/prod/k8s/20-api.yaml");
    let hpa: serde_json::Value = serde_saphyr::from_multiple::<serde_json::Value>(yaml)
        .expect("YAML")
        .into_iter()
        .find(|o| o["kind"] == "HorizontalPodAutoscaler")
        .expect("an HPA");
    hpa["spec"]["behavior"].clone()
}

#[test]
fn scaling_setters_render_the_hpa_behavior_they_name() {
    let behavior = hpa_behavior(
        Autoscale::between(3, 20)
            .cpu(70)
            .scale_up(
                Scaling::percent(50)
                    .every(Window::secs(30))
                    .stabilized_over(Window::minutes(1)),
            )
            .scale_down(Scaling::percent(10)),
    );
    assert_eq!(
        behavior,
        serde_json::json!({
            "scaleUp": {
                "stabilizationWindowSeconds": 60,
                "policies": [{ "type": "Percent", "value": 50, "periodSeconds": 30 }],
            },
            // No window given: Kubernetes' own default applies, so none is written.
            "scaleDown": {
                "policies": [{ "type": "Percent", "value": 10, "periodSeconds": 60 }],
            },
        })
    );
    assert_eq!(
        hpa_behavior(Autoscale::between(3, 20).cpu(70)),
        serde_json::Value::Null
    );
}

// --- Conditional building ----------------------------------------------------------------------

/// An api and its database that differ by environment, written with `when`/`apply`
/// (`combinators`) or with the `let mut` and `if` they replace.
fn conditional_stack(env: Env, combinators: bool) -> Stack {
    let http = Port::http("http", 3000);
    let (dev, prod) = (env == Env::Dev, env == Env::Prod);
    let mut s = Stack::new("shop", env);
    s.targets(if dev {
        vec![Target::Compose]
    } else {
        vec![Target::Kubernetes]
    });
    let password = SECRETS.key("postgres-password");
    let api = Service::new("api")
        .image(image())
        .port(http)
        .resources(resources());
    if combinators {
        let pg = s.backing(
            stackdsl::catalog::Postgres::new("shop", password)
                .when(prod, |pg| pg.storage(Memory::gi(50))),
        );
        s.add(
            api.env("DATABASE_URL", pg.url())
                .when(dev, |api| api.publish(http, 3000))
                .apply(|api| match env {
                    Env::Dev => api,
                    Env::Staging => api.replicas(2),
                    Env::Prod => api.replicas(3).autoscale(Autoscale::between(3, 6).cpu(70)),
                }),
        );
    } else {
        let mut pg = stackdsl::catalog::Postgres::new("shop", password);
        if prod {
            pg = pg.storage(Memory::gi(50));
        }
        let pg = s.backing(pg);
        let mut api = api.env("DATABASE_URL", pg.url());
        if dev {
            api = api.publish(http, 3000);
        }
        api = match env {
            Env::Dev => api,
            Env::Staging => api.replicas(2),
            Env::Prod => api.replicas(3).autoscale(Autoscale::between(3, 6).cpu(70)),
        };
        s.add(api);
    }
    s
}

#[test]
fn when_and_apply_build_what_the_branches_they_replace_build() {
    for env in Env::ALL {
        assert_eq!(
            files(&conditional_stack(env, true)),
            files(&conditional_stack(env, false)),
            "{env}"
        );
    }
    // The conditions decide: published in dev only, autoscaled in prod only, a larger
    // volume in prod only.
    let api = |env| {
        conditional_stack(env, true)
            .service("api")
            .cloned()
            .unwrap()
    };
    assert_eq!(
        Env::ALL.map(|env| (
            api(env).publish.len(),
            api(env).replicas,
            api(env).autoscale.is_some()
        )),
        [(1, 1, false), (0, 2, false), (0, 3, true)]
    );
    let volume = |env| {
        let s = conditional_stack(env, true);
        let pg = s.service("postgres").unwrap();
        match &pg.mounts[0].source {
            stackdsl::model::VolumeSource::Persistent { size, .. } => size.map(|m| m.to_string()),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(volume(Env::Staging).as_deref(), Some("10Gi"));
    assert_eq!(volume(Env::Prod).as_deref(), Some("50Gi"));
}

// --- The Kubernetes group ----------------------------------------------------------------------

/// A replicated api on Compose and Kubernetes, with or without Kubernetes-only settings.
fn kubernetes_group_stack(group: bool) -> Stack {
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Compose, Target::Kubernetes]);
    s.add(
        Service::new("api")
            .image(image())
            .config("LOG_LEVEL", "info")
            .replicas(3)
            .resources(resources())
            .when(group, |api| {
                api.kubernetes(|k| {
                    k.main_container_name("app")
                        .rollout(Rollout::rolling(2, 0))
                        .spread(Spread::AcrossZones)
                        .disruption(Disruption::MaxUnavailable(1))
                        .egress(Egress::cidr("203.0.113.0/24").port(5432))
                        .annotation("example.com/team", "payments")
                        .config_map_use(ConfigMapUse::ReadByApp)
                })
            }),
    );
    s
}

/// The objects of a multi-document YAML file.
fn objects(yaml: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple(yaml).expect("YAML")
}

fn kind<'a>(objects: &'a [serde_json::Value], kind: &str) -> &'a serde_json::Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn the_kubernetes_group_sets_the_same_fields_the_model_has() {
    // Written through the group, or straight into the model: the same files.
    let mut by_hand = kubernetes_group_stack(false);
    let api = &mut by_hand.services[0];
    api.main_container_name = Some("app".to_owned());
    api.rollout = Some(Rollout::rolling(2, 0));
    api.spread = Some(Spread::AcrossZones);
    api.disruption = Some(Disruption::MaxUnavailable(1));
    api.egress = vec![Egress::cidr("203.0.113.0/24").port(5432)];
    api.annotations = vec![("example.com/team".to_owned(), "payments".to_owned())];
    api.config_map_use = ConfigMapUse::ReadByApp;
    assert_eq!(files(&kubernetes_group_stack(true)), files(&by_hand));
}

#[test]
fn the_kubernetes_group_changes_kubernetes_objects_and_nothing_else() {
    let (with, without) = (
        files(&kubernetes_group_stack(true)),
        files(&kubernetes_group_stack(false)),
    );
    assert_eq!(
        file(&with, "shop/prod/compose.yaml"),
        file(&without, "shop/prod/compose.yaml")
    );

    let api = objects(file(&with, "shop/prod/k8s/20-api.yaml"));
    let deployment = kind(&api, "Deployment");
    let pod = &deployment["spec"]["template"];
    let container = &pod["spec"]["containers"][0];
    assert_eq!(container["name"], "app");
    // ReadByApp: the ConfigMap is published, the container gets no variable for it.
    assert!(
        container["env"]
            .as_array()
            .is_none_or(|e| e.iter().all(|v| v["name"] != "LOG_LEVEL")),
        "{container}"
    );
    assert_eq!(
        deployment["spec"]["strategy"]["rollingUpdate"],
        serde_json::json!({ "maxSurge": 2, "maxUnavailable": 0 })
    );
    assert_eq!(
        pod["spec"]["topologySpreadConstraints"][0]["topologyKey"],
        "topology.kubernetes.io/zone"
    );
    assert_eq!(
        pod["metadata"]["annotations"]["example.com/team"],
        "payments"
    );
    assert_eq!(
        kind(&api, "PodDisruptionBudget")["spec"]["maxUnavailable"],
        1
    );

    let policies = objects(file(&with, "shop/prod/k8s/30-network-policies.yaml"));
    assert!(
        policies
            .iter()
            .any(|p| p["spec"]["egress"].as_array().is_some_and(|rules| rules
                .iter()
                .any(|r| r["to"][0]["ipBlock"]["cidr"] == "203.0.113.0/24"))),
        "no egress rule to 203.0.113.0/24 in {policies:?}"
    );
}
