//! GitOps objects (`out/<stack>/<env>/gitops/`), when the stack asks for them
//! ([`GitOps`]): they are applied once to the cluster that runs Argo CD or Flux, which then
//! deploys the environment's `k8s/` folder from the stack's repository (URL and branch from
//! its [`Ci`](crate::model::Ci)). A folder of their own, because they live in Argo CD's or
//! Flux's namespace (often on a management cluster), not in the stack's.
//!
//! | file | objects |
//! |---|---|
//! | `argocd.yaml` | an `AppProject` `<stack>-<env>` (only the stack's repository, namespace and its Namespace object) unless the stack names a project, and the `Application` `<stack>-<env>` |
//! | `flux.yaml` | a `GitRepository` and a `Kustomization`, both `<stack>-<env>` |
//! | `kustomization.yaml` | lists them (unless the stack writes no kustomizations) |
//! | `README.md` | what to apply where, and the sync policy |
//!
//! **Sync policy.** Argo CD: outside prod, automated sync with prune and self-heal;
//! `CreateNamespace`, foreground prune propagation and pruning last; five retries with
//! exponential backoff (5 s doubling up to 3 min). Prod gets the same options but no
//! automated sync: a person syncs it after reviewing the diff, because Argo CD follows a
//! branch and cannot follow a range of release tags. Flux: prune, wait for readiness, a
//! 5-minute timeout and a 1-minute retry; prod follows the newest SemVer release tag
//! (`v1.2.3`), as the pipeline's production deploy does, the other environments the
//! branch. An autoscaled workload's `spec.replicas` is left to its HorizontalPodAutoscaler:
//! Argo CD ignores the field (and keeps it on sync), Flux patches it out before applying,
//! so neither undoes the autoscaler.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::PART_OF;
use crate::model::{ArgoCd, Env, Flux, GitOps};
use crate::plan::Plan;
use crate::render::{Document, hash_header, yaml};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Object<S> {
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta,
    spec: S,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppProjectSpec {
    description: String,
    source_repos: Vec<String>,
    destinations: Vec<Destination>,
    cluster_resource_whitelist: Vec<GroupKind>,
}

#[derive(Serialize)]
struct GroupKind {
    group: &'static str,
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplicationSpec {
    project: String,
    source: Source,
    destination: Destination,
    sync_policy: SyncPolicy,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ignore_differences: Vec<IgnoreDifference>,
    revision_history_limit: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    #[serde(rename = "repoURL")]
    repo_url: String,
    target_revision: String,
    path: String,
}

#[derive(Serialize)]
struct Destination {
    server: String,
    namespace: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SyncPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    automated: Option<Automated>,
    sync_options: Vec<&'static str>,
    retry: Retry,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Automated {
    prune: bool,
    self_heal: bool,
    allow_empty: bool,
}

#[derive(Serialize)]
struct Retry {
    limit: u32,
    backoff: Backoff,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Backoff {
    duration: &'static str,
    factor: u32,
    max_duration: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IgnoreDifference {
    group: &'static str,
    kind: &'static str,
    name: String,
    namespace: String,
    json_pointers: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GitRepositorySpec {
    interval: String,
    url: String,
    #[serde(rename = "ref")]
    reference: GitRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_ref: Option<LocalRef>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum GitRef {
    Branch { branch: String },
    Semver { semver: &'static str },
}

#[derive(Serialize)]
struct LocalRef {
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KustomizationSpec {
    interval: String,
    retry_interval: &'static str,
    timeout: &'static str,
    path: String,
    prune: bool,
    wait: bool,
    source_ref: SourceRef,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    patches: Vec<Patch>,
}

#[derive(Serialize)]
struct SourceRef {
    kind: &'static str,
    name: String,
}

#[derive(Serialize)]
struct Patch {
    patch: &'static str,
    target: PatchTarget,
}

#[derive(Serialize)]
struct PatchTarget {
    kind: &'static str,
    name: String,
}

/// `<stack>-<env>`: every GitOps object's name (unique per cluster running the tool).
fn name(plan: &Plan<'_>) -> String {
    let s = plan.stack();
    format!("{}-{}", s.name, s.env)
}

fn meta(plan: &Plan<'_>, namespace: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name(plan)),
        namespace: Some(namespace.to_owned()),
        labels: Some(BTreeMap::from([(
            PART_OF.to_owned(),
            plan.stack().name.clone(),
        )])),
        ..Default::default()
    }
}

/// The environment's `k8s/` folder inside the repository.
fn path(plan: &Plan<'_>, gitops: &GitOps) -> String {
    format!(
        "{}/{}/k8s",
        gitops.out_dir.trim_end_matches('/'),
        plan.stack().out_dir()
    )
}

/// (kind, name) of every workload whose replicas an autoscaler owns.
fn autoscaled<'s>(plan: &Plan<'s>) -> Vec<(&'static str, &'s str)> {
    plan.manifests()
        .filter(|s| s.autoscale.is_some())
        .map(|s| {
            let kind = if s.cluster.is_some() {
                "StatefulSet"
            } else {
                "Deployment"
            };
            (kind, s.name.as_str())
        })
        .collect()
}

fn argo_cd(plan: &Plan<'_>, gitops: &GitOps, argo: &ArgoCd, repo: &str, branch: &str) -> String {
    let stack = plan.stack();
    let mut text = hash_header(stack);
    let project = match &argo.project {
        Some(p) => p.clone(),
        None => {
            text.push_str("---\n");
            yaml::write(
                &mut text,
                &Object {
                    api_version: "argoproj.io/v1alpha1",
                    kind: "AppProject",
                    metadata: meta(plan, &argo.namespace),
                    spec: AppProjectSpec {
                        description: format!(
                            "{} ({}): only its repository and its namespace",
                            stack.name, stack.env
                        ),
                        source_repos: vec![repo.to_owned()],
                        destinations: vec![Destination {
                            server: argo.server.clone(),
                            namespace: stack.namespace(),
                        }],
                        cluster_resource_whitelist: vec![GroupKind {
                            group: "",
                            kind: "Namespace",
                        }],
                    },
                },
            );
            name(plan)
        }
    };
    let ignore: Vec<IgnoreDifference> = autoscaled(plan)
        .into_iter()
        .map(|(kind, workload)| IgnoreDifference {
            group: "apps",
            kind,
            name: workload.to_owned(),
            namespace: stack.namespace(),
            json_pointers: vec!["/spec/replicas"],
        })
        .collect();
    let mut sync_options = vec![
        "CreateNamespace=true",
        "PrunePropagationPolicy=foreground",
        "PruneLast=true",
    ];
    if !ignore.is_empty() {
        sync_options.push("RespectIgnoreDifferences=true");
    }
    text.push_str("---\n");
    yaml::write(
        &mut text,
        &Object {
            api_version: "argoproj.io/v1alpha1",
            kind: "Application",
            metadata: meta(plan, &argo.namespace),
            spec: ApplicationSpec {
                project,
                source: Source {
                    repo_url: repo.to_owned(),
                    target_revision: branch.to_owned(),
                    path: path(plan, gitops),
                },
                destination: Destination {
                    server: argo.server.clone(),
                    namespace: stack.namespace(),
                },
                sync_policy: SyncPolicy {
                    automated: (stack.env != Env::Prod).then_some(Automated {
                        prune: true,
                        self_heal: true,
                        allow_empty: false,
                    }),
                    sync_options,
                    retry: Retry {
                        limit: 5,
                        backoff: Backoff {
                            duration: "5s",
                            factor: 2,
                            max_duration: "3m",
                        },
                    },
                },
                ignore_differences: ignore,
                revision_history_limit: 10,
            },
        },
    );
    text
}

fn flux(plan: &Plan<'_>, gitops: &GitOps, flux: &Flux, repo: &str, branch: &str) -> String {
    let stack = plan.stack();
    let mut text = hash_header(stack);
    text.push_str("---\n");
    yaml::write(
        &mut text,
        &Object {
            api_version: "source.toolkit.fluxcd.io/v1",
            kind: "GitRepository",
            metadata: meta(plan, &flux.namespace),
            spec: GitRepositorySpec {
                interval: flux.interval.to_string(),
                url: repo.to_owned(),
                reference: if stack.env == Env::Prod {
                    GitRef::Semver { semver: ">=0.0.0" }
                } else {
                    GitRef::Branch {
                        branch: branch.to_owned(),
                    }
                },
                secret_ref: flux.secret.clone().map(|name| LocalRef { name }),
            },
        },
    );
    text.push_str("---\n");
    yaml::write(
        &mut text,
        &Object {
            api_version: "kustomize.toolkit.fluxcd.io/v1",
            kind: "Kustomization",
            metadata: meta(plan, &flux.namespace),
            spec: KustomizationSpec {
                interval: flux.interval.to_string(),
                retry_interval: "1m",
                timeout: "5m",
                path: format!("./{}", path(plan, gitops)),
                prune: true,
                wait: true,
                source_ref: SourceRef {
                    kind: "GitRepository",
                    name: name(plan),
                },
                patches: autoscaled(plan)
                    .into_iter()
                    .map(|(kind, workload)| Patch {
                        patch: "- op: remove\n  path: /spec/replicas\n",
                        target: PatchTarget {
                            kind,
                            name: workload.to_owned(),
                        },
                    })
                    .collect(),
            },
        },
    );
    text
}

/// The `gitops/` folder of the stack's environment; empty when the stack asks for none
/// (validation makes sure its CI names the repository when it does).
pub(crate) fn documents(plan: &Plan<'_>) -> Vec<Document> {
    let stack = plan.stack();
    let (Some(gitops), Some(ci)) = (&stack.kubernetes.gitops, &stack.ci) else {
        return Vec::new();
    };
    let Some(repo) = &ci.repository else {
        return Vec::new();
    };
    let dir = format!("{}/gitops", stack.out_dir());
    let mut docs = Vec::new();
    let mut files = Vec::new();
    if let Some(argo) = &gitops.argo_cd {
        files.push("argocd.yaml");
        docs.push(Document::new(
            format!("{dir}/argocd.yaml"),
            argo_cd(plan, gitops, argo, repo, &ci.branch),
        ));
    }
    if let Some(f) = &gitops.flux {
        files.push("flux.yaml");
        docs.push(Document::new(
            format!("{dir}/flux.yaml"),
            flux(plan, gitops, f, repo, &ci.branch),
        ));
    }
    if stack.kubernetes.kustomization {
        let mut text = hash_header(stack);
        yaml::write(&mut text, &super::Kustomization::listing(&files));
        docs.push(Document::new(format!("{dir}/kustomization.yaml"), text));
    }
    docs.push(Document::new(
        format!("{dir}/README.md"),
        readme(plan, gitops, repo, &ci.branch),
    ));
    docs
}

fn readme(plan: &Plan<'_>, gitops: &GitOps, repo: &str, branch: &str) -> String {
    let stack = plan.stack();
    let prod = stack.env == Env::Prod;
    let mut t = crate::render::html_header(stack);
    t.push_str(&format!(
        "\n# `{}` — GitOps ({})\n\nThese objects deploy `{}` of `{repo}` into namespace `{}`. Apply them once to the cluster that runs the tool, not to the stack's namespace:\n\n```sh\nkubectl apply -k out/{}/gitops\n```\n\n",
        stack.name,
        stack.env,
        path(plan, gitops),
        stack.namespace(),
        stack.out_dir()
    ));
    if let Some(argo) = &gitops.argo_cd {
        t.push_str(&format!(
            "## Argo CD\n\nApplication `{}` in `{}`, project {}, tracking branch `{branch}`. {}\nSync options: `CreateNamespace`, foreground prune propagation, prune last; failed syncs retry 5 times (5 s, doubling, at most 3 min).\n\n",
            name(plan),
            argo.namespace,
            match &argo.project {
                Some(p) => format!("`{p}`"),
                None => format!("`{}` (rendered here: the stack's repository and namespace only)", name(plan)),
            },
            if prod {
                "**No automated sync**: prod changes when a person syncs it after reviewing the diff (`argocd app sync` or the UI): Argo CD follows a branch, not release tags, so the manual sync is prod's release gate."
            } else {
                "Automated sync with prune and self-heal: every commit to the branch is applied, and drift is undone."
            }
        ));
    }
    if let Some(f) = &gitops.flux {
        t.push_str(&format!(
            "## Flux\n\nGitRepository and Kustomization `{}` in `{}`, {}, every {}. The Kustomization prunes, waits for every object to become ready (timeout 5 min) and retries every minute.{}\n\n",
            name(plan),
            f.namespace,
            if prod {
                "following the newest SemVer release tag (`v1.2.3`), as the pipeline's production deploy does".to_owned()
            } else {
                format!("following branch `{branch}`")
            },
            f.interval,
            f.secret
                .as_ref()
                .map(|s| format!(" The repository's credentials are in Secret `{s}` of `{}`.", f.namespace))
                .unwrap_or_default()
        ));
    }
    let scaled = autoscaled(plan);
    if !scaled.is_empty() {
        let how: Vec<&str> = [
            gitops
                .argo_cd
                .as_ref()
                .map(|_| "Argo CD ignores `spec.replicas` (and keeps it on sync)"),
            gitops
                .flux
                .as_ref()
                .map(|_| "Flux removes it before applying"),
        ]
        .into_iter()
        .flatten()
        .collect();
        t.push_str(&format!(
            "Replicas of {} belong to their HorizontalPodAutoscaler: {}.\n",
            scaled
                .iter()
                .map(|(k, n)| format!("{k} `{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            how.join(", ")
        ));
    }
    if plan.renders(crate::model::Target::Terraform) {
        t.push_str(&format!(
            "\nThe backing services Terraform installs (`out/{}/terraform`) are not part of it: apply Terraform first, as the README there says.\n",
            stack.out_dir()
        ));
    }
    t
}
