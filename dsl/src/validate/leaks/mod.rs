//! Literal secrets in values: well-known token formats, secret-looking assignments, URL
//! passwords and random values under secret-looking names.
//!
//! Two entry points:
//!
//! - [`scan`] reads free text (an argument, a command line, a mounted file, an annotation
//!   value, a CI command) and reports every secret in it: a token of a well-known format
//!   anywhere, a URL with a literal password or a secret query parameter, an
//!   `Authorization:` header with a literal credential, and `KEY=value`, `--key=value`,
//!   `--key value`, `key: value` and `"key": "value"` where the key names a secret and the
//!   value is a literal.
//! - [`check_value`] judges one named value (an environment variable, a config entry, a
//!   label or annotation, a Terraform or PaaS value): everything [`scan`] finds in it, plus
//!   the name: under a name that says "secret" (`DB_PASSWORD`) any literal is a leak; under
//!   a name that may hold one (`STRIPE_KEY`, `SESSION_KEY`, `AUTH_HEADER`) a value that looks
//!   random (long hex, high-entropy base64) is.
//!
//! A [`Finding`] names its rule (`github-pat`, `jwt`, `high-entropy-under-secret-key`, …),
//! says what it found, and carries a redacted excerpt that never holds more than the
//! format's public prefix.
//!
//! Which token formats are covered follows the rule sets of gitleaks and Yelp's
//! detect-secrets (cloud keys, GitHub/GitLab/Slack/Stripe tokens, Google API keys, JWTs,
//! PEM private keys, AI and SaaS API keys); the patterns here are written from the formats
//! those projects document, not copied.
//!
//! References are not secrets: `${VAR}`, `$(VAR)`, `$VAR`, `${{ secrets.X }}` and
//! Terraform's `var.x` / `local.x` / `data.…` are skipped, and so are empty values,
//! booleans and documentation placeholders (`…`, `<dsn>`).
//!
//! ```
//! use stackdsl::validate::leaks::{check_value, scan};
//!
//! let found = scan("curl -H 'Authorization: Bearer $TOKEN' https://api.example.com");
//! assert!(found.is_empty());
//!
//! let found = scan("sh -c 'PGPASSWORD=hunter2 psql -h db'");
//! assert_eq!(found[0].rule, "secret-assignment");
//! assert_eq!(found[0].excerpt, "PGPASSWORD=…");
//!
//! let key = "0c593d6d3e6e9cc992768ff150fdc987f4f804f611d05209bb3c24ed4275733d";
//! let f = check_value(Some("SESSION_KEY"), key).unwrap();
//! assert_eq!(f.rule, "high-entropy-under-secret-key");
//! assert_eq!(check_value(Some("LOG_LEVEL"), "info"), None);
//! ```

use std::fmt;
use std::ops::Range;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

mod names;
mod text;
mod tokens;

pub use names::secret_name;
use text::*;
use tokens::*;

/// One secret found in a value or text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// Stable rule id, e.g. `github-pat`, `jwt`, `url-password`,
    /// `high-entropy-under-secret-key`.
    pub rule: &'static str,
    /// What was found, for the error message, e.g. `a GitHub personal access token`.
    pub what: String,
    /// A redacted excerpt: at most the format's public prefix (`ghp_…`) or the name the
    /// value was assigned to (`PGPASSWORD=…`); never the secret.
    pub excerpt: String,
    /// Length of the secret in characters.
    pub len: usize,
    /// Byte range of the secret in the scanned text.
    pub span: Range<usize>,
    /// Lower wins when two findings overlap (token formats before generic rules).
    priority: u16,
}

impl Finding {
    /// The sentence for an error message, e.g.
    /// ``contains a GitHub personal access token (`ghp_…`, 40 characters)``.
    pub fn message(&self) -> String {
        format!(
            "contains {} (`{}`, {} characters)",
            self.what, self.excerpt, self.len
        )
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.message())
    }
}

/// How strongly a name says that its value is a secret (see [`secret_name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretName {
    /// The name says so (`DB_PASSWORD`, `API_TOKEN`, `JWT_SECRET`, `GH_PAT`): any literal
    /// value is a leak.
    Certain,
    /// The name may hold one (`STRIPE_KEY`, `SESSION_KEY`, `AUTH_HEADER`): a literal that
    /// looks random is a leak.
    Possible,
}

/// Longest reference (`${…}`, `$(…)`) looked for, in bytes.
const MAX_REFERENCE: usize = 256;

/// Longest value or URL read after a separator, in bytes: the work per `=` or `://` stays
/// bounded on text without whitespace. A longer value is judged by its first part.
const MAX_VALUE: usize = 1024;

/// The largest char boundary of `s` at or below `i`.
fn floor_char_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    (0..=i).rev().find(|&j| s.is_char_boundary(j)).unwrap_or(0)
}

const PRIORITY_URL_PASSWORD: u16 = 1000;

const PRIORITY_URL_QUERY: u16 = 1001;

const PRIORITY_AUTHORIZATION: u16 = 1002;

const PRIORITY_ASSIGNMENT: u16 = 1003;

const PRIORITY_NAMED: u16 = 1004;

fn redact(secret: &str, show: usize) -> String {
    if show == usize::MAX {
        return secret.to_owned();
    }
    let prefix: String = secret
        .chars()
        .take(show.min(secret.chars().count() / 2))
        .collect();
    format!("{prefix}…")
}

/// Whether `value` is a literal: not empty, not a reference (or a short literal spliced
/// around references, like CI's `ci-${{ github.run_id }}`), not a placeholder or boolean.
pub(crate) fn is_literal(value: &str, quoted: bool) -> bool {
    let v = trim_quotes(value);
    if v.is_empty() || is_placeholder(v) || (!quoted && is_hcl_reference(v)) {
        return false;
    }
    let (rest, had_ref) = strip_references(v);
    if had_ref {
        rest.chars().filter(char::is_ascii_alphanumeric).count() >= 4
    } else {
        !rest.trim().is_empty()
    }
}

/// Whether a literal value looks random (see `word_looks_random`), references aside.
pub(crate) fn looks_random(value: &str) -> bool {
    let (rest, _) = strip_references(trim_quotes(value));
    rest.split_whitespace().any(word_looks_random)
}

/// Keeps the best finding of each overlapping group; the result is in text order.
fn keep_best(mut found: Vec<Finding>) -> Vec<Finding> {
    found.sort_by_key(|f| (f.priority, f.span.start));
    // Kept spans are disjoint, so the one that starts last before a span's end is the only
    // one that can overlap it.
    let mut kept: std::collections::BTreeMap<usize, Finding> = std::collections::BTreeMap::new();
    for f in found {
        let end = f.span.end.max(f.span.start + 1);
        let overlaps = kept
            .range(..end)
            .next_back()
            .is_some_and(|(_, k)| k.span.end.max(k.span.start + 1) > f.span.start);
        if !overlaps {
            kept.insert(f.span.start, f);
        }
    }
    kept.into_values().collect()
}

/// Every secret in free text: token formats anywhere, URL passwords and secret query
/// parameters, `Authorization:` headers, and secret-looking assignments
/// (`KEY=value`, `--key=value`, `--key value`, `key: value`, `"key": "value"`) whose value
/// is a literal. In text order; overlapping findings are reported once, by the most
/// specific rule.
///
/// ```
/// use stackdsl::validate::leaks::scan;
/// let found = scan("DATABASE_URL=postgres://app:s3cr/t@db:5432/app");
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].rule, "url-password");
/// assert!(scan("image: ghcr.io/acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef").is_empty());
/// ```
pub fn scan(text: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    token_findings(text, &mut found);
    url_findings(text, &mut found);
    authorization_findings(text, &mut found);
    assignment_findings(text, &mut found);
    keep_best(found)
}

/// Judges one named value (`key` is the variable, config key, label or annotation key;
/// `None` when the value has no name): the most specific of everything [`scan`] finds in
/// the value, else a finding from the name — under a [`SecretName::Certain`] name any
/// literal (`literal-under-secret-key`), under a [`SecretName::Possible`] name a value
/// that looks random (`high-entropy-under-secret-key`) or an `Authorization`-style
/// `Bearer …` credential.
///
/// Spliced-in references must appear as references (`${…}`, `$(…)`, `$VAR`): a
/// template's secret parts are not literals.
///
/// ```
/// use stackdsl::validate::leaks::check_value;
/// let f = check_value(Some("GH_PAT"), "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").unwrap();
/// assert_eq!(f.rule, "github-pat");
/// assert_eq!(f.excerpt, "ghp_…");
/// assert_eq!(check_value(Some("POSTGRES_PASSWORD"), "hunter2").unwrap().rule, "literal-under-secret-key");
/// assert_eq!(check_value(Some("POSTGRES_PASSWORD"), "${DB_PASSWORD}"), None);
/// assert_eq!(check_value(Some("RELEASE"), "3f1a9c0e5b7d2f4a6c8e0b1d3f5a7c9e"), None);
/// ```
pub fn check_value(key: Option<&str>, value: &str) -> Option<Finding> {
    let mut found = Vec::new();
    token_findings(value, &mut found);
    url_findings(value, &mut found);
    authorization_findings(value, &mut found);
    assignment_findings(value, &mut found);
    if let Some(best) = found.into_iter().min_by_key(|f| (f.priority, f.span.start)) {
        return Some(best);
    }
    let key = key?;
    let kind = secret_name(key)?;
    let finding = |rule, what: String| Finding {
        rule,
        what,
        excerpt: format!("{key}=…"),
        len: value.chars().count(),
        span: 0..value.len(),
        priority: PRIORITY_NAMED,
    };
    if let Some(c) = COMPILED.bearer_value.captures(value)
        && let Some(cred) = c.get(1)
        && is_literal(cred.as_str(), false)
    {
        return Some(finding(
            "authorization-credential",
            format!("a literal credential in `{key}`"),
        ));
    }
    match kind {
        SecretName::Certain if is_literal(value, false) => Some(finding(
            "literal-under-secret-key",
            format!("a literal value under the secret-looking name `{key}`"),
        )),
        SecretName::Possible if is_literal(value, false) && looks_random(value) => Some(finding(
            "high-entropy-under-secret-key",
            format!("a random-looking value under the name `{key}`"),
        )),
        _ => None,
    }
}

/// [`scan`] over each argument of an argv, plus `["--password", "value"]` pairs (a flag
/// that names a secret followed by its value). Returns the index of the argument that
/// holds each finding.
///
/// ```
/// use stackdsl::validate::leaks::scan_argv;
/// let found = scan_argv(&["psql", "--password", "hunter2"]);
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].0, 2);
/// assert!(scan_argv(&["redis-server", "--requirepass", "$(REDIS_PASSWORD)"]).is_empty());
/// ```
pub fn scan_argv<S: AsRef<str>>(argv: &[S]) -> Vec<(usize, Finding)> {
    let mut out: Vec<(usize, Finding)> = Vec::new();
    for (i, arg) in argv.iter().enumerate() {
        out.extend(scan(arg.as_ref()).into_iter().map(|f| (i, f)));
    }
    // A value after a flag that names a secret, unless the value already has a finding.
    for (i, pair) in argv.windows(2).enumerate() {
        let (flag, value) = (pair[0].as_ref(), pair[1].as_ref());
        if !flag.starts_with('-')
            || flag.contains('=')
            || value.starts_with('-')
            || out.iter().any(|(j, _)| *j == i + 1)
        {
            continue;
        }
        let flag = flag.trim_start_matches('-');
        if secret_name(flag).is_some()
            && let Some(f) = check_value(Some(flag), value)
        {
            out.push((i + 1, f));
        }
    }
    out.sort_by_key(|(i, f)| (*i, f.span.start));
    out
}

/// Does a name say it holds a secret? The [`SecretName::Certain`] names of
/// [`secret_name`]; kept for the validator's environment rule.
pub fn looks_secret(name: &str) -> bool {
    secret_name(name) == Some(SecretName::Certain)
}

/// If `value` contains a URL with a literal password (`scheme://user:pass@host`, the
/// password may contain `/`), returns `user@host` for the message. `placeholder` marks
/// spliced-in secrets, which are fine, and so are `${…}` / `$(…)` references.
pub fn url_with_literal_password(value: &str, placeholder: char) -> Option<String> {
    urls(value).find_map(|url| {
        let tok = &value[url];
        let u = userinfo(tok)?;
        let password = &tok[u.password.clone()];
        (!password.contains(placeholder) && is_literal(password, false))
            .then(|| format!("{}@{}", u.user, u.host))
    })
}

#[cfg(test)]
mod tests;
