//! External Secrets and GitOps: an `ExternalSecret` per referenced Secret when a stack names
//! a store (and the cross-check requires them), the Argo CD and Flux objects per
//! environment with their sync settings, and every custom resource the Kubernetes target
//! renders (these, Gateway API and Envoy Gateway objects) against its CRD schema from the
//! pinned `@kubernetes-models` packages.

use std::collections::BTreeMap;
use std::fs;

use serde_json::Value;
use stackdsl::model::Part;
use stackdsl::prelude::*;
use stackdsl::render::k8s::{Object, cross_check};
use stackdsl_tests::fixtures::grpc_gateway;
use stackdsl_tests::{
    corpus, crd_validate, files_with_suffix, manifests, render_fn, validation_errors,
};

fn doc(f: StackFn, env: Env, suffix: &str) -> String {
    render_fn(f, env)
        .into_iter()
        .find(|d| d.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix}"))
        .contents
}

fn yaml(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple(text).expect("YAML")
}

#[test]
fn every_referenced_secret_becomes_an_external_secret_with_its_remote_keys() {
    let stack = stacks::easyflow::easyflow(Env::Prod);
    let plan = stackdsl::validate(&stack).unwrap();
    // name → keys, from the plan's inventory.
    let mut inventory: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for u in plan.secrets(Target::Kubernetes) {
        inventory
            .entry(u.secret.name().to_owned())
            .or_default()
            .push(u.secret.key().to_owned());
    }
    let objects = yaml(&doc(
        stacks::easyflow::easyflow,
        Env::Prod,
        "k8s/10-external-secrets.yaml",
    ));
    // Secrets of an operator's own shape are assembled by a template (below).
    let (shaped, objects): (Vec<&Value>, Vec<&Value>) = objects
        .iter()
        .partition(|o| o["spec"]["target"]["template"].is_object());
    let rendered: BTreeMap<String, Vec<String>> = objects
        .iter()
        .map(|o| {
            assert_eq!(o["apiVersion"], "external-secrets.io/v1");
            assert_eq!(
                o["spec"]["secretStoreRef"],
                serde_json::json!({"kind": "ClusterSecretStore", "name": "vault-backend"})
            );
            assert_eq!(o["spec"]["target"]["name"], o["metadata"]["name"]);
            assert_eq!(o["spec"]["target"]["creationPolicy"], "Owner");
            let keys = o["spec"]["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    // One remote secret per Secret and environment, a property per key.
                    assert_eq!(
                        d["remoteRef"]["key"],
                        format!("easyflow/prod/{}", o["metadata"]["name"].as_str().unwrap())
                    );
                    assert_eq!(d["remoteRef"]["property"], d["secretKey"]);
                    d["secretKey"].as_str().unwrap().to_owned()
                })
                .collect();
            (o["metadata"]["name"].as_str().unwrap().to_owned(), keys)
        })
        .collect();
    assert_eq!(rendered, inventory);
    assert!(!inventory.is_empty());
    // Each shaped Secret: its type and keys, every value it reads fetched from the store
    // under the key its template names.
    let want: Vec<_> = plan.shaped_secrets().map(|(_, sh)| sh).collect();
    assert_eq!(shaped.len(), want.len());
    assert!(
        !want.is_empty(),
        "easyflow's CloudNativePG reads a shaped Secret"
    );
    for (o, sh) in shaped.iter().zip(want) {
        assert_eq!(o["metadata"]["name"], sh.name.as_str());
        let template = &o["spec"]["target"]["template"];
        assert_eq!(template["type"].as_str(), sh.kind.as_deref());
        assert_eq!(template["engineVersion"], "v2");
        let keys: Vec<&str> = template["data"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let want_keys: Vec<&str> = sh.data.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, want_keys);
        for (key, value) in &sh.data {
            let rendered = template["data"][key].as_str().unwrap();
            for part in value.parts() {
                if let Part::Secret(k) = part {
                    assert!(
                        rendered.contains(&format!("{{{{ .{} }}}}", k.var())),
                        "{rendered}"
                    );
                    let read = o["spec"]["data"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|d| d["secretKey"] == k.var())
                        .unwrap_or_else(|| panic!("{} is not read: {o}", k.var()));
                    assert_eq!(
                        read["remoteRef"],
                        serde_json::json!({"key": format!("easyflow/prod/{}", k.name()), "property": k.key()})
                    );
                }
            }
        }
    }
    let readme = doc(stacks::easyflow::easyflow, Env::Prod, "k8s/README.md");
    assert!(
        !readme.contains("kubectl -n easyflow create secret"),
        "{readme}"
    );
    assert!(
        readme.contains("## Secrets, synced from ClusterSecretStore `vault-backend`"),
        "{readme}"
    );
    // Without a store the cluster owner creates them, as before.
    let readme = doc(stacks::srvthreds::srvthreds, Env::Prod, "k8s/README.md");
    assert!(
        readme.contains("kubectl -n srvthreds-prod create secret generic srvthreds-secrets"),
        "{readme}"
    );
    assert!(
        render_fn(stacks::srvthreds::srvthreds, Env::Prod)
            .iter()
            .all(|d| !d.path.ends_with("10-external-secrets.yaml"))
    );
}

#[test]
fn per_key_remote_keys_and_the_refresh_come_from_the_store() {
    let objects = yaml(&doc(
        grpc_gateway,
        Env::Prod,
        "k8s/10-external-secrets.yaml",
    ));
    assert_eq!(objects.len(), 1);
    let spec = &objects[0]["spec"];
    assert_eq!(spec["refreshInterval"], "15m");
    assert_eq!(spec["secretStoreRef"]["kind"], "SecretStore");
    assert_eq!(
        spec["data"][0],
        serde_json::json!({"secretKey": "api-token", "remoteRef": {"key": "orders-secrets/api-token"}})
    );
}

/// With a store, the Secrets exist because ExternalSecrets write them: a key no
/// ExternalSecret writes is a broken reference, even though the stack declares it.
#[test]
fn the_cross_check_requires_secrets_to_come_from_external_secrets() {
    let stack = stacks::easyflow::easyflow(Env::Prod);
    let mut m = manifests(&stack);
    assert!(m.synced);
    assert!(cross_check("easyflow", &m).is_empty());
    for o in m.objects_mut() {
        if let Object::ExternalSecret(e) = o {
            e.spec.data.retain(|d| d.secret_key != "openai-api-key");
        }
    }
    let errors = cross_check("easyflow", &m);
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|e| e
            .message
            .contains("reads key `openai-api-key` of Secret `easyflow-secrets`")),
        "{errors:#?}"
    );
    // Without a store, the declared Secrets are the cluster owner's and need no object.
    let mut srv = stacks::srvthreds::srvthreds(Env::Prod);
    assert!(cross_check("srvthreds", &manifests(&srv)).is_empty());
    srv.kubernetes(|k| k.secret_store(SecretStore::cluster("vault")));
    let mut m = manifests(&srv);
    m.files.retain(|f| f.name != "10-external-secrets.yaml");
    assert!(!cross_check("srvthreds", &m).is_empty());
}

#[test]
fn gitops_objects_deploy_each_environment_from_the_ci_repository() {
    let argo = |env: Env| yaml(&doc(stacks::easyflow::easyflow, env, "gitops/argocd.yaml"));
    for env in [Env::Staging, Env::Prod] {
        let objects = argo(env);
        let project = &objects[0];
        assert_eq!(project["kind"], "AppProject");
        assert_eq!(
            project["spec"]["destinations"][0]["namespace"],
            if env == Env::Prod {
                "easyflow"
            } else {
                "easyflow-staging"
            }
        );
        let app = &objects[1];
        assert_eq!(app["metadata"]["name"], format!("easyflow-{env}"));
        assert_eq!(app["metadata"]["namespace"], "argocd");
        assert_eq!(app["spec"]["project"], format!("easyflow-{env}"));
        assert_eq!(
            app["spec"]["source"],
            serde_json::json!({
                "repoURL": "https://github.com/easyflow/easyflow-deploy.git",
                "targetRevision": "main",
                "path": format!("out/easyflow/{env}/k8s"),
            })
        );
        let sync = &app["spec"]["syncPolicy"];
        assert!(
            sync["syncOptions"]
                .as_array()
                .unwrap()
                .contains(&Value::from("CreateNamespace=true"))
        );
        assert_eq!(sync["retry"]["backoff"]["maxDuration"], "3m");
        // Prod is synced by a person.
        match env {
            Env::Prod => assert!(sync.get("automated").is_none(), "{sync}"),
            _ => assert_eq!(
                sync["automated"],
                serde_json::json!({"prune": true, "selfHeal": true, "allowEmpty": false})
            ),
        }
        // The autoscaler owns the app's replicas.
        assert_eq!(app["spec"]["ignoreDifferences"][0]["name"], "app");
    }
    // Flux: staging follows the branch, prod the release tags; both prune and wait.
    for (env, reference) in [
        (Env::Staging, serde_json::json!({"branch": "main"})),
        (Env::Prod, serde_json::json!({"semver": ">=0.0.0"})),
    ] {
        let objects = yaml(&doc(stacks::potter::potter, env, "gitops/flux.yaml"));
        assert_eq!(objects[0]["kind"], "GitRepository");
        assert_eq!(objects[0]["spec"]["ref"], reference);
        assert_eq!(
            objects[0]["spec"]["url"],
            "https://github.com/potter/product-service.git"
        );
        let k = &objects[1]["spec"];
        assert_eq!(
            (k["prune"].as_bool(), k["wait"].as_bool()),
            (Some(true), Some(true))
        );
        assert_eq!(k["path"], format!("./out/potter/{env}/k8s"));
        assert_eq!(k["sourceRef"]["name"], format!("potter-{env}"));
        assert_eq!(
            k["patches"][0]["target"],
            serde_json::json!({"kind": "Deployment", "name": "product-service"})
        );
    }
    // A named project is not rendered; the branch and Flux's credentials are the stack's.
    let objects = yaml(&doc(grpc_gateway, Env::Prod, "gitops/argocd.yaml"));
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["spec"]["project"], "platform");
    assert_eq!(objects[0]["spec"]["source"]["targetRevision"], "trunk");
    let flux = yaml(&doc(grpc_gateway, Env::Prod, "gitops/flux.yaml"));
    assert_eq!(flux[0]["spec"]["secretRef"]["name"], "orders-deploy-key");
    let kustomization = yaml(&doc(grpc_gateway, Env::Prod, "gitops/kustomization.yaml"));
    assert_eq!(
        kustomization[0]["resources"],
        serde_json::json!(["argocd.yaml", "flux.yaml"])
    );
    // No GitOps asked, none rendered.
    assert!(
        render_fn(grpc_gateway, Env::Staging)
            .iter()
            .all(|d| !d.path.contains("/gitops/"))
    );
}

#[test]
fn gitops_needs_the_repository_in_the_ci_settings() {
    let mut s = stacks::easyflow::easyflow(Env::Staging);
    s.ci(Ci::python("3.12", "app"));
    let errors = validation_errors(&s);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].1, "easyflow.kubernetes.gitops");
    assert!(errors[0].2.contains("name none"), "{errors:#?}");
    s.ci(Ci::python("3.12", "app").repository("github.com/easyflow/deploy"));
    let errors = validation_errors(&s);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].1, "easyflow.ci.repository");
}

/// Every custom resource in the corpus, per kind, with the file it came from.
fn custom_resources(dir: &std::path::Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for f in files_with_suffix(dir, &[".yaml"]) {
        let rel = f.strip_prefix(dir).unwrap().display().to_string();
        let custom = rel.ends_with("k8s/10-external-secrets.yaml")
            || rel.ends_with("k8s/40-gateway.yaml")
            || (rel.contains("/gitops/") && !rel.ends_with("kustomization.yaml"));
        if custom {
            for d in yaml(&fs::read_to_string(&f).unwrap()) {
                out.push((rel.clone(), d));
            }
        }
    }
    out
}

#[test]
fn custom_resources_pass_their_crd_schemas() {
    let corpus = corpus();
    let docs = custom_resources(corpus.path());
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for (_, d) in &docs {
        *kinds
            .entry(d["kind"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    // Every kind, in the stacks that use it (staging and prod).
    for (kind, floor) in [
        ("Gateway", 7),
        ("HTTPRoute", 12),
        ("GRPCRoute", 2),
        ("BackendTrafficPolicy", 8),
        ("ClientTrafficPolicy", 2),
        ("ExternalSecret", 5),
        ("AppProject", 2),
        ("Application", 3),
        ("GitRepository", 3),
        ("Kustomization", 3),
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) >= floor,
            "{kind}: {kinds:?}"
        );
    }
    let (ok, out) = crd_validate(&docs);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("{} documents, 0 errors", docs.len())),
        "{out}"
    );
    // Negative controls, one per way a document can be wrong.
    let find = |kind: &str| {
        docs.iter()
            .find(|(_, d)| d["kind"] == kind)
            .unwrap()
            .1
            .clone()
    };
    let mut misspelt = find("HTTPRoute");
    misspelt["metadata"]["name"] = "misspelt".into();
    let rules = misspelt["spec"]["rules"][0].as_object_mut().unwrap();
    let refs = rules.remove("backendRefs").unwrap_or(Value::Null);
    rules.insert("backendRef".into(), refs);
    let mut pattern = find("HTTPRoute");
    pattern["metadata"]["name"] = "pattern".into();
    pattern["spec"]["hostnames"][0] = "API.example.com".into();
    let mut enumerated = find("ExternalSecret");
    enumerated["metadata"]["name"] = "enumerated".into();
    enumerated["spec"]["target"]["creationPolicy"] = "Sometimes".into();
    let mut nested = find("Application");
    nested["metadata"]["name"] = "nested".into();
    nested["spec"]["syncPolicy"]["retry"]["backof"] = serde_json::json!({});
    let mut unknown = find("BackendTrafficPolicy");
    unknown["metadata"]["name"] = "unknown".into();
    unknown["apiVersion"] = "gateway.example.io/v1".into();
    let bad: Vec<(String, Value)> = [misspelt, pattern, enumerated, nested, unknown]
        .into_iter()
        .map(|d| ("bad.yaml".to_owned(), d))
        .collect();
    let (ok, out) = crd_validate(&bad);
    assert!(!ok, "{out}");
    for (kind, name, needle) in [
        ("HTTPRoute", "misspelt", "backendRef"),
        ("HTTPRoute", "pattern", "must match pattern"),
        (
            "ExternalSecret",
            "enumerated",
            "must be equal to one of the allowed values",
        ),
        ("Application", "nested", "backof"),
        ("BackendTrafficPolicy", "unknown", "no schema package"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("error bad.yaml {kind}/{name}"))
                    && l.contains(needle)),
            "{kind}/{name} not refused with {needle:?}:\n{out}"
        );
    }
}

#[test]
fn every_gitops_folder_renders_with_kubectl_kustomize() {
    let corpus = corpus();
    let mut folders: Vec<std::path::PathBuf> =
        files_with_suffix(corpus.path(), &["kustomization.yaml"])
            .into_iter()
            .filter_map(|p| p.parent().map(std::path::Path::to_path_buf))
            .filter(|d| d.ends_with("gitops"))
            .collect();
    folders.dedup();
    // easyflow and potter in staging and prod, the gRPC fixture in prod.
    assert!(folders.len() >= 5, "{folders:?}");
    for dir in folders {
        let out = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(&dir)
            .output()
            .expect("kubectl must be on PATH for this test (client only; no cluster needed)");
        assert!(
            out.status.success(),
            "kubectl kustomize {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let ours: usize = files_with_suffix(&dir, &[".yaml"])
            .iter()
            .filter(|f| !f.ends_with("kustomization.yaml"))
            .map(|f| fs::read_to_string(f).unwrap().matches("\n---\n").count())
            .sum();
        let theirs = String::from_utf8_lossy(&out.stdout)
            .matches("\n---\n")
            .count()
            + 1;
        assert_eq!(theirs, ours, "{}", dir.display());
    }
}
