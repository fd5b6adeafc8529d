//! Escape hatches (issue 18 item 1), one test per hatch: typed Kubernetes patches (and
//! the errors of a patch that matches nothing or breaks a reference), pod patches, extra
//! objects (typed, dynamic, and a custom resource checked against its CRD schema), raw
//! Compose keys (accepted by `docker compose config`, each spec key known to it), Helm
//! values and charts of catalog items, and custom renderers joining the manifest and
//! `--check`.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};
use stackdsl::catalog::{PgBouncer, Postgres, Redis};
use stackdsl::k8s_openapi::api::apps::v1::Deployment;
use stackdsl::k8s_openapi::api::core::v1::{
    ConfigMap, ResourceQuota, ResourceQuotaSpec, Service as KService, ServiceAccount,
};
use stackdsl::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use stackdsl::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use stackdsl::model::{HelmChart, ObjectScope};
use stackdsl::prelude::*;
use stackdsl::render::Document;
use stackdsl::validate::ErrorKind;
use stackdsl_tests::{npm_install, run, tool, validation_errors, workspace_root};

fn sized() -> Resources {
    Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256))
}

/// One API with a port, a probe and a configuration value, rendered to Kubernetes
/// (staging, prod) or Compose (dev).
fn base(env: Env) -> Stack {
    base_with(env, |b| b)
}

/// [`base`], with `api` changed by `f`.
fn base_with(
    env: Env,
    f: impl FnOnce(ServiceBuilder<HasImage>) -> ServiceBuilder<HasImage>,
) -> Stack {
    let mut s = Stack::new("hatch", env);
    s.targets(match env {
        Env::Dev => vec![Target::Compose],
        _ => vec![Target::Kubernetes],
    });
    let http = Port::http("http", 8080);
    s.add(f(Service::new("api")
        .image(Image::new("ghcr.io/acme/api").tag("1.0.0"))
        .port(http)
        .config("LOG_LEVEL", "info")
        .readiness(Probe::http_get("/ready", http))
        .resources(sized())
        .replicas(2)));
    s
}

fn render(s: &Stack) -> Result<Vec<Document>, stackdsl::diagnostics::Errors> {
    let plan = stackdsl::validate(s).unwrap_or_else(|e| panic!("{e}"));
    stackdsl::render(&plan)
}

fn file<'d>(docs: &'d [Document], suffix: &str) -> &'d str {
    &docs
        .iter()
        .find(|d| d.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix}"))
        .contents
}

fn paths(errors: &stackdsl::diagnostics::Errors) -> Vec<String> {
    errors.iter().map(|e| e.path.to_string()).collect()
}

#[test]
fn a_typed_patch_changes_the_rendered_object_before_the_check() {
    let mut s = base(Env::Staging);
    s.kubernetes_patch::<Deployment>("api", |d| {
        let spec = d.spec.as_mut().expect("a Deployment has a spec");
        spec.revision_history_limit = Some(3);
        spec.min_ready_seconds = Some(10);
    });
    let before = render(&base(Env::Staging)).unwrap();
    let docs = render(&s).unwrap();
    let api = file(&docs, "k8s/20-api.yaml");
    assert!(
        api.contains("  minReadySeconds: 10\n") && api.contains("  revisionHistoryLimit: 3\n"),
        "{api}"
    );
    // Only the patched fields changed, and the output is byte-stable.
    let old = file(&before, "k8s/20-api.yaml");
    assert_eq!(api.lines().count(), old.lines().count() + 2);
    assert_eq!(render(&s).unwrap(), docs);
}

#[test]
fn a_patch_that_matches_no_rendered_object_is_a_validation_error() {
    let mut s = base(Env::Staging);
    let line = line!() + 1;
    s.kubernetes_patch::<Deployment>("apii", |_| {});
    s.kubernetes_patch::<ConfigMap>("api-config", |_| {});
    let errors = stackdsl::validate(&s).unwrap_err();
    assert_eq!(paths(&errors), ["hatch.kubernetes_patch[Deployment/apii]"]);
    let e = errors.iter().next().unwrap();
    assert_eq!(e.kind, ErrorKind::UnknownService);
    assert_eq!(e.origin.map(|o| o.line), Some(line));
    assert!(
        e.message.contains("the manifests' Deployments are: api"),
        "{}",
        e.message
    );
    // A service a Helm release installs has no objects to patch.
    let mut s = base(Env::Staging);
    s.targets([Target::Kubernetes, Target::Terraform]);
    s.backing(Postgres::new("shop", SecretRef::new("hatch-secrets", "pg")));
    s.kubernetes_patch::<stackdsl::k8s_openapi::api::apps::v1::StatefulSet>("postgres", |_| {});
    let errors = stackdsl::validate(&s).unwrap_err();
    assert_eq!(
        paths(&errors),
        ["hatch.kubernetes_patch[StatefulSet/postgres]"]
    );
    // Without the Kubernetes target nothing is rendered, and nothing is reported.
    let mut dev = base(Env::Dev);
    dev.kubernetes_patch::<Deployment>("apii", |_| {});
    stackdsl::validate(&dev).expect("patches only apply where Kubernetes renders");
}

#[test]
fn a_patch_that_breaks_a_reference_is_an_error_with_a_path() {
    // A selector that matches no pod.
    let mut s = base(Env::Staging);
    let line = line!() + 1;
    s.kubernetes_patch::<KService>("api", |svc| {
        let spec = svc.spec.as_mut().unwrap();
        spec.selector = Some([("app".to_owned(), "nope".to_owned())].into());
    });
    let errors = render(&s).unwrap_err();
    assert_eq!(paths(&errors), ["hatch.k8s.Service/api.spec.selector"]);
    let e = errors.iter().next().unwrap();
    assert_eq!(e.kind, ErrorKind::BrokenReference);
    assert_eq!(e.origin.map(|o| o.line), Some(line), "points at the patch");
    assert!(
        e.message.contains("after the patch declared at"),
        "{}",
        e.message
    );

    // A port name the Service and the probe use.
    let mut s = base(Env::Staging);
    s.kubernetes_patch::<Deployment>("api", |d| {
        let pod = d.spec.as_mut().unwrap().template.spec.as_mut().unwrap();
        for p in pod.containers[0].ports.iter_mut().flatten() {
            p.name = Some("web".into());
        }
    });
    let errors = render(&s).unwrap_err();
    assert_eq!(
        paths(&errors),
        [
            "hatch.k8s.Deployment/api.spec.template.spec.containers[api].readinessProbe",
            "hatch.k8s.Service/api.spec.ports[http].targetPort",
        ]
    );

    // A ConfigMap key a container reads.
    let mut s = base(Env::Staging);
    s.kubernetes_patch::<ConfigMap>("api-config", |c| {
        c.data.as_mut().unwrap().remove("LOG_LEVEL");
    });
    let errors = render(&s).unwrap_err();
    assert_eq!(
        paths(&errors),
        ["hatch.k8s.Deployment/api.spec.template.spec.containers[api].env[LOG_LEVEL]"]
    );
    assert!(
        errors
            .iter()
            .next()
            .unwrap()
            .message
            .contains("has no such key"),
        "{errors}"
    );
}

#[test]
fn a_pod_patch_reaches_the_workload_and_is_checked() {
    let mut s = Stack::new("hatch", Env::Staging);
    s.targets([Target::Kubernetes]);
    s.add(
        Service::new("api")
            .image(Image::new("ghcr.io/acme/api").tag("1.0.0"))
            .resources(sized())
            .kubernetes(|k| {
                k.pod(|p| {
                    p.node_selector = Some([("disktype".to_owned(), "ssd".to_owned())].into());
                    p.priority_class_name = Some("critical".into());
                })
            }),
    );
    let docs = render(&s).unwrap();
    let api = file(&docs, "k8s/20-api.yaml");
    assert!(
        api.contains("      nodeSelector:\n        disktype: ssd\n")
            && api.contains("      priorityClassName: critical\n"),
        "{api}"
    );
    // A cluster's StatefulSet is patched like a Deployment.
    let gossip = Port::tcp("cluster", 4369);
    let s = base_with(Env::Staging, |b| {
        b.port(gossip)
            .replicas(3)
            .cluster(Cluster::new(gossip))
            .kubernetes(|k| k.pod(|p| p.priority_class_name = Some("critical".into())))
    });
    let docs = render(&s).unwrap();
    let api = file(&docs, "k8s/20-api.yaml");
    assert!(
        api.contains("kind: StatefulSet\n") && api.contains("      priorityClassName: critical\n"),
        "{api}"
    );
    // A mount of a volume the pod does not define is caught after the patch.
    let s = base_with(Env::Staging, |b| {
        b.kubernetes(|k| {
            k.pod(|p| {
                p.containers[0].volume_mounts =
                    Some(vec![stackdsl::k8s_openapi::api::core::v1::VolumeMount {
                        name: "cache".into(),
                        mount_path: "/cache".into(),
                        ..Default::default()
                    }]);
            })
        })
    });
    let errors = render(&s).unwrap_err();
    assert_eq!(
        paths(&errors),
        ["hatch.k8s.Deployment/api.spec.template.spec.containers[api].volumeMounts[cache]"]
    );
    // A service a Helm release installs has no pods in the manifests.
    let mut s = base(Env::Staging);
    s.targets([Target::Kubernetes, Target::Terraform]);
    let redis = s.backing(Redis::new(SecretRef::new("hatch-secrets", "redis")));
    s.update(&redis.service, |b| b.kubernetes(|k| k.pod(|_| {})));
    let errors = stackdsl::validate(&s).unwrap_err();
    assert_eq!(paths(&errors), ["hatch.services[redis].kubernetes"]);
}

#[test]
fn extra_typed_objects_join_the_files_and_the_kustomization() {
    let mut s = base_with(Env::Staging, |b| {
        b.kubernetes(|k| {
            k.object(ServiceAccount {
                metadata: ObjectMeta {
                    name: Some("api-reader".into()),
                    ..Default::default()
                },
                automount_service_account_token: Some(false),
                ..Default::default()
            })
        })
    });
    s.kubernetes_object(ResourceQuota {
        metadata: ObjectMeta {
            name: Some("compute".into()),
            ..Default::default()
        },
        spec: Some(ResourceQuotaSpec {
            hard: Some([("limits.cpu".to_owned(), Quantity("8".into()))].into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    let docs = render(&s).unwrap();
    let extra = file(&docs, "k8s/80-extra.yaml");
    assert!(
        extra.starts_with("# Generated by stackdsl from "),
        "{extra}"
    );
    assert!(
        extra.contains(
            "---\napiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: compute\n  namespace: hatch-staging\n"
        ),
        "{extra}"
    );
    let svc_file = file(&docs, "k8s/20-api.yaml");
    let tail = svc_file.rsplit("---\n").next().unwrap();
    assert_eq!(
        tail,
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: api-reader\n  namespace: hatch-staging\nautomountServiceAccountToken: false\n",
        "the service's own objects come first, then its extras:\n{svc_file}"
    );
    let kustomization = file(&docs, "k8s/kustomization.yaml");
    assert!(
        kustomization.ends_with("  - 30-network-policies.yaml\n  - 80-extra.yaml\n"),
        "{kustomization}"
    );
    // The folder is valid for the real tools.
    let dir = tempfile::tempdir().unwrap();
    write_k8s(&docs, dir.path());
    let yaml: Vec<_> = [
        "00-namespace.yaml",
        "20-api.yaml",
        "30-network-policies.yaml",
        "80-extra.yaml",
    ]
    .iter()
    .map(|f| dir.path().join(f))
    .collect();
    let (ok, out) = run(tool("kubernetes-validate")
        .args(["--strict", "-k", "1.33.0", "--quiet"])
        .args(&yaml));
    assert!(ok, "kubernetes-validate --strict failed:\n{out}");
    let (ok, out) = run(std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir.path()));
    assert!(ok && out.contains("kind: ResourceQuota"), "{out}");
}

fn write_k8s(docs: &[Document], dir: &Path) {
    for d in docs.iter().filter(|d| d.path.contains("/k8s/")) {
        let name = d.path.rsplit('/').next().unwrap();
        fs::write(dir.join(name), &d.contents).unwrap();
    }
}

#[test]
fn extra_objects_take_part_in_the_cross_check() {
    // A typed Service that selects no pod.
    let mut s = base(Env::Staging);
    s.kubernetes_object(KService {
        metadata: ObjectMeta {
            name: Some("api-debug".into()),
            ..Default::default()
        },
        spec: Some(stackdsl::k8s_openapi::api::core::v1::ServiceSpec {
            selector: Some([("app.kubernetes.io/name".to_owned(), "apj".to_owned())].into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    let errors = render(&s).unwrap_err();
    assert_eq!(
        paths(&errors),
        ["hatch.k8s.Service/api-debug.spec.selector"]
    );
    // A dynamic object of a kind k8s-openapi types is read into that type: a field it does
    // not have is a validation error, and one object clashing with ours is reported.
    let mut s = base(Env::Staging);
    s.kubernetes_custom(
        ObjectScope::Namespaced,
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "api-config" },
            "dataa": { "x": "y" },
        }),
    );
    let errors = stackdsl::validate(&s).unwrap_err();
    assert_eq!(
        paths(&errors),
        ["hatch.kubernetes_objects[ConfigMap/api-config]"]
    );
    assert!(
        errors.iter().next().unwrap().message.contains("`dataa`"),
        "{errors}"
    );
    let mut s = base(Env::Staging);
    s.kubernetes_custom(
        ObjectScope::Namespaced,
        json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "api-config" } }),
    );
    let errors = render(&s).unwrap_err();
    assert_eq!(paths(&errors)[0], "hatch.k8s.ConfigMap/api-config");
    assert!(
        errors
            .iter()
            .next()
            .unwrap()
            .message
            .contains("rendered twice"),
        "{errors}"
    );
    // A custom resource's scale target must be a workload of the manifests.
    let mut s = base(Env::Staging);
    s.kubernetes_custom(ObjectScope::Namespaced, scaled_object("apj"));
    let errors = render(&s).unwrap_err();
    assert_eq!(
        paths(&errors),
        ["hatch.k8s.ScaledObject/api.spec.scaleTargetRef"]
    );
}

/// A KEDA ScaledObject scaling Deployment `target` on CPU.
fn scaled_object(target: &str) -> Value {
    json!({
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": { "name": "api" },
        "spec": {
            "scaleTargetRef": { "name": target },
            "minReplicaCount": 2,
            "maxReplicaCount": 10,
            "triggers": [{ "type": "cpu", "metricType": "Utilization", "metadata": { "value": "70" } }],
        },
    })
}

#[test]
fn a_custom_resource_passes_its_crd_schema() {
    let s = base_with(Env::Staging, |b| {
        b.kubernetes(|k| k.custom_object(ObjectScope::Namespaced, scaled_object("api")))
    });
    let docs = render(&s).unwrap();
    let text = file(&docs, "k8s/20-api.yaml");
    let objects: Vec<Value> = serde_saphyr::from_multiple(text).unwrap();
    let so = objects
        .iter()
        .find(|o| o["kind"] == "ScaledObject")
        .expect("the ScaledObject is in the service's file");
    assert_eq!(so["metadata"]["namespace"], "hatch-staging");
    // Keys keep the order given.
    let keys: Vec<&String> = so["spec"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "scaleTargetRef",
            "minReplicaCount",
            "maxReplicaCount",
            "triggers"
        ]
    );
    // KEDA's CRD schema, from the pinned `@kubernetes-models/keda` package's validator.
    let modules = npm_install(&[
        "@kubernetes-models/keda@2.0.0",
        "@kubernetes-models/validate@5.0.2",
        "@kubernetes-models/base@6.0.1",
        "@kubernetes-models/apimachinery@3.0.2",
        "kubernetes-models@5.1.0",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("scaled-object.json");
    fs::write(&good, so.to_string()).unwrap();
    let mut bad_object = so.clone();
    bad_object["spec"]["minReplicaCount"] = json!("two");
    bad_object["spec"]
        .as_object_mut()
        .unwrap()
        .remove("scaleTargetRef");
    let bad = dir.path().join("bad.json");
    fs::write(&bad, bad_object.to_string()).unwrap();
    let validate = |f: &Path| {
        run(std::process::Command::new("node")
            .arg(workspace_root().join("tests/validators/crd_model_validate.mjs"))
            .arg(&modules)
            .arg("@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject.js")
            .arg("ScaledObject")
            .arg(f))
    };
    let (ok, out) = validate(&good);
    assert!(ok, "the ScaledObject fails KEDA's schema:\n{out}");
    // Negative control: the validator rejects a broken one.
    let (ok, out) = validate(&bad);
    assert!(!ok && out.contains("scaleTargetRef"), "{out}");
}

/// Dev's Compose file of a service with raw keys.
fn compose_keys(env: Env) -> Stack {
    base_with(env, |b| {
        b.compose(|c| {
            c.extra("stop_signal", "SIGINT")
                .extra("sysctls", json!({ "net.core.somaxconn": 1024 }))
                .extra("labels", json!({ "com.example.team": "shop" }))
                .extra("x-owner", "shop-team")
                .replace("restart", "on-failure:3")
        })
    })
}

#[test]
fn raw_compose_keys_merge_into_the_service_and_pass_docker_compose() {
    let docs = render(&compose_keys(Env::Dev)).unwrap();
    let compose = file(&docs, "compose.yaml");
    let doc: Value = serde_saphyr::from_str(compose).unwrap();
    let api = &doc["services"]["api"];
    assert_eq!(api["stop_signal"], "SIGINT");
    assert_eq!(api["sysctls"]["net.core.somaxconn"], 1024);
    assert_eq!(api["restart"], "on-failure:3");
    assert_eq!(compose.matches("restart:").count(), 1, "{compose}");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("compose.yaml");
    fs::write(&f, compose).unwrap();
    let (ok, out) = run(tool("docker-compose")
        .arg("-f")
        .arg(&f)
        .args(["config", "--format", "json"]));
    assert!(ok, "docker compose config rejected the keys:\n{out}");
    let json_start = out.find('{').unwrap();
    let parsed: Value = serde_json::from_str(&out[json_start..]).unwrap();
    assert_eq!(parsed["services"]["api"]["stop_signal"], json!("SIGINT"));

    // What the keys may be.
    let bad = |f: fn(
        &mut stackdsl::builder::ServiceCompose,
    ) -> &mut stackdsl::builder::ServiceCompose| {
        validation_errors(&base_with(Env::Dev, |b| b.compose(f)))
    };
    let e = bad(|c| c.extra("shm_sise", "1g"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].1, "hatch.services[api].compose[shm_sise]");
    assert!(e[0].2.contains("did you mean `shm_size`?"), "{e:?}");
    let e = bad(|c| c.extra("restart", "always"));
    assert!(e[0].2.contains("replace it explicitly"), "{e:?}");
    let e = bad(|c| c.replace("labels", json!({})));
    assert!(e[0].2.contains("nothing to replace"), "{e:?}");
    let e = bad(|c| c.extra("labels", json!({})).extra("labels", json!({})));
    assert!(e[0].2.contains("set twice"), "{e:?}");
}

#[test]
fn every_compose_key_stackdsl_accepts_is_known_to_docker_compose() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("compose.yaml");
    // An unknown key is refused as such ("false schema": no property of that name);
    // a known key with a value of the wrong shape fails differently, or not at all.
    let probe = |key: &str| {
        let image = if key == "image" { "" } else { "    image: x\n" };
        fs::write(
            &f,
            format!("services:\n  a:\n{image}    {key}: {{stackdsl_probe: [1]}}\n"),
        )
        .unwrap();
        run(tool("docker-compose")
            .arg("-f")
            .arg(&f)
            .args(["config", "--quiet"]))
    };
    let (ok, out) = probe("shm_sise");
    assert!(!ok && out.contains("shm_sise false schema"), "{out}");
    let unknown: Vec<String> = stackdsl::render::compose::SPEC_KEYS
        .iter()
        .filter_map(|key| {
            let (_, out) = probe(key);
            out.contains(&format!("{key} false schema"))
                .then(|| format!("{key}: {out}"))
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "keys the pinned docker compose does not know:\n{}",
        unknown.join("\n")
    );
    assert_eq!(stackdsl::render::compose::SPEC_KEYS.len(), 92);
}

#[test]
fn helm_values_and_chart_reach_the_release() {
    let mut s = base(Env::Staging);
    s.targets([Target::Kubernetes, Target::Terraform]);
    s.backing(
        Redis::new(SecretRef::new("hatch-secrets", "redis"))
            .chart(HelmChart::new(
                "oci://registry.example.com/mirror",
                "valkey",
                "0.11.1",
            ))
            .helm_values(
                "resources",
                json!({ "resources": { "limits": { "memory": "1Gi" } } }),
            )
            .helm_values("tuning", json!({ "priorityClassName": "critical" })),
    );
    let docs = render(&s).unwrap();
    let main = file(&docs, "terraform/main.tf");
    assert!(
        main.contains("\"oci://registry.example.com/mirror\"")
            && main.contains("version    = \"0.11.1\"")
            && main.contains("values/redis-tuning.yaml"),
        "{main}"
    );
    let resources: Value =
        serde_saphyr::from_str(file(&docs, "terraform/values/redis-resources.yaml")).unwrap();
    assert_eq!(resources["resources"]["limits"]["memory"], "1Gi");
    assert!(
        resources["resources"]["requests"].is_object()
            && resources["resources"]["limits"]["cpu"].is_string(),
        "the catalog's values stay: {resources:?}"
    );
    let tuning = file(&docs, "terraform/values/redis-tuning.yaml");
    assert!(
        tuning.ends_with("\npriorityClassName: critical\n"),
        "{tuning}"
    );

    // Overrides that reach no release (a service of the manifests, one an operator runs),
    // values that are not a map, an unpinned chart.
    let mut s = base(Env::Staging);
    s.targets([Target::Kubernetes, Target::Terraform]);
    let pg = s.backing(
        Postgres::new("shop", SecretRef::new("hatch-secrets", "pg"))
            .helm_values("tuning", json!({ "x": 1 })),
    );
    s.backing(PgBouncer::new(&pg).helm_values("pool", json!({ "x": 1 })));
    s.backing(
        Redis::new(SecretRef::new("hatch-secrets", "redis"))
            .chart(HelmChart::new("registry.example.com", "redis", "^23"))
            .helm_values("tuning", json!([1])),
    );
    let errors = stackdsl::validate(&s).unwrap_err();
    let operated = errors.iter().next().unwrap();
    assert!(
        operated
            .message
            .contains("run by the CloudNativePG operator from custom resources"),
        "{operated}"
    );
    assert_eq!(
        paths(&errors),
        [
            "hatch.services[postgres].backing",
            "hatch.backing",
            "hatch.services[redis].backing.values",
            "hatch.services[redis].backing.chart",
            "hatch.services[redis].backing.chart",
        ]
    );
}

fn with_renderer(env: Env) -> Stack {
    let mut s = base(env);
    s.renderer("inventory", |plan| {
        let names: Vec<String> = plan
            .stack()
            .services
            .iter()
            .map(|s| format!("  - {}\n", s.name))
            .collect();
        vec![Document::new(
            "inventory/services.yaml",
            format!("services:\n{}", names.concat()),
        )]
    });
    s
}

fn escaping(env: Env) -> Stack {
    let mut s = base(env);
    s.renderer("evil", |_| {
        vec![
            Document::new("../../escape.yaml", "x: 1\n"),
            Document::new("compose.yaml", "x: 1\n"),
            Document::new("dashboard.json", "{}\n"),
        ]
    });
    s
}

#[test]
fn custom_renderers_join_the_manifest_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let r = stackdsl_tests::cli(
        Env::Dev,
        &[with_renderer],
        &["--allow-outside", "--out", out_s],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let path = out.join("hatch/dev/inventory/services.yaml");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# Generated by stackdsl from "), "{text}");
    assert!(text.ends_with("services:\n  - api\n"), "{text}");
    let manifest = fs::read_to_string(out.join(".stackdsl-manifest")).unwrap();
    assert!(
        manifest.contains("  dev  hatch  hatch/dev/inventory/services.yaml\n"),
        "{manifest}"
    );
    let r = stackdsl_tests::cli(Env::Dev, &[with_renderer], &["--check", "--out", out_s]);
    assert_eq!(r.code, 0, "{r:?}");
    fs::write(&path, text.replace("- api", "- web")).unwrap();
    let r = stackdsl_tests::cli(Env::Dev, &[with_renderer], &["--check", "--out", out_s]);
    assert_ne!(r.code, 0, "--check missed an edited custom file: {r:?}");
    assert!(
        r.stdout.contains("inventory/services.yaml")
            || r.stderr.contains("inventory/services.yaml"),
        "{r:?}"
    );
    // Paths outside the folder, onto our files, or without comments are errors.
    let errors =
        stackdsl::synthesize(Env::Dev, &[escaping], Default::default()).expect_err("refused");
    let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
    assert_eq!(paths(&errors), ["hatch.renderers[evil]"; 3], "{messages:?}");
    assert!(
        messages[0].contains("leaves or re-enters the folder"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("which stackdsl writes"),
        "{messages:?}"
    );
    assert!(messages[2].contains("without comments"), "{messages:?}");
}
