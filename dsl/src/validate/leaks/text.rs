//! Secrets in free text: URL passwords and query parameters, `Authorization` headers,
//! and `KEY=value` / `--key=value` / `key: value` assignments under secret-looking names.

use super::*;

/// Where a reference that starts `s` ends: `${{ … }}`, `${…}`, `$(…)`, `$NAME`, or a
/// template's `{{ … }}` (Helm, Go templates, Jinja). `None` if `s` does not start with
/// one. A reference is one line of at most [`MAX_REFERENCE`] bytes.
pub(super) fn reference_len(s: &str) -> Option<usize> {
    let window = &s[..floor_char_boundary(s, MAX_REFERENCE)];
    let window = window.split('\n').next().unwrap_or("");
    if let Some(inner) = window.strip_prefix("{{") {
        return inner.find("}}").map(|j| 2 + j + 2);
    }
    let rest = window.strip_prefix('$')?;
    if let Some(inner) = rest.strip_prefix("{{") {
        return inner.find("}}").map(|j| 1 + 2 + j + 2);
    }
    if rest.starts_with('{') {
        return rest.find('}').map(|j| 1 + j + 1);
    }
    if rest.starts_with('(') {
        return rest.find(')').map(|j| 1 + j + 1);
    }
    let n = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    (n > 0 && rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')).then_some(1 + n)
}

/// `value` without its references, and whether it had any.
pub(super) fn strip_references(value: &str) -> (String, bool) {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut any = false;
    while let Some(i) = rest.find(['$', '{']) {
        out.push_str(&rest[..i]);
        match reference_len(&rest[i..]) {
            Some(n) => {
                any = true;
                rest = &rest[i + n..];
            }
            None => {
                out.push_str(&rest[i..i + 1]);
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    (out, any)
}

pub(super) fn trim_quotes(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\'', '`'] {
        if let Some(inner) = v.strip_prefix(q).and_then(|x| x.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// Documentation placeholders, booleans and YAML block markers: not values.
pub(super) fn is_placeholder(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "…" | "..."
            | "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "null"
            | "nil"
            | "none"
            | "~"
            | "|"
            | "|-"
            | "|+"
            | ">"
            | ">-"
            | ">+"
            | "{}"
            | "[]"
    ) || (v.starts_with('<') && v.ends_with('>'))
        || (v.chars().count() >= 3 && v.chars().all(|c| c == '*' || c == 'x' || c == 'X'))
}

/// A Terraform reference written without quotes: `var.db_password`, `local.x`,
/// `data.kubernetes_secret_v1.db.data["password"]`, `module.db.password`.
pub(super) fn is_hcl_reference(v: &str) -> bool {
    ["var.", "local.", "data.", "module.", "each.", "self."]
        .iter()
        .any(|p| v.starts_with(p))
}

pub(super) fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&k| k > 0)
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether one word looks like a random key rather than a name or a sentence: long hex,
/// or 16+ characters of the base64/URL-safe alphabet with letters and digits and a
/// Shannon entropy of at least 3.5 bits per character (random base62 of 16 characters is
/// about 3.8; `production-eu-west-1` is 3.4).
pub(super) fn word_looks_random(w: &str) -> bool {
    let w = trim_quotes(w);
    if w.len() < 16
        || !w
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_.~-".contains(&b))
    {
        return false;
    }
    let hex = w.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    let digits = w.bytes().filter(u8::is_ascii_digit).count();
    let letters = w.bytes().filter(u8::is_ascii_alphabetic).count();
    if hex {
        return w.len() >= 32 && digits > 0 && letters > 0 && entropy(w) >= 3.0;
    }
    digits > 0 && letters > 0 && entropy(w) >= 3.5
}

pub(super) fn secret_value(kind: SecretName, value: &str, quoted: bool) -> bool {
    match kind {
        SecretName::Certain => is_literal(value, quoted),
        SecretName::Possible => is_literal(value, quoted) && looks_random(value),
    }
}

/// A URL's password and the parts around it: `scheme://user:password@host…`.
pub(super) struct Userinfo<'a> {
    pub(super) user: &'a str,
    pub(super) password: Range<usize>,
    pub(super) host: &'a str,
}

/// The userinfo of the URL whose authority starts at `tok` (just after `://`). A password
/// may contain `/` (unescaped, as people write them); `host:8080/path@x` is a port.
pub(super) fn userinfo(tok: &str) -> Option<Userinfo<'_>> {
    let colon = tok.find(':')?;
    let user = &tok[..colon];
    if user.contains(['/', '?', '#', '@']) {
        return None;
    }
    let rest = &tok[colon + 1..];
    let first_at = rest.find('@')?;
    if let Some(slash) = rest.find(['/', '?', '#'])
        && slash < first_at
        && rest[..slash].bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let region_end = rest[first_at..]
        .find(['/', '?', '#'])
        .map_or(rest.len(), |i| first_at + i);
    let at = rest[..region_end].rfind('@')?;
    Some(Userinfo {
        user,
        password: colon + 1..colon + 1 + at,
        host: &rest[at + 1..region_end],
    })
}

/// Every `scheme://` in `text` with the byte range of the URL after `://`.
pub(super) fn urls(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    text.match_indices("://").filter_map(move |(i, _)| {
        let scheme_ok = text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if !scheme_ok {
            return None;
        }
        let start = i + 3;
        let window = &text[start..start + floor_char_boundary(&text[start..], MAX_VALUE)];
        let len = window
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
            .unwrap_or(window.len());
        Some(start..start + len)
    })
}

pub(super) fn url_findings(text: &str, out: &mut Vec<Finding>) {
    for url in urls(text) {
        let tok = &text[url.clone()];
        let mut query_from = 0;
        if let Some(u) = userinfo(tok) {
            let password = &tok[u.password.clone()];
            if is_literal(password, false) {
                out.push(Finding {
                    rule: "url-password",
                    what: "a URL with a literal password".to_owned(),
                    excerpt: format!("{}:…@{}", u.user, u.host),
                    len: password.chars().count(),
                    span: url.start + u.password.start..url.start + u.password.end,
                    priority: PRIORITY_URL_PASSWORD,
                });
            }
            query_from = u.password.end;
        }
        let Some(q) = tok[query_from..].find('?').map(|i| query_from + i + 1) else {
            continue;
        };
        let query_end = tok[q..].find('#').map_or(tok.len(), |i| q + i);
        let mut pos = q;
        for pair in tok[q..query_end].split('&') {
            let pair_start = pos;
            pos += pair.len() + 1;
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            let Some(kind) = secret_name(key) else {
                continue;
            };
            if secret_value(kind, value, false) {
                let start = url.start + pair_start + key.len() + 1;
                out.push(Finding {
                    rule: "url-query-secret",
                    what: format!("a literal `{key}` in a URL's query"),
                    excerpt: format!("?{key}=…"),
                    len: value.chars().count(),
                    span: start..start + value.len(),
                    priority: PRIORITY_URL_QUERY,
                });
            }
        }
    }
}

pub(super) fn authorization_findings(text: &str, out: &mut Vec<Finding>) {
    for caps in COMPILED.authorization.captures_iter(text) {
        let Some(cred) = caps.get(1) else { continue };
        if is_literal(cred.as_str(), false) {
            out.push(Finding {
                rule: "authorization-header",
                what: "an `Authorization` header with a literal credential".to_owned(),
                excerpt: "Authorization: …".to_owned(),
                len: cred.as_str().chars().count(),
                span: cred.range(),
                priority: PRIORITY_AUTHORIZATION,
            });
        }
    }
}

/// The value that starts at `text[start..]`: a quoted string, or everything up to
/// whitespace with references (`${{ a b }}`) taken whole. Returns its byte range (quotes
/// excluded) and whether it was quoted.
pub(super) fn value_at(text: &str, start: usize) -> (Range<usize>, bool) {
    let rest = &text[start..start + floor_char_boundary(&text[start..], MAX_VALUE)];
    // A quote escaped for an enclosing string: `password: \"${X}\"`.
    for q in ["\\\"", "\\'"] {
        if let Some(inner) = rest.strip_prefix(q) {
            let end = inner.find(q).unwrap_or(inner.len());
            return (start + q.len()..start + q.len() + end, true);
        }
    }
    if let Some(q) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) {
        let inner = &rest[1..];
        let mut end = inner.len();
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                end = i;
                break;
            }
        }
        return (start + 1..start + 1 + end, true);
    }
    let mut i = 0;
    while i < rest.len() {
        let tail = &rest[i..];
        if tail.starts_with(['$', '{'])
            && let Some(n) = reference_len(tail)
        {
            i += n;
            continue;
        }
        let Some(c) = tail.chars().next() else { break };
        if c.is_whitespace() || matches!(c, '"' | '\'' | '`') {
            break;
        }
        i += c.len_utf8();
    }
    let value = rest[..i].trim_end_matches([',', ';']);
    (start..start + value.len(), false)
}

/// The name that ends just before byte `end` of `text` (a key before `=` or `:`):
/// letters, digits and `_ . - /`, without leading dashes and an enclosing quote.
pub(super) fn key_before(text: &str, end: usize) -> &str {
    // A key is short: look back at most `MAX_REFERENCE` bytes.
    let from = floor_char_boundary(text, end.saturating_sub(MAX_REFERENCE));
    let from = (from..=end)
        .find(|&j| text.is_char_boundary(j))
        .unwrap_or(end);
    let before = text[from..end].trim_end_matches([' ', '\t']);
    let before = before.strip_suffix(['"', '\'']).unwrap_or(before);
    let start = before
        .char_indices()
        .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')))
        .map_or(0, |(j, c)| j + c.len_utf8());
    before[start..].trim_start_matches('-')
}

/// Whether the `key` that ends before byte `end` starts a YAML/JSON entry or a header
/// line (`  password: x`, `- token: x`, `{"a": 1, "token": "x"}`) rather than ending a
/// phrase (`these are not secrets: each …`).
pub(super) fn starts_an_entry(text: &str, key: &str, end: usize) -> bool {
    // The window `key_before` took the key from: its last occurrence there is the key.
    let from = floor_char_boundary(text, end.saturating_sub(MAX_REFERENCE));
    let from = (from..=end)
        .find(|&j| text.is_char_boundary(j))
        .unwrap_or(end);
    let Some(key_at) = text[from..end].rfind(key).map(|j| from + j) else {
        return false;
    };
    let before = text[..key_at].trim_end_matches(['"', '\'']);
    let before = before.trim_end_matches([' ', '\t']);
    before.is_empty() || before.ends_with(['\n', '\r', '{', ',', '[', '-'])
}

/// Whether `secretKey` at `key_end` is an External Secrets `data[]` entry: a YAML entry
/// followed by its `remoteRef:` at the same column. Its value names a key of the Secret the
/// operator writes (the value comes from the store), as `key:` does in a `secretKeyRef`.
pub(super) fn external_secret_key(text: &str, key: &str, key_end: usize) -> bool {
    if key != "secretKey" {
        return false;
    }
    let line_start = text[..key_end].rfind('\n').map_or(0, |j| j + 1);
    let column = key_end - key.len() - line_start;
    let Some(next) = text[key_end..].find('\n').map(|j| &text[key_end + j + 1..]) else {
        return false;
    };
    next.len() > column
        && next.is_char_boundary(column)
        && next[..column].bytes().all(|b| b == b' ')
        && next[column..].starts_with("remoteRef:")
}

pub(super) fn push_assignment(
    out: &mut Vec<Finding>,
    text: &str,
    key: &str,
    sep: &str,
    value: Range<usize>,
    quoted: bool,
) {
    let v = &text[value.clone()];
    let Some(kind) = secret_name(key) else { return };
    if secret_value(kind, v, quoted) {
        out.push(Finding {
            rule: "secret-assignment",
            what: format!("a literal value for `{key}`"),
            excerpt: format!("{key}{sep}…"),
            len: v.chars().count(),
            span: value,
            priority: PRIORITY_ASSIGNMENT,
        });
    }
}

pub(super) fn assignment_findings(text: &str, out: &mut Vec<Finding>) {
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        let (sep, ok) = match b {
            b'=' => (
                "=",
                !matches!(bytes.get(i + 1), Some(b'=' | b'>'))
                    && !matches!(
                        i.checked_sub(1).map(|j| bytes[j]),
                        Some(b'=' | b'!' | b'<' | b'>')
                    ),
            ),
            b':' => (
                ": ",
                matches!(bytes.get(i + 1), None | Some(b' ' | b'\t' | b'"' | b'\''))
                    && !matches!(i.checked_sub(1).map(|j| bytes[j]), Some(b':')),
            ),
            _ => continue,
        };
        if !ok {
            continue;
        }
        let key = key_before(text, i);
        if key.is_empty()
            || !key.bytes().any(|b| b.is_ascii_alphabetic())
            || secret_name(key).is_none()
            || (sep == ": " && !starts_an_entry(text, key, i))
            || (sep == ": " && external_secret_key(text, key, i))
        {
            continue;
        }
        let after = &text[i + 1..];
        let skip = after.len() - after.trim_start_matches([' ', '\t']).len();
        let (value, quoted) = value_at(text, i + 1 + skip);
        push_assignment(out, text, key, sep.trim_end(), value, quoted);
    }
    // `--password hunter2`: a flag that names a secret, then its value.
    for caps in COMPILED.flag_pair.captures_iter(text) {
        let (Some(flag), Some(whole)) = (caps.get(1), caps.get(0)) else {
            continue;
        };
        if text[whole.end()..].starts_with('-') {
            continue;
        }
        let (value, quoted) = value_at(text, whole.end());
        let key = flag.as_str().trim_start_matches('-');
        if secret_name(key) == Some(SecretName::Certain) {
            push_assignment(out, text, key, " ", value, quoted);
        }
    }
}
