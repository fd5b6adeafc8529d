//! The command line: the only code that prints.
//!
//! Each environment has a one-line binary in the stacks crate:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     # fn my_stack(env: stackdsl::prelude::Env) -> stackdsl::prelude::Stack { stackdsl::prelude::Stack::new("shop", env) }
//!     stackdsl::cli::main(stackdsl::prelude::Env::Prod, &[my_stack])
//! }
//! ```
//!
//! Exit codes: `0` success (or `out/` up to date), `1` `--check` found `out/` stale,
//! `2` invalid stack, invalid command line, or a refusal (nothing written), `3` I/O error
//! (the message names the path, and says what was written before the failure, if anything).
//!
//! What a writing run may touch (the rules are [`emit`]'s; the flags relax them one each):
//!
//! - It overwrites a file only if the manifest shows stackdsl wrote exactly its content. A
//!   file at a generated path that was edited since, or that stackdsl did not write, stops
//!   the run before anything is written (exit 2, each file named); `--overwrite` replaces
//!   them.
//! - It deletes a file only if the manifest lists it with the content it still has, and
//!   only when the manifest is intact. Other stale files are kept and listed; those that
//!   carry the stackdsl marker for the run's stacks and environment are deleted with
//!   `--prune`. A missing or damaged manifest deletes nothing.
//! - `--out` must be an output folder: not the folder the command runs in or one of its
//!   parents, not a folder holding `Cargo.toml` or `.git` (itself or in one of its
//!   folders), not inside `.git`, and not a folder without a manifest that holds files
//!   stackdsl does not write there (exit 2 whatever the flags). A `--out` outside the
//!   current folder (after resolving symlinks and `..`) needs `--allow-outside`, even when
//!   it holds a manifest: a run owns every file its environment's stacks wrote there,
//!   another project's too. (The binary's own default, [`Cli::default_out`], needs no flag.)
//!
//! `--check` applies the same folder rules but never writes, so it needs no
//! `--allow-outside`; with `--prune` it shows what pruning would delete. `--list` and
//! `diff` never write. Conflicting flags (`--list` with anything else, `--check` with
//! `diff`, `--overwrite` or `--allow-outside`, a write flag with a subcommand) exit 2.

use std::ffi::OsString;
use std::io::{self, IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod commands;
mod output;
mod report;
mod review;
mod scaffold;

use commands::*;
use output::*;
use report::*;

use anstyle::{AnsiColor, Style};
use clap::{Parser, ValueEnum};

use crate::emit::{self, Allow, Change, EmitError, Kept, KeptBecause, Scope};
use crate::model::{Env, Stack};
use crate::{marker, synth, validate};

pub use crate::model::StackFn;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;

/// Exit code: `--check` found differences.
pub const EXIT_STALE: u8 = 1;

/// Exit code: the stacks (or the command line) are invalid; nothing was written.
pub const EXIT_INVALID: u8 = 2;

/// Exit code: reading or writing the output folder failed.
pub const EXIT_IO: u8 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

/// Synthesize deployment files for every registered stack into the output folder.
#[derive(Debug, Parser)]
#[command(disable_version_flag = true)]
struct Args {
    /// Output folder (the repository's `out/`).
    #[arg(long, value_name = "DIR", default_value = "out")]
    out: PathBuf,
    /// Only this stack (repeatable).
    #[arg(long = "stack", value_name = "NAME")]
    stacks: Vec<String>,
    /// Write nothing; exit 1 with a diff when the output folder is stale.
    #[arg(long)]
    check: bool,
    /// Write to an output folder outside the current folder (after resolving symlinks and
    /// `..`). Needed even when it holds stackdsl output: the run then owns every file this
    /// environment's stacks wrote there, another project's too, and deletes those it no
    /// longer generates.
    #[arg(long, conflicts_with = "check")]
    allow_outside: bool,
    /// Replace files at generated paths whose content stackdsl did not write: edited since
    /// it wrote them, or not listed in its manifest (a file of yours). Without it such a run
    /// names them, writes nothing and exits 2.
    #[arg(long, conflicts_with = "check")]
    overwrite: bool,
    /// Also delete stale files that carry the stackdsl marker for this run's stacks and
    /// environment but that the manifest does not show are exactly what stackdsl wrote: the
    /// files a run lists as kept (edited since, or found while the manifest was missing or
    /// damaged). Copies of generated files keep the marker: move yours away first. With
    /// `--check`, shows what it would delete.
    #[arg(long)]
    prune: bool,
    /// Print only errors and diffs.
    #[arg(long, short)]
    quiet: bool,
    /// Colour output.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    color: ColorWhen,
    /// List the registered stacks and exit.
    #[arg(long, conflicts_with_all = ["check", "stacks", "allow_outside", "overwrite", "prune"])]
    list: bool,
    #[command(subcommand)]
    command: Option<Command>,
    /// `--out` was not given: the binary's own default ([`Cli::default_out`]) is used,
    /// which needs no `--allow-outside` (it cannot be a typo).
    #[arg(skip)]
    out_is_default: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Show how this environment's Kubernetes objects differ from another environment's
    /// (`--against`), or review a change: every stack and environment against the output
    /// committed at a git revision (`--base`) or in a folder (`--base-dir`), risks first.
    /// Writes nothing.
    #[command(group(clap::ArgGroup::new("compare").required(true).multiple(false)))]
    Diff {
        /// The environment to compare against (the "before" side).
        #[arg(long, value_name = "ENV", value_parser = parse_env, group = "compare")]
        against: Option<Env>,
        #[command(flatten)]
        review: review::ReviewArgs,
    },
    /// Create a new stacks crate in DIR (which must not exist or be empty) that builds and
    /// synthesizes as it is.
    Init {
        /// Where to create it.
        dir: PathBuf,
        /// Package name (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Write the stacks repository's own CI: `.github/workflows/stackdsl.yml` (fails pull
    /// requests whose `out/` is stale, with the diff in the job summary) and a
    /// `.gitattributes` marking `out/**` as generated.
    InitCi {
        /// Repository root.
        #[arg(long, value_name = "DIR", default_value = ".")]
        root: PathBuf,
        /// Write nothing; exit 1 with a diff when the files are stale.
        #[arg(long)]
        check: bool,
    },
}

fn parse_env(s: &str) -> Result<Env, String> {
    Env::parse(s).ok_or_else(|| format!("unknown environment `{s}`; use dev, staging or prod"))
}

/// Runs the CLI with the process's arguments, stdout and stderr.
pub fn main(env: Env, stacks: &[StackFn]) -> ExitCode {
    Cli::new(env).main(stacks)
}

/// How a binary runs the CLI: the environment it synthesizes and, for a package of its own
/// (a crate that imports stacks), its name and output folder.
///
/// ```no_run
/// use stackdsl::cli::Cli;
/// use stackdsl::prelude::*;
/// # fn platform(env: Env) -> Stack { Stack::new("platform", env) }
/// fn main() -> std::process::ExitCode {
///     // Markers and hints say `cargo run -p platform`; files go to platform/out by default.
///     Cli::new(Env::Prod).package("platform").default_out("platform/out").main(&[platform])
/// }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Cli {
    env: Env,
    package: Option<&'static str>,
    out: &'static str,
}

impl Cli {
    /// The CLI of `stack-<env>`.
    pub const fn new(env: Env) -> Self {
        Cli {
            env,
            package: None,
            out: "out",
        }
    }

    /// A binary of package `package`: generated files say `cargo run -p <package>`.
    pub const fn package(mut self, package: &'static str) -> Self {
        self.package = Some(package);
        self
    }

    /// The output folder when `--out` is not given (default `out`). It may lie outside
    /// the folder the binary runs in (an absolute path such as the crate's own `out/`)
    /// without `--allow-outside`, since no one typed it; every other output-folder rule
    /// still applies.
    pub const fn default_out(mut self, dir: &'static str) -> Self {
        self.out = dir;
        self
    }

    /// The command that regenerates the output.
    pub fn regenerate(&self) -> String {
        match self.package {
            Some(p) => format!("cargo run -p {p}"),
            None => self.env.regenerate_command(),
        }
    }

    /// Runs with the process's arguments, stdout and stderr.
    pub fn main(self, stacks: &[StackFn]) -> ExitCode {
        ExitCode::from(self.run_process(stacks))
    }

    /// Runs once per environment of `envs`, in order, each with the process's arguments
    /// (`--check`, `--quiet`, …): a package that writes, say, dev's Compose and prod's
    /// Kubernetes into one `out/`. The first run that fails decides the exit code, and
    /// the environments after it do not run.
    ///
    /// ```no_run
    /// use stackdsl::cli::Cli;
    /// use stackdsl::prelude::*;
    /// # fn shop(env: Env) -> Stack { Stack::new("shop", env) }
    /// fn main() -> std::process::ExitCode {
    ///     Cli::new(Env::Dev)
    ///         .package("shop")
    ///         .default_out(concat!(env!("CARGO_MANIFEST_DIR"), "/out"))
    ///         .main_each(&[Env::Dev, Env::Prod], &[shop])
    /// }
    /// ```
    pub fn main_each(self, envs: &[Env], stacks: &[StackFn]) -> ExitCode {
        for &env in envs {
            let code = Cli { env, ..self }.run_process(stacks);
            if code != EXIT_OK {
                return ExitCode::from(code);
            }
        }
        ExitCode::SUCCESS
    }

    fn run_process(self, stacks: &[StackFn]) -> u8 {
        let tty = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        self.run(
            stacks,
            std::env::args_os(),
            &mut io::stdout().lock(),
            &mut io::stderr().lock(),
            tty,
        )
    }

    /// Runs with explicit arguments (the first is the program name) and writers; returns
    /// the exit code.
    pub fn run<I, T>(
        self,
        stacks: &[StackFn],
        args: I,
        out: &mut dyn Write,
        err: &mut dyn Write,
        tty: bool,
    ) -> u8
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        run_cli(self, stacks, args, out, err, tty)
    }
}

/// Runs the CLI with explicit arguments (the first is the program name) and writers;
/// returns the exit code. `tty` enables colour under `--color auto`.
pub fn run<I, T>(
    env: Env,
    stacks: &[StackFn],
    args: I,
    out: &mut dyn Write,
    err: &mut dyn Write,
    tty: bool,
) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::new(env).run(stacks, args, out, err, tty)
}

fn run_cli<I, T>(
    cli: Cli,
    stacks: &[StackFn],
    args: I,
    out: &mut dyn Write,
    err: &mut dyn Write,
    tty: bool,
) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let env = cli.env;
    let bin: &'static str = match (cli.package, env) {
        (Some(p), _) => p,
        (None, Env::Dev) => "stack-dev",
        (None, Env::Staging) => "stack-staging",
        (None, Env::Prod) => "stack-prod",
    };
    let cmd = <Args as clap::CommandFactory>::command()
        .name(bin)
        .bin_name(bin)
        .mut_arg("out", |a| a.default_value(cli.out));
    let matches = match cmd.try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_INVALID
            } else {
                EXIT_OK
            };
            let text = if tty {
                e.render().ansi().to_string()
            } else {
                e.render().to_string()
            };
            let _ = if e.use_stderr() {
                write!(err, "{text}")
            } else {
                write!(out, "{text}")
            };
            return code;
        }
    };
    let mut args = match <Args as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => {
            let _ = write!(err, "{}", e.render());
            return EXIT_INVALID;
        }
    };
    args.out_is_default =
        matches.value_source("out") == Some(clap::parser::ValueSource::DefaultValue);
    let paint = Paint {
        on: match args.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => tty,
        },
    };
    match execute(&cli, stacks, &args, out, err, &paint) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(err, "{} {e}", paint.red("error:"));
            EXIT_IO
        }
    }
}
