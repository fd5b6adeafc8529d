//! From a generated file to the objects a reviewer thinks in, per target: Kubernetes
//! objects (kind/namespace/name), Compose services, volumes and networks, Terraform blocks
//! by address, Helm values files, workflow jobs, PaaS and monitoring files as wholes, and
//! anything else as text. A file that does not parse is compared as text (never an error:
//! a review must show what it can).

use serde_json::{Map, Value};

/// What a file (or the object taken from it) is, in the order objects are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A Kubernetes object from `k8s/*.yaml` (or a GitOps object from `gitops/*.yaml`).
    Kubernetes,
    /// A service, volume, network, config or secret of `compose.yaml`, or its other settings.
    Compose,
    /// A Terraform block (`resource`, `data`, `variable`, `output`, `provider`, …).
    Terraform,
    /// A Helm values file under `terraform/values/`.
    HelmValues,
    /// A GitHub Actions job, or a workflow's other settings.
    Workflow,
    /// A PaaS file (`fly.toml`, `render.yaml`, `railway.toml`, `vercel.json`,
    /// `serverless.yml`).
    Paas,
    /// Another structured file (Prometheus, Grafana, kustomize-free YAML/JSON/TOML).
    Config,
    /// A text file (READMEs, `nginx.conf`, `.env.example`), or a file that did not parse.
    Text,
}

/// One object taken from a file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Parsed {
    pub kind: FileKind,
    /// Identity within its group (Kubernetes: `Kind/namespace/name`).
    pub id: String,
    /// How it is shown (Kubernetes: `Kind/name`).
    pub label: String,
    /// The file it came from, relative to its group.
    pub file: String,
    /// Its data; for text, `{"content": text}`.
    pub value: Value,
}

/// The objects of the file at `rel` (relative to its group; `scope` is the group's
/// environment or folder: `prod`, `github`, `paas`, …).
pub(crate) fn parse_file(scope: &str, rel: &str, text: &str) -> Vec<Parsed> {
    let ext = rel.rsplit_once('.').map_or("", |(_, e)| e);
    let yaml = matches!(ext, "yaml" | "yml");
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let parsed = if (rel.starts_with("k8s/") || rel.starts_with("gitops/")) && yaml {
        kubernetes(rel, text)
    } else if matches!(name, "compose.yaml" | "compose.yml" | "docker-compose.yml") {
        compose(rel, text)
    } else if ext == "tf" {
        terraform(rel, text)
    } else if rel.starts_with("terraform/values/") && yaml {
        whole(FileKind::HelmValues, rel, text, |_| {
            format!("helm values {}", stem(name))
        })
    } else if scope == "github" && rel.starts_with("workflows/") && yaml {
        workflow(rel, text)
    } else if scope == "paas" {
        whole(FileKind::Paas, rel, text, str::to_owned)
    } else {
        whole(FileKind::Config, rel, text, str::to_owned)
    };
    parsed.unwrap_or_else(|| {
        vec![Parsed {
            kind: FileKind::Text,
            id: rel.to_owned(),
            label: rel.to_owned(),
            file: rel.to_owned(),
            value: Value::Object(Map::from_iter([(
                "content".to_owned(),
                Value::String(text.to_owned()),
            )])),
        }]
    })
}

fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(s, _)| s)
}

fn yaml_docs(text: &str) -> Option<Vec<Value>> {
    serde_saphyr::from_multiple::<Value>(text)
        .ok()
        .map(|docs| docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// A structured file (by extension) as one object; `None` (text) for other files.
fn whole(
    kind: FileKind,
    rel: &str,
    text: &str,
    label: impl Fn(&str) -> String,
) -> Option<Vec<Parsed>> {
    let value = match rel.rsplit_once('.').map_or("", |(_, e)| e) {
        "yaml" | "yml" => {
            let mut docs = yaml_docs(text)?;
            if docs.len() == 1 {
                docs.pop()?
            } else {
                Value::Array(docs)
            }
        }
        "json" => serde_json::from_str(text).ok()?,
        "toml" => toml::from_str(text).ok()?,
        _ => return None,
    };
    Some(vec![Parsed {
        kind,
        id: rel.to_owned(),
        label: label(rel),
        file: rel.to_owned(),
        value,
    }])
}

fn kubernetes(rel: &str, text: &str) -> Option<Vec<Parsed>> {
    let file_stem = stem(rel.rsplit('/').next().unwrap_or(rel)).to_owned();
    let mut out = Vec::new();
    for mut doc in yaml_docs(text)? {
        let kind = doc["kind"].as_str().unwrap_or("Object").to_owned();
        let meta = doc.get_mut("metadata").and_then(Value::as_object_mut);
        let (name, namespace) = match meta {
            Some(meta) => {
                let ns = meta.remove("namespace");
                (
                    meta.get("name").and_then(Value::as_str).map(str::to_owned),
                    ns.and_then(|n| n.as_str().map(str::to_owned)),
                )
            }
            None => (None, None),
        };
        let name = name.unwrap_or_else(|| file_stem.clone());
        out.push(Parsed {
            kind: FileKind::Kubernetes,
            id: format!("{kind}/{}/{name}", namespace.unwrap_or_default()),
            label: format!("{kind}/{name}"),
            file: rel.to_owned(),
            value: doc,
        });
    }
    Some(out)
}

/// Compose: one object per service, volume, network, config and secret; the file's other
/// settings (project name, extensions) as `compose project`.
fn compose(rel: &str, text: &str) -> Option<Vec<Parsed>> {
    let Value::Object(mut top) = serde_saphyr::from_str::<Value>(text).ok()? else {
        return None;
    };
    let mut out = Vec::new();
    for (section, singular) in [
        ("services", "service"),
        ("volumes", "volume"),
        ("networks", "network"),
        ("configs", "config"),
        ("secrets", "secret"),
    ] {
        let Some(Value::Object(items)) = top.remove(section) else {
            continue;
        };
        for (name, value) in items {
            out.push(Parsed {
                kind: FileKind::Compose,
                id: format!("{singular}/{name}"),
                label: format!("compose {singular} {name}"),
                file: rel.to_owned(),
                value,
            });
        }
    }
    if !top.is_empty() {
        out.push(Parsed {
            kind: FileKind::Compose,
            id: "project".to_owned(),
            label: "compose project".to_owned(),
            file: rel.to_owned(),
            value: Value::Object(top),
        });
    }
    Some(out)
}

/// Terraform: one object per block, by its address (`helm_release.postgres`,
/// `data.kubernetes_namespace_v1.this`, `var.kubeconfig`, `output.x`, `provider.helm`).
/// Parsed with `hcl-rs`: expressions that are not literals (references, function calls)
/// become their `${…}` text, which compares exactly.
fn terraform(rel: &str, text: &str) -> Option<Vec<Parsed>> {
    let body = hcl::parse(text).ok()?;
    let mut out: Vec<Parsed> = Vec::new();
    let mut attributes = Map::new();
    for structure in body.into_iter() {
        match structure {
            hcl::Structure::Attribute(a) => {
                let value = serde_json::to_value(hcl::Value::from(a.expr)).ok()?;
                attributes.insert(a.key.to_string(), value);
            }
            hcl::Structure::Block(b) => {
                let labels: Vec<&str> = b.labels.iter().map(hcl::BlockLabel::as_str).collect();
                let mut address = match (b.identifier.as_str(), labels.as_slice()) {
                    ("resource", [t, n]) => format!("{t}.{n}"),
                    ("data", [t, n]) => format!("data.{t}.{n}"),
                    ("variable", [n]) => format!("var.{n}"),
                    (kind @ ("output" | "provider" | "module"), [n]) => format!("{kind}.{n}"),
                    (ident, labels) => {
                        let mut a = ident.to_owned();
                        for l in labels {
                            a.push('.');
                            a.push_str(l);
                        }
                        a
                    }
                };
                let base = address.clone();
                let mut n = 1;
                while out.iter().any(|p| p.id == address) {
                    n += 1;
                    address = format!("{base}#{n}");
                }
                let value: Value = hcl::from_body(b.body).ok()?;
                out.push(Parsed {
                    kind: FileKind::Terraform,
                    label: format!("terraform {address}"),
                    id: address,
                    file: rel.to_owned(),
                    value,
                });
            }
        }
    }
    if !attributes.is_empty() {
        out.push(Parsed {
            kind: FileKind::Terraform,
            id: rel.to_owned(),
            label: format!("terraform {rel}"),
            file: rel.to_owned(),
            value: Value::Object(attributes),
        });
    }
    Some(out)
}

/// A workflow: one object per job, the rest (`on`, `permissions`, `concurrency`, …) as the
/// workflow itself.
fn workflow(rel: &str, text: &str) -> Option<Vec<Parsed>> {
    let Value::Object(mut top) = serde_saphyr::from_str::<Value>(text).ok()? else {
        return None;
    };
    let file = rel.trim_start_matches("workflows/");
    let mut out = Vec::new();
    if let Some(Value::Object(jobs)) = top.remove("jobs") {
        for (id, job) in jobs {
            out.push(Parsed {
                kind: FileKind::Workflow,
                id: format!("{file}/{id}"),
                label: format!("workflow {file} job {id}"),
                file: rel.to_owned(),
                value: job,
            });
        }
    }
    out.push(Parsed {
        kind: FileKind::Workflow,
        id: file.to_owned(),
        label: format!("workflow {file}"),
        file: rel.to_owned(),
        value: Value::Object(top),
    });
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(scope: &str, rel: &str, text: &str) -> Vec<(FileKind, String)> {
        parse_file(scope, rel, text)
            .into_iter()
            .map(|p| (p.kind, p.label))
            .collect()
    }

    #[test]
    fn kubernetes_files_split_into_objects_keyed_with_their_namespace() {
        let p = parse_file(
            "prod",
            "k8s/20-api.yaml",
            "# header\napiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: shop\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  replicas: 2\n",
        );
        let ids: Vec<&str> = p.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["Service/shop/api", "Deployment/shop/api"]);
        assert_eq!(p[1].label, "Deployment/api");
        // The namespace is part of the key, not a field.
        assert!(p[1].value["metadata"].get("namespace").is_none());
        // GitOps objects are Kubernetes objects too (of Argo CD's or Flux's namespace).
        let p = parse_file(
            "prod",
            "gitops/argocd.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: shop-prod\n  namespace: argocd\n",
        );
        assert_eq!(
            (p[0].kind, p[0].id.as_str()),
            (FileKind::Kubernetes, "Application/argocd/shop-prod")
        );
    }

    #[test]
    fn compose_terraform_and_workflows_split_by_their_own_names() {
        assert_eq!(
            labels(
                "prod",
                "compose.yaml",
                "name: shop\nservices:\n  api:\n    image: a:1\nvolumes:\n  data: {}\n"
            ),
            [
                (FileKind::Compose, "compose service api".to_owned()),
                (FileKind::Compose, "compose volume data".to_owned()),
                (FileKind::Compose, "compose project".to_owned()),
            ]
        );
        let tf = parse_file(
            "prod",
            "terraform/main.tf",
            "resource \"helm_release\" \"pg\" {\n  name = \"pg\"\n  version = \"1.0\"\n  namespace = data.x.y.metadata[0].name\n}\nvariable \"k\" {\n  type = string\n}\n",
        );
        let got: Vec<&str> = tf.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(got, ["terraform helm_release.pg", "terraform var.k"]);
        assert_eq!(tf[0].value["version"], "1.0");
        assert_eq!(tf[0].value["namespace"], "${data.x.y.metadata[0].name}");
        assert_eq!(
            labels(
                "github",
                "workflows/deploy.yml",
                "name: x\n\"on\": push\njobs:\n  test:\n    runs-on: ubuntu-24.04\n"
            ),
            [
                (
                    FileKind::Workflow,
                    "workflow deploy.yml job test".to_owned()
                ),
                (FileKind::Workflow, "workflow deploy.yml".to_owned()),
            ]
        );
    }

    #[test]
    fn unparsable_and_plain_files_are_text() {
        assert_eq!(
            labels("prod", "k8s/20-api.yaml", "kind: [unclosed\n"),
            [(FileKind::Text, "k8s/20-api.yaml".to_owned())]
        );
        assert_eq!(
            labels("prod", "nginx/nginx.conf", "events {}\n"),
            [(FileKind::Text, "nginx/nginx.conf".to_owned())]
        );
        assert_eq!(
            labels("paas", "fly/fly.toml", "app = \"x\"\n"),
            [(FileKind::Paas, "fly/fly.toml".to_owned())]
        );
    }
}
