use super::*;

const FAKE_SECRETS: &str = include_str!("../testdata/fake-secrets.tsv");
const NOT_SECRETS: &str = include_str!("../testdata/not-secrets.txt");

/// `(expected rule, fake secret)` from the corpus.
fn corpus() -> Vec<(&'static str, &'static str)> {
    FAKE_SECRETS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split_once('\t').expect("rule<TAB>secret"))
        .collect()
}

const KEYED: &str = "high-entropy-under-secret-key";

/// Every position a value can take in a stack, as the validator will check it. `named`
/// positions give the value a secret-looking name (a key, a flag, a URL's password);
/// unnamed ones leave only its format to give it away.
fn positions(s: &str) -> Vec<(&'static str, bool, Vec<Finding>)> {
    let first = |v: Vec<Finding>| v;
    vec![
        (
            "value alone",
            false,
            check_value(None, s).into_iter().collect(),
        ),
        ("free text alone", false, first(scan(s))),
        (
            "command line, unnamed",
            false,
            first(scan(&format!("deploy --region eu-west-1 {s} --verbose"))),
        ),
        (
            "env STRIPE_KEY",
            true,
            check_value(Some("STRIPE_KEY"), s).into_iter().collect(),
        ),
        (
            "env GH_PAT",
            true,
            check_value(Some("GH_PAT"), s).into_iter().collect(),
        ),
        (
            "env AUTH_HEADER",
            true,
            check_value(Some("AUTH_HEADER"), s).into_iter().collect(),
        ),
        (
            "config SESSION_KEY",
            true,
            check_value(Some("SESSION_KEY"), s).into_iter().collect(),
        ),
        (
            "annotation example.com/api-token",
            true,
            check_value(Some("example.com/api-token"), s)
                .into_iter()
                .collect(),
        ),
        (
            "terraform value db_password",
            true,
            check_value(Some("db_password"), s).into_iter().collect(),
        ),
        (
            "args --db-password=",
            true,
            first(scan(&format!("--db-password={s}"))),
        ),
        (
            "argv --api-token <value>",
            true,
            scan_argv(&["--api-token", s])
                .into_iter()
                .map(|(_, f)| f)
                .collect(),
        ),
        (
            "command PGPASSWORD=",
            true,
            first(scan(&format!("sh -c 'PGPASSWORD={s} psql -h db -U app'"))),
        ),
        (
            "URL userinfo",
            true,
            first(scan(&format!("postgres://app:{s}@db:5432/app"))),
        ),
        (
            "URL query ?password=",
            true,
            first(scan(&format!(
                "https://api.example.com/v1/hook?password={s}&x=1"
            ))),
        ),
        (
            "URL query &api_key=",
            true,
            first(scan(&format!(
                "https://api.example.com/v1/hook?x=1&api_key={s}"
            ))),
        ),
        (
            "mounted YAML file",
            true,
            first(scan(&format!(
                "server:\n  port: 8080\n  client_secret: {s}\n  region: eu\n"
            ))),
        ),
        (
            "mounted JSON file",
            true,
            first(scan(&format!(
                "{{\n  \"name\": \"api\",\n  \"token\": \"{s}\"\n}}\n"
            ))),
        ),
        (
            "CI command",
            true,
            first(scan(&format!("GITHUB_TOKEN={s} go generate ./..."))),
        ),
        (
            "Terraform file",
            true,
            first(scan(&format!(
                "resource \"x\" \"y\" {{\n  password = \"{s}\"\n}}\n"
            ))),
        ),
        (
            "PaaS .env file",
            true,
            first(scan(&format!("API_SECRET={s}\n"))),
        ),
        (
            "PaaS fly.toml",
            true,
            first(scan(&format!("[env]\n  SIGNING_KEY = \"{s}\"\n"))),
        ),
    ]
}

#[test]
fn the_corpus_is_large_and_covers_many_formats() {
    let c = corpus();
    assert!(c.len() >= 30, "{} fake secrets", c.len());
    let mut rules: Vec<&str> = c.iter().map(|(r, _)| *r).collect();
    rules.sort_unstable();
    rules.dedup();
    assert!(rules.len() >= 30, "{} distinct rules", rules.len());
    for (rule, _) in &c {
        assert!(
            *rule == KEYED || TOKEN_RULES.iter().any(|r| r.rule == *rule),
            "unknown rule {rule}"
        );
    }
}

#[test]
fn every_fake_secret_is_caught_in_every_position() {
    let mut failures = Vec::new();
    for (rule, secret) in corpus() {
        for (position, named, found) in positions(secret) {
            let want_rule = match (rule, named) {
                // No format, no name: a random string alone is not a secret (digests are
                // random too).
                (KEYED, false) => None,
                (KEYED, true) => Some(""),
                (rule, _) => Some(rule),
            };
            // Free text may hold other findings around the secret (`{"type": …}` is also a
            // literal under `password=`); the secret's own rule must be among them.
            let ok = match want_rule {
                None => found.is_empty(),
                Some("") => !found.is_empty(),
                Some(want) => found.iter().any(|f| f.rule == want),
            };
            if !ok {
                failures.push(format!(
                    "{rule} in {position}: got {:?}",
                    found.iter().map(|f| f.rule).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_random_value_under_a_possible_name_is_flagged_by_entropy() {
    for (rule, secret) in corpus().into_iter().filter(|(r, _)| *r == KEYED) {
        for key in ["STRIPE_KEY", "SESSION_KEY", "AUTH_HEADER", "WEBHOOK_HMAC"] {
            let f = check_value(Some(key), secret).unwrap_or_else(|| panic!("{key}={secret}"));
            assert_eq!(f.rule, rule, "{key}");
        }
        let f = check_value(Some("JWT_SECRET"), secret).expect("certain name");
        assert_eq!(f.rule, "literal-under-secret-key");
    }
}

#[test]
fn every_fake_secret_is_caught_in_a_multi_line_file_at_its_line() {
    let mut file = String::from("# app settings\nlisten: 0.0.0.0:8080\n");
    let mut at = Vec::new();
    for (i, (rule, secret)) in corpus().into_iter().enumerate() {
        let key = if rule == KEYED {
            "signing_key"
        } else {
            "setting"
        };
        let line = format!("{key}_{i}: {secret}\n");
        let start = file.len() + line.find(secret).unwrap_or(0);
        at.push((rule, start..start + secret.len()));
        file.push_str(&line);
        file.push_str("log_level: info\n");
    }
    let found = scan(&file);
    assert_eq!(found.len(), at.len(), "{found:#?}");
    for (f, (rule, range)) in found.iter().zip(&at) {
        assert!(
            range.start <= f.span.start && f.span.end <= range.end,
            "{rule}: {:?} outside {range:?}",
            f.span
        );
        if *rule != KEYED {
            assert_eq!(f.rule, *rule);
        }
    }
}

#[test]
fn excerpts_never_hold_the_secret() {
    for (rule, secret) in corpus() {
        for (position, _, found) in positions(secret) {
            for f in found {
                let shown = f.excerpt.replace('…', "");
                // A marker (a PEM header, `"type": "service_account"`) is not the secret.
                if !matches!(f.rule, "private-key" | "gcp-service-account") {
                    let tail = &secret[secret.len() - 8..];
                    assert!(
                        !shown.contains(tail),
                        "{rule} in {position}: excerpt `{}` shows the secret's end",
                        f.excerpt
                    );
                    assert!(
                        !secret.contains(&shown) || shown.len() * 2 <= secret.len(),
                        "{rule} in {position}: excerpt `{}` shows half the secret",
                        f.excerpt
                    );
                }
                assert!(!f.message().contains(secret), "{rule} in {position}");
                assert!(!f.to_string().contains(secret), "{rule} in {position}");
            }
        }
    }
}

#[test]
fn look_alikes_are_not_secrets() {
    let lines: Vec<&str> = NOT_SECRETS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect();
    assert!(lines.len() >= 40, "{} negative cases", lines.len());
    for line in &lines {
        assert_eq!(scan(line), [], "{line}");
    }
    assert_eq!(scan(NOT_SECRETS), []);
    // The same values as named values: only a secret-looking name would change that.
    for value in [
        "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
        "3c9f6c1e-5b7d-4f2a-9c8e-0b1d3f5a7c9e",
        "1.2.3-rc.1+build.5",
        "ip-10-0-1-23.eu-west-1.compute.internal",
        "4f2a9c1e7b3d5f8a0c6e2b4d9f1a3c5e7b9d0f2a",
    ] {
        for key in [
            None,
            Some("GIT_SHA"),
            Some("checksum/config"),
            Some("CACHE_KEY"),
        ] {
            assert_eq!(check_value(key, value), None, "{key:?}={value}");
        }
    }
}

#[test]
fn names_say_how_secret_their_values_are() {
    use SecretName::{Certain, Possible};
    for (name, want) in [
        ("JWT_SECRET", Some(Certain)),
        ("POSTGRES_PASSWORD", Some(Certain)),
        ("PGPASSWORD", Some(Certain)),
        ("--db-password", Some(Certain)),
        ("clientSecret", Some(Certain)),
        ("DATADOG_API_KEY", Some(Certain)),
        ("apiKey", Some(Certain)),
        ("STRIPE_SECRET_KEY", Some(Certain)),
        ("SECRET_KEY_BASE", Some(Certain)),
        ("GH_PAT", Some(Certain)),
        ("SENTRY_DSN", Some(Certain)),
        ("RABBITMQ_ERLANG_COOKIE", Some(Certain)),
        ("_authToken", Some(Certain)),
        ("STRIPE_KEY", Some(Possible)),
        ("SESSION_KEY", Some(Possible)),
        ("AUTH_HEADER", Some(Possible)),
        ("example.com/signing-keys", Some(Certain)),
        ("example.com/session-key", Some(Possible)),
        ("checksum/secret", None),
        ("PASSWORD_HASH", None),
        ("KEY_PREFIX", None),
        ("key", None),
        ("CACHE_KEY", None),
        ("PASSENGER_COUNT", None),
        ("NODE_ENV", None),
        ("POSTGRES_PASSWORD_FILE", None),
        ("secretName", None),
        ("passwordSecretRef", None),
        ("AWS_ACCESS_KEY_ID", None),
        ("TOKEN_TTL", None),
        ("checksum/config", None),
        ("", None),
    ] {
        assert_eq!(secret_name(name), want, "{name}");
    }
}

/// The ten placements from issue 19 that reached the output with exit 0.
#[test]
fn the_placements_of_issue_19_are_caught() {
    let (_, ghp) = corpus()[2];
    let jwt = corpus()
        .iter()
        .find(|(r, _)| *r == "jwt")
        .map(|(_, s)| *s)
        .unwrap_or("");
    let hex64 = "0c593d6d3e6e9cc992768ff150fdc987f4f804f611d05209bb3c24ed4275733d";
    let stripe = "sk_live_51FakeXyZ0123456789abcdefghij";
    let cases: Vec<(&str, Option<Finding>)> = vec![
        ("env STRIPE_KEY", check_value(Some("STRIPE_KEY"), stripe)),
        ("env GH_PAT", check_value(Some("GH_PAT"), ghp)),
        (
            "env AUTH_HEADER",
            check_value(Some("AUTH_HEADER"), &format!("Bearer {jwt}")),
        ),
        ("env SESSION_KEY", check_value(Some("SESSION_KEY"), hex64)),
        ("config STRIPE_KEY", check_value(Some("STRIPE_KEY"), stripe)),
        (
            "args",
            scan_argv(&["--db-password=Sup3r/Secret"])
                .into_iter()
                .map(|(_, f)| f)
                .next(),
        ),
        (
            "command",
            scan_argv(&["sh", "-c", "PGPASSWORD=Sup3rSecret psql -h db"])
                .into_iter()
                .map(|(_, f)| f)
                .next(),
        ),
        (
            "URL password with /",
            check_value(
                Some("DATABASE_URL"),
                "postgres://app:pa/ss+w0rd@db:5432/app",
            ),
        ),
        (
            "URL ?password=",
            check_value(
                Some("DATABASE_URL"),
                "postgres://db:5432/app?user=app&password=hunter2",
            ),
        ),
        (
            "annotation value",
            check_value(Some("example.com/note"), ghp),
        ),
        (
            "Mount::file",
            scan(&format!("[auth]\ntoken = {ghp}\n")).into_iter().next(),
        ),
        (
            "CI generate_check",
            scan(&format!(
                "GITHUB_TOKEN={ghp} go generate ./... && git diff --exit-code"
            ))
            .into_iter()
            .next(),
        ),
    ];
    for (position, found) in cases {
        assert!(found.is_some(), "{position}");
    }
    assert_eq!(
        check_value(
            Some("DATABASE_URL"),
            "postgres://app:pa/ss+w0rd@db:5432/app"
        )
        .map(|f| f.excerpt),
        Some("app:…@db:5432".to_owned())
    );
}

/// Where each kind of reference ends, text after it excluded.
#[test]
fn a_reference_ends_where_its_closing_bracket_does() {
    for (s, reference) in [
        ("{{ .Values.db.host }}:5432", "{{ .Values.db.host }}"),
        ("${{ secrets.TOKEN }}-x", "${{ secrets.TOKEN }}"),
        ("${DB_HOST}/app", "${DB_HOST}"),
        ("$(DB_HOST)/app", "$(DB_HOST)"),
        ("$DB_HOST/app", "$DB_HOST"),
    ] {
        assert_eq!(reference_len(s), Some(reference.len()), "{s}");
    }
    for s in ["{{ unclosed", "$", "$1", "${unclosed", "plain"] {
        assert_eq!(reference_len(s), None, "{s}");
    }
}

#[test]
fn references_and_placeholders_are_not_literals() {
    for v in [
        "${DB_PASSWORD}",
        "$(DB_PASSWORD)",
        "$DB_PASSWORD",
        "${{ secrets.DB_PASSWORD }}",
        "\"${DB_PASSWORD:?set it}\"",
        "ci-${{ github.run_id }}-${{ github.run_attempt }}",
        "…",
        "<password>",
        "",
        "true",
        "****",
        "{{ .Values.db.password }}",
        "\"{{ required \"set db.password\" .Values.db.password }}\"",
    ] {
        assert!(!is_literal(v, false), "{v}");
        assert_eq!(check_value(Some("DB_PASSWORD"), v), None, "{v}");
    }
    for v in [
        "hunter2",
        "x",
        "hunter2-${{ github.run_id }}",
        "1234",
        "var.x",
    ] {
        assert!(is_literal(v, true), "{v}");
    }
    assert!(!is_literal("var.db_password", false));
    assert!(is_literal("{{hunter2", false));
}

#[test]
fn an_argv_reports_each_argument_once() {
    let (_, ghp) = corpus()[2];
    let found = scan_argv(&["cli", "--token", ghp, "--password", "hunter2", "--verbose"]);
    let at: Vec<(usize, &str)> = found.iter().map(|(i, f)| (*i, f.rule)).collect();
    assert_eq!(at, [(2, "github-pat"), (4, "literal-under-secret-key")]);
    assert_eq!(scan_argv(&["--password", "--verbose"]), []);
    assert_eq!(scan_argv(&["--password"]), []);
}

#[test]
fn urls_with_passwords() {
    let user_host = |v: &str| url_with_literal_password(v, '\0');
    assert_eq!(
        user_host("amqp://guest:guest@rabbitmq:5672").as_deref(),
        Some("guest@rabbitmq:5672")
    );
    assert_eq!(
        user_host("postgres://app:pa/ss@db:5432/x").as_deref(),
        Some("app@db:5432")
    );
    assert_eq!(
        user_host("postgres://app:p@ss@db/x").as_deref(),
        Some("app@db")
    );
    assert_eq!(user_host("postgres://u:\0@db:5432/x"), None);
    assert_eq!(user_host("postgres://u:${PW}@db:5432/x"), None);
    assert_eq!(user_host("redis://redis:6379"), None);
    assert_eq!(user_host("http://user@host/"), None);
    assert_eq!(user_host("http://localhost:8080/a@b"), None);
    assert_eq!(user_host("see https://host:443/x and mailto:a@b"), None);
}

#[test]
fn every_rule_id_is_kebab_case_and_every_pattern_compiles() {
    assert_eq!(COMPILED.each.len(), TOKEN_RULES.len());
    for r in TOKEN_RULES {
        assert!(
            r.rule
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{}",
            r.rule
        );
        assert!(
            r.what.starts_with("a ") || r.what.starts_with("an "),
            "{}",
            r.what
        );
    }
}

#[test]
fn hostile_input_does_not_panic_and_stays_linear() {
    let long = "a=".repeat(50_000) + &"$".repeat(10_000) + &"://:@".repeat(10_000) + "ü€";
    let started = std::time::Instant::now();
    let _ = scan(&long);
    let _ = check_value(Some("PASSWORD"), &long);
    let _ = scan_argv(&[long.as_str(), "--password", "ü"]);
    for s in [
        "=", ":", "://", "$", "${", "$(", "\\\"", "a: \\\"", "-- x", "x://a:@", "=\"", "ü=ü",
    ] {
        let _ = scan(s);
        let _ = check_value(Some("TOKEN"), s);
    }
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

#[test]
fn an_external_secrets_key_name_is_not_a_secret() {
    // `data[].secretKey` names a key of the Secret the operator writes, as `key:` does in a
    // `secretKeyRef`: not a literal under the name `secretKey`.
    let eso = "  data:\n    - secretKey: postgres-password\n      remoteRef:\n        key: shop/prod/shop-secrets\n";
    assert_eq!(scan(eso), []);
    // Without its `remoteRef` (or with one that is not its sibling) it is what it says.
    let bare = "  data:\n    - secretKey: postgres-password\n";
    assert_eq!(scan(bare)[0].rule, "secret-assignment");
    let nested = "    - secretKey: postgres-password\n        remoteRef:\n";
    assert_eq!(scan(nested)[0].rule, "secret-assignment");
    assert_eq!(
        scan("SECRET_KEY: hunter2hunter2\nremoteRef:\n")[0].rule,
        "secret-assignment"
    );
}

/// A secret in a URL's query is found at its own pair, whichever pair holds it.
#[test]
fn a_query_secret_is_found_at_its_own_pair() {
    let secret = "q8Z3xT1vK9mP2wR7sL4n";
    for query in [
        format!("api_key={secret}"),
        format!("region=eu&api_key={secret}"),
        format!("region=eu&page=20&api_key={secret}&sort=asc"),
    ] {
        let text = format!("endpoint: https://api.example.com/v1?{query}#top\n");
        let found = scan(&text);
        let f = found
            .iter()
            .find(|f| f.rule == "url-query-secret")
            .unwrap_or_else(|| panic!("{query}: {found:#?}"));
        let start = text.find(secret).unwrap();
        assert_eq!(f.span, start..start + secret.len(), "{query}");
    }
}

/// `=` is an assignment only on its own: a comparison or an arrow assigns nothing.
#[test]
fn comparisons_and_arrows_are_not_assignments() {
    for op in ["==", "=>", "!=", "<=", ">="] {
        for text in [
            format!("if PASSWORD{op}hunter2-literal\n"),
            format!("if PASSWORD {op} hunter2-literal\n"),
        ] {
            let found = scan(&text);
            assert!(
                found.iter().all(|f| f.rule != "secret-assignment"),
                "{text:?}: {found:#?}"
            );
        }
    }
    let found = scan("PASSWORD=hunter2-literal\n");
    assert!(
        found.iter().any(|f| f.rule == "secret-assignment"),
        "{found:#?}"
    );
}
