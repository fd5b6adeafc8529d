//! External Secrets (`10-external-secrets.yaml`), when the stack names a
//! [`SecretStore`](crate::model::SecretStore): one `ExternalSecret` per Kubernetes Secret
//! the manifests reference (the plan's secret inventory), named like the Secret, with one
//! `data` entry per key. The operator owns the Secret it writes (`creationPolicy: Owner`:
//! deleted with the ExternalSecret) and keeps a value the store no longer has
//! (`deletionPolicy: Retain`, so a deleted remote value does not take a running service
//! down). Workloads still read the Secret through `secretKeyRef`.
//!
//! A Secret of its own shape that a chart or operator reads
//! ([`ShapedSecret`](crate::model::ShapedSecret), CloudNativePG's `kubernetes.io/basic-auth`
//! credentials) gets one too: it reads the store's values its keys are made from and
//! assembles them with a template (`{{ .KEY }}` per value read; literal text kept as is).
//!
//! Each `- secretKey: <key>` line ends with detect-secrets' `# pragma: allowlist secret`
//! (which checkov honours too): its value names a key of the Secret, not a value, but
//! secret scanners read any `secretKey: <literal>` as a leaked secret, and a team's own
//! scan of the repository would stop on every ExternalSecret.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use std::borrow::Cow;

use super::crd::{
    EXTERNAL_SECRETS, ExternalSecretSpec, RemoteRef, Resource, SecretData, SecretTarget,
    SecretTemplate, StoreRef,
};
use super::{Object, PART_OF};
use crate::model::{Part, SecretRef, SecretStore, ShapedSecret};
use crate::plan::{Hosts, Plan, Ports, Style};

/// The ExternalSecrets of `secrets` (Secret name → keys), then of the Secrets of their own
/// shape the charts and operators read; none without a store.
pub(crate) fn objects(plan: &Plan<'_>, secrets: &BTreeMap<String, Vec<SecretRef>>) -> Vec<Object> {
    let Some(store) = &plan.stack().kubernetes.secret_store else {
        return Vec::new();
    };
    let data = |k: &SecretRef, secret_key: String| {
        let (key, property) = store.remote(k);
        SecretData {
            secret_key,
            remote_ref: RemoteRef { key, property },
        }
    };
    let mut out: Vec<Object> = secrets
        .iter()
        .map(|(name, keys)| {
            let data = keys.iter().map(|k| data(k, k.key().to_owned())).collect();
            external_secret(plan, store, name, None, data)
        })
        .collect();
    for (_, shaped) in plan.shaped_secrets() {
        let mut read: Vec<&SecretRef> = Vec::new();
        for (_, value) in &shaped.data {
            for part in value.parts() {
                if let Part::Secret(k) = part
                    && !read.contains(&k)
                {
                    read.push(k);
                }
            }
        }
        let data = read.iter().map(|k| data(k, k.var())).collect();
        let template = template(plan, shaped);
        out.push(external_secret(
            plan,
            store,
            &shaped.name,
            Some(template),
            data,
        ));
    }
    out
}

fn external_secret(
    plan: &Plan<'_>,
    store: &SecretStore,
    name: &str,
    template: Option<SecretTemplate>,
    data: Vec<SecretData>,
) -> Object {
    let stack = plan.stack();
    Object::ExternalSecret(Resource::new(
        EXTERNAL_SECRETS,
        "ExternalSecret",
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(stack.namespace()),
            labels: Some(BTreeMap::from([(PART_OF.to_owned(), stack.name.clone())])),
            ..Default::default()
        },
        ExternalSecretSpec {
            refresh_interval: store.refresh.to_string(),
            secret_store_ref: StoreRef {
                kind: store.kind.kind(),
                name: store.name.clone(),
            },
            target: SecretTarget {
                name: name.to_owned(),
                creation_policy: "Owner",
                deletion_policy: "Retain",
                template,
            },
            data,
        },
    ))
}

/// Literal text inside a Go template: the only sequence it could misread is `{{`.
fn go_text(text: &str) -> Cow<'_, str> {
    if text.contains("{{") {
        Cow::Owned(text.replace("{{", "{{ \"{{\" }}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The template assembling `shaped`: each value read as `{{ .VAR }}` (the key it is read
/// into), hosts and ports as the cluster sees them.
fn template(plan: &Plan<'_>, shaped: &ShapedSecret) -> SecretTemplate {
    let secret =
        |k: &SecretRef| -> Cow<'static, str> { Cow::Owned(format!("{{{{ .{} }}}}", k.var())) };
    let style = Style::new(Hosts::Kubernetes, Ports::Service, &secret).escape(go_text);
    SecretTemplate {
        kind: shaped.kind.clone(),
        engine_version: "v2",
        data: shaped
            .data
            .iter()
            .map(|(key, value)| (key.clone(), plan.resolve(value, &style)))
            .collect(),
    }
}

/// Marks every `- secretKey: <key>` line of a serialized ExternalSecret for secret scanners
/// (see the module docs).
pub(super) fn allowlist_key_names(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len());
    for line in yaml.lines() {
        out.push_str(line);
        if line.trim_start().starts_with("- secretKey: ") {
            out.push_str("  # pragma: allowlist secret");
        }
        out.push('\n');
    }
    out
}
