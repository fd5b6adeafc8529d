//! The Terraform + Helm target and the backing-service catalog: `terraform fmt`, the pinned
//! providers' schemas, no secret values, and consumers wired consistently in every target.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stackdsl::catalog::{Postgres, Redis};
use stackdsl::prelude::*;
use stackdsl::validate::ErrorKind;
use stackdsl_tests::{
    corpus, files_with_suffix, hcl2_python, outputs, run, terraform_schemas, workspace_root,
};

fn tf_files(dir: &Path) -> Vec<PathBuf> {
    files_with_suffix(dir, &[".tf"])
}

/// A `.tf` file as python-hcl2 reads it.
fn hcl(path: &Path) -> Value {
    let out = hcl2_python()
        .args([
            "-c",
            "import hcl2, json, sys; print(json.dumps(hcl2.load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .expect("run python-hcl2");
    assert!(
        out.status.success(),
        "python-hcl2 cannot parse {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn unquote(v: &Value) -> String {
    v.as_str().unwrap_or_default().trim_matches('"').to_owned()
}

/// A python-hcl2 scalar: strings come quoted, numbers as numbers.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(_) => unquote(v),
        other => other.to_string(),
    }
}

#[test]
fn terraform_fmt_accepts_every_file_as_written() {
    let corpus = corpus();
    let files = tf_files(corpus.path());
    assert!(
        files.len() >= 20,
        "expected Terraform for srvthreds, tsdev, easyflow and potter, got {}",
        files.len()
    );
    // (stderr may carry a warning about the missing ~/.terraformrc; the verdict is the
    // exit status and the diff on stdout.)
    let out = std::process::Command::new(stackdsl_tests::machine_tool("terraform"))
        .args(["fmt", "-check", "-recursive", "-diff"])
        .arg(corpus.path())
        .output()
        .expect("terraform must be on PATH");
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && diff.trim().is_empty(),
        "terraform fmt would change:\n{diff}"
    );
    // Negative control: a misaligned attribute is reported.
    let bad = corpus.path().join("bad.tf");
    fs::write(
        &bad,
        "variable \"x\" {\n  type = string\n  description = \"x\"\n}\n",
    )
    .unwrap();
    let (ok, _) = run(
        std::process::Command::new(stackdsl_tests::machine_tool("terraform"))
            .args(["fmt", "-check"])
            .arg(&bad),
    );
    assert!(!ok, "terraform fmt accepted a misaligned file");
}

#[test]
fn every_argument_and_block_is_in_the_pinned_provider_schemas() {
    let corpus = corpus();
    let script = workspace_root().join("tests/validators/tf_schema.py");
    let schemas = terraform_schemas();
    let (ok, out) = run(hcl2_python()
        .arg(&script)
        .args(&schemas)
        .arg("--")
        .args(tf_files(corpus.path())));
    assert!(ok, "{out}");
    // Negative control: a misspelt argument of helm_release, and a block the provider lacks.
    let main = tf_files(corpus.path())
        .into_iter()
        .find(|p| p.ends_with("srvthreds/prod/terraform/main.tf"))
        .unwrap();
    let bad = corpus.path().join("bad.tf");
    let text = fs::read_to_string(&main)
        .unwrap()
        .replacen("atomic ", "atomik ", 1)
        + "\nprovider \"helm\" {\n  kubernetes_cluster = {}\n}\n";
    fs::write(&bad, text).unwrap();
    let (ok, out) = run(hcl2_python()
        .arg(&script)
        .args(&schemas)
        .arg("--")
        .arg(&bad));
    assert!(!ok, "the schema check accepted unknown arguments");
    assert!(
        out.contains("unknown argument or block `atomik`") && out.contains("`kubernetes_cluster`"),
        "{out}"
    );
}

#[test]
fn passwords_are_sensitive_variables_and_never_values() {
    let corpus = corpus();
    let mut sensitive = 0;
    for f in tf_files(corpus.path()) {
        let doc = hcl(&f);
        for block in doc["variable"].as_array().into_iter().flatten() {
            for (name, body) in block.as_object().unwrap() {
                if body["sensitive"] == Value::Bool(true) {
                    sensitive += 1;
                    assert!(
                        body.get("default").is_none(),
                        "{}: sensitive variable {name} has a default",
                        f.display()
                    );
                }
            }
        }
        for block in doc["resource"].as_array().into_iter().flatten() {
            for (_, named) in block.as_object().unwrap() {
                for (name, body) in named.as_object().unwrap() {
                    for set in body["set_sensitive"].as_array().into_iter().flatten() {
                        let value = set["value"].as_str().unwrap_or_default();
                        assert!(
                            value.starts_with("${var.") && value.ends_with('}'),
                            "{}: {name} sets a literal: {value}",
                            f.display()
                        );
                    }
                    // Plain `set` only names a Secret or key the owner creates (README).
                    for set in body["set"].as_array().into_iter().flatten() {
                        let value = unquote(&set["value"]);
                        let env_dir = f.parent().unwrap().parent().unwrap();
                        let readme = fs::read_to_string(env_dir.join("k8s/README.md")).unwrap();
                        assert!(
                            readme.contains(&format!("`{value}`")),
                            "{}: {name} sets `{value}`, which names no Secret or key of the README",
                            f.display()
                        );
                    }
                }
            }
        }
    }
    // Only a chart that takes its password as a value has one: the fixture's Bitnami
    // Postgres, in staging and prod. The catalog's defaults read Secrets in the namespace.
    assert_eq!(
        sensitive, 2,
        "expected the fixture's Bitnami password as a sensitive variable in staging and prod"
    );
    // Values files carry no secret-looking key with a value (the names of Secrets a chart
    // reads go through Terraform's `set`, checked above).
    for f in files_with_suffix(corpus.path(), &[".yaml"])
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("/terraform/values/"))
    {
        let text = fs::read_to_string(&f).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let lower = line.to_ascii_lowercase();
            let key = lower.split(':').next().unwrap_or_default();
            let has_value = line
                .split_once(':')
                .is_some_and(|(_, v)| !v.trim().is_empty());
            let secretish = ["password", "secret", "cookie", "token"]
                .iter()
                .any(|w| key.contains(w));
            assert!(
                !(secretish && has_value),
                "{}: `{line}` looks like a secret value",
                f.display()
            );
            assert!(
                !line.contains("${"),
                "{}: `{line}`: values files are not templates",
                f.display()
            );
        }
    }
}

/// (host, port, path) of a URL such as `postgresql+asyncpg://u:$(X)@postgres:5432/db`.
fn parts(url: &str) -> (String, String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = host_port.split_once(':').unwrap_or((host_port, ""));
    (
        host.to_owned(),
        port.to_owned(),
        path.split('?').next().unwrap_or_default().to_owned(),
    )
}

/// Every consumer's connection URLs point at the same service, port and database in the
/// Compose file, the Kubernetes env and the Terraform outputs.
#[test]
fn consumers_connect_consistently_in_compose_kubernetes_and_terraform() {
    let corpus = corpus();
    let mut checked = 0;
    for (stack, urls) in [
        ("easyflow", &["DATABASE_URL", "REDIS_URL"][..]),
        ("tsdev-microservices", &["DATABASE_URL", "REDIS_URL"][..]),
        (
            "srvthreds",
            &["REDIS_URL", "MONGODB_URL", "RABBITMQ_URL"][..],
        ),
        ("potter", &["DATABASE_URL", "NATS_URL"][..]),
    ] {
        let compose: Value = serde_saphyr::from_str(
            &fs::read_to_string(corpus.path().join(format!("{stack}/dev/compose.yaml"))).unwrap(),
        )
        .unwrap();
        let outputs_tf = hcl(&corpus
            .path()
            .join(format!("{stack}/prod/terraform/outputs.tf")));
        let mut tf_outputs: BTreeMap<String, String> = BTreeMap::new();
        for block in outputs_tf["output"].as_array().unwrap() {
            for (name, body) in block.as_object().unwrap() {
                tf_outputs.insert(name.trim_matches('"').to_owned(), scalar(&body["value"]));
            }
        }
        let mut k8s_env: BTreeMap<(String, String), String> = BTreeMap::new();
        for f in files_with_suffix(&corpus.path().join(format!("{stack}/prod/k8s")), &[".yaml"]) {
            let docs: Vec<Value> =
                serde_saphyr::from_multiple(&fs::read_to_string(&f).unwrap()).unwrap();
            for d in docs
                .iter()
                .filter(|d| d["kind"] == "Deployment" || d["kind"] == "StatefulSet")
            {
                let pod = &d["spec"]["template"]["spec"];
                let name = d["metadata"]["name"].as_str().unwrap();
                // The migration init container is Compose's one-shot `<service>-migrate`.
                let containers = pod["containers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| (name.to_owned(), c));
                let inits = pod["initContainers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| (format!("{name}-{}", c["name"].as_str().unwrap()), c));
                for (owner, c) in containers.chain(inits) {
                    for e in c["env"].as_array().into_iter().flatten() {
                        if let Some(v) = e["value"].as_str() {
                            k8s_env.insert(
                                (owner.clone(), e["name"].as_str().unwrap().to_owned()),
                                v.to_owned(),
                            );
                        }
                    }
                }
            }
        }
        for (svc, def) in compose["services"].as_object().unwrap() {
            for var in urls.iter().copied() {
                let Some(c_url) = def["environment"][var].as_str() else {
                    continue;
                };
                let k_url = k8s_env
                    .get(&(svc.clone(), var.to_owned()))
                    .unwrap_or_else(|| {
                        panic!("{stack}: {svc} has {var} in Compose but not in Kubernetes")
                    });
                let (c_host, c_port, c_path) = parts(c_url);
                let (k_host, k_port, k_path) = parts(k_url);
                assert_eq!(
                    (&c_port, &c_path),
                    (&k_port, &k_path),
                    "{stack}/{svc}/{var}: {c_url} vs {k_url}"
                );
                // Compose reaches the container by service name; Kubernetes the chart's Service,
                // whose FQDN Terraform outputs.
                let release = tf_outputs
                    .iter()
                    .find(|(k, v)| {
                        k.ends_with("_host") && v.split('.').next() == Some(k_host.as_str())
                    })
                    .map(|(k, _)| k.trim_end_matches("_host").replace('_', "-"));
                match release {
                    Some(release) => {
                        assert_eq!(
                            c_host, release,
                            "{stack}/{svc}/{var}: Compose host {c_host} is not release {release}"
                        );
                        assert_eq!(
                            tf_outputs[&format!("{}_port", release.replace('-', "_"))],
                            k_port,
                            "{stack}/{svc}/{var}: port"
                        );
                    }
                    // Not a Helm release (PgBouncer): the same service in both targets.
                    None => assert_eq!(c_host, k_host, "{stack}/{svc}/{var}"),
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 12, "checked only {checked} connection URLs");
}

fn shop_with_db(db: &str, env: Env) -> Stack {
    let mut s = Stack::new("shop", env);
    s.targets(match env {
        Env::Dev => vec![Target::Compose],
        _ => vec![Target::Compose, Target::Kubernetes, Target::Terraform],
    });
    let pg = s.backing(Postgres::new(
        db,
        SecretRef::new("shop-secrets", "postgres-password"),
    ));
    let http = Port::http("http", 8080);
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0.0"))
            .port(http)
            .env("DATABASE_URL", pg.url())
            .readiness(Probe::http_get("/ready", http))
            .liveness(Probe::http_get("/health", http))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(64))
                    .limits(Cpu::m(200), Memory::mi(128)),
            ),
    );
    s
}

fn shop(env: Env) -> Stack {
    shop_with_db("shop", env)
}

fn store(env: Env) -> Stack {
    shop_with_db("store", env)
}

#[test]
fn renaming_the_database_in_one_place_changes_every_target() {
    let render = |f: stackdsl::cli::StackFn| -> BTreeMap<String, String> {
        outputs(Env::Prod, &[f])
            .into_iter()
            .map(|o| (o.doc.path, o.doc.contents))
            .collect()
    };
    let (before, after) = (render(shop), render(store));
    let changed: Vec<&String> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    assert_eq!(
        changed,
        [
            "shop/prod/compose.yaml",
            "shop/prod/k8s/20-api.yaml",
            "shop/prod/k8s/25-backing-services.yaml",
            "shop/prod/k8s/README.md",
        ],
        "renaming the database touched a different set of files"
    );
    assert!(
        after["shop/prod/compose.yaml"]
            .contains("DATABASE_URL: postgresql://store:${SHOP_SECRETS_POSTGRES_PASSWORD:?")
    );
    // Consumers reach CloudNativePG's primary, `<cluster>-rw`.
    assert!(after["shop/prod/k8s/20-api.yaml"].contains(
        "value: postgresql://store:$(SHOP_SECRETS_POSTGRES_PASSWORD)@postgres-rw:5432/store"
    ));
    let cluster = &after["shop/prod/k8s/25-backing-services.yaml"];
    assert!(
        cluster.contains("database: store") && cluster.contains("owner: store"),
        "{cluster}"
    );
    // The owner's credentials CloudNativePG reads carry the new name.
    assert!(after["shop/prod/k8s/README.md"].contains("--from-literal=username=\"store\""));
}

#[test]
fn a_url_of_a_backing_service_outside_the_stack_is_an_error_naming_both() {
    let mut other = Stack::new("billing", Env::Dev);
    let pg = other.backing(Postgres::new(
        "billing",
        SecretRef::new("billing-secrets", "postgres-password"),
    ));
    let mut s = Stack::new("shop", Env::Dev);
    s.backing(Redis::new(SecretRef::new("shop-secrets", "redis-password")));
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0.0"))
            .env("DATABASE_URL", pg.url()),
    );
    let e = stackdsl::validate(&s).unwrap_err();
    let e: Vec<_> = e
        .iter()
        .filter(|e| e.kind == ErrorKind::UnknownService)
        .collect();
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].path, "shop.services[api].env[DATABASE_URL]");
    assert!(
        e[0].message
            .contains("service `postgres` of stack `billing`"),
        "{}",
        e[0].message
    );
}

#[test]
fn backing_services_leave_the_manifests_when_terraform_installs_them() {
    let prod = outputs(Env::Prod, &[shop]);
    let paths: Vec<&str> = prod.iter().map(|o| o.doc.path.as_str()).collect();
    assert!(
        !paths.contains(&"shop/prod/k8s/20-postgres.yaml"),
        "{paths:?}"
    );
    assert!(paths.contains(&"shop/prod/terraform/main.tf"));
    let compose = &prod
        .iter()
        .find(|o| o.doc.path.ends_with("compose.yaml"))
        .unwrap()
        .doc
        .contents;
    assert!(
        compose.contains("  postgres:\n"),
        "Compose keeps the container"
    );
    // The app's NetworkPolicy reaches the operator's pods by the labels the model declares
    // for them (`cnpg.io/cluster: postgres`), on the port number.
    let stack = shop(Env::Prod);
    let pg = stack.service("postgres").unwrap();
    let labels = serde_json::to_value(&pg.backing.as_ref().unwrap().pod_labels).unwrap();
    assert_eq!(labels["cnpg.io/cluster"], "postgres", "{labels}");
    let port = pg.ports[0].number;
    let policies: Vec<serde_json::Value> = serde_saphyr::from_multiple(
        &prod
            .iter()
            .find(|o| o.doc.path.ends_with("30-network-policies.yaml"))
            .unwrap()
            .doc
            .contents,
    )
    .unwrap();
    let api = policies
        .iter()
        .find(|p| p["metadata"]["name"] == "api")
        .expect("the app's NetworkPolicy");
    let reaches = api["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .any(|rule| {
            rule["to"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|peer| peer["podSelector"]["matchLabels"] == labels)
                && rule["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["port"].as_u64() == Some(u64::from(port)))
        });
    assert!(
        reaches,
        "NetworkPolicy/api does not reach {labels} on {port}: {api}"
    );
    // Without Terraform the same declaration renders in-cluster manifests.
    let mut plain = shop(Env::Prod);
    plain.targets = vec![Target::Kubernetes];
    let docs = stackdsl_tests::render(&plain);
    assert!(
        docs.iter()
            .any(|d| d.path == "shop/prod/k8s/20-postgres.yaml")
    );
    assert!(!docs.iter().any(|d| d.path.contains("/terraform/")));
}
