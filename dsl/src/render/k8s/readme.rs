//! `k8s/README.md`: how to apply the folder, and what the cluster owner creates first (the
//! Secrets the workloads reference, the registry credentials they pull with, the backup
//! buckets' rules).

use std::collections::BTreeMap;

use super::backup;
use crate::model::{SecretRef, Target};
use crate::plan::{Plan, User};

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
    pull_secrets(plan, ns, &mut t);
    if secrets.is_empty() {
        t.push_str("The stack references no Secrets.\n");
        return t;
    }
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
                    User::Service(s) => Some(s.name.clone()),
                    User::Backup(s) => backup::job_name(s).map(|job| format!("{job} (CronJob)")),
                    User::Chart(_) => None,
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
    if !buckets.is_empty() {
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
    t
}
