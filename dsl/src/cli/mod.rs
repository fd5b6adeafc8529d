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

mod review;
mod scaffold;

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
        let tty = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let code = self.run(
            stacks,
            std::env::args_os(),
            &mut io::stdout().lock(),
            &mut io::stderr().lock(),
            tty,
        );
        ExitCode::from(code)
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

struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.on {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }
    fn red(&self, t: &str) -> String {
        self.paint(AnsiColor::Red.on_default(), t)
    }
    fn green(&self, t: &str) -> String {
        self.paint(AnsiColor::Green.on_default(), t)
    }
    fn cyan(&self, t: &str) -> String {
        self.paint(AnsiColor::Cyan.on_default(), t)
    }
    fn bold(&self, t: &str) -> String {
        self.paint(Style::new().bold(), t)
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

fn execute(
    cli: &Cli,
    stacks: &[StackFn],
    args: &Args,
    out: &mut dyn Write,
    err: &mut dyn Write,
    paint: &Paint,
) -> io::Result<u8> {
    let env = cli.env;
    if args.list {
        for f in stacks {
            let s = f(env);
            writeln!(out, "{}  ({})", s.name, marker::source_path(s.source))?;
        }
        return Ok(EXIT_OK);
    }
    if let Some(command) = &args.command {
        let given: Vec<&str> = [
            (args.overwrite, "--overwrite"),
            (args.prune, "--prune"),
            (args.allow_outside, "--allow-outside"),
        ]
        .into_iter()
        .filter_map(|(on, flag)| on.then_some(flag))
        .collect();
        if !given.is_empty() {
            let name = match command {
                Command::Diff { .. } => "diff",
                Command::Init { .. } => "init",
                Command::InitCi { .. } => "init-ci",
            };
            writeln!(
                err,
                "{} `{}` {} to synthesizing into the output folder, not to `{name}`; drop {}",
                paint.red("error:"),
                given.join("`, `"),
                if given.len() == 1 { "applies" } else { "apply" },
                if given.len() == 1 { "it" } else { "them" },
            )?;
            return Ok(EXIT_INVALID);
        }
    }
    match &args.command {
        Some(Command::Diff { against, review }) => {
            if args.check {
                writeln!(
                    err,
                    "{} `--check` does not apply to `diff`, which never writes; drop one of them",
                    paint.red("error:")
                )?;
                return Ok(EXIT_INVALID);
            }
            let Some(against) = against else {
                let req = review::Request {
                    cli,
                    stacks,
                    filter: &args.stacks,
                    out_dir: &args.out,
                    args: review,
                };
                return review::run(&req, out, err, paint);
            };
            if review.format != review::Format::Text {
                writeln!(
                    err,
                    "{} `--format` applies to `--base` and `--base-dir`; `--against` prints text",
                    paint.red("error:")
                )?;
                return Ok(EXIT_INVALID);
            }
            return env_diff(env, *against, stacks, &args.stacks, out, err, paint);
        }
        Some(Command::InitCi { root, check }) => return init_ci(root, *check, out, err, paint),
        Some(Command::Init { dir, name }) => return init(dir, name.as_deref(), out, err, paint),
        None => {}
    }
    // Build, validate (everything, before anything is rendered) and render.
    let mut options = synth::Options::default().only(args.stacks.iter().cloned());
    if cli.package.is_some() {
        options = options.regenerate(cli.regenerate());
    }
    let run = match synth::synthesize(env, stacks, options) {
        Ok(run) => run,
        Err(errors) => {
            report_errors(err, paint, &errors, env)?;
            return Ok(EXIT_INVALID);
        }
    };
    for w in &run.warnings {
        write_warning(err, paint, w)?;
    }
    let outputs = run.outputs;
    let times: Vec<(&str, Duration)> = run
        .times
        .iter()
        .map(|t| (t.stack.as_str(), t.build + t.render))
        .collect();
    let validate_time: Duration = run.times.iter().map(|t| t.validate).sum();
    let scope = Scope {
        env,
        stacks: (!args.stacks.is_empty()).then(|| args.stacks.clone()),
    };

    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(e) => {
            writeln!(
                err,
                "{} cannot read the current folder (was it deleted?): {e}",
                paint.red("error:")
            )?;
            return Ok(EXIT_IO);
        }
    };
    let located = match emit::locate(&args.out, &cwd) {
        Ok(l) => l,
        Err(e) => return report_emit_error(err, paint, &e, &args.out, None, !args.check),
    };
    let allow = Allow {
        overwrite: args.overwrite,
        prune: args.prune,
    };

    if args.check {
        let plan = match emit::plan_with(&located.path, &outputs, &scope, allow) {
            Ok(p) => p,
            Err(e) => return report_emit_error(err, paint, &e, &args.out, None, false),
        };
        if plan.is_clean() {
            if !args.quiet {
                writeln!(
                    out,
                    "{}: {} files up to date for {env}",
                    args.out.display(),
                    plan.unchanged.len()
                )?;
            }
            return Ok(EXIT_OK);
        }
        let base = args.out.display().to_string();
        for c in &plan.changes {
            let (old, new) = match c {
                Change::Create { contents, .. } => ("", *contents),
                Change::Update { old, contents, .. } => (old.as_str(), *contents),
                Change::Remove { old, .. } => (old.as_str(), ""),
            };
            write_diff(out, paint, &format!("{base}/{}", c.path()), old, new)?;
        }
        if plan.changes.is_empty()
            && let Some((old, new)) = plan.manifest_change()
        {
            write_diff(
                out,
                paint,
                &format!("{base}/{}", emit::manifest::FILE_NAME),
                &old,
                &new,
            )?;
        }
        let n = plan.changes.len().max(1);
        writeln!(
            err,
            "{} {base}/ is stale: {n} file{} would change. Run `{}` to update it.",
            paint.red("error:"),
            if n == 1 { "" } else { "s" },
            regenerate_hint(cli, &args.stacks)
        )?;
        let not_ours = plan.not_ours();
        if !not_ours.is_empty() {
            writeln!(
                err,
                "  {} that run will refuse to overwrite {} file{} whose content stackdsl did not write (add `--overwrite` to replace them):",
                paint.cyan("note:"),
                not_ours.len(),
                if not_ours.len() == 1 { "" } else { "s" }
            )?;
            for (rel, ownership) in not_ours {
                writeln!(err, "    {}: {ownership}", args.out.join(rel).display())?;
            }
        }
        write_kept(
            err,
            paint,
            &args.out,
            &plan.kept,
            plan.manifest_damaged,
            false,
        )?;
        return Ok(EXIT_STALE);
    }

    if located.location == emit::Location::Outside && !args.allow_outside && !args.out_is_default {
        writeln!(
            err,
            "{} `--out {}` is `{}`, which is outside the current folder `{}`; refusing to write there",
            paint.red("error:"),
            args.out.display(),
            located.path.display(),
            cwd.display(),
        )?;
        writeln!(err, "  {} nothing was written", paint.cyan("note:"))?;
        writeln!(
            err,
            "  {} run from the folder that holds your output folder, or pass `--allow-outside` to write there anyway (the run then owns the {env} files stackdsl wrote there, and deletes those it no longer generates)",
            paint.cyan("hint:")
        )?;
        return Ok(EXIT_INVALID);
    }
    let t = Instant::now();
    let report = match emit::synthesize_with(&located.path, &outputs, &scope, allow) {
        Ok(r) => r,
        Err(e) => {
            return report_emit_error(err, paint, &e, &args.out, Some(&located.path), true);
        }
    };
    let write_time = t.elapsed();
    for (rel, ownership) in &report.overwritten {
        writeln!(
            err,
            "{} replaced `{}`, which was {ownership}, as `--overwrite` asked",
            paint.cyan("warning:"),
            args.out.join(rel).display()
        )?;
    }
    for rel in &report.pruned {
        writeln!(
            err,
            "{} removed `{}` (it carried the stackdsl marker, but the manifest did not show stackdsl wrote it), as `--prune` asked",
            paint.cyan("note:"),
            args.out.join(rel).display()
        )?;
    }
    write_kept(
        err,
        paint,
        &args.out,
        &report.kept,
        report.manifest_rebuilt,
        true,
    )?;
    if !args.quiet {
        let mut names: Vec<&str> = times.iter().map(|(n, _)| *n).collect();
        for n in report.removed.keys() {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
        for name in names {
            let written = report.written.get(name).copied().unwrap_or(0);
            let unchanged = report.unchanged.get(name).copied().unwrap_or(0);
            let removed = report.removed.get(name).copied().unwrap_or(0);
            let time = times
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, d)| *d)
                .unwrap_or_default();
            writeln!(
                out,
                "{}: {written} written, {unchanged} unchanged, {removed} removed ({:.1} ms)",
                paint.bold(&format!("{name}/{env}")),
                time.as_secs_f64() * 1000.0
            )?;
        }
        writeln!(
            out,
            "validated in {:.1} ms, wrote {} in {:.1} ms",
            validate_time.as_secs_f64() * 1000.0,
            args.out.display(),
            write_time.as_secs_f64() * 1000.0
        )?;
    }
    Ok(EXIT_OK)
}

/// How many files a message lists before "… and N more".
const LISTED: usize = 20;

/// Prints an emit failure: the error (paths as the user typed `--out`), whether anything
/// was written, and how to go on. Returns the exit code: 2 for a refusal, else 3.
fn report_emit_error(
    err: &mut dyn Write,
    paint: &Paint,
    e: &EmitError,
    typed: &Path,
    resolved: Option<&Path>,
    writing: bool,
) -> io::Result<u8> {
    // A path under the resolved output folder, shown under `--out` as typed.
    let shown = |p: &Path| -> String {
        resolved.and_then(|r| p.strip_prefix(r).ok()).map_or_else(
            || p.display().to_string(),
            |rel| typed.join(rel).display().to_string(),
        )
    };
    let red = paint.red("error:");
    match e {
        EmitError::WouldOverwrite(files) => {
            writeln!(
                err,
                "{red} refusing to overwrite {} file{} whose content stackdsl did not write:",
                files.len(),
                if files.len() == 1 { "" } else { "s" }
            )?;
            for (p, ownership) in files.iter().take(LISTED) {
                writeln!(err, "    {}: {ownership}", shown(p))?;
            }
            if files.len() > LISTED {
                writeln!(err, "    … and {} more", files.len() - LISTED)?;
            }
        }
        EmitError::NotAnOutputFolder { path, why } => {
            let resolved = if path == typed {
                String::new()
            } else {
                format!(" (`{}`)", path.display())
            };
            writeln!(
                err,
                "{red} `--out {}`{resolved} {why}; refusing to {} there",
                typed.display(),
                if writing { "write" } else { "look" }
            )?;
        }
        EmitError::Interrupted { cause, .. } => writeln!(err, "{red} {cause}")?,
        e => writeln!(err, "{red} {e}")?,
    }
    let (note, hint) = (paint.cyan("note:"), paint.cyan("hint:"));
    match e {
        EmitError::Interrupted {
            written, removed, ..
        } => {
            let mut done: Vec<String> = written
                .iter()
                .map(|r| format!("wrote {}", typed.join(r).display()))
                .chain(
                    removed
                        .iter()
                        .map(|r| format!("removed {}", typed.join(r).display())),
                )
                .collect();
            let total = done.len();
            done.truncate(10);
            writeln!(
                err,
                "  {note} before the failure this run wrote {} and removed {} file(s), each complete (the manifest lists what was written): {}{}",
                written.len(),
                removed.len(),
                done.join(", "),
                if total > done.len() { ", …" } else { "" }
            )?;
            writeln!(
                err,
                "  {hint} rerun after fixing the cause; it finishes the job"
            )?;
        }
        _ if writing => writeln!(err, "  {note} nothing was written")?,
        _ => {}
    }
    match e {
        EmitError::WouldOverwrite(files) => {
            if files.iter().any(|(_, o)| *o == emit::Ownership::NotListed) {
                writeln!(
                    err,
                    "  {note} a file the manifest does not list is yours, or stackdsl's from before its manifest was lost or damaged (a merge conflict in it, say)"
                )?;
            }
            writeln!(
                err,
                "  {hint} `git diff` shows what changed; move your version away and rerun, or rerun with `--overwrite` to replace them"
            )?;
        }
        EmitError::NotAnOutputFolder { .. } => writeln!(
            err,
            "  {hint} pass `--out` a new or empty folder, or the folder stackdsl writes to (`out` by default)"
        )?,
        _ => {}
    }
    Ok(if e.is_refusal() {
        EXIT_INVALID
    } else {
        EXIT_IO
    })
}

/// Prints the stale files a run keeps, and the missing or damaged manifest.
fn write_kept(
    err: &mut dyn Write,
    paint: &Paint,
    typed: &Path,
    kept: &[Kept],
    manifest_damaged: bool,
    wrote: bool,
) -> io::Result<()> {
    let warning = paint.cyan("warning:");
    if manifest_damaged {
        writeln!(
            err,
            "{warning} `{}` was missing or damaged, so nothing is deleted on its word; {}",
            typed.join(emit::manifest::FILE_NAME).display(),
            if wrote {
                "it now lists the files this run wrote or found up to date"
            } else {
                "a run rewrites it with the files it writes or finds up to date"
            }
        )?;
    }
    for k in kept {
        let path = typed.join(&k.path);
        let path = path.display();
        match k.because {
            KeptBecause::Edited { marked: true } => writeln!(
                err,
                "{warning} `{path}` is no longer generated, but it was edited since stackdsl wrote it: kept"
            )?,
            KeptBecause::Edited { marked: false } => writeln!(
                err,
                "{warning} `{path}` is no longer generated, but its content is not what stackdsl wrote and it has no stackdsl marker, so it may be yours: kept (delete it if it is not)"
            )?,
            KeptBecause::Unvouched => writeln!(
                err,
                "{warning} `{path}` is not generated by this run and carries the stackdsl marker, but no intact manifest lists it, so it may be a copy of yours: kept"
            )?,
            KeptBecause::NotAFile => writeln!(
                err,
                "{warning} `{path}` is listed in the manifest but is not a regular file: left alone"
            )?,
        }
    }
    if kept.iter().any(Kept::prunable) {
        writeln!(
            err,
            "  {} rerun with `--prune` to delete the kept files that carry the stackdsl marker (move your own copies away first)",
            paint.cyan("hint:")
        )?;
    }
    Ok(())
}

/// `init`: writes a new stacks crate into an empty (or new) folder.
fn init(
    dir: &std::path::Path,
    name: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    paint: &Paint,
) -> io::Result<u8> {
    let name = match name {
        Some(n) => n.to_owned(),
        None => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if let Some(problem) = validate::names::dns1123_problem(&name) {
        writeln!(
            err,
            "{} package and stack name `{name}` {problem}",
            paint.red("error:")
        )?;
        writeln!(
            err,
            "  {} pass `--name my-stacks` (lowercase letters, digits and '-')",
            paint.cyan("hint:")
        )?;
        return Ok(EXIT_INVALID);
    }
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        writeln!(
            err,
            "{} `{}` is not empty; `init` only writes into a new or empty folder",
            paint.red("error:"),
            dir.display()
        )?;
        return Ok(EXIT_INVALID);
    }
    for (written, doc) in scaffold::files(&name).into_iter().enumerate() {
        let path = dir.join(&doc.path);
        let parent = path.parent().unwrap_or(dir);
        let done = std::fs::create_dir_all(parent)
            .map_err(|e| ("creating folder", parent, e))
            .and_then(|()| {
                std::fs::write(&path, &doc.contents).map_err(|e| ("writing", path.as_path(), e))
            });
        if let Err((action, at, e)) = done {
            writeln!(
                err,
                "{} {action} `{}`: {e}",
                paint.red("error:"),
                at.display()
            )?;
            writeln!(
                err,
                "  {} {}",
                paint.cyan("note:"),
                if written == 0 {
                    "nothing was written".to_owned()
                } else {
                    format!(
                        "{written} file(s) were written into `{}` before the failure; delete the folder and rerun",
                        dir.display()
                    )
                }
            )?;
            return Ok(EXIT_IO);
        }
    }
    writeln!(
        out,
        "created {} ({name}); next: cd {} && cargo run --bin stack-dev",
        dir.display(),
        dir.display()
    )?;
    Ok(EXIT_OK)
}

/// `init-ci`: writes (or with `check`, compares) the repository's generated CI files.
fn init_ci(
    root: &std::path::Path,
    check: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
    paint: &Paint,
) -> io::Result<u8> {
    let mut stale = 0;
    for doc in crate::render::repo_ci::render() {
        let shown = root.join(&doc.path).display().to_string();
        if check {
            let current = match emit::read_current(root, &doc) {
                Ok(c) => c.unwrap_or_default(),
                Err(e) => {
                    writeln!(err, "{} {e}", paint.red("error:"))?;
                    return Ok(EXIT_IO);
                }
            };
            if current != doc.contents {
                stale += 1;
                write_diff(out, paint, &shown, &current, &doc.contents)?;
            }
            continue;
        }
        match emit::write_owned(root, &doc) {
            Ok(true) => writeln!(out, "wrote {shown}")?,
            Ok(false) => writeln!(out, "{shown} is up to date")?,
            Err(e) => {
                writeln!(err, "{} {e}", paint.red("error:"))?;
                return Ok(if matches!(e, emit::EmitError::NotOurs(_)) {
                    EXIT_INVALID
                } else {
                    EXIT_IO
                });
            }
        }
    }
    if stale > 0 {
        writeln!(
            err,
            "{} {stale} CI file(s) are stale. Run `cargo run --bin stack-prod -- init-ci` to update them.",
            paint.red("error:")
        )?;
        return Ok(EXIT_STALE);
    }
    Ok(EXIT_OK)
}

/// `diff --against ENV`: the semantic difference of every selected stack's Kubernetes
/// objects between `against` (before) and `env` (after).
fn env_diff(
    env: Env,
    against: Env,
    stacks: &[StackFn],
    filter: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
    paint: &Paint,
) -> io::Result<u8> {
    use crate::model::Target;
    use crate::render::k8s;
    let pick = |e: Env| -> Vec<Stack> {
        stacks
            .iter()
            .map(|f| f(e))
            .filter(|s| filter.is_empty() || filter.contains(&s.name))
            .collect()
    };
    let (before, after) = (pick(against), pick(env));
    let (before_plans, after_plans) =
        match (synth::validate_all(&before), synth::validate_all(&after)) {
            (Ok(b), Ok(a)) => (b, a),
            (b, a) => {
                let mut errors = validate::Errors::default();
                for (r, e) in [(b, against), (a, env)] {
                    if let Err(found) = r {
                        errors.extend(found.into_iter().map(|mut x| {
                            x.message = format!("in the {e} stack: {}", x.message);
                            x
                        }));
                    }
                }
                report_errors(err, paint, &errors, env)?;
                return Ok(EXIT_INVALID);
            }
        };
    let mut compared = 0;
    for pa in &after_plans {
        let a = pa.stack();
        let Some(pb) = before_plans.iter().find(|b| b.stack().name == a.name) else {
            continue;
        };
        if !pa.renders(Target::Kubernetes) || !pb.renders(Target::Kubernetes) {
            writeln!(
                out,
                "{}: not rendered for Kubernetes in both {against} and {env}; skipped",
                paint.bold(&a.name)
            )?;
            continue;
        }
        compared += 1;
        let diffs = k8s::diff_envs(&k8s::manifests(pb), &k8s::manifests(pa));
        writeln!(
            out,
            "{}",
            paint.bold(&format!(
                "{}: {against} → {env} ({} objects differ)",
                a.name,
                diffs.len()
            ))
        )?;
        for d in diffs {
            let (mark, note) = match d.only_in_second {
                Some(true) => (paint.green("+"), format!(" (only in {env})")),
                Some(false) => (paint.red("-"), format!(" (only in {against})")),
                None => (paint.cyan("~"), String::new()),
            };
            writeln!(out, "  {mark} {}{note}", d.key)?;
            for (path, from, to) in d.fields {
                let line = match (from, to) {
                    (Some(f), Some(t)) => format!("{path}: {f} → {t}"),
                    (None, Some(t)) => format!("{path}: {}", paint.green(&t)),
                    (Some(f), None) => format!("{path}: {} (removed)", paint.red(&f)),
                    (None, None) => continue,
                };
                writeln!(out, "      {line}")?;
            }
        }
    }
    if compared == 0 {
        writeln!(
            err,
            "{} no stack renders Kubernetes in both {against} and {env}",
            paint.cyan("note:")
        )?;
    }
    Ok(EXIT_OK)
}

fn report_errors(
    err: &mut dyn Write,
    paint: &Paint,
    errors: &validate::Errors,
    env: Env,
) -> io::Result<()> {
    let mut names: Vec<&str> = Vec::new();
    for e in errors {
        writeln!(
            err,
            "{}: {}: {}",
            paint.red(&format!("error[{}]", e.kind.code())),
            paint.bold(&e.path),
            e.message
        )?;
        if let Some(origin) = e.origin {
            writeln!(err, "  {} {origin}", paint.cyan("at:"))?;
        }
        writeln!(err, "  {} {}", paint.cyan("hint:"), e.hint)?;
        if !names.contains(&e.path.stack_name()) {
            names.push(e.path.stack_name());
        }
    }
    writeln!(
        err,
        "{} {} error{} in {env} stacks ({}); nothing was written",
        paint.red("error:"),
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        names.join(", "),
    )
}

/// A validation warning, as errors are printed but in cyan; it stops nothing.
fn write_warning(err: &mut dyn Write, paint: &Paint, w: &validate::Warning) -> io::Result<()> {
    writeln!(
        err,
        "{} {}: {}",
        paint.cyan("warning:"),
        paint.bold(&w.path),
        w.message
    )?;
    if let Some(origin) = w.origin {
        writeln!(err, "  {} {origin}", paint.cyan("at:"))?;
    }
    writeln!(err, "  {} {}", paint.cyan("hint:"), w.hint)
}

fn regenerate_hint(cli: &Cli, stacks: &[String]) -> String {
    let mut cmd = cli.regenerate();
    if !stacks.is_empty() {
        cmd.push_str(" --");
        for s in stacks {
            cmd.push_str(&format!(" --stack {s}"));
        }
    }
    cmd
}

fn write_diff(
    out: &mut dyn Write,
    paint: &Paint,
    path: &str,
    old: &str,
    new: &str,
) -> io::Result<()> {
    let diff = similar::TextDiff::from_lines(old, new);
    let (a, b) = (
        if old.is_empty() {
            "/dev/null".to_owned()
        } else {
            format!("a/{path}")
        },
        if new.is_empty() {
            "/dev/null".to_owned()
        } else {
            format!("b/{path}")
        },
    );
    writeln!(out, "{}", paint.bold(&format!("--- {a}")))?;
    writeln!(out, "{}", paint.bold(&format!("+++ {b}")))?;
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        writeln!(out, "{}", paint.cyan(&hunk.header().to_string()))?;
        for change in hunk.iter_changes() {
            let line = change.to_string_lossy();
            let line = line.strip_suffix('\n').unwrap_or(&line);
            match change.tag() {
                similar::ChangeTag::Delete => writeln!(out, "{}", paint.red(&format!("-{line}")))?,
                similar::ChangeTag::Insert => {
                    writeln!(out, "{}", paint.green(&format!("+{line}")))?
                }
                similar::ChangeTag::Equal => writeln!(out, " {line}")?,
            }
            if change.missing_newline() {
                writeln!(out, "\\ No newline at end of file")?;
            }
        }
    }
    Ok(())
}
