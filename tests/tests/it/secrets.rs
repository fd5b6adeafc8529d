//! Secret leak scan: no generated file carries anything that looks like a secret value.
//!
//! The scanner (below) flags, in every file of the corpus (`.env.example` and `README.md`
//! included, which checkov's secrets framework does not read):
//!
//! - **canaries**: every value in [`SECRET_CANARIES`], the values the `fixture-secrets`
//!   stack's secrets get at deploy time;
//! - **high entropy**: a run of at least [`MIN_TOKEN_LEN`] characters of the base64/URL-safe
//!   alphabet with a Shannon entropy of at least [`MIN_ENTROPY`] bits per character. Pure
//!   hex is exempt: the output carries SHA-256 content hashes by design (the manifest, the
//!   `checksum/config` annotation), and hex tops out at 4 bits per character anyway. The
//!   highest-entropy benign tokens in today's corpus (paths in the manifest) reach 4.32;
//!   random base64 of 32+ characters is around 4.8–5.2;
//! - **secret literals**: `KEY=value` / `key: value` where the key names a secret (the
//!   validator's own `looks_secret` words) and the value is not a reference (`${…}`,
//!   `$(…)`, `$VAR`), and URLs with a literal password;
//! - **private keys**: PEM `-----BEGIN … PRIVATE KEY-----` headers.
//!
//! A negative control pushes secret-looking literals through `.env_not_secret` (the one
//! way to write a literal under a secret-looking name) and requires every rule, and
//! checkov, to fire on it.

use std::fs;
use std::path::Path;

use stackdsl::emit::{self, Output, Scope};
use stackdsl::prelude::*;
use stackdsl::validate::leaks::looks_secret;
use stackdsl_tests::fixtures::{SECRET_CANARIES, secret_canaries_with};
use stackdsl_tests::{corpus, run, tool, tree};

/// Shortest token the entropy rule looks at.
const MIN_TOKEN_LEN: usize = 32;
/// Bits per character from which a token counts as random (a key or token).
const MIN_ENTROPY: f64 = 4.5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    Canary,
    HighEntropy,
    SecretLiteral,
    PrivateKey,
}

#[derive(Debug)]
struct Finding {
    rule: Rule,
    file: String,
    line: usize,
    text: String,
}

fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::BTreeMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = s.chars().count() as f64;
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-')
}

fn high_entropy_tokens(line: &str) -> Vec<&str> {
    line.split(|c: char| !is_token_char(c))
        .filter(|t| t.len() >= MIN_TOKEN_LEN)
        .filter(|t| !t.chars().all(|c| c.is_ascii_hexdigit()))
        .filter(|t| entropy(t) >= MIN_ENTROPY)
        .collect()
}

/// Whether `value` (references already masked to `$REF`) is not a hard-coded secret: a
/// reference, a value built around references with only a short literal part (CI's
/// `ci-${{ github.run_id }}-${{ github.run_attempt }}` throwaway password), a boolean or
/// number (`persist-credentials: "false"`), or a documentation placeholder (`…`, `<…>`).
fn is_reference(value: &str) -> bool {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
    if v.is_empty() || v.starts_with('$') || v == "…" || (v.starts_with('<') && v.ends_with('>'))
    {
        return true;
    }
    if matches!(v, "true" | "false") || v.parse::<f64>().is_ok() {
        return true;
    }
    v.contains("$REF")
        && v.replace("$REF", "")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .count()
            < 4
}

/// `line` with every `${…}`, `$(…)` and Go template `{{ … }}` reference (an
/// ExternalSecret's template reading a key) replaced by `$REF`, so the `:` and `=` inside
/// them (`${VAR:?message}`) are not taken for separators.
fn mask_references(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(['$', '{']) {
        out.push_str(&rest[..i]);
        if rest[i..].starts_with('{') {
            match rest[i..]
                .starts_with("{{")
                .then(|| rest[i..].find("}}"))
                .flatten()
            {
                Some(j) => {
                    out.push_str("$REF");
                    rest = &rest[i + j + 2..];
                }
                None => {
                    out.push('{');
                    rest = &rest[i + 1..];
                }
            }
            continue;
        }
        let after = &rest[i + 1..];
        let close = match after.chars().next() {
            // GitHub Actions expressions: `${{ secrets.X }}`.
            Some('{') if after.starts_with("{{") => after.find("}}").map(|j| j + 1),
            Some('{') => after.find('}'),
            Some('(') => after.find(')'),
            _ => None,
        };
        match close {
            Some(j) => {
                out.push_str("$REF");
                rest = &after[j + 1..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `KEY=value` / `key: value` pairs whose key names a secret and whose value is a literal.
fn secret_literals(line: &str) -> Vec<String> {
    let line = mask_references(line);
    let line = line.as_str();
    let mut out = Vec::new();
    for (i, sep) in line.char_indices().filter(|(_, c)| matches!(c, '=' | ':')) {
        let before = line[..i].trim_end_matches(['"', '\'']);
        let key_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .map_or(0, |j| j + 1);
        let key = &before[key_start..];
        if key.is_empty() || !looks_secret(&key.replace(['-', '.'], "_")) {
            continue;
        }
        let value = line[i + sep.len_utf8()..].trim();
        // The value runs to the next space (a command line) or the end (YAML, .env).
        let value = value.split_whitespace().next().unwrap_or("");
        if !is_reference(value) && !value.starts_with("//") {
            out.push(format!("{key}{sep} {value}"));
        }
    }
    // URLs with a literal password: scheme://user:password@host.
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let end = after
            .find(['/', '?', '#', ' ', '"', '\''])
            .unwrap_or(after.len());
        let authority = &after[..end];
        if let Some(at) = authority.rfind('@')
            && let Some((_, password)) = authority[..at].split_once(':')
            && !is_reference(password)
        {
            out.push(format!("URL password in {authority}"));
        }
        rest = &after[end..];
    }
    out
}

fn scan_text(file: &str, text: &str, canaries: &[&str]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |rule, line: usize, text: String| {
        out.push(Finding {
            rule,
            file: file.to_owned(),
            line: line + 1,
            text,
        })
    };
    let lines: Vec<&str> = text.lines().collect();
    for (n, line) in lines.iter().copied().enumerate() {
        for c in canaries.iter().filter(|c| line.contains(**c)) {
            push(Rule::Canary, n, (*c).to_owned());
        }
        for t in high_entropy_tokens(line) {
            push(
                Rule::HighEntropy,
                n,
                format!("{t} ({:.2} bits/char)", entropy(t)),
            );
        }
        // An ExternalSecret's `- secretKey: <name>` names a key of the Secret it writes (its
        // value comes from the `remoteRef` below it), as `key:` does in a `secretKeyRef`.
        let external_secret_key = line.trim_start().starts_with("- secretKey: ")
            && lines.get(n + 1).is_some_and(|next| {
                let column = line.len() - line.trim_start().len() + 2;
                next.is_char_boundary(column) && next[column..].starts_with("remoteRef:")
            });
        for l in secret_literals(line)
            .into_iter()
            .filter(|_| !external_secret_key)
        {
            push(Rule::SecretLiteral, n, l);
        }
        if line.contains("-----BEGIN") && line.contains("PRIVATE KEY-----") {
            push(Rule::PrivateKey, n, line.trim().to_owned());
        }
    }
    out
}

/// Every finding in every file under `dir`.
fn scan(dir: &Path) -> Vec<Finding> {
    let canaries: Vec<&str> = SECRET_CANARIES.iter().map(|(_, v)| *v).collect();
    let mut out = Vec::new();
    for (rel, bytes) in tree(dir) {
        out.extend(scan_text(&rel, &String::from_utf8_lossy(&bytes), &canaries));
    }
    out
}

fn report(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{:?} {}:{}: {}", f.rule, f.file, f.line, f.text))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_scanner_tells_secrets_from_references_and_hashes() {
    let c = ["canary-value-xyz"];
    let rules = |line: &str| -> Vec<Rule> {
        scan_text("f", line, &c)
            .into_iter()
            .map(|f| f.rule)
            .collect()
    };
    // References and hashes are fine.
    for clean in [
        "POSTGRES_PASSWORD: ${SHOP_SECRETS_DB_PASSWORD:?set it in .env (see .env.example)}",
        "  DATABASE_URL: postgresql://shop:$(SHOP_SECRETS_DB_PASSWORD)@db:5432/shop",
        "  --from-literal=db-password=\"$SHOP_SECRETS_DB_PASSWORD\" \\",
        "SHOP_SECRETS_DB_PASSWORD=",
        "        key: db-password",
        "- name: JWT_SECRET",
        "checksum/config: 3f1a9c0e5b7d2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a",
        "tsdev-monolith/staging/k8s/30-network-policies.yaml",
        "    readOnlyRootFilesystem: true",
        "          POSTGRES_PASSWORD: ci-${{ github.run_id }}-${{ github.run_attempt }}",
        "          DB_PASSWORD: ${{ secrets.DB_PASSWORD }}",
        "        password: \"{{ .SHOP_SECRETS_DB_PASSWORD }}\"",
        "          persist-credentials: \"false\"",
        "export TF_VAR_shop_secrets_db_password= …",
        "fly secrets set SENTRY_DSN=<dsn>",
    ] {
        assert_eq!(rules(clean), [], "{clean}");
    }
    // Each rule fires on what it is for.
    assert_eq!(
        rules("TOKEN=canary-value-xyz"),
        [Rule::Canary, Rule::SecretLiteral]
    );
    assert_eq!(
        rules("x: Zq8Lr3Tv0Kx1Mw9Yb4Nc7Ls2Pd5Hf6Gj0Rt8Uv3Ea"),
        [Rule::HighEntropy]
    );
    assert_eq!(rules("  DB_PASSWORD: hunter2"), [Rule::SecretLiteral]);
    // A literal spliced around a reference is still a literal.
    assert_eq!(
        rules("  DB_PASSWORD: hunter2-${{ github.run_id }}"),
        [Rule::SecretLiteral]
    );
    assert_eq!(
        rules("  password: \"hunter2{{ .DB_PASSWORD }}\""),
        [Rule::SecretLiteral]
    );
    assert_eq!(rules("--api-key=abc123"), [Rule::SecretLiteral]);
    assert_eq!(
        rules("URL: amqp://guest:guest@rabbitmq:5672"),
        [Rule::SecretLiteral]
    );
    assert_eq!(
        rules("-----BEGIN OPENSSH PRIVATE KEY-----"),
        [Rule::PrivateKey]
    );
}

fn synthesize_into(dir: &Path, stack: &Stack) {
    let outs: Vec<Output> = stackdsl_tests::render(stack)
        .into_iter()
        .map(|doc| Output {
            stack: stack.name.clone(),
            env: stack.env,
            doc,
        })
        .collect();
    let scope = Scope {
        env: stack.env,
        stacks: None,
    };
    emit::synthesize(dir, &outs, &scope).expect("synthesis");
}

/// The canary fixture with secret-looking literals forced through `.env_not_secret`.
fn negative_control(env: Env) -> Stack {
    let (_, canary) = SECRET_CANARIES[1];
    secret_canaries_with(env, |api| {
        api.env_not_secret(
            "LEGACY_API_TOKEN",
            canary,
            "negative control: a real token written as a literal",
        )
        .env_not_secret(
            "SERVICE_PASSWORD",
            "hunter2",
            "negative control: a short literal password",
        )
        .env_not_secret(
            "TLS_PRIVATE_KEY",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----",
            "negative control: a private key as a literal",
        )
        .env_not_secret(
            "UPLOAD_ACCESS_KEY",
            "AKIAZ3K7Q2M9R4T8W6XB",
            "negative control: an AWS access key id",
        )
    })
}

/// Whether checkov's finding `f` in corpus file `path` is on a line holding Bank of Anthos'
/// published demo password and nothing else secret.
fn demo_login(corpus: &Path, path: &str, f: &serde_json::Value) -> bool {
    let text = fs::read_to_string(corpus.join(path.trim_start_matches('/'))).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let range = &f["file_line_range"];
    let (Some(first), Some(last)) = (range[0].as_u64(), range[1].as_u64()) else {
        return false;
    };
    let flagged = lines
        .get(first.saturating_sub(1) as usize..(last as usize).min(lines.len()))
        .unwrap_or_default();
    flagged
        .iter()
        .any(|l| l.trim_end().ends_with("PASSWORD: bankofanthos"))
}

#[test]
fn the_corpus_leaks_no_secret_and_checkov_agrees() {
    let corpus = corpus();
    // The canaries are the values a deployment would use: docker-compose resolves them.
    let compose = corpus.path().join("fixture-secrets/prod/compose.yaml");
    let env_file = corpus.path().join("canaries.env");
    let text: String = SECRET_CANARIES
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    fs::write(&env_file, text).expect("write env file");
    let (ok, resolved) = run(tool("docker-compose")
        .arg("-f")
        .arg(&compose)
        .arg("--env-file")
        .arg(&env_file)
        .arg("config"));
    assert!(ok, "{resolved}");
    for (var, value) in SECRET_CANARIES {
        assert!(
            resolved.contains(value),
            "{var} is not used by the fixture:\n{resolved}"
        );
    }
    fs::remove_file(&env_file).expect("remove env file");

    // Bank of Anthos passes upstream's published demo login (`bankofanthos`, fixed in its
    // accounts-db image) as a literal on purpose (`env_not_secret`, with the reason): that
    // value, in that stack, is the one finding expected.
    let findings: Vec<Finding> = scan(corpus.path())
        .into_iter()
        .filter(|f| {
            !(f.rule == Rule::SecretLiteral
                && f.file.starts_with("bank-of-anthos/")
                && f.text.ends_with("PASSWORD: bankofanthos"))
        })
        .collect();
    assert!(
        findings.is_empty(),
        "secrets in generated files:\n{}",
        report(&findings)
    );
    assert!(
        tree(corpus.path()).len() > 50,
        "the corpus is suspiciously small"
    );

    // The negative control, beside the corpus: every rule and checkov must fire on it.
    let control = corpus.path().join("negative-control");
    synthesize_into(&control, &negative_control(Env::Prod));
    let found = scan(&control);
    let mut rules: Vec<Rule> = found.iter().map(|f| f.rule).collect();
    rules.dedup();
    rules.sort();
    rules.dedup();
    assert_eq!(
        rules,
        [
            Rule::Canary,
            Rule::HighEntropy,
            Rule::SecretLiteral,
            Rule::PrivateKey
        ],
        "{}",
        report(&found)
    );
    // In Compose and Kubernetes alike.
    for file in ["compose.yaml", "k8s/20-api.yaml"] {
        assert!(
            found
                .iter()
                .any(|f| f.rule == Rule::Canary && f.file.ends_with(file)),
            "no canary found in {file}:\n{}",
            report(&found)
        );
    }

    let out = tool("checkov")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .env("BC_SKIP_MAPPING", "TRUE")
        .args([
            "--framework",
            "secrets",
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "-d",
        ])
        .arg(corpus.path())
        .output()
        .expect("run checkov");
    let text = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("checkov output is not JSON ({e}):\n{text}"));
    let reports = match report {
        serde_json::Value::Array(a) => a,
        other => vec![other],
    };
    let mut in_control = 0;
    let mut elsewhere = Vec::new();
    for r in &reports {
        assert_eq!(r["check_type"], "secrets", "{r}");
        for f in r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let path = f["file_path"].as_str().unwrap_or_default();
            if path.starts_with("/negative-control/") {
                in_control += 1;
            } else if path.starts_with("/bank-of-anthos/") && demo_login(corpus.path(), path, f) {
                // Upstream's published demo login, on purpose (see the scan above).
            } else {
                elsewhere.push(format!("{} {} {path}", f["check_id"], f["check_name"]));
            }
        }
    }
    assert!(
        elsewhere.is_empty(),
        "checkov found secrets in generated files:\n{}",
        elsewhere.join("\n")
    );
    assert!(
        in_control > 0,
        "checkov found nothing in the negative control, so its silence on the corpus proves nothing:\n{text}"
    );
}
