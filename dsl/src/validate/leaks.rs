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

/// Words that make a name a secret's name, compared with whole words of the name.
const CERTAIN_WORDS: &[&str] = &[
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
const CERTAIN_SUFFIXES: &[&str] = &[
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
const CERTAIN_KEY_QUALIFIERS: &[&str] = &[
    "API",
    "ACCESS",
    "SECRET",
    "SIGNING",
    "ENCRYPTION",
    "PRIVATE",
    "MASTER",
];

/// Words that make a name possibly a secret's name.
const POSSIBLE_WORDS: &[&str] = &[
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
const NOT_SECRET_KEY_QUALIFIERS: &[&str] = &[
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
const NOT_SECRET_LAST_WORDS: &[&str] = &[
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
const NOT_SECRET_ANYWHERE: &[&str] = &["CHECKSUM", "DIGEST", "FINGERPRINT"];

/// The words of a name: split at non-alphanumerics and lower→upper camel-case steps,
/// uppercased. `automountServiceAccountToken` → `AUTOMOUNT SERVICE ACCOUNT TOKEN`.
fn name_words(name: &str) -> Vec<String> {
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

/// One well-known token format.
struct TokenRule {
    rule: &'static str,
    what: &'static str,
    pattern: &'static str,
    /// How many leading characters are the format's public prefix (shown in the excerpt);
    /// `usize::MAX` when the match is a marker rather than the secret (a PEM header).
    show: usize,
    /// An extra check on the match, where the pattern alone is too loose.
    accept: Option<fn(&str) -> bool>,
}

const fn rule(
    rule: &'static str,
    what: &'static str,
    pattern: &'static str,
    show: usize,
) -> TokenRule {
    TokenRule {
        rule,
        what,
        pattern,
        show,
        accept: None,
    }
}

fn mixed_case(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_uppercase()) && s.bytes().any(|b| b.is_ascii_lowercase())
}

/// The token formats, most specific first (the first rule that matches a span names it).
const TOKEN_RULES: &[TokenRule] = &[
    rule(
        "private-key",
        "a PEM private key",
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
        usize::MAX,
    ),
    rule(
        "private-key",
        "a PuTTY private key",
        r"PuTTY-User-Key-File-[0-9]+:",
        usize::MAX,
    ),
    rule(
        "gcp-service-account",
        "a Google Cloud service account key file",
        r#""type"\s*:\s*"service_account""#,
        usize::MAX,
    ),
    rule(
        "aws-access-key-id",
        "an AWS access key id",
        r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",
        4,
    ),
    rule(
        "azure-storage-account-key",
        "an Azure storage account key",
        r"AccountKey=[A-Za-z0-9+/]{86}==",
        11,
    ),
    rule(
        "azure-ad-client-secret",
        "an Azure AD client secret",
        r"\b[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
        0,
    ),
    rule(
        "github-fine-grained-pat",
        "a GitHub fine-grained personal access token",
        r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
        11,
    ),
    rule(
        "github-pat",
        "a GitHub personal access token",
        r"\bghp_[A-Za-z0-9]{36}",
        4,
    ),
    rule(
        "github-oauth-token",
        "a GitHub OAuth token",
        r"\bgho_[A-Za-z0-9]{36}",
        4,
    ),
    rule(
        "github-app-token",
        "a GitHub App token",
        r"\bgh[us]_[A-Za-z0-9]{36}",
        4,
    ),
    rule(
        "github-refresh-token",
        "a GitHub refresh token",
        r"\bghr_[A-Za-z0-9]{36,}",
        4,
    ),
    rule(
        "gitlab-token",
        "a GitLab token",
        r"\bgl(?:pat|dt|rt|ft|soat|ptt|imt|ffct|oas|agent|cbt)-[A-Za-z0-9_.-]{20,}",
        6,
    ),
    rule(
        "gitlab-token",
        "a GitLab runner registration token",
        r"\bGR1348941[A-Za-z0-9_-]{20,}",
        9,
    ),
    rule(
        "slack-webhook-url",
        "a Slack webhook URL",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,}",
        33,
    ),
    rule(
        "slack-token",
        "a Slack token",
        r"\bxox[abeoprs]-[0-9]+-[A-Za-z0-9-]{8,}",
        5,
    ),
    rule(
        "slack-token",
        "a Slack app token",
        r"\bxapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-z0-9]+",
        5,
    ),
    rule(
        "stripe-live-key",
        "a Stripe live secret key",
        r"\b[rs]k_live_[A-Za-z0-9]{10,}",
        8,
    ),
    rule(
        "stripe-test-key",
        "a Stripe test secret key",
        r"\b[rs]k_test_[A-Za-z0-9]{10,}",
        8,
    ),
    rule(
        "stripe-webhook-secret",
        "a Stripe webhook signing secret",
        r"\bwhsec_[A-Za-z0-9+/=]{24,}",
        6,
    ),
    rule(
        "google-api-key",
        "a Google API key",
        r"\bAIza[A-Za-z0-9_-]{35}",
        4,
    ),
    rule(
        "google-oauth-client-secret",
        "a Google OAuth client secret",
        r"\bGOCSPX-[A-Za-z0-9_-]{28}",
        7,
    ),
    rule(
        "openai-api-key",
        "an OpenAI API key",
        r"\bsk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}",
        3,
    ),
    rule(
        "anthropic-api-key",
        "an Anthropic API key",
        r"\bsk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,}",
        7,
    ),
    rule(
        "grafana-token",
        "a Grafana API key",
        r"\beyJrIjoi[A-Za-z0-9]{70,}",
        0,
    ),
    rule(
        "jwt",
        "a JSON Web Token",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        3,
    ),
    rule(
        "npm-token",
        "an npm access token",
        r"\bnpm_[A-Za-z0-9]{36}",
        4,
    ),
    rule(
        "pypi-token",
        "a PyPI upload token",
        r"\bpypi-AgE[IN][A-Za-z0-9_-]{50,}",
        5,
    ),
    rule(
        "sendgrid-api-key",
        "a SendGrid API key",
        r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        3,
    ),
    rule(
        "twilio-api-key",
        "a Twilio API key",
        r"\bSK[0-9a-fA-F]{32}\b",
        2,
    ),
    rule(
        "digitalocean-token",
        "a DigitalOcean token",
        r"\bdo[opr]_v1_[a-f0-9]{64}",
        7,
    ),
    TokenRule {
        accept: Some(mixed_case),
        ..rule(
            "huggingface-token",
            "a Hugging Face token",
            r"\b(?:hf_|api_org_)[A-Za-z]{34}\b",
            3,
        )
    },
    rule(
        "shopify-token",
        "a Shopify token",
        r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
        6,
    ),
    rule(
        "terraform-cloud-token",
        "a Terraform Cloud API token",
        r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,}",
        0,
    ),
    rule(
        "vault-token",
        "a HashiCorp Vault token",
        r"\bhv[sb]\.[A-Za-z0-9_-]{90,}",
        4,
    ),
    rule(
        "databricks-token",
        "a Databricks token",
        r"\bdapi[a-f0-9]{32}\b",
        4,
    ),
    rule(
        "grafana-token",
        "a Grafana service account token",
        r"\bglsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}",
        5,
    ),
    rule(
        "grafana-token",
        "a Grafana Cloud token",
        r"\bglc_[A-Za-z0-9+/]{32,}",
        4,
    ),
    rule(
        "age-secret-key",
        "an age secret key",
        r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        16,
    ),
    rule(
        "linear-api-key",
        "a Linear API key",
        r"\blin_api_[A-Za-z0-9]{40}",
        8,
    ),
    rule(
        "doppler-token",
        "a Doppler token",
        r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}",
        6,
    ),
    rule(
        "sentry-token",
        "a Sentry token",
        r"\bsntryu_[a-f0-9]{64}|\bsntrys_eyJ[A-Za-z0-9+/=_]{50,}",
        7,
    ),
    rule(
        "mailchimp-api-key",
        "a Mailchimp API key",
        r"\b[0-9a-f]{32}-us[0-9]{1,2}\b",
        0,
    ),
    rule(
        "square-token",
        "a Square token",
        r"\bsq0(?:atp|csp)-[A-Za-z0-9_-]{22,}",
        7,
    ),
    rule(
        "heroku-api-key",
        "a Heroku API key",
        r"\bHRKU-AA[A-Za-z0-9_-]{58}",
        7,
    ),
    rule(
        "postman-api-key",
        "a Postman API key",
        r"\bPMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}",
        5,
    ),
    rule(
        "telegram-bot-token",
        "a Telegram bot token",
        r"\b[0-9]{8,10}:AA[A-Za-z0-9_-]{33}",
        0,
    ),
    rule(
        "new-relic-key",
        "a New Relic key",
        r"\bNR(?:AK|II|JS|AA)-[A-Za-z0-9]{19,}",
        5,
    ),
    rule(
        "fly-io-token",
        "a Fly.io token",
        r"\bfo1_[A-Za-z0-9_-]{43}|\bfm[12][ar]?_[A-Za-z0-9+/]{100,}",
        4,
    ),
    rule(
        "atlassian-api-token",
        "an Atlassian API token",
        r"\bATATT3[A-Za-z0-9_=-]{180,}",
        6,
    ),
    rule(
        "1password-token",
        "a 1Password service account token",
        r"\bops_eyJ[A-Za-z0-9+/]{250,}",
        4,
    ),
    rule(
        "pulumi-token",
        "a Pulumi access token",
        r"\bpul-[a-f0-9]{40}\b",
        4,
    ),
    rule(
        "dynatrace-token",
        "a Dynatrace API token",
        r"\bdt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}",
        7,
    ),
];

struct Compiled {
    set: RegexSet,
    each: Vec<Regex>,
    authorization: Regex,
    bearer_value: Regex,
    flag_pair: Regex,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    // The patterns are constants of this file; a unit test compiles them all. Word
    // boundaries are ASCII ones (every token is ASCII): a Unicode `\b` makes the regex
    // engine leave its fast DFA on any non-ASCII input.
    let patterns: Vec<String> = TOKEN_RULES
        .iter()
        .map(|r| r.pattern.replace(r"\b", r"(?-u:\b)"))
        .collect();
    Compiled {
        set: RegexSet::new(&patterns).expect("token patterns compile"),
        each: patterns
            .iter()
            .map(|p| Regex::new(p).expect("token pattern compiles"))
            .collect(),
        authorization: Regex::new(
            r#"(?i)(?-u:\b)(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token|digest)[ \t]+([A-Za-z0-9._~+/=-]{8,})"#,
        )
        .expect("authorization pattern compiles"),
        bearer_value: Regex::new(r"(?i)^\s*(?:bearer|basic|token)[ \t]+(\S{8,})\s*$")
            .expect("bearer pattern compiles"),
        flag_pair: Regex::new(r#"(?:^|[\s"'\[,(])(--?[A-Za-z][A-Za-z0-9_.-]*)[ \t]+"#)
            .expect("flag pattern compiles"),
    }
});

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

fn token_findings(text: &str, out: &mut Vec<Finding>) {
    let c = &*COMPILED;
    for i in c.set.matches(text).iter() {
        let r = &TOKEN_RULES[i];
        for m in c.each[i].find_iter(text) {
            if r.accept.is_some_and(|accept| !accept(m.as_str())) {
                continue;
            }
            out.push(Finding {
                rule: r.rule,
                what: r.what.to_owned(),
                excerpt: redact(m.as_str(), r.show),
                len: m.as_str().chars().count(),
                span: m.range(),
                priority: u16::try_from(i).unwrap_or(u16::MAX),
            });
        }
    }
}

/// Where a reference that starts `s` ends: `${{ … }}`, `${…}`, `$(…)`, `$NAME`, or a
/// template's `{{ … }}` (Helm, Go templates, Jinja). `None` if `s` does not start with
/// one. A reference is one line of at most [`MAX_REFERENCE`] bytes.
fn reference_len(s: &str) -> Option<usize> {
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
fn strip_references(value: &str) -> (String, bool) {
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

fn trim_quotes(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\'', '`'] {
        if let Some(inner) = v.strip_prefix(q).and_then(|x| x.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// Documentation placeholders, booleans and YAML block markers: not values.
fn is_placeholder(v: &str) -> bool {
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
fn is_hcl_reference(v: &str) -> bool {
    ["var.", "local.", "data.", "module.", "each.", "self."]
        .iter()
        .any(|p| v.starts_with(p))
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

fn entropy(s: &str) -> f64 {
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
fn word_looks_random(w: &str) -> bool {
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

/// Whether a literal value looks random (see `word_looks_random`), references aside.
pub(crate) fn looks_random(value: &str) -> bool {
    let (rest, _) = strip_references(trim_quotes(value));
    rest.split_whitespace().any(word_looks_random)
}

fn secret_value(kind: SecretName, value: &str, quoted: bool) -> bool {
    match kind {
        SecretName::Certain => is_literal(value, quoted),
        SecretName::Possible => is_literal(value, quoted) && looks_random(value),
    }
}

/// A URL's password and the parts around it: `scheme://user:password@host…`.
struct Userinfo<'a> {
    user: &'a str,
    password: Range<usize>,
    host: &'a str,
}

/// The userinfo of the URL whose authority starts at `tok` (just after `://`). A password
/// may contain `/` (unescaped, as people write them); `host:8080/path@x` is a port.
fn userinfo(tok: &str) -> Option<Userinfo<'_>> {
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
fn urls(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
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

fn url_findings(text: &str, out: &mut Vec<Finding>) {
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

fn authorization_findings(text: &str, out: &mut Vec<Finding>) {
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
fn value_at(text: &str, start: usize) -> (Range<usize>, bool) {
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
fn key_before(text: &str, end: usize) -> &str {
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
fn starts_an_entry(text: &str, key: &str, end: usize) -> bool {
    let from = floor_char_boundary(text, end.saturating_sub(2 * MAX_REFERENCE));
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
fn external_secret_key(text: &str, key: &str, key_end: usize) -> bool {
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

fn push_assignment(
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

fn assignment_findings(text: &str, out: &mut Vec<Finding>) {
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
