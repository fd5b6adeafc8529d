//! The review as GitHub-flavoured Markdown, for a pull-request comment and a job summary:
//! the risks, a summary table, then one collapsible `<details>` block per changed object,
//! cut at a size budget with "… and N more objects".
//!
//! Every value is shown in a code span (or a fenced block for multi-line values) sized to
//! the backticks it contains, with table pipes escaped, and labels in `<summary>` are
//! HTML-escaped: a value from a stack cannot change the comment's structure or mention
//! anyone.

use std::fmt::Write as _;

use super::{Review, Status, clip, count_phrase, line_changes, multiline};

/// How the Markdown is framed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MarkdownOptions {
    /// The first line, an HTML comment that identifies the comment to update
    /// (`<!-- stackdsl-review -->`); empty for none.
    pub marker: String,
    /// The heading.
    pub title: String,
    /// What to run to see the whole review when it was cut (a command).
    pub rerun: String,
    /// The most characters the Markdown may have (GitHub takes 65,536 in a comment).
    pub max_chars: usize,
}

impl MarkdownOptions {
    /// Options with `title`, no marker, no rerun hint, and a budget of 60,000 characters.
    pub fn new(title: impl Into<String>) -> Self {
        MarkdownOptions {
            marker: String::new(),
            title: title.into(),
            rerun: String::new(),
            max_chars: 60_000,
        }
    }

    /// The identifying first line (an HTML comment).
    pub fn marker(mut self, marker: impl Into<String>) -> Self {
        self.marker = marker.into();
        self
    }

    /// The command that shows the whole review.
    pub fn rerun(mut self, command: impl Into<String>) -> Self {
        self.rerun = command.into();
        self
    }

    /// The size budget in characters.
    pub fn max_chars(mut self, n: usize) -> Self {
        self.max_chars = n;
        self
    }
}

/// Longest value shown in a table cell.
const MAX_VALUE: usize = 200;
/// Fields shown per object, changed lines per multi-line value.
const FIELDS: usize = 60;
const LINES: usize = 40;

/// `s` as an inline code span that survives backticks inside it.
fn code(s: &str) -> String {
    if s.is_empty() {
        return "*(empty)*".to_owned();
    }
    let run = longest_run(s, '`');
    let ticks = "`".repeat(run + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || run > 0 {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// A code span inside a table cell: pipes escaped (GFM splits cells before inlines).
fn cell(s: &str) -> String {
    code(&clip(s, MAX_VALUE)).replace('|', "\\|")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for ch in s.chars() {
        if ch == c {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Renders `review` as GitHub-flavoured Markdown within `options.max_chars`.
///
/// ```
/// use stackdsl::review::{self, Files, MarkdownOptions};
/// let before = Files::from([("shop/prod/compose.yaml".to_owned(), "services:\n  api:\n    image: a:1\n".to_owned())]);
/// let after = Files::from([("shop/prod/compose.yaml".to_owned(), "services:\n  api:\n    image: a:2\n".to_owned())]);
/// let md = review::markdown(&review::review(&before, &after), &MarkdownOptions::new("Review").marker("<!-- review -->"));
/// assert!(md.starts_with("<!-- review -->\n### Review\n"));
/// assert!(md.contains("<details><summary>~ <code>compose service api</code>"));
/// assert!(md.contains("| `image` | `a:1` | `a:2` |"));
/// ```
pub fn markdown(review: &Review, options: &MarkdownOptions) -> String {
    let mut out = String::new();
    if !options.marker.is_empty() {
        out.push_str(&options.marker);
        out.push('\n');
    }
    let _ = writeln!(out, "### {}\n", options.title);
    if review.groups.is_empty() {
        out.push_str("No object changed.\n");
        return out;
    }
    let (mut added, mut changed, mut removed) = (0, 0, 0);
    for g in &review.groups {
        added += g.count(Status::Added);
        changed += g.count(Status::Changed);
        removed += g.count(Status::Removed);
    }
    let _ = writeln!(
        out,
        "{} in {}.\n",
        count_phrase(added, changed, removed),
        plural(review.stacks(), "stack")
    );
    // Risks: at most half the budget.
    if !review.risks.is_empty() {
        let _ = writeln!(
            out,
            "#### ⚠ {} to review\n",
            plural(review.risks.len(), "risk")
        );
        let limit = options.max_chars / 2;
        for (i, r) in review.risks.iter().enumerate() {
            let places: Vec<String> = r
                .places_phrase()
                .split("; ")
                .map(|p| match p.rsplit_once(" (") {
                    Some((objects, scopes)) => format!(
                        "{} ({scopes}",
                        objects.split(", ").map(code).collect::<Vec<_>>().join(", ")
                    ),
                    None => code(p),
                })
                .collect();
            let line = format!(
                "- **{}** · `{}`: {} — {}\n",
                r.kind.title(),
                r.stack,
                code(&clip(&r.detail, MAX_VALUE)),
                places.join("; ")
            );
            if out.len() + line.len() > limit {
                let _ = writeln!(
                    out,
                    "- … and {} more",
                    plural(review.risks.len() - i, "risk")
                );
                break;
            }
            out.push_str(&line);
        }
        out.push('\n');
    }
    out.push_str("| stack | environment | added | changed | removed |\n|---|---|--:|--:|--:|\n");
    for g in &review.groups {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            g.stack,
            g.scope,
            g.count(Status::Added),
            g.count(Status::Changed),
            g.count(Status::Removed)
        );
    }
    out.push('\n');
    // Room kept for the closing line.
    let budget = options.max_chars.saturating_sub(300 + options.rerun.len());
    let total = review.objects();
    let mut shown = 0;
    'groups: for g in &review.groups {
        let heading = format!(
            "#### `{}` · {} — {}\n\n",
            g.stack,
            g.scope,
            count_phrase(
                g.count(Status::Added),
                g.count(Status::Changed),
                g.count(Status::Removed)
            )
        );
        let mut heading = Some(heading);
        for o in &g.objects {
            let block = object(o);
            let head_len = heading.as_ref().map_or(0, String::len);
            if out.len() + head_len + block.len() > budget {
                break 'groups;
            }
            if let Some(h) = heading.take() {
                out.push_str(&h);
            }
            out.push_str(&block);
            shown += 1;
        }
    }
    if shown < total {
        let _ = write!(
            out,
            "… and {} not shown here",
            plural(total - shown, "more object")
        );
        if options.rerun.is_empty() {
            out.push_str(".\n");
        } else {
            let _ = writeln!(out, "; run {} to see every change.", code(&options.rerun));
        }
    }
    out
}

fn object(o: &super::ObjectChange) -> String {
    let mark = match o.status {
        Status::Added => "+",
        Status::Changed => "~",
        Status::Removed => "-",
    };
    let mut s = format!("<details><summary>{mark} <code>{}</code>", html(&o.label));
    let what = match o.status {
        Status::Added => "added".to_owned(),
        Status::Removed => "removed".to_owned(),
        Status::Changed => plural(o.fields.len(), "field"),
    };
    let _ = write!(s, " · {what}");
    if o.file != o.label {
        let _ = write!(s, " · <code>{}</code>", html(&o.file));
    }
    s.push_str("</summary>\n\n");
    let fields: Vec<&super::FieldChange> = o.fields.iter().take(FIELDS).collect();
    let (lines, inline): (Vec<_>, Vec<_>) = fields
        .into_iter()
        .partition(|f| multiline(f.before.as_deref()) || multiline(f.after.as_deref()));
    if o.status != Status::Removed && !inline.is_empty() {
        s.push_str("| field | before | after |\n|---|---|---|\n");
        for f in inline {
            let show = |v: Option<&str>| v.map_or_else(|| "—".to_owned(), cell);
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                cell(&f.path),
                show(f.before.as_deref()),
                show(f.after.as_deref())
            );
        }
        s.push('\n');
    }
    if o.status != Status::Removed {
        for f in lines {
            let changes = line_changes(
                f.before.as_deref().unwrap_or_default(),
                f.after.as_deref().unwrap_or_default(),
            );
            let body: Vec<String> = changes
                .iter()
                .take(LINES)
                .map(|(sign, line)| format!("{sign} {}", clip(line, MAX_VALUE)))
                .collect();
            let mut text = body.join("\n");
            if changes.len() > LINES {
                let _ = write!(text, "\n… and {} more changed lines", changes.len() - LINES);
            }
            let fence = "`".repeat(longest_run(&text, '`').max(2) + 1);
            let path = if f.path.is_empty() {
                "content"
            } else {
                &f.path
            };
            let _ = writeln!(s, "{}:\n\n{fence}diff\n{text}\n{fence}\n", code(path));
        }
    }
    if o.fields.len() > FIELDS && o.status != Status::Removed {
        let _ = writeln!(
            s,
            "… and {}\n",
            plural(o.fields.len() - FIELDS, "more field")
        );
    }
    if o.status == Status::Removed {
        let _ = writeln!(s, "Removed with its {}.\n", plural(o.fields.len(), "field"));
    }
    s.push_str("</details>\n\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks_and_pipes() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code(""), "*(empty)*");
        assert_eq!(cell("x|y"), "`x\\|y`");
        assert_eq!(html("<b>&"), "&lt;b&gt;&amp;");
    }
}
