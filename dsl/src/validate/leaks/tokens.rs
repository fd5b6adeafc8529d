//! Well-known token formats (cloud keys, GitHub/GitLab/Slack/Stripe tokens, Google API keys,
//! JWTs, PEM private keys …), written from each format's documented prefix and length.

use super::*;

/// One well-known token format.
pub(super) struct TokenRule {
    pub(super) rule: &'static str,
    pub(super) what: &'static str,
    pub(super) pattern: &'static str,
    /// How many leading characters are the format's public prefix (shown in the excerpt);
    /// `usize::MAX` when the match is a marker rather than the secret (a PEM header).
    pub(super) show: usize,
    /// An extra check on the match, where the pattern alone is too loose.
    pub(super) accept: Option<fn(&str) -> bool>,
}

pub(super) const fn rule(
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

pub(super) fn mixed_case(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_uppercase()) && s.bytes().any(|b| b.is_ascii_lowercase())
}

/// The token formats, most specific first (the first rule that matches a span names it).
pub(super) const TOKEN_RULES: &[TokenRule] = &[
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

pub(super) struct Compiled {
    pub(super) set: RegexSet,
    pub(super) each: Vec<Regex>,
    pub(super) authorization: Regex,
    pub(super) bearer_value: Regex,
    pub(super) flag_pair: Regex,
}

pub(super) static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
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

pub(super) fn token_findings(text: &str, out: &mut Vec<Finding>) {
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
