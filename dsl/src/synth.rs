//! One way through: build a stack in every environment a run touches, validate it against
//! the model's rules and its targets' rules, and render it.
//!
//! [`validate`] is the only way to a [`Plan`]; [`synthesize`] is what the CLI, the tests,
//! the benchmark and a consumer crate call to turn stack functions into files.
//!
//! ```
//! use stackdsl::prelude::*;
//! use stackdsl::synth::{Options, synthesize};
//!
//! fn shop(env: Env) -> Stack {
//!     let mut s = Stack::new("shop", env);
//!     s.add(
//!         Service::new("api")
//!             .image(Image::new("acme/api").tag("1.0"))
//!             .resources(Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256))),
//!     );
//!     s
//! }
//!
//! let run = synthesize(Env::Prod, &[shop], Options::default()).expect("valid");
//! let paths: Vec<&str> = run.outputs.iter().map(|o| o.doc.path.as_str()).collect();
//! // prod's Compose file, and the architecture README spanning every environment.
//! assert_eq!(paths, ["shop/prod/compose.yaml", "shop/README.md"]);
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::diagnostics::{Error, ErrorKind, Errors, Warning};
use crate::model::{Env, Stack};
use crate::plan::Plan;
use crate::render::{self, Environments, Output};

/// Validates a stack against every rule of the model and of each target it renders, and
/// returns the [`Plan`] every renderer takes. Every problem is reported, each with a path
/// and a hint.
///
/// ```
/// use stackdsl::prelude::*;
/// let mut s = Stack::new("shop", Env::Prod);
/// s.targets([Target::Kubernetes]);
/// s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")));
/// let errors = stackdsl::validate(&s).unwrap_err();
/// // prod requires resources (a model rule); nothing else is wrong.
/// assert_eq!(errors.len(), 1);
/// assert_eq!(errors.iter().next().unwrap().path, "shop.services[api].resources");
/// ```
pub fn validate(stack: &Stack) -> Result<Plan<'_>, Errors> {
    let mut plan = Plan::derive(stack);
    let mut errors = crate::validate::rules(&plan);
    errors.extend(render::check(&plan));
    if errors.is_empty() {
        // Kubernetes patches name rendered objects: only a valid plan can be rendered to
        // see which exist.
        errors.extend(render::k8s::unmatched_patches(&plan));
    }
    errors.into_result()?;
    plan.warnings.extend(crate::validate::warnings(&plan));
    Ok(plan)
}

/// Validates stacks synthesized together: each one, plus the rules across them (two stacks
/// may not write the same output folder).
pub fn validate_all(stacks: &[Stack]) -> Result<Vec<Plan<'_>>, Errors> {
    let mut errors = Errors::default();
    let mut plans = Vec::new();
    for stack in stacks {
        match validate(stack) {
            Ok(p) => plans.push(p),
            Err(e) => errors.extend(e),
        }
    }
    errors.extend(shared_folders(stacks.iter()));
    errors.into_result().map(|()| plans)
}

/// Two stacks that would write the same output folder.
fn shared_folders<'s>(stacks: impl Iterator<Item = &'s Stack>) -> Errors {
    let mut errors = Errors::default();
    let mut seen: BTreeMap<String, &Stack> = BTreeMap::new();
    for stack in stacks {
        if let Some(first) = seen.insert(stack.out_dir(), stack) {
            errors.push(
                Error::new(
                    ErrorKind::DuplicateName,
                    &stack.name,
                    format!(
                        "two stacks write `out/{}/`: one declared at {}, another at {}",
                        stack.out_dir(),
                        first.origin,
                        stack.origin
                    ),
                    "give each stack a unique name, or register the stack function only once",
                )
                .at(stack.origin),
            );
        }
    }
    errors
}

/// A step of [`synthesize`], reported to [`Options::observer`] as it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Every stack function has run.
    Built,
    /// Every stack is validated.
    Validated,
    /// Every file is rendered (and the Kubernetes objects cross-checked).
    Rendered,
}

/// How [`synthesize`] runs.
#[derive(Default)]
#[non_exhaustive]
pub struct Options<'a> {
    /// Only the stacks of these names (all when empty). Every name must exist.
    pub only: Vec<String>,
    /// The command that regenerates the output, named in every file's marker (a consumer
    /// package's `cargo run -p <package>`); `None`: `cargo run --bin stack-<env>`.
    pub regenerate: Option<String>,
    /// Render this environment alone: no pipeline (it deploys staging too) and no
    /// architecture README (it shows every environment), so the other environments are not
    /// built. For measuring one environment's cost; `false` by default.
    pub single_env: bool,
    /// Called as each [`Phase`] ends.
    pub observer: Option<&'a mut dyn FnMut(Phase)>,
}

impl<'a> Options<'a> {
    /// Only the stacks named `names` (all when empty).
    #[must_use]
    pub fn only(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.only = names.into_iter().map(Into::into).collect();
        self
    }

    /// The command named in markers (see [`Options::regenerate`]).
    #[must_use]
    pub fn regenerate(mut self, command: impl Into<String>) -> Self {
        self.regenerate = Some(command.into());
        self
    }

    /// Renders this environment alone (see [`Options::single_env`]).
    #[must_use]
    pub fn single_env(mut self) -> Self {
        self.single_env = true;
        self
    }

    /// Calls `f` as each [`Phase`] ends.
    #[must_use]
    pub fn observer(mut self, f: &'a mut dyn FnMut(Phase)) -> Self {
        self.observer = Some(f);
        self
    }
}

/// What one stack's synthesis took.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StackTimes {
    /// The stack.
    pub stack: String,
    /// Running the stack function (every environment built).
    pub build: Duration,
    /// Validating it (every environment).
    pub validate: Duration,
    /// Rendering its files.
    pub render: Duration,
}

/// The files of a synthesis and what each stack took.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Synthesis {
    /// Every file, in stack order.
    pub outputs: Vec<Output>,
    /// One entry per synthesized stack, in order.
    pub times: Vec<StackTimes>,
    /// What the files of this environment do not do that the user should know (see
    /// [`Plan::warnings`]), in stack order. The CLI prints them.
    pub warnings: Vec<Warning>,
}

/// Builds every selected stack for `env` (and the other environments a target spans),
/// validates all of them (all errors, across stacks, before anything is rendered), and
/// renders `env`'s files.
///
/// Errors of another environment's stack say which environment they are in. Unknown names
/// in [`Options::only`] are errors too, listing the known stacks.
pub fn synthesize<F: Fn(Env) -> Stack>(
    env: Env,
    stacks: &[F],
    mut options: Options<'_>,
) -> Result<Synthesis, Errors> {
    let mut phase = |p: Phase| {
        if let Some(f) = options.observer.as_mut() {
            f(p);
        }
    };
    // The environments this run builds, its own first.
    let envs: Vec<Env> = if env == Env::Prod && !options.single_env {
        vec![Env::Prod, Env::Dev, Env::Staging]
    } else {
        vec![env]
    };
    let build = |f: &F, e: Env| {
        let mut s = f(e);
        if let Some(r) = &options.regenerate {
            s.regenerate = Some(r.clone());
        }
        s
    };
    let mut times = Vec::new();
    let mut built: Vec<Vec<Stack>> = Vec::new();
    for f in stacks {
        let t = Instant::now();
        let own = build(f, env);
        if !options.only.is_empty() && !options.only.contains(&own.name) {
            continue;
        }
        let mut all = vec![own];
        all.extend(envs[1..].iter().map(|e| build(f, *e)));
        times.push(StackTimes {
            stack: all[0].name.clone(),
            build: t.elapsed(),
            validate: Duration::ZERO,
            render: Duration::ZERO,
        });
        built.push(all);
    }
    let mut errors = unknown_stacks(env, stacks, &options.only, &built);
    phase(Phase::Built);

    // Validate everything before rendering anything.
    let mut plans: Vec<Vec<Plan<'_>>> = Vec::new();
    for (i, stacks) in built.iter().enumerate() {
        let t = Instant::now();
        let mut ok = Vec::new();
        for s in stacks {
            match validate(s) {
                Ok(p) => ok.push(p),
                Err(e) if s.env == env => errors.extend(e),
                Err(e) => errors.extend(e.into_iter().map(|mut e| {
                    e.message = format!("in the {} stack: {}", s.env, e.message);
                    e
                })),
            }
        }
        times[i].validate = t.elapsed();
        plans.push(ok);
    }
    errors.extend(shared_folders(built.iter().map(|b| &b[0])));
    errors.into_result()?;
    phase(Phase::Validated);

    let mut outputs = Vec::new();
    let mut warnings = Vec::new();
    let mut broken = Errors::default();
    for (i, plans) in plans.iter().enumerate() {
        warnings.extend(plans[0].warnings().iter().cloned());
        let t = Instant::now();
        let mut others = Environments {
            plans: plans.iter().collect(),
            files: Vec::new(),
        };
        // The other environments' files, for the architecture README's links.
        for p in &plans[1..] {
            others
                .files
                .extend(render::render(p).into_iter().flatten().map(|d| d.path));
        }
        match render::render_in(&plans[0], &others) {
            Ok(docs) => outputs.extend(docs.into_iter().map(|doc| Output {
                stack: plans[0].stack().name.clone(),
                env,
                doc,
            })),
            Err(e) => broken.extend(e),
        }
        times[i].render = t.elapsed();
    }
    broken.into_result()?;
    phase(Phase::Rendered);
    Ok(Synthesis {
        outputs,
        times,
        warnings,
    })
}

fn unknown_stacks<F: Fn(Env) -> Stack>(
    env: Env,
    stacks: &[F],
    only: &[String],
    built: &[Vec<Stack>],
) -> Errors {
    let found: Vec<&str> = built.iter().map(|b| b[0].name.as_str()).collect();
    let missing: Vec<&String> = only
        .iter()
        .filter(|n| !found.contains(&n.as_str()))
        .collect();
    if missing.is_empty() {
        return Errors::default();
    }
    let known: Vec<String> = stacks.iter().map(|f| f(env).name).collect();
    missing
        .into_iter()
        .map(|n| {
            Error::new(
                ErrorKind::UnknownService,
                n.as_str(),
                format!("unknown stack `{n}`; known stacks: {}", known.join(", ")),
                "check the name: `--list` shows the registered stacks",
            )
        })
        .collect()
}
