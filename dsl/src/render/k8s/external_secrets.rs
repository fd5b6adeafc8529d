//! External Secrets (`10-external-secrets.yaml`), when the stack names a
//! [`SecretStore`](crate::model::SecretStore): one `ExternalSecret` per Kubernetes Secret
//! the manifests reference (the plan's secret inventory), named like the Secret, with one
//! `data` entry per key. The operator owns the Secret it writes (`creationPolicy: Owner`:
//! deleted with the ExternalSecret) and keeps a value the store no longer has
//! (`deletionPolicy: Retain`, so a deleted remote value does not take a running service
//! down). Workloads still read the Secret through `secretKeyRef`.
//!
//! Each `- secretKey: <key>` line ends with detect-secrets' `# pragma: allowlist secret`
//! (which checkov honours too): its value names a key of the Secret, not a value, but
//! secret scanners read any `secretKey: <literal>` as a leaked secret, and a team's own
//! scan of the repository would stop on every ExternalSecret.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::crd::{
    EXTERNAL_SECRETS, ExternalSecretSpec, RemoteRef, Resource, SecretData, SecretTarget, StoreRef,
};
use super::{Object, PART_OF};
use crate::model::SecretRef;
use crate::plan::Plan;

/// The ExternalSecrets of `secrets` (Secret name → keys); none without a store.
pub(crate) fn objects(plan: &Plan<'_>, secrets: &BTreeMap<String, Vec<SecretRef>>) -> Vec<Object> {
    let stack = plan.stack();
    let Some(store) = &stack.kubernetes.secret_store else {
        return Vec::new();
    };
    secrets
        .iter()
        .map(|(name, keys)| {
            Object::ExternalSecret(Resource::new(
                EXTERNAL_SECRETS,
                "ExternalSecret",
                ObjectMeta {
                    name: Some(name.clone()),
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
                        name: name.clone(),
                        creation_policy: "Owner",
                        deletion_policy: "Retain",
                    },
                    data: keys
                        .iter()
                        .map(|k| {
                            let (key, property) = store.remote(k);
                            SecretData {
                                secret_key: k.key().to_owned(),
                                remote_ref: RemoteRef { key, property },
                            }
                        })
                        .collect(),
                },
            ))
        })
        .collect()
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
