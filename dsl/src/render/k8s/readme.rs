//! The Kubernetes folder's `README.md`: how to apply it, the Secrets to create (those the
//! workloads reference, and those of their own shape that charts and operators read), the
//! backup buckets' lifecycle rules, and the services the stack chose to leave without a
//! password.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::backup;
use crate::model::{Auth, BackingKind, Install, SecretRef, Target, Template};
use crate::plan::{Hosts, Plan, Ports, Style, User};

pub(super) fn readme(
    plan: &Plan<'_>,
    ns: &str,
    secrets: &BTreeMap<String, Vec<SecretRef>>,
) -> String {
    let stack = plan.stack();
    let mut t = crate::render::html_header(stack);
    t.push('\n');

    t.push_str(&format!(
        "# `{}` — Kubernetes manifests ({})\n\n",
        stack.name, stack.env
    ));
    t.push_str(&format!(
        "Apply with `kubectl apply -k out/{}/k8s` (namespace `{ns}`).\n\n",
        stack.out_dir()
    ));
    if plan.operated().next().is_some() {
        t.push_str(
            "`25-backing-services.yaml` holds custom resources of the operators Terraform installs \
             (`../terraform/`): apply Terraform first.\n\n",
        );
    }
    let shaped = plan.shaped_secrets().next().is_some();
    if secrets.is_empty() && !shaped {
        t.push_str("The stack references no Secrets.\n");
        return t;
    }
    if !secrets.is_empty() {
        referenced(plan, ns, secrets, &mut t);
    }
    if shaped {
        shaped_secrets(plan, ns, &mut t);
    }
    buckets(plan, &mut t);
    open_services(plan, &mut t);
    t
}

/// The Secrets the manifests (and the charts and operators) reference by name and key.
fn referenced(
    plan: &Plan<'_>,
    ns: &str,
    secrets: &BTreeMap<String, Vec<SecretRef>>,
    t: &mut String,
) {
    t.push_str(
        "## Secrets to create before applying\n\nThe manifests reference these Secrets by name and key; \
         they are never generated. Create them in the namespace (or sync them from your secret store):\n\n\
         | Secret | key | used by | description |\n|---|---|---|---|\n",
    );
    let uses = plan.secrets(Target::Kubernetes);
    for (name, keys) in secrets {
        for k in keys {
            let users: Vec<String> = uses
                .iter()
                .filter(|u| u.secret.name() == k.name() && u.secret.key() == k.key())
                .flat_map(|u| &u.users)
                .filter_map(|r| match r {
                    // A service Terraform installs runs no container of ours here: its
                    // chart or operator reads the Secret (listed as such) or one of its own.
                    User::Service(s) if plan.is_helm_installed(s) => None,
                    User::Service(s) => Some(s.name.clone()),
                    User::Backup(s) => backup::job_name(s).map(|job| format!("{job} (CronJob)")),
                    User::Installed(s) => Some(format!("{} ({})", s.name, installer(s))),
                    _ => None,
                })
                .collect();
            t.push_str(&format!(
                "| `{name}` | `{}` | {} | {} |\n",
                k.key(),
                users.join(", "),
                k.description().unwrap_or("")
            ));
        }
    }
    t.push_str("\n```sh\n");
    for (name, keys) in secrets {
        t.push_str(&format!("kubectl -n {ns} create secret generic {name}"));
        for k in keys {
            t.push_str(&format!(
                " \\\n  --from-literal={}=\"${}\"",
                k.key(),
                k.var()
            ));
        }
        t.push('\n');
    }
    t.push_str("```\n");
}

/// Who installs a backing service: its chart, or its operator.
fn installer(svc: &crate::model::Service) -> String {
    match svc.backing.as_ref().map(|b| &b.install) {
        Some(Install::Operator(o)) => o.operator.product.clone(),
        _ => "Helm chart".to_owned(),
    }
}

/// Text inside a double-quoted shell word.
fn shell_escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['"', '\\', '$', '`']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// A template as a double-quoted shell word: secrets as `${VAR}`, text escaped.
fn shell(plan: &Plan<'_>, template: &Template) -> String {
    let secret = |s: &SecretRef| -> Cow<'static, str> { Cow::Owned(format!("${{{}}}", s.var())) };
    let style = Style::new(Hosts::Kubernetes, Ports::Service, &secret).escape(shell_escape);
    format!("\"{}\"", plan.resolve(template, &style))
}

/// The Secrets of their own shape that charts and operators read.
fn shaped_secrets(plan: &Plan<'_>, ns: &str, t: &mut String) {
    t.push_str(
        "\n## Secrets the operators read\n\nThese operators read credentials in a shape of their own. \
         Create them from the same values as the stack's secrets, so the services and their \
         consumers agree:\n\n| Secret | type | keys | read by |\n|---|---|---|---|\n",
    );
    for (svc, sh) in plan.shaped_secrets() {
        let keys: Vec<String> = sh.data.iter().map(|(k, _)| format!("`{k}`")).collect();
        t.push_str(&format!(
            "| `{}` | `{}` | {} | `{}` ({}) |\n",
            sh.name,
            sh.kind.as_deref().unwrap_or("Opaque"),
            keys.join(", "),
            svc.name,
            installer(svc)
        ));
    }
    t.push_str("\n```sh\n");
    for (_, sh) in plan.shaped_secrets() {
        t.push_str(&format!(
            "kubectl -n {ns} create secret generic {}",
            sh.name
        ));
        if let Some(kind) = &sh.kind {
            t.push_str(&format!(" --type={kind}"));
        }
        for (key, value) in &sh.data {
            t.push_str(&format!(
                " \\\n  --from-literal={key}={}",
                shell(plan, value)
            ));
        }
        t.push('\n');
    }
    t.push_str("```\n");
}

/// The buckets backup jobs write to, and the lifecycle rules they need.
fn buckets(plan: &Plan<'_>, t: &mut String) {
    let buckets: Vec<(String, &crate::model::Backup, &crate::model::Bucket)> = plan
        .services(Target::Kubernetes)
        .filter_map(|s| {
            let b = s.backup.as_ref()?;
            match &b.target {
                crate::model::BackupTarget::Bucket(bucket) => {
                    Some((backup::job_name(s)?, b, &**bucket))
                }
                crate::model::BackupTarget::Volume { .. } => None,
            }
        })
        .collect();
    if buckets.is_empty() {
        return;
    }
    t.push_str(
        "\n## Backup buckets\n\nThe backup jobs only write; retention is the bucket's. Give each prefix a \
         lifecycle rule that expires objects after the retention, and the job's credentials \
         `s3:PutObject` on the prefix and nothing else:\n\n\
         | CronJob | bucket URL | expire after |\n|---|---|---|\n",
    );
    for (job, b, bucket) in buckets {
        t.push_str(&format!(
            "| `{job}` | `{}/` | {} days |\n",
            bucket.url.trim_end_matches('/'),
            b.retention_days
        ));
    }
}

/// Services the stack chose to run without a password, with its reasons.
fn open_services(plan: &Plan<'_>, t: &mut String) {
    let open: Vec<(&str, &str)> = plan
        .services(Target::Kubernetes)
        .filter_map(|s| match s.backing.as_ref().map(|b| &b.kind) {
            Some(BackingKind::Redis {
                auth: Auth::NoPassword { reason },
            }) => Some((s.name.as_str(), reason.as_str())),
            _ => None,
        })
        .collect();
    if open.is_empty() {
        return;
    }
    t.push_str(
        "\n## Services without a password\n\nOnly the NetworkPolicies (`30-network-policies.yaml`) \
         fence these; the stack said why that is enough:\n\n",
    );
    for (name, reason) in open {
        t.push_str(&format!("- `{name}`: {reason}\n"));
    }
}
