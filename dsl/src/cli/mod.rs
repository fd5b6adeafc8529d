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
//! `2` invalid stack or invalid command line (nothing written), `3` I/O error.
//!
//! `--out` outside the current folder: a writing run refuses (exit 2) an output folder that
//! resolves (symlinks and `..` included) outside the folder it runs in, unless that folder
//! already exists and is empty or holds stackdsl output (a `.stackdsl-manifest`), or
//! `--allow-outside` is given; see [`emit::locate`]. `--check`, `--list` and `diff` never
//! write, so they accept any `--out`. Conflicting flags (`--list` with `--check` or
//! `--stack`, `--check` with `diff`) exit 2.

use std::ffi::OsString;
use std::io::{self, IsTerminal as _, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod review;
mod scaffold;

use anstyle::{AnsiColor, Style};
use clap::{Parser, ValueEnum};

use crate::emit::{self, Change, Output, Scope};
use crate::model::{Env, Stack};
use crate::render;
use crate::validate;

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
    /// Write to an output folder outside the current folder even when it is missing or
    /// holds files stackdsl did not write.
    #[arg(long)]
    allow_outside: bool,
    /// Print only errors and diffs.
    #[arg(long, short)]
    quiet: bool,
    /// Colour output.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    color: ColorWhen,
    /// List the registered stacks and exit.
    #[arg(long, conflicts_with_all = ["check", "stacks"])]
    list: bool,
    #[command(subcommand)]
    command: Option<Command>,
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

    /// The output folder when `--out` is not given (default `out`).
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
    let args = match <Args as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => {
            let _ = write!(err, "{}", e.render());
            return EXIT_INVALID;
        }
    };
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
    let built: Vec<(Stack, Duration)> = stacks
        .iter()
        .map(|f| {
            let t = Instant::now();
            let mut s = f(env);
            if cli.package.is_some() {
                s.regenerate = Some(cli.regenerate());
            }
            (s, t.elapsed())
        })
        .collect();
    if args.list {
        for (s, _) in &built {
            writeln!(out, "{}  ({})", s.name, render::source_path(s.source))?;
        }
        return Ok(EXIT_OK);
    }
    // --stack filter: every name must exist.
    let unknown: Vec<&String> = args
        .stacks
        .iter()
        .filter(|n| !built.iter().any(|(s, _)| &s.name == *n))
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = built.iter().map(|(s, _)| s.name.as_str()).collect();
        for n in unknown {
            writeln!(
                err,
                "{} unknown stack `{n}`; known stacks: {}",
                paint.red("error:"),
                known.join(", ")
            )?;
        }
        return Ok(EXIT_INVALID);
    }
    let selected: Vec<&(Stack, Duration)> = built
        .iter()
        .filter(|(s, _)| args.stacks.is_empty() || args.stacks.contains(&s.name))
        .collect();

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
    // Validate everything before writing anything.
    let t = Instant::now();
    if let Err(errors) = validate::validate_all(selected.iter().map(|(s, _)| s)) {
        report_errors(err, paint, &errors, env, &selected)?;
        return Ok(EXIT_INVALID);
    }
    let validate_time = t.elapsed();

    let mut outputs = Vec::new();
    let mut times = Vec::new();
    let mut broken = validate::Errors::default();
    // The function that built each stack (pipelines render the other environments too).
    let stack_fn = |name: &str| {
        stacks
            .iter()
            .zip(&built)
            .find(|(_, (s, _))| s.name == name)
            .map(|(f, _)| *f)
    };
    for (stack, build_time) in &selected {
        let t = Instant::now();
        match render::render_with(stack, stack_fn(&stack.name)) {
            Ok(docs) => outputs.extend(docs.into_iter().map(|doc| Output {
                stack: stack.name.clone(),
                env,
                doc,
            })),
            Err(e) => broken.extend(e),
        }
        times.push((stack.name.as_str(), *build_time + t.elapsed()));
    }
    if !broken.is_empty() {
        report_errors(err, paint, &broken, env, &selected)?;
        return Ok(EXIT_INVALID);
    }
    let scope = Scope {
        env,
        stacks: (!args.stacks.is_empty()).then(|| args.stacks.clone()),
    };

    if args.check {
        let plan = match emit::plan(&args.out, &outputs, &scope) {
            Ok(p) => p,
            Err(e) => {
                writeln!(err, "{} {e}", paint.red("error:"))?;
                return Ok(EXIT_IO);
            }
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
        return Ok(EXIT_STALE);
    }

    if !args.allow_outside {
        let cwd = std::env::current_dir()?;
        if emit::locate(&args.out, &cwd)? == emit::Location::Outside {
            writeln!(
                err,
                "{} `--out {}` is outside the current folder `{}` and is not an empty folder or one stackdsl writes to (it has no `{}`); refusing to write there",
                paint.red("error:"),
                args.out.display(),
                cwd.display(),
                emit::manifest::FILE_NAME
            )?;
            writeln!(
                err,
                "  {} run from the repository root, or pass `--allow-outside` to write there anyway",
                paint.cyan("hint:")
            )?;
            return Ok(EXIT_INVALID);
        }
    }
    let t = Instant::now();
    let report = match emit::synthesize(&args.out, &outputs, &scope) {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "{} {e}", paint.red("error:"))?;
            writeln!(
                err,
                "  {} files written before the failure are complete; rerun after fixing the cause",
                paint.cyan("note:")
            )?;
            return Ok(EXIT_IO);
        }
    };
    let write_time = t.elapsed();
    for path in &report.overwritten_edits {
        writeln!(
            err,
            "{} `{path}` had been edited by hand; the edit was overwritten (change the stack instead)",
            paint.cyan("warning:")
        )?;
    }
    for path in &report.kept {
        writeln!(
            err,
            "{} `{path}` is no longer generated but has no stackdsl marker, so it may be yours: kept (delete it if it is not)",
            paint.cyan("warning:")
        )?;
    }
    if report.manifest_rebuilt {
        writeln!(
            err,
            "{} the manifest was missing or damaged; rebuilt it from the files' markers",
            paint.cyan("warning:")
        )?;
    }
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
    for doc in scaffold::files(&name) {
        let path = dir.join(&doc.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &doc.contents)?;
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
    for doc in render::repo_ci::render() {
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
    for set in [&before, &after] {
        if let Err(errors) = validate::validate_all(set) {
            let selected: Vec<(Stack, Duration)> =
                set.iter().map(|s| (s.clone(), Duration::ZERO)).collect();
            let refs: Vec<&(Stack, Duration)> = selected.iter().collect();
            report_errors(
                err,
                paint,
                &errors,
                set.first().map_or(env, |s| s.env),
                &refs,
            )?;
            return Ok(EXIT_INVALID);
        }
    }
    let mut compared = 0;
    for a in &after {
        let Some(b) = before.iter().find(|b| b.name == a.name) else {
            continue;
        };
        let k8s_in = |s: &Stack| s.targets.contains(&Target::Kubernetes);
        if !k8s_in(a) || !k8s_in(b) {
            writeln!(
                out,
                "{}: not rendered for Kubernetes in both {against} and {env}; skipped",
                paint.bold(&a.name)
            )?;
            continue;
        }
        compared += 1;
        let diffs = k8s::diff_envs(&k8s::manifests(b), &k8s::manifests(a));
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
    selected: &[&(Stack, Duration)],
) -> io::Result<()> {
    for e in errors {
        writeln!(
            err,
            "{}: {}: {}",
            paint.red(&format!("error[{}]", e.kind.code())),
            paint.bold(&e.path),
            e.message
        )?;
        writeln!(err, "  {} {}", paint.cyan("hint:"), e.hint)?;
    }
    let names: Vec<&str> = selected.iter().map(|(s, _)| s.name.as_str()).collect();
    writeln!(
        err,
        "{} {} error{} in {env} stacks ({}); nothing was written",
        paint.red("error:"),
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        names.join(", "),
    )
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
