//! The Kubernetes folder's `README.md`: how to apply it, what the routes need and what
//! their API cannot express, the Secrets (those the workloads reference, to create or synced
//! from the stack's store, and those of their own shape that charts and operators read), the
//! registry credentials the pods pull with, the backup buckets' retention, and the services
//! the stack chose to leave without a password.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::backup;
use super::gaps::gaps;
use super::gateway::{gateway_name, tls_hosts};
use crate::model::{
    Auth, BackingKind, GatewayAttach, GatewayImpl, IngressController, Install, RemoteKey, RouteApi,
    SecretRef, Target, Template,
};
use crate::plan::{Hosts, Plan, Ports, Style, User};

/// The README's section on the registry credentials the pods pull with (none: nothing).
fn pull_secrets(plan: &Plan<'_>, ns: &str, t: &mut String) {
    // Secret name → (description, services).
    let mut pulls: BTreeMap<&str, (Option<&str>, Vec<&str>)> = BTreeMap::new();
    for svc in plan.manifests() {
        for p in &svc.pod.image_pull_secrets {
            let entry = pulls.entry(&p.name).or_default();
            entry.0 = entry.0.or(p.description.as_deref());
            entry.1.push(&svc.name);
        }
    }
    if pulls.is_empty() {
        return;
    }
    t.push_str(
        "## Image pull secrets to create before applying\n\nThe pods pull their images with the \
         registry credentials of these Secrets (type `kubernetes.io/dockerconfigjson`), which are \
         never generated:\n\n| Secret | used by | description |\n|---|---|---|\n",
    );
    for (name, (description, users)) in &pulls {
        t.push_str(&format!(
            "| `{name}` | {} | {} |\n",
            users.join(", "),
            description.unwrap_or("")
        ));
    }
    t.push_str("\n```sh\n");
    for name in pulls.keys() {
        t.push_str(&format!(
            "kubectl -n {ns} create secret docker-registry {name} \\\n  --docker-server=\"$REGISTRY\" --docker-username=\"$REGISTRY_USER\" --docker-password=\"$REGISTRY_TOKEN\"\n"
        ));
    }
    t.push_str("```\n\n");
}

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
    if let Some(g) = &stack.kubernetes.gitops {
        let tools: Vec<&str> = [
            g.argo_cd.as_ref().map(|_| "Argo CD"),
            g.flux.as_ref().map(|_| "Flux"),
        ]
        .into_iter()
        .flatten()
        .collect();
        t.push_str(&format!(
            "{} deploys this folder from the stack's repository: see `../gitops/README.md`.\n\n",
            tools.join(" and ")
        ));
    }
    routes(plan, &mut t);
    pull_secrets(plan, ns, &mut t);
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

/// The Secrets the manifests (and the charts and operators) reference by name and key: to
/// create, or synced from the stack's secret store.
fn referenced(
    plan: &Plan<'_>,
    ns: &str,
    secrets: &BTreeMap<String, Vec<SecretRef>>,
    t: &mut String,
) {
    let stack = plan.stack();
    if let Some(store) = &stack.kubernetes.secret_store {
        t.push_str(&format!(
            "## Secrets, synced from {} `{}`\n\nThe External Secrets Operator writes these Secrets (`10-external-secrets.yaml`, one \
             ExternalSecret each, re-read every {}); workloads read them by name and key as before. The store \
             must exist and hold these values:\n\n\
             | Secret | key | remote key | property | used by | description |\n|---|---|---|---|---|---|\n",
            store.kind.kind(),
            store.name,
            store.refresh
        ));
        for (name, keys) in secrets {
            for k in keys {
                let (key, property) = store.remote(k);
                t.push_str(&format!(
                    "| `{name}` | `{}` | `{key}` | {} | {} | {} |\n",
                    k.key(),
                    property
                        .map(|p| format!("`{p}`"))
                        .unwrap_or_else(|| "—".to_owned()),
                    users(plan, k).join(", "),
                    k.description().unwrap_or("")
                ));
            }
        }
        if matches!(store.remote_key, RemoteKey::Property) {
            t.push_str("\nEach Secret is one remote secret whose properties are its keys (a JSON object in Vault KV or AWS Secrets Manager).\n");
        }
        // Releases given passwords through `set_sensitive` (not those reading the Secret).
        let from_variables = plan.helm_installed().any(|s| {
            matches!(s.backing.as_ref().map(|b| &b.install),
                Some(Install::Chart(r)) if !r.sensitive.is_empty())
        });
        if from_variables {
            t.push_str("\nThe Helm releases Terraform gives passwords read them from its variables, not from these Secrets; keep both equal to the store's values.\n");
        }
    } else {
        t.push_str(
            "## Secrets to create before applying\n\nThe manifests reference these Secrets by name and key; \
             they are never generated. Create them in the namespace (or name a secret store, \
             `s.kubernetes(|k| k.secret_store(…))`, to sync them with the External Secrets Operator):\n\n\
             | Secret | key | used by | description |\n|---|---|---|---|\n",
        );
        for (name, keys) in secrets {
            for k in keys {
                t.push_str(&format!(
                    "| `{name}` | `{}` | {} | {} |\n",
                    k.key(),
                    users(plan, k).join(", "),
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
}

/// Who reads a Secret's key on Kubernetes: services, backup jobs as `<job> (CronJob)`, and
/// charts and operators as `<service> (<installer>)`.
fn users(plan: &Plan<'_>, k: &SecretRef) -> Vec<String> {
    plan.secrets(Target::Kubernetes)
        .iter()
        .filter(|u| u.secret.name() == k.name() && u.secret.key() == k.key())
        .flat_map(|u| u.users.clone())
        .filter_map(|r| match r {
            // A service Terraform installs runs no container of ours here: its chart or
            // operator reads the Secret (listed as such) or one of its own.
            User::Service(s) if plan.is_helm_installed(s) => None,
            User::Service(s) => Some(s.name.clone()),
            User::Backup(s) => backup::job_name(s).map(|job| format!("{job} (CronJob)")),
            User::Installed(s) => Some(format!("{} ({})", s.name, installer(s))),
            User::Chart(_) => None,
        })
        .collect()
}

/// The routes' section: which API and Gateway, what must exist first, and what is not
/// expressed.
fn routes(plan: &Plan<'_>, t: &mut String) {
    let stack = plan.stack();
    if plan.routes(Target::Kubernetes).next().is_none() {
        return;
    }
    t.push_str("## Routes\n\n");
    match &stack.kubernetes.routes {
        RouteApi::Gateway(gw) => {
            let name = gateway_name(stack, gw);
            match &gw.attach {
                GatewayAttach::Own { class } => {
                    t.push_str(&format!(
                        "Gateway API routes (`40-gateway.yaml`) on the stack's own Gateway `{name}` of GatewayClass `{class}`: \
                         a listener `http` (port 80) and one HTTPS listener (443) per TLS host. Before applying, the GatewayClass \
                         `{class}` must exist (`kubectl get gatewayclass {class}`).\n"
                    ));
                    if let Some((_, issuer)) = tls_hosts(plan).first() {
                        t.push_str(&format!(
                            "Certificates: cert-manager issues each HTTPS listener's certificate (Secret `<host>-tls`) from ClusterIssuer \
                             `{issuer}`, named by the Gateway's `cert-manager.io/cluster-issuer` annotation; cert-manager's Gateway API \
                             support must be on (Helm value `config.enableGatewayAPI: true`, or `config.gatewayAPI.enabled: true` from \
                             cert-manager 1.21). Plain HTTP to a TLS host is redirected to HTTPS.\n"
                        ));
                    }
                }
                GatewayAttach::Existing { namespace } => {
                    t.push_str(&format!(
                        "Gateway API routes (`40-gateway.yaml`) attached to the existing Gateway `{namespace}/{name}`{}: its \
                         listeners must allow routes from namespace `{}`, and its owner provides TLS for the hosts below.\n",
                        gw.section
                            .as_ref()
                            .map(|s| format!(" (listener `{s}`)"))
                            .unwrap_or_default(),
                        stack.namespace()
                    ));
                }
            }
            match &gw.implementation {
                GatewayImpl::EnvoyGateway { namespace } => t.push_str(&format!(
                    "Implementation: Envoy Gateway, with its proxies in `{namespace}` (its default deploy mode), which the \
                     NetworkPolicies admit; rate limits, body sizes, connect timeouts and compression are its \
                     BackendTrafficPolicies. Its local rate limits count per proxy replica and per client address as Envoy \
                     sees it: behind a load balancer that hides client addresses, configure its client IP detection.\n"
                )),
                GatewayImpl::Portable { namespace, .. } => t.push_str(&format!(
                    "Implementation: a portable one, with its proxies in `{namespace}` (admitted by the NetworkPolicies); \
                     only standard Gateway API fields are rendered.\n"
                )),
            }
        }
        RouteApi::Ingress(c) => match c {
            IngressController::IngressNginx { namespace } => t.push_str(&format!(
                "Ingresses (`40-ingress.yaml`) of class `nginx`, served by ingress-nginx in `{namespace}`, with its \
                 annotations for rate limits, timeouts and body sizes. ingress-nginx's maintenance ended in March 2026: \
                 the Gateway API, the default route API, is its successor.\n"
            )),
            IngressController::Class { class, namespace } => t.push_str(&format!(
                "Ingresses (`40-ingress.yaml`) of class `{class}`, served by a controller in `{namespace}`; standard \
                 Ingress fields only.\n"
            )),
            IngressController::ClusterDefault { namespace } => t.push_str(&format!(
                "Ingresses (`40-ingress.yaml`) of the cluster's default IngressClass, served by a controller in \
                 `{namespace}`; standard Ingress fields only.\n"
            )),
        },
    }
    let gaps = gaps(plan);
    if gaps.is_empty() {
        t.push('\n');
        return;
    }
    t.push_str(
        "\n### Not expressed\n\nWhat the routes ask that this route API cannot express; apply it by hand or accept \
         the difference:\n\n| route | setting | why |\n|---|---|---|\n",
    );
    for g in gaps {
        t.push_str(&format!("| {} | {} | {} |\n", g.what, g.setting, g.why));
    }
    t.push('\n');
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

/// The Secrets of their own shape that charts and operators read: assembled by the External
/// Secrets Operator from the store's values, or to create from the same values.
fn shaped_secrets(plan: &Plan<'_>, ns: &str, t: &mut String) {
    let synced = plan.stack().kubernetes.secret_store.is_some();
    t.push_str(if synced {
        "\n## Secrets the operators read\n\nThese operators read credentials in a shape of their own. \
         The External Secrets Operator assembles them (`10-external-secrets.yaml`) from the store's \
         values above, so the services and their consumers agree:\n\n\
         | Secret | type | keys | read by |\n|---|---|---|---|\n"
    } else {
        "\n## Secrets the operators read\n\nThese operators read credentials in a shape of their own. \
         Create them from the same values as the stack's secrets, so the services and their \
         consumers agree:\n\n| Secret | type | keys | read by |\n|---|---|---|---|\n"
    });
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
    if synced {
        return;
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
