//! Literal secrets are caught by validation at every position a stack writes a value into
//! an artifact (issue 19, finding 5): every fake secret of the corpus, in every position,
//! is an error at that position's path, and nothing is written.

use stackdsl::model::{Backup, Bucket, Container, Schedule};
use stackdsl::prelude::*;
use stackdsl::validate::ErrorKind;

const FAKE_SECRETS: &str = include_str!("../../../dsl/src/validate/testdata/fake-secrets.tsv");

/// `(rule, secret)` of every corpus line.
fn corpus() -> Vec<(&'static str, &'static str)> {
    FAKE_SECRETS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_once('\t').expect("rule<TAB>secret"))
        .collect()
}

const HTTP: Port = Port::http("http", 8080);

fn api() -> ServiceBuilder<HasImage> {
    Service::new("api")
        .image(Image::new("acme/api").tag("1.0.0"))
        .port(HTTP)
}

fn stack_with(f: impl FnOnce(&mut Stack, ServiceBuilder<HasImage>)) -> Stack {
    let mut s = Stack::new("shop", Env::Dev);
    f(&mut s, api());
    s
}

/// Every position, as `(the path the error must name, a stack holding `secret` there)`.
/// The first [`UNNAMED`] name nothing secret (a variable called `PAYMENTS`, a config line,
/// an annotation, a generated file, a bucket URL, a Prometheus selector label): only a secret of a recognisable format
/// is caught there. In the others the context says "secret" (`STRIPE_KEY`,
/// `--db-password=`, `--token`, `PGPASSWORD=`, a URL password, `?token=`, `Authorization:`,
/// `--api-key=`, a sidecar's `--token`, an init container's URL password, `X-Api-Key`,
/// `GITHUB_TOKEN=`), so any literal is.
const UNNAMED: usize = 6;

fn positions(secret: &'static str) -> Vec<(&'static str, Stack)> {
    let creds = SecretRef::new("backup", "key");
    vec![
        (
            "shop.services[api].env[PAYMENTS]",
            stack_with(|s, b| {
                s.add(b.env("PAYMENTS", secret));
            }),
        ),
        (
            "shop.services[api].env[SETTINGS]",
            stack_with(|s, b| {
                s.add(b.config("SETTINGS", format!("mode=live {secret}")));
            }),
        ),
        (
            "shop.services[api].annotations[acme.io/note]",
            stack_with(|s, b| {
                s.add(b.kubernetes(|k| k.annotation("acme.io/note", secret)));
            }),
        ),
        (
            "shop.services[api].mounts[/etc/app/conf.ini]",
            stack_with(|s, b| {
                s.add(b.mount(Mount::file(
                    "app-conf",
                    "/etc/app/conf.ini",
                    Template::new().text(format!("[api]\nvalue = {secret}\n")),
                )));
            }),
        ),
        (
            "shop.services[api].backup.bucket.url",
            stack_with(|s, b| {
                let bucket = Bucket::s3(format!("s3://backups/{secret}"), &creds, &creds);
                s.add(b.kubernetes(|k| {
                    k.backup(Backup::new(Schedule::daily_at(2, 0)).bucket(bucket))
                }));
            }),
        ),
        (
            "shop.kubernetes.prometheus_selector[release]",
            stack_with(|s, b| {
                s.kubernetes(|k| k.prometheus_selector([("release", secret)]));
                s.add(b);
            }),
        ),
        // The placements, where the context names a secret.
        (
            "shop.services[api].env[STRIPE_KEY]",
            stack_with(|s, b| {
                s.add(b.env("STRIPE_KEY", secret));
            }),
        ),
        (
            "shop.services[api].args[0]",
            stack_with(|s, b| {
                s.add(b.args([format!("--db-password={secret}")]));
            }),
        ),
        (
            "shop.services[api].args[1]",
            stack_with(|s, b| {
                s.add(b.args(["--token", secret]));
            }),
        ),
        (
            "shop.services[api].command[2]",
            stack_with(|s, b| {
                s.add(b.command([
                    "sh".to_owned(),
                    "-c".to_owned(),
                    format!("PGPASSWORD={secret} psql -h db"),
                ]));
            }),
        ),
        (
            "shop.services[api].env[DATABASE_URL]",
            stack_with(|s, b| {
                s.add(b.env(
                    "DATABASE_URL",
                    format!("postgres://shop:{secret}@db:5432/shop"),
                ));
            }),
        ),
        (
            "shop.services[api].env[WEBHOOK]",
            stack_with(|s, b| {
                s.add(b.env(
                    "WEBHOOK",
                    format!("https://hooks.example.com/in?token={secret}"),
                ));
            }),
        ),
        (
            "shop.services[api].probes.readiness",
            stack_with(|s, b| {
                s.add(b.readiness(Probe::exec([
                    "curl".to_owned(),
                    "-H".to_owned(),
                    format!("Authorization: Bearer {secret}"),
                    "http://127.0.0.1:8080/".to_owned(),
                ])));
            }),
        ),
        (
            "shop.services[api].migrations[1]",
            stack_with(|s, b| {
                s.add(b.migrations(Migration::command([
                    "migrate".to_owned(),
                    format!("--api-key={secret}"),
                ])));
            }),
        ),
        (
            "shop.services[api].sidecars[proxy].args[1]",
            stack_with(|s, b| {
                s.add(
                    b.sidecar(
                        Container::new("proxy", Image::new("acme/proxy").tag("1.0.0"))
                            .args(["--token", secret]),
                    ),
                );
            }),
        ),
        (
            "shop.services[api].init_containers[seed].env[DATABASE_URL]",
            stack_with(|s, b| {
                s.add(b.init_container(
                    Container::new("seed", Image::new("acme/seed").tag("1.0.0")).env(
                        "DATABASE_URL",
                        format!("postgres://shop:{secret}@db:5432/shop"),
                    ),
                ));
            }),
        ),
        (
            "shop.edge.headers[X-Api-Key]",
            stack_with(|s, b| {
                s.edge(Edge::nginx().header("X-Api-Key", secret));
                s.add(b);
            }),
        ),
        (
            "shop.ci.generate_check",
            stack_with(|s, b| {
                s.ci(Ci::go("1.23")
                    .generate_check(format!("GITHUB_TOKEN={secret} go generate ./...")));
                s.add(b);
            }),
        ),
    ]
}

fn secret_errors(s: &Stack) -> Vec<String> {
    match stackdsl::validate(s) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .into_iter()
            .filter(|e| e.kind == ErrorKind::SecretLiteral)
            .map(|e| e.path.to_string())
            .collect(),
    }
}

#[test]
fn every_fake_secret_is_caught_in_every_position() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 30,
        "the corpus has {} secrets",
        corpus.len()
    );
    let mut missed = Vec::new();
    let mut checked = 0;
    for (rule, secret) in &corpus {
        // A secret recognised only by the name it is assigned to.
        let by_name = rule.ends_with("-under-secret-key");
        for (i, (path, stack)) in positions(secret).into_iter().enumerate() {
            if by_name && i < UNNAMED {
                continue;
            }
            checked += 1;
            let found = secret_errors(&stack);
            if !found.iter().any(|p| p == path) {
                missed.push(format!("{rule} at {path}: {found:?}"));
            }
        }
    }
    assert!(
        missed.is_empty(),
        "{} of {checked} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
    assert!(checked >= 30 * positions("x").len());
}

#[test]
fn an_ordinary_value_is_valid_where_nothing_names_a_secret_and_a_leak_where_something_does() {
    for (i, (path, stack)) in positions("hello-world").into_iter().enumerate() {
        // `STRIPE_KEY` may hold a secret (or a key's name, an id …): only a random-looking
        // value is taken for one.
        let maybe = path.ends_with("[STRIPE_KEY]");
        let expected: Vec<&str> = if i < UNNAMED || maybe {
            vec![]
        } else {
            vec![path]
        };
        assert_eq!(secret_errors(&stack), expected, "{path}");
    }
}

#[test]
fn a_waiver_names_its_reason_and_silences_only_its_value() {
    let key = "pk_test_TYooMQauvdEDq54NiTphI7jx";
    let other = corpus()
        .into_iter()
        .find(|(r, _)| *r == "github-pat")
        .unwrap()
        .1;
    let s = stack_with(|s, b| {
        s.add(
            b.args(["--publishable-key", key, "--token", other])
                .not_a_secret(key, "a publishable key, meant for browsers"),
        );
    });
    assert_eq!(secret_errors(&s), ["shop.services[api].args[3]"]);
    // Inside a longer argument, the waiver names the value alone or the whole argument.
    let arg = format!("--publishable-key={key}");
    let s = stack_with(|s, b| {
        s.add(b.args([arg.as_str()]));
    });
    assert_eq!(secret_errors(&s), ["shop.services[api].args[0]"]);
    for waived in [key, arg.as_str()] {
        let s = stack_with(|s, b| {
            s.add(
                b.args([arg.as_str()])
                    .not_a_secret(waived, "a publishable key, meant for browsers"),
            );
        });
        assert_eq!(secret_errors(&s), Vec::<String>::new(), "{waived}");
    }
    let s = stack_with(|s, b| {
        s.add(b.args(["--publishable-key", key]).not_a_secret(key, " "));
    });
    let errors = stackdsl::validate(&s).unwrap_err();
    let waiver = errors
        .iter()
        .find(|e| e.kind == ErrorKind::InvalidValue && e.path == "shop.services[api].not_secrets")
        .expect("a waiver without a reason is an error");
    // The value is shown by its start alone: a waived literal may still be a secret.
    assert!(waiver.message.contains("(`pk_t…`)"), "{}", waiver.message);
    assert!(!waiver.message.contains(key), "{}", waiver.message);
}

#[test]
fn a_secret_error_names_the_format_and_never_the_secret() {
    let (_, secret) = corpus()
        .into_iter()
        .find(|(r, _)| *r == "github-pat")
        .unwrap();
    let s = stack_with(|s, b| {
        s.add(b.args([format!("--gh={secret}")]));
    });
    let e = stackdsl::validate(&s).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("GitHub"), "{text}");
    assert!(text.contains("SecretRef"), "{text}");
    assert!(
        !text.contains(&secret[4..]),
        "the error repeats the secret:\n{text}"
    );
}
