//! Backends: one per target, each a pure function from a validated [`Plan`] to
//! [`Document`]s, with that target's own rules beside it.
//!
//! A [`Backend`] checks what only its target imposes ([`Backend::check`], run by
//! [`crate::validate()`] with the model's rules, so every problem is reported at once) and
//! renders ([`Backend::render`]). A backend never touches the filesystem and never fails on a
//! plan its check accepted, except for the Kubernetes cross-reference check, which reads the
//! rendered objects themselves (see [`k8s::render_checked`]).
//!
//! | backend | target | writes |
//! |---|---|---|
//! | [`compose`] (with [`nginx`] and [`prometheus`]) | [`Target::Compose`] | `compose.yaml`, `.env.example`, `nginx/`, `prometheus/`, `grafana/` |
//! | [`k8s`] | [`Target::Kubernetes`] | `k8s/*.yaml`, `kustomization.yaml`, `README.md` |
//! | [`terraform`] | [`Target::Terraform`] | `terraform/*.tf`, `values/` |
//! | [`github`] | [`Target::GitHubActions`] | `github/workflows/deploy.yml`, `README.md` |
//! | [`paas`] | [`Target::Paas`] | `paas/<platform>/…` |
//! | [`diagram`] | (prod, every environment) | `<stack>/README.md` |
//! | [`custom`] | the stack's own renderers | what they return, under `<stack>/<env>/` |

pub mod compose;
pub mod custom;
pub mod diagram;
pub mod github;
pub mod k8s;
pub mod nginx;
pub mod paas;
pub mod prometheus;
pub mod repo_ci;
pub mod terraform;
pub mod yaml;

use crate::diagnostics::{Error, ErrorKind, Errors};
use crate::model::{Env, Platform, Target};
use crate::plan::Plan;

pub use crate::marker::{MARKER, hash_header, html_header, source_path};

/// One generated file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Document {
    /// Path relative to the output root, `/`-separated, e.g. `shop/prod/compose.yaml`.
    pub path: String,
    /// Full file content, marker included.
    pub contents: String,
}

impl Document {
    /// A document at `path` with `contents`.
    pub fn new(path: impl Into<String>, contents: impl Into<String>) -> Self {
        Document {
            path: path.into(),
            contents: contents.into(),
        }
    }
}

/// A rendered file together with the stack and environment that own it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Owning stack.
    pub stack: String,
    /// Owning environment.
    pub env: Env,
    /// The file.
    pub doc: Document,
}

/// The same stack in the other environments, for what spans them: the pipeline deploys
/// staging and prod, and the prod run writes the architecture README of every environment.
#[derive(Clone, Debug, Default)]
pub struct Environments<'p, 's> {
    /// The stack's validated plans, one per environment built (the rendered one included).
    pub plans: Vec<&'p Plan<'s>>,
    /// Paths of the files the other environments' runs write, for the README's links.
    pub files: Vec<String>,
}

impl<'p, 's> Environments<'p, 's> {
    /// The plan of `env`, when it was built.
    pub fn get(&self, env: Env) -> Option<&'p Plan<'s>> {
        self.plans.iter().copied().find(|p| p.stack().env == env)
    }
}

/// A target's renderer and the rules only it imposes.
pub trait Backend {
    /// The target, for messages.
    fn target(&self) -> Target;

    /// What this target cannot express of the plan's stack; the model's own rules have run
    /// (or are reported beside these), so a check only adds its target's rules.
    fn check(&self, plan: &Plan<'_>) -> Errors;

    /// The target's files. `envs` holds the stack's other environments where the target
    /// spans them; it may be empty.
    fn render(&self, plan: &Plan<'_>, envs: &Environments<'_, '_>)
    -> Result<Vec<Document>, Errors>;
}

/// The backend of `target`.
pub fn backend(target: Target) -> Box<dyn Backend> {
    match target {
        Target::Compose => Box::new(compose::Compose),
        Target::Kubernetes => Box::new(k8s::Kubernetes),
        Target::Terraform => Box::new(terraform::Terraform),
        Target::GitHubActions => Box::new(github::GitHubActions),
        Target::Paas(p) => Box::new(paas::Paas(p)),
    }
}

/// Every target-specific rule for the plan's stack: each of its targets' checks, the
/// PaaS rules shared by every platform, and the edge's rules where routes are served.
pub fn check(plan: &Plan<'_>) -> Errors {
    let mut errors = Errors::default();
    let stack = plan.stack();
    for t in &stack.targets {
        errors.extend(backend(*t).check(plan));
    }
    let platforms: Vec<Platform> = stack
        .targets
        .iter()
        .filter_map(|t| match t {
            Target::Paas(p) => Some(*p),
            _ => None,
        })
        .collect();
    if !platforms.is_empty() {
        errors.extend(paas::stack_rules(plan, &platforms));
    }
    errors.extend(nginx::check(plan));
    errors
}

/// Renders every target of a validated stack in its own environment. A target that spans
/// environments (the GitHub Actions pipeline) is an error here: render it with
/// [`render_in`], as [`crate::synth::synthesize`] does.
///
/// ```
/// use stackdsl::prelude::*;
/// let mut stack = Stack::new("shop", Env::Dev);
/// stack.add(Service::new("api").image(Image::new("acme/api").tag("1.0")));
/// let plan = stackdsl::validate(&stack).expect("valid");
/// let docs = stackdsl::render::render(&plan).expect("renders");
/// assert_eq!(docs[0].path, "shop/dev/compose.yaml");
/// ```
pub fn render(plan: &Plan<'_>) -> Result<Vec<Document>, Errors> {
    render_in(plan, &Environments::default())
}

/// Renders every target of a validated stack, with its other environments for what spans
/// them; the prod run with every environment adds the architecture README ([`diagram`]).
/// Rendered objects whose cross-references break (only a backend bug can break a valid
/// plan's) are returned as errors instead.
pub fn render_in(plan: &Plan<'_>, envs: &Environments<'_, '_>) -> Result<Vec<Document>, Errors> {
    let mut docs = Vec::new();
    let mut errors = Errors::default();
    for target in &plan.stack().targets {
        match backend(*target).render(plan, envs) {
            Ok(d) => docs.extend(d),
            Err(e) => errors.extend(e),
        }
    }
    match custom::render(plan, &docs) {
        Ok(d) => docs.extend(d),
        Err(e) => errors.extend(e),
    }
    // The architecture README spans environments: the prod run owns it.
    if plan.stack().env == Env::Prod
        && let (Some(dev), Some(staging)) = (envs.get(Env::Dev), envs.get(Env::Staging))
    {
        let mut files: Vec<String> = docs.iter().map(|d| d.path.clone()).collect();
        files.extend(envs.files.iter().cloned());
        docs.push(diagram::render_linked(&[dev, staging, plan], &files));
    }
    errors.into_result().map(|()| docs)
}

/// The error a backend returns when it needs environments it was not given.
pub(crate) fn needs_envs(plan: &Plan<'_>, target: Target, env: Env) -> Errors {
    std::iter::once(Error::new(
        ErrorKind::Unsupported,
        format!("{}.targets", plan.stack().name),
        format!("{target} spans environments, so rendering it needs the {env} stack too"),
        "synthesize with `stackdsl::synth::synthesize`, which builds every environment a target spans, as the CLI does",
    ))
    .collect()
}

/// From this many items on, [`par_map`] spreads the work over the cores.
const PARALLEL_ITEMS: usize = 64;

/// `items.iter().map(f).collect()`, on every core for large inputs (the Kubernetes files of
/// stacks with many services, each built, fact-checked and serialized by one worker; see
/// [`k8s::render_checked`]). The results keep the order of `items`, so output does not
/// depend on the number of cores; small inputs are not worth a thread.
/// `STACKDSL_THREADS=1` (or any count) overrides the number of cores.
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::env::var("STACKDSL_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    if threads < 2 || items.len() < PARALLEL_ITEMS {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_keeps_the_order_of_its_input() {
        let items: Vec<usize> = (0..1000).collect();
        let doubled = par_map(&items, |i| i * 2);
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        let few = par_map(&items[..3], |i| i + 1);
        assert_eq!(few, [1, 2, 3]);
    }
}
