//! The operators Terraform installs (each once, however many services it runs), the
//! namespace objects their pods need, and the folder's README.
//!
//! An operator is cluster-wide: it lives in its own namespace and watches every other. Two
//! stacks (or two environments of one) sharing a cluster would both install it, so every
//! operator resource is counted by `var.install_operators` (default `true`): set it to
//! `false` where the cluster already runs the operator.
//!
//! An operator with a Helm chart is a `helm_release` like the charts of the services. One
//! without (RabbitMQ's Cluster Operator publishes only a release manifest) is fetched at its
//! pinned release URL with `hashicorp/http` and applied object by object with
//! `kubernetes_manifest` (server-side apply): the namespace and CRDs first, then the other
//! objects, then its Deployment, waited for until it has rolled out. `status`, which
//! `kubernetes_manifest` refuses, is dropped from each object.

use std::collections::BTreeMap;

use super::hcl::{Block, Expr, raw, s};
use super::{NAMESPACE, helm_release, resource};
use crate::model::{Install, Operator, OperatorSource, Release, SecretRef, Service};
use crate::plan::Plan;

/// The operators the stack's services need, each once, in first-use order.
pub(super) fn unique<'s>(plan: &Plan<'s>) -> Vec<&'s Operator> {
    let mut out: Vec<&Operator> = Vec::new();
    for (_, o) in plan.operated() {
        if !out.iter().any(|x| x.name == o.operator.name) {
            out.push(&o.operator);
        }
    }
    out
}

/// Terraform address of an operator: `<name>_operator` (or its name, when that says so).
fn address(op: &Operator) -> String {
    let name = resource(&op.name);
    if name.ends_with("operator") {
        name
    } else {
        format!("{name}_operator")
    }
}

const GATE: &str = "var.install_operators ? 1 : 0";

/// `variable "install_operators"`.
pub(super) fn variable(operators: &[&Operator]) -> Block {
    let names: Vec<&str> = operators.iter().map(|o| o.product.as_str()).collect();
    Block::new("variable", &["install_operators"])
        .attr("type", raw("bool"))
        .attr(
            "description",
            s(format!(
                "Install the cluster-wide operators these backing services need ({}). Set false where the cluster already runs them (another stack or environment, or the platform team, installed them).",
                names.join(", ")
            )),
        )
        .attr("default", Expr::Bool(true))
        .attr("nullable", Expr::Bool(false))
}

/// The blocks that install `op`.
pub(super) fn install(op: &Operator) -> Vec<Block> {
    match &op.source {
        OperatorSource::Chart(release) => {
            let mut block = helm_release(
                &address(op),
                &op.name,
                release,
                s(&op.namespace),
                "values/operators/",
            );
            // `count` first, then `create_namespace` beside the namespace.
            block.body.insert(0, super::hcl::Item::Blank);
            block
                .body
                .insert(0, super::hcl::Item::Attr("count".into(), raw(GATE)));
            let at = block
                .body
                .iter()
                .position(|i| matches!(i, super::hcl::Item::Attr(n, _) if n == "namespace"))
                .map_or(block.body.len(), |i| i + 1);
            block.body.insert(
                at,
                super::hcl::Item::Attr("create_namespace".into(), Expr::Bool(true)),
            );
            vec![block]
        }
        OperatorSource::Manifest { url, version } => manifest(op, url, version),
    }
}

/// An operator's release manifest, fetched at `url` and applied object by object.
fn manifest(op: &Operator, url: &str, version: &str) -> Vec<Block> {
    let name = address(op);
    let objects = format!("local.{name}");
    let fetch = Block::new("data", &["http", &name])
        .attr("count", raw(GATE))
        .attr("url", s(url))
        .blank()
        .block(
            Block::new("lifecycle", &[]).block(
                Block::new("postcondition", &[])
                    .attr("condition", raw("self.status_code == 200"))
                    .attr(
                        "error_message",
                        s(format!(
                            "Cannot fetch the {} {version} release manifest from {url}.",
                            op.product
                        )),
                    ),
            ),
        );
    let locals = Block::new("locals", &[])
        .comment(format!(
            "The {} {version} release manifest: its objects by kind, namespace and name, without `status`.",
            op.product
        ))
        .attr(
            &name,
            raw(format!(
                "var.install_operators ? {{ for m in provider::kubernetes::manifest_decode_multi(data.http.{name}[0].response_body) : \"${{m.kind}}/${{try(m.metadata.namespace, \"\")}}/${{m.metadata.name}}\" => {{ for k, v in m : k => v if k != \"status\" }} }} : {{}}"
            )),
        );
    let first = "[\"Namespace\", \"CustomResourceDefinition\"]";
    let base = Block::new(
        "resource",
        &["kubernetes_manifest", &format!("{name}_base")],
    )
    .comment("The namespace and the CRDs, before anything that lives in or uses them.")
    .attr(
        "for_each",
        raw(format!(
            "{{ for k, m in {objects} : k => m if contains({first}, m.kind) }}"
        )),
    )
    .attr("manifest", raw("each.value"));
    let rest = Block::new("resource", &["kubernetes_manifest", &name])
        .attr(
            "for_each",
            raw(format!(
                "{{ for k, m in {objects} : k => m if !contains({first}, m.kind) && m.kind != \"Deployment\" }}"
            )),
        )
        .attr("manifest", raw("each.value"))
        .blank()
        .attr(
            "depends_on",
            Expr::List(vec![raw(format!("kubernetes_manifest.{name}_base"))]),
        );
    let deployment = Block::new(
        "resource",
        &["kubernetes_manifest", &format!("{name}_deployment")],
    )
    .comment("The operator itself, last, waited for until it has rolled out.")
    .attr(
        "for_each",
        raw(format!(
            "{{ for k, m in {objects} : k => m if m.kind == \"Deployment\" }}"
        )),
    )
    .attr("manifest", raw("each.value"))
    .blank()
    .block(Block::new("wait", &[]).attr("rollout", Expr::Bool(true)))
    .blank()
    .attr(
        "depends_on",
        Expr::List(vec![raw(format!("kubernetes_manifest.{name}"))]),
    );
    vec![fetch, locals, base, rest, deployment]
}

/// The ServiceAccounts (with a Role and RoleBinding) that operators' pods run as in the
/// stack's namespace, each once. Not counted by `install_operators`: they belong to the
/// namespace, not to the operator.
pub(super) fn service_accounts(plan: &Plan<'_>) -> Vec<Block> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (_, o) in plan.operated() {
        let Some(grant) = &o.service_account else {
            continue;
        };
        if seen.contains(&grant.name.as_str()) {
            continue;
        }
        seen.push(&grant.name);
        let r = resource(&grant.name);
        let metadata = || {
            Block::new("metadata", &[])
                .attr("name", s(&grant.name))
                .attr("namespace", raw(NAMESPACE))
        };
        out.push(Block::new("resource", &["kubernetes_service_account_v1", &r]).block(metadata()));
        let mut role = Block::new("resource", &["kubernetes_role_v1", &r]).block(metadata());
        for rule in &grant.rules {
            let list = |items: &[String]| Expr::List(items.iter().map(s).collect());
            role = role.block(
                Block::new("rule", &[])
                    .attr("api_groups", list(std::slice::from_ref(&rule.api_group)))
                    .attr("resources", list(&rule.resources))
                    .attr("verbs", list(&rule.verbs)),
            );
        }
        out.push(role);
        out.push(
            Block::new("resource", &["kubernetes_role_binding_v1", &r])
                .block(metadata())
                .block(
                    Block::new("role_ref", &[])
                        .attr("api_group", s("rbac.authorization.k8s.io"))
                        .attr("kind", s("Role"))
                        .attr(
                            "name",
                            raw(format!("kubernetes_role_v1.{r}.metadata[0].name")),
                        ),
                )
                .block(
                    Block::new("subject", &[])
                        .attr("kind", s("ServiceAccount"))
                        .attr(
                            "name",
                            raw(format!(
                                "kubernetes_service_account_v1.{r}.metadata[0].name"
                            )),
                        )
                        .attr("namespace", raw(NAMESPACE)),
                ),
        );
    }
    out
}

/// `<repository>/<chart>`.
fn chart_ref(r: &Release) -> String {
    format!(
        "{}/{}",
        r.chart.repository.trim_end_matches('/'),
        r.chart.chart
    )
}

/// The pinned version an operator is installed at.
fn version(source: &OperatorSource) -> &str {
    match source {
        OperatorSource::Chart(r) => &r.chart.version,
        OperatorSource::Manifest { version, .. } => version,
    }
}

/// The folder's README: what is installed from where, and the apply order.
pub(super) fn readme(
    plan: &Plan<'_>,
    services: &[&Service],
    operators: &[&Operator],
    secrets: &BTreeMap<String, &SecretRef>,
) -> String {
    let stack = plan.stack();
    let mut t = crate::render::html_header(stack);
    let dir = stack.out_dir();
    t.push_str(&format!(
        "\n# `{}` — backing services ({})\n\nInstalled by Terraform before the app manifests:\n\n\
         | service | installed as | source | version |\n|---|---|---|---|\n",
        stack.name, stack.env
    ));
    for svc in services {
        let Some(b) = &svc.backing else { continue };
        let line = match &b.install {
            Install::Chart(r) => format!(
                "| `{}` | Helm release `{}` | chart `{}` | `{}` |\n",
                svc.name,
                svc.name,
                chart_ref(r),
                r.chart.version
            ),
            Install::Operator(o) => {
                let kinds: Vec<String> = o
                    .resources
                    .iter()
                    .map(|r| format!("`{}`", r.kind))
                    .collect();
                format!(
                    "| `{}` | {} in `k8s/25-backing-services.yaml` | {} (operator, below) | `{}` |\n",
                    svc.name,
                    kinds.join(" and "),
                    o.operator.product,
                    version(&o.operator.source)
                )
            }
        };
        t.push_str(&line);
    }
    if !operators.is_empty() {
        t.push_str(
            "\nOperators (cluster-wide, each in its own namespace; installed unless \
             `-var install_operators=false`, for a cluster that already runs them):\n\n\
             | operator | namespace | source | version |\n|---|---|---|---|\n",
        );
        for op in operators {
            let source = match &op.source {
                OperatorSource::Chart(r) => format!("chart `{}`", chart_ref(r)),
                OperatorSource::Manifest { url, .. } => format!("release manifest `{url}`"),
            };
            t.push_str(&format!(
                "| {} | `{}` | {source} | `{}` |\n",
                op.product,
                op.namespace,
                version(&op.source)
            ));
        }
        if operators
            .iter()
            .any(|o| matches!(o.source, OperatorSource::Manifest { .. }))
        {
            t.push_str(
                "\nThe RabbitMQ Cluster Operator's manifest includes a cert-manager `Certificate` \
                 for its webhook: the cluster must run cert-manager.\n",
            );
        }
    }
    let shaped = plan.shaped_secrets().next().is_some();
    t.push_str(&format!(
        "\n```sh\nkubectl apply -f out/{dir}/k8s/00-namespace.yaml   # the releases and operators' resources go into this namespace\n"
    ));
    if !plan.secrets(crate::model::Target::Kubernetes).is_empty() || shaped {
        t.push_str(&format!(
            "# create the Secrets listed in out/{dir}/k8s/README.md first: the charts and operators read them\n"
        ));
    }
    t.push_str(&format!("cd out/{dir}/terraform\nterraform init\n"));
    for v in secrets.keys() {
        t.push_str(&format!(
            "export TF_VAR_{v}=…   # from your secret store, never committed\n"
        ));
    }
    t.push_str("terraform apply -var kube_context=<context>\n");
    t.push_str(&format!("kubectl apply -k out/{dir}/k8s\n```\n"));
    t
}
