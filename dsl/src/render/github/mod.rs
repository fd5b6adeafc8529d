//! GitHub Actions renderer: one pipeline per stack, from the same model as the manifests,
//! so image names, registries, namespaces and manifest paths cannot disagree.
//!
//! `out/<stack>/github/workflows/deploy.yml`:
//! - **test**: the stack's language preset (Node with npm/pnpm; Python with uv, ruff, mypy,
//!   pytest; Go with vet, test and a generator check), with **service containers derived
//!   from the stack's backing services** and the connection URLs its apps read, pointing at
//!   them (a per-run password, never a stored one);
//! - **build-and-push**: every image the stack builds, with `docker/metadata-action` and
//!   `docker/build-push-action` to its registry, tagged exactly as the manifests reference it
//!   (plus the commit SHA), with a GitHub Actions cache; on release tags, a guard that the
//!   tag is the version the manifests deploy;
//! - **review** on pull requests: the semantic diff of the stack's output against the base
//!   branch (`diff --base`, risks first) in the job summary and in one pull-request comment
//!   kept up to date; the only job that may write (`pull-requests: write`), and never for a
//!   fork's pull request (see [`crate::render::repo_ci`]);
//! - **deploy-staging** on pushes to `main`, **deploy-production** on `v*` tags (environment
//!   `production`): Terraform for the backing services when the stack has them, then
//!   `kubectl apply -k out/<stack>/<env>/k8s`, then `rollout status` of every workload
//!   (the workflow runs in the repository that holds both the code and its `out/`);
//! - least privilege: `permissions: {}` at the top, `contents: read` per job, `packages:
//!   write` only where pushing; `concurrency` groups; actions at their major version, or at
//!   a full commit SHA where the stack pins them.
//!
//! Why typed structs of our own and not the `gh-workflow` crate: it serialises through
//! `serde_yml` (we emit YAML with serde-saphyr everywhere, for YAML 1.1-safe quoting) and
//! brings five proc-macro crates to every user's build for a handful of structs.

use std::borrow::Cow;

use indexmap::IndexMap;
use serde::Serialize;

use crate::diagnostics::{ErrorKind, Errors};
use crate::model::{CiService, Env, Language, PackageManager, Service, Stack, Target, Template};
use crate::plan::{Hosts, Plan, Ports, Style};
use crate::render::{Backend, Document, Environments, hash_header, yaml};
use crate::validate::Validator;

mod jobs;
mod workflow;

use jobs::*;
use workflow::*;

/// The repository secret holding the kubeconfig for one environment.
pub fn kubeconfig_secret(plan: &Plan<'_>, env: Env) -> String {
    let stack = plan.stack();
    format!("{}_{}_KUBECONFIG", stack.name, env)
        .replace('-', "_")
        .to_ascii_uppercase()
}

/// Every `secrets.X` the pipeline uses, with what it holds, in first-use order.
pub fn required_secrets(prod: &Plan<'_>, staging: &Plan<'_>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for plan in [staging, prod] {
        let s = plan.stack();
        if !deploys(s) {
            continue;
        }
        out.push((
            kubeconfig_secret(prod, s.env),
            format!(
                "kubeconfig of the {} cluster (namespace {})",
                s.env,
                s.namespace()
            ),
        ));
        for (var, secret) in terraform_secrets(plan) {
            if !out.iter().any(|(n, _)| *n == var) {
                out.push((
                    var,
                    format!(
                        "key `{}` of secret `{}` (Terraform variable)",
                        secret.key(),
                        secret.name()
                    ),
                ));
            }
        }
    }
    out
}

fn deploys(s: &Stack) -> bool {
    s.targets.contains(&Target::Kubernetes)
}

fn terraform_secrets<'s>(plan: &Plan<'s>) -> Vec<(String, &'s crate::model::SecretRef)> {
    plan.secrets(Target::Terraform)
        .into_iter()
        .map(|u| (u.secret.var(), u.secret))
        .collect()
}

/// Images the stack builds (services with a build and an image), first service per image.
pub fn built_images<'s>(plan: &Plan<'s>) -> Vec<&'s Service> {
    let stack = plan.stack();
    let mut out: Vec<&Service> = Vec::new();
    for svc in &stack.services {
        if let (Some(image), Some(_)) = (&svc.source.image, &svc.source.build)
            && !out
                .iter()
                .any(|o| o.source.image.as_ref().map(|i| i.name()) == Some(image.name()))
        {
            out.push(svc);
        }
    }
    out
}

/// The GitHub Actions backend: the pipeline is declared on the prod stack and deploys
/// staging too.
#[derive(Clone, Copy, Debug)]
pub struct GitHubActions;

impl Backend for GitHubActions {
    fn target(&self) -> Target {
        Target::GitHubActions
    }

    fn check(&self, plan: &Plan<'_>) -> Errors {
        let mut v = Validator::new(plan);
        v.pipeline_rules();
        v.errors
    }

    fn render(
        &self,
        plan: &Plan<'_>,
        envs: &Environments<'_, '_>,
    ) -> Result<Vec<Document>, Errors> {
        match envs.get(Env::Staging) {
            Some(staging) => Ok(render(plan, staging)),
            None => Err(crate::render::needs_envs(
                plan,
                Target::GitHubActions,
                Env::Staging,
            )),
        }
    }
}

impl Validator<'_> {
    /// The pipeline deploys every environment, so it is declared once, on prod, with the
    /// settings it tests the code with.
    fn pipeline_rules(&mut self) {
        let name = &self.stack.name;
        if self.stack.env != Env::Prod {
            self.err(
                    ErrorKind::Unsupported,
                    format!("{name}.targets"),
                    format!("the GitHub Actions pipeline is declared on the {} stack; it deploys every environment", self.stack.env),
                    "declare `Target::GitHubActions` on the prod stack only",
                );
        }
        if self.stack.ci.is_none() {
            self.err(
                ErrorKind::InvalidValue,
                format!("{name}.ci"),
                "the GitHub Actions pipeline needs to know how to test the code",
                "set `.ci(Ci::node(\"20\", PackageManager::Pnpm))` (or `Ci::python`, `Ci::go`)",
            );
        }
    }
}

/// Renders the pipeline of `prod` (whose staging stack is `staging`) and the README listing
/// the secrets it needs.
pub fn render(prod_plan: &Plan<'_>, staging_plan: &Plan<'_>) -> Vec<Document> {
    let prod = prod_plan.stack();
    let mut jobs = IndexMap::new();
    jobs.insert("test".to_owned(), test_job(prod_plan));
    jobs.insert("review".to_owned(), review_job(prod_plan));
    let build = build_job(prod_plan);
    let has_build = build.is_some();
    if let Some(b) = build {
        jobs.insert("build-and-push".to_owned(), b);
    }
    for p in [staging_plan, prod_plan] {
        let s = p.stack();
        if deploys(s) {
            let key = if s.env == Env::Prod {
                "deploy-production"
            } else {
                "deploy-staging"
            };
            jobs.insert(key.to_owned(), deploy_job(prod_plan, p, has_build));
        }
    }
    let workflow = Workflow {
        name: format!("{}: test, build, deploy", prod.name),
        on: On {
            push: Push {
                branches: vec![branch(prod).to_owned()],
                tags: vec!["v*"],
            },
            pull_request: Branches {
                branches: vec![branch(prod).to_owned()],
            },
        },
        permissions: IndexMap::new(),
        concurrency: Concurrency {
            group: format!("{}-${{{{ github.ref }}}}", prod.name),
            cancel_in_progress: Flag::Expr("${{ github.event_name == 'pull_request' }}"),
        },
        jobs,
    };
    let dir = format!("{}/github", prod.name);
    let mut text = hash_header(prod);
    yaml::write(&mut text, &workflow);
    let mut readme = crate::render::html_header(prod);
    readme.push_str(&format!(
        "\n# `{}` — CI/CD pipeline\n\nCopy `workflows/deploy.yml` to `.github/workflows/` of the repository that holds the code and its `out/`.\n\
         Images are built from the repository root as the stack declares and pushed with the\n\
         tag the manifests deploy; staging deploys on `{}`, production on `v*` tags.\n\n\
         ## Repository secrets it reads\n\n| secret | what |\n|---|---|\n| `GITHUB_TOKEN` | provided by GitHub; pushes images |\n",
        prod.name,
        branch(prod)
    ));
    for (name, what) in required_secrets(prod_plan, staging_plan) {
        readme.push_str(&format!("| `{name}` | {what} |\n"));
    }
    vec![
        Document::new(format!("{dir}/workflows/deploy.yml"), text),
        Document::new(format!("{dir}/README.md"), readme),
    ]
}
