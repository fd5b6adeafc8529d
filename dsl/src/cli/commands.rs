//! The subcommands that do not synthesize into the output folder: `init`, `init-ci` and
//! `diff --against`.

use super::*;

/// `init`: writes a new stacks crate into an empty (or new) folder.
pub(super) fn init(
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
pub(super) fn init_ci(
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
pub(super) fn env_diff(
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
