//! Plausible Community Edition, written from its official `compose.yml`
//! (`plausible/community-edition`, v3.2.0) as a new user would: Postgres from the catalog,
//! ClickHouse with its four configuration files and open-files limit, and the app with its
//! database setup, its data volume and the optional settings it reads from `.env`.
//!
//! `cargo run -p plausible` writes `examples/plausible/out/`; the README beside this crate
//! compares the result with the upstream file, and `tests/tests/it/plausible.rs` checks
//! every fact of the upstream file against it.

use stackdsl::catalog::Postgres;
use stackdsl::model::{Condition, Ulimit};
use stackdsl::prelude::*;

/// The release the upstream file pins.
pub const VERSION: &str = "v3.2.0";

/// Where `.env` keeps the secrets.
pub const SECRETS: Secrets = Secrets::external("plausible");

/// The app's settings it reads with defaults of its own, passed through from `.env` when
/// set there (the upstream file's bare `environment` entries, in its order, less the two
/// database URLs, which the stack derives).
pub const PASS_THROUGH: &[&str] = &[
    // Registration.
    "TOTP_VAULT_KEY",
    "DISABLE_REGISTRATION",
    "ENABLE_EMAIL_VERIFICATION",
    // Web: HTTP_PORT is set below, so the port the app listens on is the one published.
    "HTTPS_PORT",
    // Google.
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    // IP geolocation.
    "IP_GEOLOCATION_DB",
    "GEONAMES_SOURCE_FILE",
    "MAXMIND_LICENSE_KEY",
    "MAXMIND_EDITION",
    // Email.
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

/// The Plausible stack for `env`: one Docker host, run with Compose.
pub fn plausible(env: Env) -> Stack {
    let mut s = Stack::new("plausible", env);
    s.targets([Target::Compose])
        // The folder the upstream README clones into, so Compose names the volumes of an
        // existing deployment the same (`plausible-ce_event-data`, …).
        .compose(|c| c.project_name("plausible-ce"));

    let pg = s.backing(
        Postgres::new(
            "plausible_db",
            SECRETS
                .key("postgres-password")
                .describe("Password of the `postgres` role (URL-safe characters)"),
        )
        .name("plausible-db")
        .user("postgres")
        .image(Image::new("postgres").tag("16-alpine"), 16)
        // Alpine's `postgres` user (the catalog assumes Debian's 999 for a custom image).
        .run_as_user(70),
    );

    let events = s.add(clickhouse());

    let http = Port::http("http", 8000);
    let events_url = events
        .endpoint(CLICKHOUSE_HTTP)
        .url()
        .path("/plausible_events_db");
    s.add(
        Service::new("plausible")
            .image(Image::new("ghcr.io/plausible/community-edition").tag(VERSION))
            .port(http)
            .publish(http, 8000)
            // The upstream command creates and migrates the database before `run`; here a
            // one-shot does it and the app starts once it has succeeded.
            .migrations(Migration::command([
                "sh",
                "-c",
                "/entrypoint.sh db createdb && /entrypoint.sh db migrate",
            ]))
            .env("TMPDIR", "/var/lib/plausible/tmp")
            .env("BASE_URL", "http://localhost:8000")
            .env(
                "SECRET_KEY_BASE",
                SECRETS.key("secret-key-base").describe(
                    "Signs sessions and cookies: 64 bytes or more (`openssl rand -base64 48`)",
                ),
            )
            .env("HTTP_PORT", "8000")
            .env("DATABASE_URL", pg.url())
            .env("CLICKHOUSE_DATABASE_URL", events_url)
            .compose(|c| c.pass_env(PASS_THROUGH.iter().copied()))
            .mount(Mount::persistent("plausible-data", "/var/lib/plausible"))
            .mount(Mount::scratch("/tmp"))
            .ulimit(Ulimit::nofile(65_535, 65_535))
            // The image ships BusyBox `wget`, not `curl`.
            .readiness(Probe::http_get("/api/health", http))
            .health_tool(HealthTool::Wget)
            .security(Security::restricted().run_as_user(999))
            .restart(Restart::Always)
            .depends_on_when(&pg.service, Condition::Healthy)
            .depends_on_when(&events, Condition::Healthy),
    );
    s
}

/// ClickHouse's HTTP interface, which Plausible and the health check use.
const CLICKHOUSE_HTTP: Port = Port::http("http", 8123);

/// ClickHouse with upstream's configuration: quiet logs kept 30 days, IPv4 only, and the
/// low-resources settings for a small host.
fn clickhouse() -> ServiceBuilder<stackdsl::builder::HasImage> {
    let config = "/etc/clickhouse-server/config.d";
    Service::new("plausible-events-db")
        .image(Image::new("clickhouse/clickhouse-server").tag("24.12-alpine"))
        .port(CLICKHOUSE_HTTP)
        .env("CLICKHOUSE_SKIP_USER_SETUP", "1")
        .mount(Mount::persistent("event-data", "/var/lib/clickhouse"))
        .mount(Mount::persistent(
            "event-logs",
            "/var/log/clickhouse-server",
        ))
        .mount(Mount::file(
            "clickhouse-logs",
            format!("{config}/logs.xml"),
            LOGS_XML,
        ))
        .mount(Mount::file(
            "clickhouse-ipv4-only",
            format!("{config}/ipv4-only.xml"),
            IPV4_ONLY_XML,
        ))
        .mount(Mount::file(
            "clickhouse-low-resources",
            format!("{config}/low-resources.xml"),
            LOW_RESOURCES_XML,
        ))
        .mount(Mount::file(
            "clickhouse-profile-overrides",
            "/etc/clickhouse-server/users.d/default-profile-low-resources-overrides.xml",
            PROFILE_OVERRIDES_XML,
        ))
        .mount(Mount::scratch("/tmp"))
        .ulimit(Ulimit::nofile(262_144, 262_144))
        // The image ships BusyBox `wget`, which upstream's check uses too.
        .readiness(Probe::http_get("/ping", CLICKHOUSE_HTTP))
        .health_tool(HealthTool::Wget)
        // The image starts as root and drops to `clickhouse` (uid 101); run as it directly.
        .security(Security::restricted().run_as_user(101))
        .restart(Restart::Always)
}

/// Server logs at `warning` on the console; the query log kept 30 days; the other system
/// logs off.
const LOGS_XML: &str = r#"<clickhouse>
    <logger>
        <level>warning</level>
        <console>true</console>
    </logger>
    <query_log replace="1">
        <database>system</database>
        <table>query_log</table>
        <flush_interval_milliseconds>7500</flush_interval_milliseconds>
        <engine>
            ENGINE = MergeTree
            PARTITION BY event_date
            ORDER BY (event_time)
            TTL event_date + interval 30 day
            SETTINGS ttl_only_drop_parts=1
        </engine>
    </query_log>
    <metric_log remove="remove"/>
    <asynchronous_metric_log remove="remove"/>
    <query_thread_log remove="remove"/>
    <text_log remove="remove"/>
    <trace_log remove="remove"/>
    <session_log remove="remove"/>
    <part_log remove="remove"/>
</clickhouse>
"#;

/// Listen on IPv4 only: Docker's bridge networks have no IPv6 by default.
const IPV4_ONLY_XML: &str = r#"<clickhouse>
    <listen_host>0.0.0.0</listen_host>
</clickhouse>
"#;

/// A 500 MiB mark cache, for hosts with less than 16 GB of memory.
const LOW_RESOURCES_XML: &str = r#"<clickhouse>
    <mark_cache_size>524288000</mark_cache_size>
</clickhouse>
"#;

/// The default profile's queries on one thread with small blocks, for small hosts.
const PROFILE_OVERRIDES_XML: &str = r#"<clickhouse>
    <profiles>
        <default>
            <max_threads>1</max_threads>
            <max_block_size>8192</max_block_size>
            <max_download_threads>1</max_download_threads>
            <input_format_parallel_parsing>0</input_format_parallel_parsing>
            <output_format_parallel_formatting>0</output_format_parallel_formatting>
        </default>
    </profiles>
</clickhouse>
"#;
