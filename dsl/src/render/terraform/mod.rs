//! Terraform renderer: backing services as Helm releases (helm provider 3.x), into
//! `out/<stack>/<env>/terraform/`:
//!
//! | file | content |
//! |---|---|
//! | `versions.tf` | `required_version`, helm `~> 3.1` and kubernetes `~> 2.38` providers |
//! | `providers.tf` | both providers on one kubeconfig context (helm 3.x `kubernetes = {…}` attribute) |
//! | `variables.tf` | the kubeconfig and context, and one `sensitive` variable per secret, no defaults |
//! | `main.tf` | the namespace (must exist: `k8s/00-namespace.yaml`), one `helm_release` per backing service |
//! | `outputs.tf` | each release's in-cluster host and port |
//! | `values/<release>-<concern>.yaml` | small values files, no secrets (those go through `set_sensitive`) |
//! | `README.md` | apply order and the variables to set |
//!
//! Secrets reach Helm through `set_sensitive`, never through values files: the seed's
//! `password: ${REDIS_PASSWORD}` in a file read by `file()` is never expanded.

pub mod hcl;
mod overrides;

use std::collections::BTreeMap;

use hcl::{Block, Expr, raw, s};

use crate::diagnostics::Errors;
use crate::model::{SecretRef, Service, Target};
use crate::plan::Plan;
use crate::render::{Backend, Document, Environments, hash_header, yaml};

/// Terraform variable name of a secret: its Compose variable, lowercased
/// (`TF_VAR_<name>` in the environment).
pub fn variable(secret: &SecretRef) -> String {
    secret.var().to_ascii_lowercase()
}

/// Resource name of a release.
fn resource(svc: &Service) -> String {
    svc.name.replace('-', "_")
}

/// Every secret the releases need, by variable name.
fn secrets<'s>(plan: &Plan<'s>) -> BTreeMap<String, &'s SecretRef> {
    plan.secrets(Target::Terraform)
        .into_iter()
        .map(|u| (variable(u.secret), u.secret))
        .collect()
}

/// The Terraform backend: Helm releases of the backing services.
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

    let versions = Block::new("terraform", &[])
        .attr("required_version", s(">= 1.6.0"))
        .blank()
        .block(
            Block::new("required_providers", &[])
                .attr(
                    "helm",
                    Expr::Object(vec![
                        ("source".into(), s("hashicorp/helm")),
                        ("version".into(), s("~> 3.1")),
                    ]),
                )
                .attr(
                    "kubernetes",
                    Expr::Object(vec![
                        ("source".into(), s("hashicorp/kubernetes")),
                        ("version".into(), s("~> 2.38")),
                    ]),
                ),
        );

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
    let mut values_docs = Vec::new();
    for svc in &services {
        let Some(b) = &svc.backing else { continue };
        let files: Vec<Expr> = b
            .values
            .iter()
            .map(|v| {
                raw(format!(
                    "file(\"${{path.module}}/values/{}-{}.yaml\")",
                    svc.name, v.concern
                ))
            })
            .collect();
        let mut release = Block::new("resource", &["helm_release", &resource(svc)])
            .attr("name", s(&svc.name))
            .attr("repository", s(&b.chart.repository))
            .attr("chart", s(&b.chart.chart))
            .attr("version", s(&b.chart.version))
            .attr(
                "namespace",
                raw("data.kubernetes_namespace_v1.this.metadata[0].name"),
            )
            .attr("atomic", Expr::Bool(true))
            .attr("wait", Expr::Bool(true))
            .attr("timeout", Expr::Num(600))
            .blank()
            .attr("values", Expr::List(files));
        if !b.sensitive.is_empty() {
            let sets = b
                .sensitive
                .iter()
                .map(|(path, secret)| {
                    Expr::Object(vec![
                        ("name".into(), s(path)),
                        ("value".into(), raw(format!("var.{}", variable(secret)))),
                    ])
                })
                .collect();
            release = release.blank().attr("set_sensitive", Expr::List(sets));
        }
        main.push(release);
        let host = format!("{}.{ns}.svc.cluster.local", plan.k8s_host(svc));
        outputs.push(
            Block::new("output", &[&format!("{}_host", resource(svc))])
                .attr("description", s(format!("In-cluster host of {}", svc.name)))
                .attr("value", s(host)),
        );
        if let Some(p) = svc.ports.first() {
            outputs.push(
                Block::new("output", &[&format!("{}_port", resource(svc))])
                    .attr(
                        "description",
                        s(format!("Port of {} ({})", svc.name, p.name)),
                    )
                    .attr("value", Expr::Num(i64::from(p.client_port()))),
            );
        }
        for v in &b.values {
            let mut text = hash_header(stack);
            yaml::write(&mut text, &v.values);
            values_docs.push(Document::new(
                format!("{dir}/values/{}-{}.yaml", svc.name, v.concern),
                text,
            ));
        }
    }

    let mut docs = vec![
        tf("versions.tf", vec![versions]),
        tf("providers.tf", vec![kube, helm]),
        tf("variables.tf", variables),
        tf("main.tf", main),
        tf("outputs.tf", outputs),
    ];
    docs.extend(values_docs);
    docs.push(Document::new(
        format!("{dir}/README.md"),
        readme(plan, &services),
    ));
    docs
}

fn readme(plan: &Plan<'_>, services: &[&Service]) -> String {
    let stack = plan.stack();
    let mut t = crate::render::html_header(stack);
    let dir = stack.out_dir();
    t.push_str(&format!(
        "\n# `{}` — backing services ({})\n\n",
        stack.name, stack.env
    ));
    t.push_str("Helm releases, installed by Terraform before the app manifests:\n\n| release | chart | version |\n|---|---|---|\n");
    for svc in services {
        if let Some(b) = &svc.backing {
            t.push_str(&format!(
                "| `{}` | `{}/{}` | `{}` |\n",
                svc.name, b.chart.repository, b.chart.chart, b.chart.version
            ));
        }
    }
    t.push_str(&format!(
        "\n```sh\nkubectl apply -f out/{dir}/k8s/00-namespace.yaml   # the releases go into this namespace\n\
         cd out/{dir}/terraform\nterraform init\n"
    ));
    let vars: Vec<String> = secrets(plan).into_keys().collect();
    for v in &vars {
        t.push_str(&format!(
            "export TF_VAR_{v}=…   # from your secret store, never committed\n"
        ));
    }
    t.push_str("terraform apply -var kube_context=<context>\n");
    t.push_str(&format!("kubectl apply -k out/{dir}/k8s\n```\n"));
    t
}
