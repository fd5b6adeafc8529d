//! Backing services from maintained sources: the operators' custom resources
//! (`25-backing-services.yaml`) pass the operators' own schemas — CloudNativePG's through
//! its registry package (`@kubernetes-models/cloudnative-pg@2.0.0`, with the other custom
//! resources' packages in `crd_validate`: its validators, and TypeScript's check against
//! its types), Strimzi's, RabbitMQ's and MongoDB's through
//! the CRD files of their releases (vendored: `tests/validators/crds/README.md`) — and the
//! NetworkPolicies, Secrets and Terraform around them do what the operators need.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stackdsl::catalog::{Postgres, RabbitMq};
use stackdsl::prelude::*;
use stackdsl_tests::{corpus, crd_validate, files_with_suffix, outputs, run, tool, workspace_root};

const CNPG: &str = "postgresql.cnpg.io/v1";

/// Every custom resource of the corpus, by file.
fn custom_resources(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for f in files_with_suffix(dir, &["k8s/25-backing-services.yaml"]) {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&fs::read_to_string(&f).unwrap()).unwrap();
        out.extend(docs.into_iter().map(|d| (f.clone(), d)));
    }
    out
}

fn crd_check(files: &[PathBuf]) -> (bool, String) {
    let crds = files_with_suffix(&workspace_root().join("tests/validators/crds"), &[".yaml"]);
    run(tool("python")
        .arg(workspace_root().join("tests/validators/crd_openapi.py"))
        .args(&crds)
        .arg("--")
        .args(files))
}

#[test]
fn strimzi_rabbitmq_and_mongodb_resources_pass_their_crds() {
    let corpus = corpus();
    let work = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, (_, doc)) in custom_resources(corpus.path())
        .into_iter()
        .filter(|(_, d)| d["apiVersion"] != CNPG)
        .enumerate()
    {
        let path = work.path().join(format!("{i}.yaml"));
        fs::write(&path, serde_saphyr::to_string(&doc).unwrap()).unwrap();
        files.push(path);
    }
    let (ok, out) = crd_check(&files);
    assert!(ok, "{out}");
    // Every kind the catalog renders was checked, in the seeds and the fixture.
    for kind in [
        "Kafka",
        "KafkaNodePool",
        "RabbitmqCluster",
        "MongoDBCommunity",
    ] {
        let n: usize = out
            .lines()
            .find_map(|l| {
                l.strip_suffix(&format!(" {kind}"))?
                    .strip_prefix("checked ")?
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        assert!(n >= 2, "only {n} {kind} checked:\n{out}");
    }
    // Negative controls: a misspelt field (closed objects), a value outside an enum, and a
    // kind no vendored CRD serves.
    let text = fs::read_to_string(&files[0]).unwrap();
    for (from, to) in [("spec:", "spec:\n  replicaz: 3"), ("kind: ", "kind: Not")] {
        let bad = work.path().join("bad.yaml");
        fs::write(&bad, text.replacen(from, to, 1)).unwrap();
        let (ok, out) = crd_check(&[bad]);
        assert!(!ok, "{from} → {to} passed:\n{out}");
    }
    let listener = files
        .iter()
        .map(|f| fs::read_to_string(f).unwrap())
        .find(|t| t.contains("type: internal"))
        .expect("a Kafka listener");
    let bad = work.path().join("bad-enum.yaml");
    fs::write(&bad, listener.replace("type: internal", "type: internl")).unwrap();
    let (ok, out) = crd_check(&[bad]);
    assert!(!ok && out.contains("'internl' is not one of"), "{out}");
}

#[test]
fn cloudnative_pg_resources_pass_the_registry_models() {
    let corpus = corpus();
    let docs: Vec<(String, Value)> = custom_resources(corpus.path())
        .into_iter()
        .filter(|(_, d)| d["apiVersion"] == CNPG)
        .map(|(f, d)| (f.display().to_string(), d))
        .collect();
    for kind in ["Cluster", "ImageCatalog"] {
        assert!(
            docs.iter().filter(|(_, d)| d["kind"] == kind).count() >= 4,
            "too few {kind}s"
        );
    }
    // The package's validators (types, enums, required fields, patterns) and its types
    // (no field the API lacks).
    let (ok, out) = crd_validate(&docs);
    assert!(ok, "{out}");
    let passed = out.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(passed, docs.len(), "{out}");
    // Negative controls: a wrong type fails the validators, a misspelt field the types.
    let (file, cluster) = docs.iter().find(|(_, d)| d["kind"] == "Cluster").unwrap();
    let mut bad = cluster.clone();
    bad["spec"]["instances"] = Value::String("three".into());
    let (ok, out) = crd_validate(&[(file.clone(), bad)]);
    assert!(!ok && out.contains("instances must be integer"), "{out}");
    let mut bad = cluster.clone();
    bad["spec"]["instancez"] = Value::from(3);
    let (ok, out) = crd_validate(&[(file.clone(), bad)]);
    assert!(
        !ok && out.contains("instancez"),
        "a misspelt field passed:\n{out}"
    );
}

/// The prod folder of stack function `f`, by path.
fn prod(f: stackdsl::cli::StackFn) -> BTreeMap<String, String> {
    outputs(Env::Prod, &[f])
        .into_iter()
        .map(|o| (o.doc.path, o.doc.contents))
        .collect()
}

fn policy<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == "NetworkPolicy" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no NetworkPolicy/{name}"))
}

/// The ports of the ingress rule admitting pods `labels` of namespace `ns`.
fn admitted_from(policy: &Value, ns: &str, labels: Value) -> Option<Vec<i64>> {
    policy["spec"]["ingress"].as_array()?.iter().find_map(|r| {
        let peer = &r["from"][0];
        (peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == ns
            && peer["podSelector"]["matchLabels"] == labels)
            .then(|| {
                r["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["port"].as_i64())
                    .collect()
            })
    })
}

fn api_server_egress(policy: &Value) -> bool {
    policy["spec"]["egress"].as_array().unwrap().iter().any(|r| {
        r.get("to").is_none()
            && r["ports"] == serde_json::json!([{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}])
    })
}

#[test]
fn network_policies_let_the_operators_reach_their_pods_and_the_pods_reach_the_api() {
    let potter = prod(stacks::potter::potter);
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&potter["potter/prod/k8s/30-network-policies.yaml"]).unwrap();
    let pg = policy(&docs, "postgres");
    assert_eq!(
        pg["spec"]["podSelector"]["matchLabels"],
        serde_json::json!({"cnpg.io/cluster": "postgres"})
    );
    assert_eq!(
        admitted_from(
            pg,
            "cnpg-system",
            serde_json::json!({"app.kubernetes.io/name": "cloudnative-pg"})
        ),
        Some(vec![8000, 5432]),
        "{pg}"
    );
    // CloudNativePG's instance manager watches its Cluster through the API server.
    assert!(api_server_egress(pg), "{pg}");
    let kafka = policy(&docs, "kafka");
    assert_eq!(
        admitted_from(
            kafka,
            "strimzi",
            serde_json::json!({"strimzi.io/kind": "cluster-operator"})
        ),
        Some(vec![9090, 9091, 8443]),
        "{kafka}"
    );
    assert!(
        !api_server_egress(kafka),
        "Kafka's pods do not call the API: {kafka}"
    );
    // The cluster's own pods (brokers, controllers) reach each other on any port.
    assert!(
        kafka["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
            == serde_json::json!({"strimzi.io/cluster": "kafka"})
    );

    let srvthreds = prod(stacks::srvthreds::srvthreds);
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&srvthreds["srvthreds/prod/k8s/30-network-policies.yaml"])
            .unwrap();
    let rabbit = policy(&docs, "rabbitmq");
    assert_eq!(
        admitted_from(
            rabbit,
            "rabbitmq-system",
            serde_json::json!({"app.kubernetes.io/name": "rabbitmq-cluster-operator"})
        ),
        Some(vec![15672]),
        "{rabbit}"
    );
    let mongo = policy(&docs, "mongo");
    assert_eq!(
        mongo["spec"]["podSelector"]["matchLabels"],
        serde_json::json!({"app": "mongo-svc"})
    );
    // MongoDB's agent annotates its pod through the API; its operator opens no port.
    assert!(api_server_egress(mongo), "{mongo}");
    assert!(!serde_json::to_string(mongo).unwrap().contains(
        "namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":\"mongodb\""
    ));

    // Without Terraform there is no operator: the manifests run the container, and nothing
    // is opened for one.
    let mut plain = stacks::potter::potter(Env::Prod);
    plain.targets = vec![Target::Kubernetes];
    let docs = stackdsl_tests::render(&plain);
    let text = &docs
        .iter()
        .find(|d| d.path.ends_with("30-network-policies.yaml"))
        .unwrap()
        .contents;
    for absent in ["cnpg-system", "strimzi", "6443"] {
        assert!(
            !text.contains(absent),
            "{absent} without an operator:\n{text}"
        );
    }
    assert!(
        !docs
            .iter()
            .any(|d| d.path.ends_with("25-backing-services.yaml"))
    );
}

#[test]
fn consumers_reach_the_services_the_operators_create() {
    let potter = prod(stacks::potter::potter);
    let env = &potter["potter/prod/k8s/20-product-service.yaml"];
    assert!(env.contains("value: kafka-kafka-bootstrap:9092"), "{env}");
    assert!(potter["potter/prod/k8s/20-pgbouncer.yaml"].contains("value: postgres-rw"));
    let outputs = &potter["potter/prod/terraform/outputs.tf"];
    assert!(
        outputs.contains("\"postgres-rw.potter-prod.svc.cluster.local\""),
        "{outputs}"
    );
    assert!(outputs.contains("\"kafka-kafka-bootstrap.potter-prod.svc.cluster.local\""));
    let srvthreds = prod(stacks::srvthreds::srvthreds);
    let engine = &srvthreds["srvthreds/prod/k8s/20-engine.yaml"];
    for url in [
        "mongodb://srvthreds:$(SRVTHREDS_SECRETS_MONGO_PASSWORD)@mongo-svc:27017/srvthreds?authSource=admin",
        "amqp://srvthreds:$(SRVTHREDS_SECRETS_RABBITMQ_PASSWORD)@rabbitmq:5672",
        "redis://:$(SRVTHREDS_SECRETS_REDIS_PASSWORD)@redis:6379/0",
    ] {
        assert!(engine.contains(url), "{url} not in:\n{engine}");
    }
}

#[test]
fn operators_read_the_stacks_secrets_or_secrets_of_their_shape_made_from_them() {
    let srvthreds = prod(stacks::srvthreds::srvthreds);
    let resources = &srvthreds["srvthreds/prod/k8s/25-backing-services.yaml"];
    // MongoDB's operator reads the password from the key the engine's URL uses.
    assert!(
        resources.contains(
            "passwordSecretRef:\n        name: srvthreds-secrets\n        key: mongo-password"
        ),
        "{resources}"
    );
    // RabbitMQ's reads a Secret of its own shape, which the README makes from the same variable.
    assert!(resources.contains("externalSecret:\n      name: rabbitmq-credentials"));
    let readme = &srvthreds["srvthreds/prod/k8s/README.md"];
    assert!(readme.contains(
        "kubectl -n srvthreds-prod create secret generic rabbitmq-credentials \\\n  --from-literal=username=\"srvthreds\" \\\n  --from-literal=password=\"${SRVTHREDS_SECRETS_RABBITMQ_PASSWORD}\" \\\n  --from-literal=default_user.conf=\"default_user = srvthreds\ndefault_pass = ${SRVTHREDS_SECRETS_RABBITMQ_PASSWORD}\n\""
    ), "{readme}");
    // Valkey's chart reads the stack's Secret itself, Terraform naming it (and its key)
    // beside the values files: no Terraform variable carries the password.
    let main = &srvthreds["srvthreds/prod/terraform/main.tf"];
    assert!(
        main.contains("name  = \"auth.usersExistingSecret\"\n      value = \"srvthreds-secrets\"")
            && main.contains(
                "name  = \"auth.aclUsers.default.passwordKey\"\n      value = \"redis-password\""
            ),
        "{main}"
    );
    assert!(!srvthreds["srvthreds/prod/terraform/variables.tf"].contains("sensitive"));
    // CloudNativePG reads basic-auth credentials of the owner: made with kubectl where the
    // cluster owner creates Secrets, assembled by the External Secrets Operator where the
    // stack syncs them from a store (easyflow).
    let shop = prod(two_databases);
    let readme = &shop["shop/prod/k8s/README.md"];
    assert!(readme.contains(
        "create secret generic orders-credentials --type=kubernetes.io/basic-auth \\\n  --from-literal=username=\"orders\" \\\n  --from-literal=password=\"${SHOP_SECRETS_ORDERS}\""
    ), "{readme}");
    let easyflow = prod(stacks::easyflow::easyflow);
    let readme = &easyflow["easyflow/prod/k8s/README.md"];
    assert!(
        readme.contains("The External Secrets Operator assembles them")
            && !readme.contains("create secret generic postgres-credentials"),
        "{readme}"
    );
    let synced = &easyflow["easyflow/prod/k8s/10-external-secrets.yaml"];
    assert!(
        synced.contains("type: kubernetes.io/basic-auth")
            && synced.contains("username: easyflow\n        password: \"{{ .EASYFLOW_SECRETS_POSTGRES_PASSWORD }}\""),
        "{synced}"
    );
}

/// Two Postgres databases share one CloudNativePG; RabbitMQ's operator comes from its release
/// manifest; every operator is behind `install_operators`.
fn two_databases(env: Env) -> Stack {
    let mut s = Stack::new("shop", env);
    s.targets([Target::Kubernetes, Target::Terraform]);
    s.backing(Postgres::new("orders", SecretRef::new("shop-secrets", "orders")).name("orders"));
    s.backing(Postgres::new("stock", SecretRef::new("shop-secrets", "stock")).name("stock"));
    s.backing(RabbitMq::new(
        "shop",
        SecretRef::new("shop-secrets", "amqp"),
    ));
    s
}

#[test]
fn terraform_installs_each_operator_once_behind_install_operators() {
    let docs = stackdsl_tests::render_fn(two_databases, Env::Prod);
    let main = &docs
        .iter()
        .find(|d| d.path.ends_with("terraform/main.tf"))
        .unwrap()
        .contents;
    assert_eq!(
        main.matches("chart            = \"cloudnative-pg\"")
            .count(),
        1,
        "{main}"
    );
    assert_eq!(
        main.matches("count = var.install_operators ? 1 : 0")
            .count(),
        2,
        "{main}"
    );
    assert!(main.contains(
        "url   = \"https://github.com/rabbitmq/cluster-operator/releases/download/v2.22.3/cluster-operator.yml\""
    ));
    assert!(main.contains("provider::kubernetes::manifest_decode_multi("));
    let versions = &docs
        .iter()
        .find(|d| d.path.ends_with("terraform/versions.tf"))
        .unwrap()
        .contents;
    assert!(
        versions.contains("required_version = \">= 1.8.0\"") && versions.contains("hashicorp/http")
    );
    let variables = &docs
        .iter()
        .find(|d| d.path.ends_with("terraform/variables.tf"))
        .unwrap()
        .contents;
    assert!(
        variables.contains("variable \"install_operators\"")
            && variables.contains("default     = true")
    );
    // Both clusters' resources, in the stack's namespace.
    let resources = &docs
        .iter()
        .find(|d| d.path.ends_with("k8s/25-backing-services.yaml"))
        .unwrap()
        .contents;
    for name in ["orders", "stock"] {
        assert!(
            resources.contains(&format!(
                "kind: Cluster\nmetadata:\n  labels:\n    app.kubernetes.io/name: {name}"
            )),
            "{resources}"
        );
    }
    assert!(
        resources.matches("namespace: shop-prod").count() == 5,
        "{resources}"
    );
}

#[test]
fn committed_output_names_bitnami_nowhere() {
    // Issue 20's acceptance: no seed stack chose a Bitnami chart, so none appears.
    let out = workspace_root().join("out");
    let mut hits = Vec::new();
    for f in files_with_suffix(&out, &[""]) {
        if let Ok(text) = fs::read_to_string(&f)
            && text.to_ascii_lowercase().contains("bitnami")
        {
            hits.push(f.display().to_string());
        }
    }
    assert!(hits.is_empty(), "{hits:?}");
    // Negative control: a stack that chooses one shows it.
    let mut s = two_databases(Env::Prod);
    s.backing(stackdsl::catalog::Kafka::new().bitnami_chart());
    let docs = stackdsl_tests::render(&s);
    assert!(docs.iter().any(|d| {
        d.contents
            .contains("oci://registry-1.docker.io/bitnamicharts")
    }));
}

#[test]
fn vendored_crds_are_the_releases_files_their_readme_names() {
    let dir = workspace_root().join("tests/validators/crds");
    let readme = fs::read_to_string(dir.join("README.md")).unwrap();
    let crds = files_with_suffix(&dir, &[".yaml"]);
    assert_eq!(crds.len(), 4, "{crds:?}");
    for f in crds {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let sum = stackdsl::hash::sha256_hex(&fs::read(&f).unwrap());
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("the README names no {name}"));
        assert!(
            row.ends_with(&format!("`{sum}` |")),
            "{name} is not the file the README names (sha256 {sum}): {row}"
        );
    }
}
