//! Plausible Community Edition (issue 22 item 8): every fact of the upstream `compose.yml`
//! (`plausible/community-edition` v3.2.0, commit 7ba2a0ee) checked against the dev Compose
//! file `examples/plausible` renders. Each fact is either the same in ours or one of the
//! differences the example's README lists, asserted here with our value, so a change on
//! either side fails until the README says why.
//!
//! The upstream facts are written out below from the file (services, images, commands,
//! volumes, ulimits, health checks, depends_on conditions, environment names); no YAML is
//! copied.

use serde_json::{Value, json};
use stackdsl::prelude::*;
use stackdsl_tests::{run, tool, workspace_root};

/// One upstream service: its name there and here.
struct Upstream {
    name: &'static str,
    ours: &'static str,
    image: &'static str,
    /// `source:target[:ro]`, in upstream order.
    volumes: &'static [&'static str],
    /// `nofile` soft and hard.
    nofile: Option<i64>,
    /// The healthcheck's `CMD-SHELL` line; the start period is `1m` where there is one.
    health: Option<&'static str>,
    /// Literal `NAME=value` entries.
    literal_env: &'static [(&'static str, &'static str)],
}

const DB: Upstream = Upstream {
    name: "plausible_db",
    ours: "plausible-db",
    image: "postgres:16-alpine",
    volumes: &["db-data:/var/lib/postgresql/data"],
    nofile: None,
    health: Some("pg_isready -U postgres"),
    literal_env: &[("POSTGRES_PASSWORD", "postgres")],
};

const EVENTS: Upstream = Upstream {
    name: "plausible_events_db",
    ours: "plausible-events-db",
    image: "clickhouse/clickhouse-server:24.12-alpine",
    volumes: &[
        "event-data:/var/lib/clickhouse",
        "event-logs:/var/log/clickhouse-server",
        "./clickhouse/logs.xml:/etc/clickhouse-server/config.d/logs.xml:ro",
        "./clickhouse/ipv4-only.xml:/etc/clickhouse-server/config.d/ipv4-only.xml:ro",
        "./clickhouse/low-resources.xml:/etc/clickhouse-server/config.d/low-resources.xml:ro",
        "./clickhouse/default-profile-low-resources-overrides.xml:/etc/clickhouse-server/users.d/default-profile-low-resources-overrides.xml:ro",
    ],
    nofile: Some(262_144),
    health: Some("wget --no-verbose --tries=1 -O - http://127.0.0.1:8123/ping || exit 1"),
    literal_env: &[("CLICKHOUSE_SKIP_USER_SETUP", "1")],
};

const APP: Upstream = Upstream {
    name: "plausible",
    ours: "plausible",
    image: "ghcr.io/plausible/community-edition:v3.2.0",
    volumes: &["plausible-data:/var/lib/plausible"],
    nofile: Some(65_535),
    health: None,
    literal_env: &[("TMPDIR", "/var/lib/plausible/tmp")],
};

/// The app's command upstream (string form, run by `sh -c`).
const APP_COMMAND: &str =
    "/entrypoint.sh db createdb && /entrypoint.sh db migrate && /entrypoint.sh run";

/// The app's environment upstream, in order: `TMPDIR` (literal), `BASE_URL` and
/// `SECRET_KEY_BASE` (`${…}`), then bare names passed through from `.env`.
const APP_ENV: &[&str] = &[
    "TMPDIR",
    "BASE_URL",
    "SECRET_KEY_BASE",
    "TOTP_VAULT_KEY",
    "DISABLE_REGISTRATION",
    "ENABLE_EMAIL_VERIFICATION",
    "HTTP_PORT",
    "HTTPS_PORT",
    "DATABASE_URL",
    "CLICKHOUSE_DATABASE_URL",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "IP_GEOLOCATION_DB",
    "GEONAMES_SOURCE_FILE",
    "MAXMIND_LICENSE_KEY",
    "MAXMIND_EDITION",
    "MAILER_ADAPTER",
    "MAILER_EMAIL",
    "MAILER_NAME",
    "SMTP_HOST_ADDR",
    "SMTP_HOST_PORT",
    "SMTP_USER_NAME",
    "SMTP_USER_PWD",
    "SMTP_HOST_SSL_ENABLED",
    "POSTMARK_API_KEY",
    "MAILGUN_API_KEY",
    "MAILGUN_DOMAIN",
    "MAILGUN_BASE_URI",
    "MANDRILL_API_KEY",
    "SENDGRID_API_KEY",
];

/// Upstream's top-level volumes.
const VOLUMES: &[&str] = &["db-data", "event-data", "event-logs", "plausible-data"];

fn ours() -> Value {
    let docs = stackdsl_tests::render(&plausible::plausible(Env::Dev));
    let compose = docs
        .iter()
        .find(|d| d.path.ends_with("compose.yaml"))
        .expect("compose.yaml");
    serde_saphyr::from_str(&compose.contents).expect("parses")
}

fn service<'v>(c: &'v Value, name: &str) -> &'v Value {
    c["services"]
        .get(name)
        .unwrap_or_else(|| panic!("no service {name}"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[test]
fn services_and_images_are_upstreams_plus_the_migration_one_shot() {
    let c = ours();
    let names: Vec<&str> = c["services"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // Service names are DNS labels here (`_` becomes `-`); the migration is a one-shot; each
    // service run as its non-root user gets a one-shot that hands it its named volumes
    // (Docker creates them root-owned; upstream's images start as root instead).
    assert_eq!(
        names,
        [
            "plausible-db-volumes",
            "plausible-db",
            "plausible-events-db-volumes",
            "plausible-events-db",
            "plausible-volumes",
            "plausible-migrate",
            "plausible"
        ]
    );
    for u in [DB, EVENTS, APP] {
        assert_eq!(service(&c, u.ours)["image"], u.image, "{}", u.name);
    }
    assert_eq!(service(&c, "plausible-migrate")["image"], APP.image);
    // No project name upstream: Compose takes the folder's, `plausible-ce` in the README.
    assert_eq!(c["name"], "plausible-ce");
}

#[test]
fn the_app_runs_upstreams_command_split_at_run() {
    let c = ours();
    let app = service(&c, "plausible");
    // The app runs the image's own `/entrypoint.sh run`.
    assert_eq!(app.get("command"), None);
    assert_eq!(app.get("entrypoint"), None);
    let migrate = service(&c, "plausible-migrate");
    let argv = strings(&migrate["entrypoint"]);
    assert_eq!(argv[..2], ["sh", "-c"]);
    assert_eq!(format!("{} && /entrypoint.sh run", argv[2]), APP_COMMAND);
    assert_eq!(migrate["restart"], "no");
    assert_eq!(
        app["depends_on"]["plausible-migrate"]["condition"],
        "service_completed_successfully"
    );
}

#[test]
fn volumes_keep_upstreams_names_and_paths() {
    let c = ours();
    for u in [DB, EVENTS, APP] {
        let svc = service(&c, u.ours);
        let volumes = strings(&svc["volumes"]);
        let configs: Vec<&str> = svc["configs"]
            .as_array()
            .map(|a| a.iter().map(|m| m["target"].as_str().unwrap()).collect())
            .unwrap_or_default();
        for v in u.volumes {
            let parts: Vec<&str> = v.split(':').collect();
            let (source, target) = (parts[0], parts[1]);
            if source.starts_with("./") {
                // Upstream's read-only files beside compose.yml are Compose configs written
                // from the stack (read-only too).
                assert_eq!(parts.get(2), Some(&"ro"));
                assert!(
                    configs.contains(&target),
                    "{} lacks {target}: {configs:?}",
                    u.ours
                );
                continue;
            }
            // The catalog names Postgres's volume after the service.
            let name = if source == "db-data" {
                "plausible-db-data"
            } else {
                source
            };
            assert!(
                volumes.contains(&format!("{name}:{target}").as_str()),
                "{}: {volumes:?} lacks {name}:{target}",
                u.ours
            );
        }
    }
    let top: Vec<&str> = c["volumes"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for v in VOLUMES {
        let name = if *v == "db-data" {
            "plausible-db-data"
        } else {
            v
        };
        assert!(top.contains(&name), "{top:?} lacks {name}");
    }
}

#[test]
fn ulimits_are_upstreams() {
    let c = ours();
    for u in [DB, EVENTS, APP] {
        let expected = u.nofile.map(|n| json!({"nofile": {"soft": n, "hard": n}}));
        assert_eq!(
            service(&c, u.ours).get("ulimits").cloned(),
            expected,
            "{}",
            u.ours
        );
    }
}

#[test]
fn health_checks_run_upstreams_tools_with_upstreams_start_period() {
    let c = ours();
    for u in [DB, EVENTS] {
        let check = &service(&c, u.ours)["healthcheck"];
        let test = strings(&check["test"]);
        let upstream: Vec<&str> = u.health.unwrap().split(' ').collect();
        // Same tool; Postgres: the same arguments and the database named too.
        assert_eq!(test[1], upstream[0], "{}", u.ours);
        if u.ours == "plausible-db" {
            assert_eq!(test[1..4], upstream[..]);
        } else {
            // ClickHouse: the same endpoint.
            assert_eq!(test.last(), Some(&"http://127.0.0.1:8123/ping"));
        }
        // Upstream's `1m`.
        assert_eq!(check["start_period"], "60s", "{}", u.ours);
    }
    // Upstream gives the app none; ours waits for /api/health with the image's wget.
    assert_eq!(APP.health, None);
    assert_eq!(
        strings(&service(&c, "plausible")["healthcheck"]["test"]),
        [
            "CMD",
            "wget",
            "-q",
            "--spider",
            "http://127.0.0.1:8000/api/health"
        ]
    );
}

#[test]
fn depends_on_conditions_are_upstreams() {
    let c = ours();
    let deps = &service(&c, "plausible")["depends_on"];
    // Upstream: both databases `service_healthy`.
    assert_eq!(deps["plausible-db"]["condition"], "service_healthy");
    assert_eq!(deps["plausible-events-db"]["condition"], "service_healthy");
    assert_eq!(
        deps["plausible-migrate"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(
        deps["plausible-volumes"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(deps.as_object().unwrap().len(), 4, "{deps}");
    // The databases wait only for the one-shot that hands them their volumes.
    for u in [DB, EVENTS] {
        let deps = &service(&c, u.ours)["depends_on"];
        let own = format!("{}-volumes", u.ours);
        assert_eq!(deps.as_object().map(|d| d.len()), Some(1), "{deps}");
        assert_eq!(deps[&own]["condition"], "service_completed_successfully");
    }
}

#[test]
fn restart_policies_are_upstreams_but_the_catalogs_postgres() {
    let c = ours();
    assert_eq!(service(&c, "plausible")["restart"], "always");
    assert_eq!(service(&c, "plausible-events-db")["restart"], "always");
    // The catalog's Postgres restarts unless stopped (README: differences).
    assert_eq!(service(&c, "plausible-db")["restart"], "unless-stopped");
}

#[test]
fn environment_names_are_upstreams() {
    let c = ours();
    let env = service(&c, "plausible")["environment"].as_object().unwrap();
    let mut names: Vec<&str> = env.keys().map(String::as_str).collect();
    let mut upstream = APP_ENV.to_vec();
    names.sort_unstable();
    upstream.sort_unstable();
    assert_eq!(names, upstream);
    // Passed through as upstream, except what the stack sets (README: differences).
    let set = [
        "TMPDIR",
        "BASE_URL",
        "SECRET_KEY_BASE",
        "HTTP_PORT",
        "DATABASE_URL",
        "CLICKHOUSE_DATABASE_URL",
    ];
    for name in APP_ENV {
        assert_eq!(env[*name].is_null(), !set.contains(name), "{name}");
    }
    assert_eq!(plausible::PASS_THROUGH.len(), APP_ENV.len() - set.len());
    assert_eq!(env["HTTP_PORT"], "8000");
    assert_eq!(
        env["CLICKHOUSE_DATABASE_URL"],
        "http://plausible-events-db:8123/plausible_events_db"
    );
    assert!(
        env["DATABASE_URL"]
            .as_str()
            .unwrap()
            .ends_with("@plausible-db:5432/plausible_db"),
        "{}",
        env["DATABASE_URL"]
    );
    for u in [DB, EVENTS, APP] {
        let env = &service(&c, u.ours)["environment"];
        for (name, value) in u.literal_env {
            if *name == "POSTGRES_PASSWORD" {
                // A secret from `.env`, never a literal.
                assert!(
                    env[*name]
                        .as_str()
                        .unwrap()
                        .starts_with("${PLAUSIBLE_POSTGRES_PASSWORD:?")
                );
            } else {
                assert_eq!(env[*name], *value, "{name}");
            }
        }
    }
}

#[test]
fn the_example_output_is_committed_current_leak_free_and_accepted_by_docker_compose() {
    let out = workspace_root().join("examples/plausible/out");
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let argv = ["plausible", "--check", "--out", out.to_str().unwrap()];
    let code = stackdsl::cli::Cli::new(Env::Dev).package("plausible").run(
        &[plausible::plausible],
        argv,
        &mut stdout,
        &mut stderr,
        false,
    );
    assert_eq!(
        code,
        0,
        "run `cargo run -p plausible`:\n{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    let dir = out.join("plausible/dev");
    let dir_env = tempfile::tempdir().unwrap();
    let env_file = dir_env.path().join(".env");
    let example = std::fs::read_to_string(dir.join(".env.example")).unwrap();
    let values: String = example
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| format!("{l}dummy\n"))
        .collect();
    std::fs::write(&env_file, values).unwrap();
    let (ok, log) = run(tool("docker-compose")
        .arg("-f")
        .arg(dir.join("compose.yaml"))
        .arg("--env-file")
        .arg(&env_file)
        .args(["config", "--quiet"]));
    assert!(ok, "{log}");
    // No secret value in what is committed.
    for (path, bytes) in stackdsl_tests::tree(&out) {
        let found = stackdsl::validate::leaks::scan(&String::from_utf8_lossy(&bytes));
        assert!(found.is_empty(), "{path}: {found:?}");
    }
}
