//! Name rules shared by every target.

/// Why a name is not a DNS-1035 label, or `None` when it is one.
///
/// DNS-1035 (what Kubernetes requires of Service names): 1–63 characters, lowercase ASCII
/// letters, digits and `-`, starting with a letter and ending with a letter or digit.
pub fn dns1035_problem(name: &str) -> Option<&'static str> {
    dns1123_problem(name).or_else(|| {
        (!name.starts_with(|c: char| c.is_ascii_lowercase())).then_some("must start with a letter")
    })
}

/// Why a name is not a DNS-1123 label, or `None` when it is one: 1–63 characters,
/// lowercase ASCII letters, digits and `-`, starting and ending with a letter or digit.
pub fn dns1123_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is empty");
    }
    if name.len() > 63 {
        return Some("is longer than 63 characters");
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some("contains uppercase letters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("contains characters other than a-z, 0-9 and '-'");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("starts or ends with '-'");
    }
    None
}

/// Why `s` is not a label value (or the name part of a label key), or `None`: at most 63
/// characters of ASCII letters, digits, `-`, `_` and `.`, starting and ending with a letter
/// or digit (empty is allowed for values only; `key` says which).
pub fn label_part_problem(s: &str, key: bool) -> Option<&'static str> {
    if s.is_empty() {
        return key.then_some("is empty");
    }
    if s.len() > 63 {
        return Some("is longer than 63 characters");
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Some("contains characters other than letters, digits, '-', '_' and '.'");
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !s.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Some("must start and end with a letter or digit");
    }
    None
}

/// Why `key` is not a Kubernetes label key (`[prefix/]name`, the prefix a DNS subdomain),
/// or `None`.
pub fn label_key_problem(key: &str) -> Option<&'static str> {
    match key.split_once('/') {
        Some((prefix, name)) => {
            if prefix.is_empty()
                || prefix.len() > 253
                || prefix
                    .split('.')
                    .any(|part| dns1123_problem(part).is_some())
            {
                return Some("has a prefix that is not a DNS subdomain");
            }
            label_part_problem(name, true)
        }
        None => label_part_problem(key, true),
    }
}

/// A DNS-1123 label close to `name`, to suggest in a hint.
pub fn suggest_label(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    let trimmed = trimmed
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start_matches('-');
    let mut s: String = trimmed.chars().take(63).collect();
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() { "svc".to_owned() } else { s }
}

/// Why a port name is not an IANA service name (what Kubernetes requires of container
/// port names), or `None`: 1–15 characters, lowercase letters, digits and `-`, at least one
/// letter, no leading, trailing or doubled `-`.
pub fn port_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is empty");
    }
    if name.len() > 15 {
        return Some("is longer than 15 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("contains characters other than a-z, 0-9 and '-'");
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        return Some("has no letter");
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Some("has a leading, trailing or doubled '-'");
    }
    None
}

/// Why an environment variable name is unusable in every target, or `None`: a C identifier
/// (`[A-Za-z_][A-Za-z0-9_]*`), which Compose interpolation and shells both accept.
pub fn env_name_problem(name: &str) -> Option<&'static str> {
    let mut bytes = name.bytes();
    match bytes.next() {
        None => Some("is empty"),
        Some(b) if !(b.is_ascii_alphabetic() || b == b'_') => {
            Some("must start with a letter or '_'")
        }
        _ if !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            Some("contains characters other than A-Z, a-z, 0-9 and '_'")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(dns1035_problem("api"), None);
        assert_eq!(dns1035_problem("otel-collector"), None);
        assert!(dns1035_problem("API_1").is_some());
        assert!(dns1035_problem("1api").is_some());
        assert_eq!(dns1123_problem("1api"), None);
        assert!(dns1123_problem("-a").is_some());
        assert!(dns1123_problem(&"a".repeat(64)).is_some());
        assert_eq!(suggest_label("API_1"), "api-1");
        assert_eq!(suggest_label("9lives"), "lives");
    }

    #[test]
    fn label_keys_and_values() {
        assert_eq!(label_key_problem("release"), None);
        assert_eq!(label_key_problem("example.com/team"), None);
        assert_eq!(label_key_problem("Team_Name.v1"), None);
        assert!(label_key_problem("example..com/team").is_some());
        assert!(label_key_problem("/team").is_some());
        assert!(label_key_problem("example.com/").is_some());
        assert!(label_key_problem(&"k".repeat(64)).is_some());
        assert_eq!(label_part_problem("", false), None);
        assert_eq!(label_part_problem("kube-prometheus-stack", false), None);
        assert!(label_part_problem("a b", false).is_some());
        assert!(label_part_problem("x-", false).is_some());
    }

    #[test]
    fn ports() {
        assert_eq!(port_name_problem("http"), None);
        assert_eq!(port_name_problem("otlp-grpc"), None);
        assert!(port_name_problem("a-very-long-port-name").is_some());
        assert!(port_name_problem("8080").is_some());
        assert!(port_name_problem("a--b").is_some());
    }

    #[test]
    fn secrets() {
        assert!(crate::validate::leaks::looks_secret("JWT_SECRET"));
        assert!(crate::validate::leaks::looks_secret("POSTGRES_PASSWORD"));
        assert!(crate::validate::leaks::looks_secret("DATADOG_API_KEY"));
        assert!(crate::validate::leaks::looks_secret("SENTRY_DSN"));
        assert!(!crate::validate::leaks::looks_secret("KEY_PREFIX"));
        assert!(!crate::validate::leaks::looks_secret("PASSENGER_COUNT"));
        assert!(!crate::validate::leaks::looks_secret("NODE_ENV"));
        assert_eq!(
            crate::validate::leaks::url_with_literal_password(
                "amqp://guest:guest@rabbitmq:5672",
                '\0'
            )
            .as_deref(),
            Some("guest@rabbitmq:5672")
        );
        assert_eq!(
            crate::validate::leaks::url_with_literal_password("postgres://u:\0@db:5432/x", '\0'),
            None
        );
        assert_eq!(
            crate::validate::leaks::url_with_literal_password("redis://redis:6379", '\0'),
            None
        );
        assert_eq!(
            crate::validate::leaks::url_with_literal_password("http://user@host/", '\0'),
            None
        );
    }
}
