//! Synthesizing into the output folder: `--check`'s diff, the write, and what a run
//! reports about files it refused, kept or pruned.

use super::*;

pub(super) fn execute(
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
    write_warnings(err, paint, &run.warnings)?;
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
pub(super) const LISTED: usize = 20;

/// Prints an emit failure: the error (paths as the user typed `--out`), whether anything
/// was written, and how to go on. Returns the exit code: 2 for a refusal, else 3.
pub(super) fn report_emit_error(
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
pub(super) fn write_kept(
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

pub(super) fn regenerate_hint(cli: &Cli, stacks: &[String]) -> String {
    let mut cmd = cli.regenerate();
    if !stacks.is_empty() {
        cmd.push_str(" --");
        for s in stacks {
            cmd.push_str(&format!(" --stack {s}"));
        }
    }
    cmd
}

pub(super) fn write_diff(
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
