//! The review as terminal text: the risks, a summary line per stack and environment, then
//! every changed object with its fields (colour is the caller's: see [`Tone`]).

use super::{Review, Status, clip, count_phrase, line_changes, multiline};

/// What a piece of text is, so the caller can colour it (the library prints nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tone {
    /// Headings.
    Heading,
    /// Added objects and values.
    Added,
    /// Removed objects and values.
    Removed,
    /// Changed objects.
    Changed,
    /// Risk markers.
    Risk,
}

/// Longest value shown inline.
const MAX_VALUE: usize = 160;
/// Fields shown for an added object, and at most for a changed one.
const ADDED_FIELDS: usize = 8;
const CHANGED_FIELDS: usize = 40;
/// Changed lines shown of a multi-line value.
const LINES: usize = 20;

/// Renders `review` under the heading `title`; `paint(tone, text)` colours a piece (return
/// `text` unchanged for no colour).
///
/// ```
/// use stackdsl::review::{self, Files};
/// let r = review::review(&Files::new(), &Files::new());
/// assert_eq!(
///     review::text(&r, "out/ at HEAD → now", &|_, s| s.to_owned()),
///     "out/ at HEAD → now\nno object changed\n"
/// );
/// ```
pub fn text(review: &Review, title: &str, paint: &dyn Fn(Tone, &str) -> String) -> String {
    let mut out = String::new();
    out.push_str(&paint(Tone::Heading, title));
    out.push('\n');
    let (mut added, mut changed, mut removed) = (0, 0, 0);
    for g in &review.groups {
        added += g.count(Status::Added);
        changed += g.count(Status::Changed);
        removed += g.count(Status::Removed);
    }
    if review.groups.is_empty() {
        out.push_str("no object changed\n");
        return out;
    }
    if !review.risks.is_empty() {
        out.push_str(&paint(
            Tone::Risk,
            &format!(
                "{} risk{} to review:",
                review.risks.len(),
                if review.risks.len() == 1 { "" } else { "s" }
            ),
        ));
        out.push('\n');
        for r in &review.risks {
            out.push_str(&format!(
                "  {} {} · {}: {} — {}\n",
                paint(Tone::Risk, "⚠"),
                paint(Tone::Risk, r.kind.title()),
                r.stack,
                r.detail,
                r.places_phrase()
            ));
        }
    }
    let stacks = review.stacks();
    out.push_str(&paint(
        Tone::Heading,
        &format!(
            "Summary: {} in {stacks} stack{}",
            count_phrase(added, changed, removed),
            if stacks == 1 { "" } else { "s" }
        ),
    ));
    out.push('\n');
    let width = review
        .groups
        .iter()
        .map(|g| g.stack.chars().count() + g.scope.chars().count() + 3)
        .max()
        .unwrap_or(0);
    for g in &review.groups {
        let name = format!("{} · {}", g.stack, g.scope);
        let pad = width.saturating_sub(name.chars().count());
        out.push_str(&format!(
            "  {name}{}  {}\n",
            " ".repeat(pad),
            count_phrase(
                g.count(Status::Added),
                g.count(Status::Changed),
                g.count(Status::Removed)
            )
        ));
    }
    for g in &review.groups {
        out.push('\n');
        out.push_str(&paint(
            Tone::Heading,
            &format!(
                "{} · {} — {}",
                g.stack,
                g.scope,
                count_phrase(
                    g.count(Status::Added),
                    g.count(Status::Changed),
                    g.count(Status::Removed)
                )
            ),
        ));
        out.push('\n');
        for o in &g.objects {
            let (mark, tone) = match o.status {
                Status::Added => ("+", Tone::Added),
                Status::Changed => ("~", Tone::Changed),
                Status::Removed => ("-", Tone::Removed),
            };
            let file = if o.file == o.label {
                String::new()
            } else {
                format!("  ({})", o.file)
            };
            out.push_str(&format!("  {} {}{file}\n", paint(tone, mark), o.label));
            let limit = match o.status {
                Status::Removed => 0,
                Status::Added => ADDED_FIELDS,
                Status::Changed => CHANGED_FIELDS,
            };
            for f in o.fields.iter().take(limit) {
                field(&mut out, f, paint);
            }
            if o.fields.len() > limit && limit > 0 {
                out.push_str(&format!(
                    "      … and {} more field{}\n",
                    o.fields.len() - limit,
                    if o.fields.len() - limit == 1 { "" } else { "s" }
                ));
            }
        }
    }
    out
}

fn field(out: &mut String, f: &super::FieldChange, paint: &dyn Fn(Tone, &str) -> String) {
    let (b, a) = (f.before.as_deref(), f.after.as_deref());
    if multiline(b) || multiline(a) {
        let path = if f.path.is_empty() {
            "content"
        } else {
            &f.path
        };
        out.push_str(&format!("      {path}:\n"));
        let lines = line_changes(b.unwrap_or_default(), a.unwrap_or_default());
        for (sign, line) in lines.iter().take(LINES) {
            let tone = if *sign == '+' {
                Tone::Added
            } else {
                Tone::Removed
            };
            let text = format!("{sign} {}", clip(line, MAX_VALUE));
            out.push_str(&format!("        {}\n", paint(tone, &text)));
        }
        if lines.len() > LINES {
            out.push_str(&format!(
                "        … and {} more changed lines\n",
                lines.len() - LINES
            ));
        }
        return;
    }
    let show = |v: &str| {
        if v.is_empty() {
            "\"\"".to_owned()
        } else {
            clip(v, MAX_VALUE)
        }
    };
    let line = match (b, a) {
        (Some(b), Some(a)) => format!("{}: {} → {}", f.path, show(b), show(a)),
        (None, Some(a)) => format!("{}: {}", f.path, paint(Tone::Added, &show(a))),
        (Some(b), None) => format!("{}: {} (removed)", f.path, paint(Tone::Removed, &show(b))),
        (None, None) => return,
    };
    out.push_str(&format!("      {line}\n"));
}
