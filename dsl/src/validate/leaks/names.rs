//! Which variable and key names say they hold a secret (`PGPASSWORD`, `GH_PAT`,
//! `clientSecret`) and which only describe one (`*_FILE`, `*_TTL`, `AWS_ACCESS_KEY_ID`).

use super::*;

/// Words that make a name a secret's name, compared with whole words of the name.
pub(super) const CERTAIN_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "PASSPHRASE",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "DSN",
    "PAT",
    "COOKIE",
    "SALT",
];

/// Word endings that make a word a secret word (`PGPASSWORD`, `CLIENTSECRET`, `APITOKEN`).
pub(super) const CERTAIN_SUFFIXES: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "SECRETKEY",
    "ACCESSKEY",
    "PRIVATEKEY",
];

/// `<word>_KEY` is a secret's name for these words.
pub(super) const CERTAIN_KEY_QUALIFIERS: &[&str] = &[
    "API",
    "ACCESS",
    "SECRET",
    "SIGNING",
    "ENCRYPTION",
    "PRIVATE",
    "MASTER",
];

/// Words that make a name possibly a secret's name.
pub(super) const POSSIBLE_WORDS: &[&str] = &[
    "AUTH",
    "AUTHORIZATION",
    "SESSION",
    "HMAC",
    "PRIVATE",
    "SEED",
    "KEY",
    "KEYS",
];

/// `<word>_KEY` names that are not secrets (database, cache and map keys).
pub(super) const NOT_SECRET_KEY_QUALIFIERS: &[&str] = &[
    "PRIMARY",
    "FOREIGN",
    "SORT",
    "PARTITION",
    "SHARD",
    "CACHE",
    "ROUTING",
    "IDEMPOTENCY",
    "LOOKUP",
    "UNIQUE",
    "PUBLIC",
    "PUB",
    "OBJECT",
    "LABEL",
    "ANNOTATION",
    "MAP",
    "GROUP",
    "TRANSLATION",
    "I18N",
    "HASH",
];

/// A name ending in one of these words describes a secret (where it is, how long it lives,
/// what it is called) rather than holding one: `DB_PASSWORD_FILE`, `TOKEN_TTL`,
/// `secretName`, `passwordSecretRef`, `ACCESS_KEY_ID`.
pub(super) const NOT_SECRET_LAST_WORDS: &[&str] = &[
    "FILE",
    "FILES",
    "PATH",
    "DIR",
    "NAME",
    "NAMES",
    "REF",
    "REFS",
    "ID",
    "IDS",
    "ARN",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "PORT",
    "USER",
    "USERNAME",
    "TTL",
    "EXPIRY",
    "EXPIRES",
    "EXPIRATION",
    "LIFETIME",
    "TIMEOUT",
    "LENGTH",
    "LEN",
    "SIZE",
    "COUNT",
    "MIN",
    "MAX",
    "POLICY",
    "ENABLED",
    "DISABLED",
    "ENABLE",
    "REQUIRED",
    "TYPE",
    "KIND",
    "MODE",
    "ALGORITHM",
    "ALG",
    "FORMAT",
    "VERSION",
    "PREFIX",
    "SUFFIX",
    "SOURCE",
    "STORE",
    "PROVIDER",
    "BACKEND",
    "VAR",
    "ENV",
    "FIELD",
    "PARAM",
    "LOCATION",
    "MOUNT",
    "COMMAND",
    "CMD",
    "HELPER",
    "MANAGER",
    "ISSUER",
    "AUDIENCE",
    "SCOPE",
    "SCOPES",
    "ROTATION",
    "RESET",
    "LABEL",
    "SELECTOR",
    "HASH",
];

/// A name with one of these words holds a hash of something (`checksum/secret`,
/// `PASSWORD_DIGEST`), not the thing.
pub(super) const NOT_SECRET_ANYWHERE: &[&str] = &["CHECKSUM", "DIGEST", "FINGERPRINT"];

/// The words of a name: split at non-alphanumerics and lower→upper camel-case steps,
/// uppercased. `automountServiceAccountToken` → `AUTOMOUNT SERVICE ACCOUNT TOKEN`.
pub(super) fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_uppercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Whether a name (an environment variable, config key, flag, annotation key or URL query
/// parameter) says its value is a secret: [`SecretName::Certain`] for `DB_PASSWORD`,
/// `--api-token`, `PGPASSWORD`, `clientSecret`, `GH_PAT`, `STRIPE_SECRET_KEY`;
/// [`SecretName::Possible`] for `STRIPE_KEY`, `SESSION_KEY`, `AUTH_HEADER`; `None` for
/// `LOG_LEVEL`, `KEY_PREFIX`, `DB_PASSWORD_FILE`, `secretName`, `CACHE_KEY`.
///
/// ```
/// use stackdsl::validate::leaks::{secret_name, SecretName};
/// assert_eq!(secret_name("--db-password"), Some(SecretName::Certain));
/// assert_eq!(secret_name("SESSION_KEY"), Some(SecretName::Possible));
/// assert_eq!(secret_name("POSTGRES_PASSWORD_FILE"), None);
/// ```
pub fn secret_name(name: &str) -> Option<SecretName> {
    let words = name_words(name);
    let last = words.last()?;
    if NOT_SECRET_LAST_WORDS.contains(&last.as_str())
        || words
            .iter()
            .any(|w| NOT_SECRET_ANYWHERE.contains(&w.as_str()))
    {
        return None;
    }
    let certain = words.iter().any(|w| {
        CERTAIN_WORDS.contains(&w.as_str()) || CERTAIN_SUFFIXES.iter().any(|s| w.ends_with(s))
    }) || words.windows(2).any(|p| {
        matches!(p[1].as_str(), "KEY" | "KEYS") && CERTAIN_KEY_QUALIFIERS.contains(&p[0].as_str())
    });
    if certain {
        return Some(SecretName::Certain);
    }
    let possible = words.iter().enumerate().any(|(i, w)| match w.as_str() {
        // A lone `key` (`secretKeyRef: {key: db-password}`) names a map entry.
        "KEY" | "KEYS" => i > 0 && !NOT_SECRET_KEY_QUALIFIERS.contains(&words[i - 1].as_str()),
        w => POSSIBLE_WORDS.contains(&w),
    });
    possible.then_some(SecretName::Possible)
}
