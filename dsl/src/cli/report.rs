//! How the CLI prints: colour, and validation errors with their paths and hints.

use super::*;

pub(super) struct Paint {
    pub(super) on: bool,
}

impl Paint {
    pub(super) fn paint(&self, style: Style, text: &str) -> String {
        if self.on {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }
    pub(super) fn red(&self, t: &str) -> String {
        self.paint(AnsiColor::Red.on_default(), t)
    }
    pub(super) fn green(&self, t: &str) -> String {
        self.paint(AnsiColor::Green.on_default(), t)
    }
    pub(super) fn cyan(&self, t: &str) -> String {
        self.paint(AnsiColor::Cyan.on_default(), t)
    }
    pub(super) fn bold(&self, t: &str) -> String {
        self.paint(Style::new().bold(), t)
    }
}

pub(super) fn report_errors(
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

/// Prints what the output does not do (see [`Plan::warnings`](crate::Plan::warnings)), each
/// with its path and hint, like errors; the run goes on.
pub(super) fn write_warnings(
    err: &mut dyn Write,
    paint: &Paint,
    warnings: &[crate::diagnostics::Warning],
) -> io::Result<()> {
    for w in warnings {
        writeln!(
            err,
            "{}: {}: {}",
            paint.cyan(&format!("warning[{}]", w.kind.code())),
            paint.bold(&w.path),
            w.message
        )?;
        if let Some(origin) = w.origin {
            writeln!(err, "  {} {origin}", paint.cyan("at:"))?;
        }
        writeln!(err, "  {} {}", paint.cyan("hint:"), w.hint)?;
    }
    Ok(())
}
