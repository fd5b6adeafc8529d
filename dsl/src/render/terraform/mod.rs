//! Terraform renderer: what installs the backing services (helm provider 3.x, kubernetes
//! provider 2.x), into `out/<stack>/<env>/terraform/`:
//!
//! | file | content |
//! |---|---|
//! | `versions.tf` | `required_version`, helm `~> 3.1` and kubernetes `~> 2.38` providers (and `hashicorp/http ~> 3.5` for an operator installed from its release manifest) |
//! | `providers.tf` | helm and kubernetes on one kubeconfig context (helm 3.x `kubernetes = {…}` attribute) |
//! | `variables.tf` | the kubeconfig and context, `install_operators`, and one `sensitive` variable per secret a chart takes as a value, no defaults |
//! | `main.tf` | the namespace (must exist: `k8s/00-namespace.yaml`); per operator, its `helm_release` (or its release manifest, object by object) behind `var.install_operators`; per chart-installed service, a `helm_release` in the namespace; a ServiceAccount and Role an operator's pods need |
//! | `outputs.tf` | each service's in-cluster host and port |
//! | `values/<release>-<concern>.yaml`, `values/operators/<operator>-<concern>.yaml` | small values files, no secrets |
//! | `README.md` | what is installed from where, and the apply order |
//!
//! Secrets never reach a values file: a chart either reads the stack's own Secret in the
//! namespace (Valkey's, whose name and key Terraform passes with `set`), an operator reads a
//! Secret of its shape (listed in the Kubernetes README), or Terraform passes the value
//! through `set_sensitive` from a sensitive variable (a Bitnami chart chosen explicitly). The seed's `password: ${REDIS_PASSWORD}` in
//! a file read by `file()` would never be expanded.

pub mod hcl;
mod operators;
mod overrides;

use std::collections::BTreeMap;

use hcl::{Block, Expr, raw, s};

use crate::diagnostics::Errors;
use crate::model::{Install, OperatorSource, Release, SecretRef, Service, Target};
use crate::plan::Plan;
use crate::render::{Backend, Document, Environments, hash_header, yaml};

/// Terraform variable name of a secret: its Compose variable, lowercased
/// (`TF_VAR_<name>` in the environment).
pub fn variable(secret: &SecretRef) -> String {
    secret.var().to_ascii_lowercase()
}

/// Resource name of a release or operator: its name with `_` for `-`.
fn resource(name: &str) -> String {
    name.replace('-', "_")
}

/// Every secret the releases take as values, by variable name.
fn secrets<'s>(plan: &Plan<'s>) -> BTreeMap<String, &'s SecretRef> {
    plan.secrets(Target::Terraform)
        .into_iter()
        .map(|u| (variable(u.secret), u.secret))
        .collect()
}

/// The namespace the releases go into, as Terraform reads it.
const NAMESPACE: &str = "data.kubernetes_namespace_v1.this.metadata[0].name";

/// The Terraform backend: what installs the backing services.
#[derive(Clone, Copy, Debug)]
pub struct Terraform;

impl Backend for Terraform {
    fn target(&self) -> Target {
        Target::Terraform
    }

    fn check(&self, plan: &Plan<'_>) -> Errors {
        overrides::check(plan)
    }

    fn render(&self, plan: &Plan<'_>, _: &Environments<'_, '_>) -> Result<Vec<Document>, Errors> {
        Ok(render(plan))
    }
}

/// A `helm_release` of `release` named `name`, its values files under `values_dir`.
fn helm_release(
    address: &str,
    name: &str,
    release: &Release,
    namespace: Expr,
    values_dir: &str,
) -> Block {
    let files: Vec<Expr> = release
        .values
        .iter()
        .map(|v| {
            raw(format!(
                "file(\"${{path.module}}/{values_dir}{name}-{}.yaml\")",
                v.concern
            ))
        })
        .collect();
    let mut block = Block::new("resource", &["helm_release", address])
        .attr("name", s(name))
        .attr("repository", s(&release.chart.repository))
        .attr("chart", s(&release.chart.chart))
        .attr("version", s(&release.chart.version))
        .attr("namespace", namespace)
        .attr("atomic", Expr::Bool(true))
        .attr("wait", Expr::Bool(true))
        .attr("timeout", Expr::Num(600))
        .blank()
        .attr("values", Expr::List(files));
    if !release.secret_names.is_empty() {
        let sets = release
            .secret_names
            .iter()
            .map(|(path, name)| {
                Expr::Object(vec![("name".into(), s(path)), ("value".into(), s(name))])
            })
            .collect();
        block = block
            .blank()
            .comment("Names of the stack's Secret and key the chart reads (never their values).")
            .attr("set", Expr::List(sets));
    }
    if !release.sensitive.is_empty() {
        let sets = release
            .sensitive
            .iter()
            .map(|(path, secret)| {
                Expr::Object(vec![
                    ("name".into(), s(path)),
                    ("value".into(), raw(format!("var.{}", variable(secret)))),
                ])
            })
            .collect();
        block = block.blank().attr("set_sensitive", Expr::List(sets));
    }
    block
}

/// The values files of `release`, under `values_dir`.
fn values_docs(
    plan: &Plan<'_>,
    dir: &str,
    values_dir: &str,
    name: &str,
    release: &Release,
) -> Vec<Document> {
    release
        .values
        .iter()
        .map(|v| {
            let mut text = hash_header(plan.stack());
            yaml::write(&mut text, &v.values);
            Document::new(format!("{dir}/{values_dir}{name}-{}.yaml", v.concern), text)
        })
        .collect()
}

/// Renders the Terraform folder (nothing when the stack has no backing services).
pub fn render(plan: &Plan<'_>) -> Vec<Document> {
    let stack = plan.stack();
    let services: Vec<&Service> = plan.helm_installed().collect();
    if services.is_empty() {
        return Vec::new();
    }
    let dir = format!("{}/terraform", stack.out_dir());
    let header = hash_header(stack);
    let tf = |name: &str, blocks: Vec<Block>| {
        Document::new(
            format!("{dir}/{name}"),
            format!("{header}\n{}", hcl::file(&blocks)),
        )
    };
    let ns = stack.namespace();
    let operators = operators::unique(plan);
    let from_manifest = operators
        .iter()
        .any(|o| matches!(o.source, OperatorSource::Manifest { .. }));

    let provider = |source: &str, version: &str| {
        Expr::Object(vec![
            ("source".into(), s(source)),
            ("version".into(), s(version)),
        ])
    };
    let mut required = Block::new("required_providers", &[])
        .attr("helm", provider("hashicorp/helm", "~> 3.1"))
        .attr("kubernetes", provider("hashicorp/kubernetes", "~> 2.38"));
    if from_manifest {
        required = required.attr("http", provider("hashicorp/http", "~> 3.5"));
    }
    // Provider-defined functions (`provider::kubernetes::manifest_decode_multi`) need 1.8.
    let versions = Block::new("terraform", &[])
        .attr(
            "required_version",
            s(if from_manifest {
                ">= 1.8.0"
            } else {
                ">= 1.6.0"
            }),
        )
        .blank()
        .block(required);

    let connection = || {
        vec![
            ("config_path".to_owned(), raw("var.kubeconfig")),
            ("config_context".to_owned(), raw("var.kube_context")),
        ]
    };
    let mut kube = Block::new("provider", &["kubernetes"]);
    for (k, v) in connection() {
        kube = kube.attr(&k, v);
    }
    let helm = Block::new("provider", &["helm"]).attr("kubernetes", Expr::Object(connection()));

    let mut variables = vec![
        Block::new("variable", &["kubeconfig"])
            .attr("type", raw("string"))
            .attr("description", s("Path of the kubeconfig Terraform uses"))
            .attr("default", s("~/.kube/config")),
        Block::new("variable", &["kube_context"])
            .attr("type", raw("string"))
            .attr("description", s(format!("kubeconfig context of the cluster running namespace {ns} (no default, so a plan never targets the wrong cluster by accident)")))
            .attr("nullable", Expr::Bool(false)),
    ];
    if !operators.is_empty() {
        variables.push(operators::variable(&operators));
    }
    for (name, secret) in secrets(plan) {
        let what = secret
            .description()
            .map(|d| format!("{d}. "))
            .unwrap_or_default();
        variables.push(
            Block::new("variable", &[&name])
                .attr("type", raw("string"))
                .attr(
                    "description",
                    s(format!(
                        "{what}Also held in `{}`/`{}` (Kubernetes Secret/key); set TF_VAR_{name} to the same value.",
                        secret.name(),
                        secret.key()
                    )),
                )
                .attr("sensitive", Expr::Bool(true))
                .attr("nullable", Expr::Bool(false))
                .blank()
                .block(
                    Block::new("validation", &[])
                        .attr("condition", raw(format!("length(var.{name}) >= 16")))
                        .attr(
                            "error_message",
                            s(format!("{name} must be at least 16 characters.")),
                        ),
                ),
        );
    }

    let mut main = vec![
        Block::new("data", &["kubernetes_namespace_v1", "this"])
            .block(Block::new("metadata", &[]).attr("name", s(&ns))),
    ];
    let mut outputs = Vec::new();
    let mut values = Vec::new();
    for op in &operators {
        main.extend(operators::install(op));
        if let OperatorSource::Chart(release) = &op.source {
            values.extend(values_docs(
                plan,
                &dir,
                "values/operators/",
                &op.name,
                release,
            ));
        }
    }
    main.extend(operators::service_accounts(plan));
    for svc in &services {
        let Some(b) = &svc.backing else { continue };
        if let Install::Chart(release) = &b.install {
            main.push(helm_release(
                &resource(&svc.name),
                &svc.name,
                release,
                raw(NAMESPACE),
                "values/",
            ));
            values.extend(values_docs(plan, &dir, "values/", &svc.name, release));
        }
        let host = format!("{}.{ns}.svc.cluster.local", plan.k8s_host(svc));
        outputs.push(
            Block::new("output", &[&format!("{}_host", resource(&svc.name))])
                .attr("description", s(format!("In-cluster host of {}", svc.name)))
                .attr("value", s(host)),
        );
        if let Some(p) = svc.ports.first() {
            outputs.push(
                Block::new("output", &[&format!("{}_port", resource(&svc.name))])
                    .attr(
                        "description",
                        s(format!("Port of {} ({})", svc.name, p.name)),
                    )
                    .attr("value", Expr::Num(i64::from(p.client_port()))),
            );
        }
    }

    let mut docs = vec![
        tf("versions.tf", vec![versions]),
        tf("providers.tf", vec![kube, helm]),
        tf("variables.tf", variables),
        tf("main.tf", main),
        tf("outputs.tf", outputs),
    ];
    docs.extend(values);
    docs.push(Document::new(
        format!("{dir}/README.md"),
        operators::readme(plan, &services, &operators, &secrets(plan)),
    ));
    docs
}
