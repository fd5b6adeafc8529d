//! Schema migrations: a command that must succeed before a new version of a service serves.
//!
//! A service declares its migration command once; each target derives how it runs:
//!
//! - **Compose**: a one-shot service `<service>-migrate` (`restart: "no"`) with the
//!   service's image, environment, mounts and hardening, waiting for the service's
//!   dependencies as the service does; the service waits for it with
//!   `condition: service_completed_successfully`.
//! - **Kubernetes**: an init container `migrate` in the service's pod template.
//!
//! Why an init container and not a Job: deploys are `kubectl apply -k` then
//! `kubectl rollout status`, with no Helm hooks. A Job applied with the Deployment is not
//! ordered before it (new pods may serve before the Job finished or after it failed),
//! `rollout status` does not wait for it, its immutable pod template needs a version hash
//! in its name, and making pods wait for it would need API access our pods do not have.
//! An init container runs in every new pod before the app starts, so a new pod cannot
//! become Ready, and the rollout cannot retire an old pod, until the migration succeeded;
//! a failing migration stalls the rollout with the old pods serving and fails the deploy.
//! The price: pods starting together migrate concurrently, so the command must be
//! idempotent and safe to race (goose and alembic on Postgres run each migration and its
//! version bump in one transaction: the loser fails, rolls back, restarts and finds
//! nothing to do).
//!
//! Arguments may reference the service's environment variables with the Kubernetes
//! syntax `$(NAME)`: Kubernetes expands them itself; Compose gets the variable's value
//! spliced in (secrets stay `${VAR:?…}` interpolations). So the command needs no shell,
//! and the migration reads exactly the configuration the service reads.

use super::Image;

/// One piece of a migration argument: literal text, or a reference to one of the
/// service's environment variables.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgPart {
    /// Literal text.
    Text(String),
    /// `$(NAME)`: the value of the service's variable `NAME`.
    Var(String),
}

/// How a service migrates its database before a new version serves.
///
/// ```
/// use stackdsl::prelude::*;
/// // Potter's seed: `goose -dir migrations postgres "$DATABASE_URL" up`.
/// let m = Migration::command(["goose", "-dir", "migrations", "postgres", "$(DATABASE_URL)", "up"]);
/// assert_eq!(m.variables(), ["DATABASE_URL"]);
/// assert!(m.image.is_none()); // the service's own image
/// let with_tool = Migration::command(["alembic", "upgrade", "head"])
///     .image(Image::new("ghcr.io/acme/migrator").tag("1.0.0"));
/// assert!(with_tool.image.is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Migration {
    /// The full command (it replaces the image's entrypoint), `$(NAME)` references included.
    pub argv: Vec<String>,
    /// Image holding the migration tool (`None`: the service's image).
    pub image: Option<Image>,
}

impl Migration {
    /// Runs `argv` (the image's entrypoint is replaced) with the service's environment.
    pub fn command<I: IntoIterator<Item = T>, T: Into<String>>(argv: I) -> Self {
        Migration {
            argv: argv.into_iter().map(Into::into).collect(),
            image: None,
        }
    }

    /// Runs the command in another image (default: the service's image).
    pub fn image(mut self, image: Image) -> Self {
        self.image = Some(image);
        self
    }

    /// The arguments with each part rendered by `part`: how a target writes literal text
    /// and `$(NAME)` references in its own syntax.
    ///
    /// ```
    /// use stackdsl::model::{ArgPart, Migration};
    /// let m = Migration::command(["goose", "$(DATABASE_URL)"]);
    /// let argv = m.render_argv(|p| match p {
    ///     ArgPart::Var(v) => format!("${{{v}}}"),
    ///     ArgPart::Text(t) => t.clone(),
    ///     _ => String::new(),
    /// });
    /// assert_eq!(argv, ["goose", "${DATABASE_URL}"]);
    /// ```
    pub fn render_argv(&self, part: impl Fn(&ArgPart) -> String) -> Vec<String> {
        self.argv
            .iter()
            .map(|arg| arg_parts(arg).iter().map(&part).collect())
            .collect()
    }

    /// The environment variables the arguments reference, in first-use order.
    pub fn variables(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for arg in &self.argv {
            for name in var_names(arg) {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    }
}

fn var_names(arg: &str) -> impl Iterator<Item = &str> {
    split(arg).into_iter().filter_map(|p| match p {
        Piece::Var(v) => Some(v),
        Piece::Text(_) => None,
    })
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Splits an argument at `$(NAME)` references (`$$(` is a literal `$(`, as in Kubernetes).
fn split(arg: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = arg;
    while let Some(i) = rest.find("$(") {
        if rest[..i].ends_with('$') {
            out.push(Piece::Text(&rest[..i - 1]));
            out.push(Piece::Text("$("));
            rest = &rest[i + 2..];
            continue;
        }
        match rest[i + 2..].find(')') {
            Some(j) => {
                out.push(Piece::Text(&rest[..i]));
                out.push(Piece::Var(&rest[i + 2..i + 2 + j]));
                rest = &rest[i + 2 + j + 1..];
            }
            None => break,
        }
    }
    out.push(Piece::Text(rest));
    out
}

/// The parts of one argument: literal text and variable references, in order.
///
/// ```
/// use stackdsl::model::{arg_parts, ArgPart};
/// assert_eq!(
///     arg_parts("--url=$(DATABASE_URL)"),
///     [ArgPart::Text("--url=".into()), ArgPart::Var("DATABASE_URL".into())]
/// );
/// assert_eq!(arg_parts("cost: $$(x)"), [ArgPart::Text("cost: $(x)".into())]);
/// ```
pub fn arg_parts(arg: &str) -> Vec<ArgPart> {
    let mut out: Vec<ArgPart> = Vec::new();
    for p in split(arg) {
        match p {
            Piece::Text("") => {}
            Piece::Text(t) => match out.last_mut() {
                Some(ArgPart::Text(prev)) => prev.push_str(t),
                _ => out.push(ArgPart::Text(t.to_owned())),
            },
            Piece::Var(v) => out.push(ArgPart::Var(v.to_owned())),
        }
    }
    out
}
