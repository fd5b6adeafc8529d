//! A small HCL writer whose output is already in `terraform fmt` style.
//!
//! Why not `hcl-rs`: its formatter does not align `=` the way `terraform fmt` does, so every
//! file would need a `terraform fmt` pass to be reviewable, and it brings a parser and
//! template engine we do not need. We only *write* HCL, from a few typed shapes; the rules
//! `terraform fmt` applies to them are simple and tested (`terraform fmt -check` runs on
//! every generated folder):
//! - two-space indentation;
//! - in a run of consecutive single-line attributes, the `=` signs are aligned; a
//!   multi-line value (a list or object spanning lines), a nested block or a blank line
//!   ends the run;
//! - lists of scalars on one line, lists containing objects one element per line with
//!   trailing commas; objects one attribute per line.

/// An expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// A string literal (escaped when written, `${`/`%{` included).
    Str(String),
    /// Verbatim HCL: a reference (`var.x`), function call or template.
    Raw(String),
    /// A number.
    Num(i64),
    /// A boolean.
    Bool(bool),
    /// A tuple.
    List(Vec<Expr>),
    /// An object.
    Object(Vec<(String, Expr)>),
}

/// One item of a block body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `name = value`.
    Attr(String, Expr),
    /// A nested block.
    Block(Block),
    /// An empty line.
    Blank,
    /// A `# comment` line.
    Comment(String),
}

/// `kind "label" … { body }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Block type (`resource`, `variable`, …).
    pub kind: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Body.
    pub body: Vec<Item>,
}

impl Block {
    /// A block with labels and an empty body.
    pub fn new(kind: &str, labels: &[&str]) -> Self {
        Block {
            kind: kind.to_owned(),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            body: Vec::new(),
        }
    }

    /// Appends an attribute.
    pub fn attr(mut self, name: &str, value: Expr) -> Self {
        self.body.push(Item::Attr(name.to_owned(), value));
        self
    }

    /// Appends a nested block.
    pub fn block(mut self, block: Block) -> Self {
        self.body.push(Item::Block(block));
        self
    }

    /// Appends a blank line.
    pub fn blank(mut self) -> Self {
        self.body.push(Item::Blank);
        self
    }

    /// Appends a `# comment` line.
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.body.push(Item::Comment(text.into()));
        self
    }
}

/// `"text"`.
pub fn s(text: impl Into<String>) -> Expr {
    Expr::Str(text.into())
}

/// Verbatim HCL.
pub fn raw(text: impl Into<String>) -> Expr {
    Expr::Raw(text.into())
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The single-line form of an expression, if it has one.
fn inline(e: &Expr) -> Option<String> {
    match e {
        Expr::Str(t) => Some(escape(t)),
        Expr::Raw(t) => Some(t.clone()),
        Expr::Num(n) => Some(n.to_string()),
        Expr::Bool(b) => Some(b.to_string()),
        Expr::List(items) if items.is_empty() => Some("[]".into()),
        Expr::List(items)
            if items
                .iter()
                .all(|i| matches!(i, Expr::Str(_) | Expr::Num(_) | Expr::Bool(_))) =>
        {
            let parts: Vec<String> = items.iter().filter_map(inline).collect();
            let line = format!("[{}]", parts.join(", "));
            (line.len() <= 80).then_some(line)
        }
        Expr::Object(fields) if fields.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn pad(depth: usize) -> String {
    "  ".repeat(depth)
}

/// Writes `value` that starts after `name = ` on the current line.
fn write_multiline(out: &mut String, e: &Expr, depth: usize) {
    match e {
        Expr::List(items) => {
            out.push_str("[\n");
            for item in items {
                out.push_str(&pad(depth + 1));
                match inline(item) {
                    Some(line) => out.push_str(&line),
                    None => write_multiline(out, item, depth + 1),
                }
                out.push_str(",\n");
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Expr::Object(fields) => {
            out.push_str("{\n");
            let items: Vec<Item> = fields
                .iter()
                .map(|(k, v)| Item::Attr(k.clone(), v.clone()))
                .collect();
            write_body(out, &items, depth + 1);
            out.push_str(&pad(depth));
            out.push('}');
        }
        other => out.push_str(&inline(other).unwrap_or_default()),
    }
}

fn write_body(out: &mut String, items: &[Item], depth: usize) {
    let mut i = 0;
    while i < items.len() {
        match &items[i] {
            Item::Blank => {
                out.push('\n');
                i += 1;
            }
            Item::Comment(text) => {
                for line in text.lines() {
                    out.push_str(&format!("{}# {line}\n", pad(depth)));
                }
                i += 1;
            }
            Item::Block(b) => {
                write_block(out, b, depth);
                i += 1;
            }
            Item::Attr(..) => {
                // A run of single-line attributes, aligned on `=`.
                let mut run = Vec::new();
                while let Some(Item::Attr(name, value)) = items.get(i) {
                    match inline(value) {
                        Some(line) => run.push((name, line)),
                        None if run.is_empty() => {
                            out.push_str(&format!("{}{name} = ", pad(depth)));
                            write_multiline(out, value, depth);
                            out.push('\n');
                            i += 1;
                            break;
                        }
                        None => break,
                    }
                    i += 1;
                }
                let width = run.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
                for (name, line) in run {
                    out.push_str(&format!("{}{name:<width$} = {line}\n", pad(depth)));
                }
            }
        }
    }
}

fn write_block(out: &mut String, b: &Block, depth: usize) {
    out.push_str(&pad(depth));
    out.push_str(&b.kind);
    for l in &b.labels {
        out.push(' ');
        out.push_str(&escape(l));
    }
    if b.body.is_empty() {
        out.push_str(" {}\n");
        return;
    }
    out.push_str(" {\n");
    write_body(out, &b.body, depth + 1);
    out.push_str(&pad(depth));
    out.push_str("}\n");
}

/// Top-level blocks separated by blank lines.
pub fn file(blocks: &[Block]) -> String {
    let mut out = String::new();
    for (i, b) in blocks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        write_block(&mut out, b, 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_runs_and_breaks_them_at_multiline_values() {
        let b = Block::new("resource", &["helm_release", "x"])
            .attr("name", s("x"))
            .attr("repository", s("oci://r"))
            .attr("values", Expr::List(vec![raw("file(\"a\")")]))
            .attr("wait", Expr::Bool(true))
            .attr(
                "set_sensitive",
                Expr::List(vec![Expr::Object(vec![
                    ("name".into(), s("a.b")),
                    ("value".into(), raw("var.p")),
                ])]),
            );
        assert_eq!(
            file(&[b]),
            "resource \"helm_release\" \"x\" {\n  name       = \"x\"\n  repository = \"oci://r\"\n  values = [\n    file(\"a\"),\n  ]\n  wait = true\n  set_sensitive = [\n    {\n      name  = \"a.b\"\n      value = var.p\n    },\n  ]\n}\n"
        );
    }

    #[test]
    fn escapes_templates() {
        assert_eq!(
            escape("a\"b ${x} %{y} $z\n"),
            "\"a\\\"b $${x} %%{y} $z\\n\""
        );
    }
}
