//! Catalog products fit real images (issue 22, item 7): a custom image (a Postgres with
//! vector extensions, another Valkey build), their own user, database and authentication
//! settings (a Postgres owner that is not the database's name, a Valkey without a password,
//! with its reason), current images, and the typed handles' URLs right for each. A Bitnami
//! chart is an explicit choice the CLI warns about.

use std::collections::BTreeMap;

use serde_json::Value;
use stackdsl::catalog::{PgBouncer, Postgres, Redis};
use stackdsl::prelude::*;
use stackdsl::validate::ErrorKind;
use stackdsl_tests::{cli, render};

fn files(s: &Stack) -> BTreeMap<String, String> {
    render(s)
        .into_iter()
        .map(|d| (d.path, d.contents))
        .collect()
}

fn yaml(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple(text).unwrap()
}

fn compose_service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    &compose["services"][name]
}

/// Immich's database: `pgvector`'s image of Postgres 17, user `postgres`, database `immich`.
fn immich(env: Env) -> Stack {
    let mut s = Stack::new("photos", env);
    s.targets(match env {
        Env::Dev => vec![Target::Compose],
        _ => vec![Target::Compose, Target::Kubernetes, Target::Terraform],
    });
    let db = s.backing(
        Postgres::new("immich", SecretRef::new("photos-secrets", "db-password"))
            .user("postgres")
            .image(Image::new("pgvector/pgvector").tag("0.8.1-pg17"), 17),
    );
    let pool = s.backing(PgBouncer::new(&db));
    let cache = s.backing(
        Redis::without_password(
            "only the server's pods reach it; it caches job queues that are rebuilt on restart",
        )
        .image(Image::new("valkey/valkey").tag("9.1.1-trixie")),
    );
    let http = Port::http("http", 2283);
    s.add(
        Service::new("server")
            .image(Image::new("ghcr.io/immich-app/immich-server").tag("v2.3.1"))
            .port(http)
            .env("DB_URL", db.url())
            .env("POOLED_DB_URL", pool.url())
            .env("REDIS_URL", cache.url(0))
            .readiness(Probe::http_get("/api/server/ping", http))
            .liveness(Probe::http_get("/api/server/ping", http))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(256))
                    .limits(Cpu::m(1000), Memory::gi(1)),
            ),
    );
    s
}

#[test]
fn a_postgres_with_extensions_runs_its_own_image_with_its_own_owner_everywhere() {
    let out = files(&immich(Env::Prod));
    let compose = &yaml(&out["photos/prod/compose.yaml"])[0];
    let pg = compose_service(compose, "postgres");
    assert_eq!(pg["image"], "pgvector/pgvector:0.8.1-pg17");
    assert_eq!(pg["environment"]["POSTGRES_USER"], "postgres");
    assert_eq!(pg["environment"]["POSTGRES_DB"], "immich");
    // Postgres 17 keeps its data below `/var/lib/postgresql/data`; the image's user is 999.
    assert_eq!(
        pg["environment"]["PGDATA"],
        "/var/lib/postgresql/data/pgdata"
    );
    assert_eq!(
        pg["volumes"],
        serde_json::json!(["postgres-data:/var/lib/postgresql/data"])
    );
    assert_eq!(pg["user"], "999");
    assert_eq!(
        pg["healthcheck"]["test"],
        serde_json::json!(["CMD", "pg_isready", "-U", "postgres", "-d", "immich"])
    );
    // Consumers log in as the owner, to the database; the pooler too.
    let server = compose_service(compose, "server");
    assert!(
        server["environment"]["DB_URL"]
            .as_str()
            .unwrap()
            .starts_with("postgresql://postgres:${PHOTOS_SECRETS_DB_PASSWORD:?")
    );
    assert!(
        server["environment"]["DB_URL"]
            .as_str()
            .unwrap()
            .ends_with("@postgres:5432/immich")
    );
    assert!(
        server["environment"]["POOLED_DB_URL"]
            .as_str()
            .unwrap()
            .ends_with("@pgbouncer:6432/immich")
    );
    assert_eq!(
        compose_service(compose, "pgbouncer")["environment"]["DB_USER"],
        "postgres"
    );
    // CloudNativePG runs the same image, told its major version and its user.
    let resources = yaml(&out["photos/prod/k8s/25-backing-services.yaml"]);
    let catalog = resources
        .iter()
        .find(|r| r["kind"] == "ImageCatalog")
        .unwrap();
    assert_eq!(
        catalog["spec"]["images"],
        serde_json::json!([{"major": 17, "image": "pgvector/pgvector:0.8.1-pg17"}])
    );
    let cluster = resources.iter().find(|r| r["kind"] == "Cluster").unwrap();
    assert_eq!(cluster["spec"]["imageCatalogRef"]["major"], 17);
    assert_eq!(cluster["spec"]["postgresUID"], 999);
    assert_eq!(cluster["spec"]["postgresGID"], 999);
    assert_eq!(
        cluster["spec"]["bootstrap"]["initdb"],
        serde_json::json!({"database": "immich", "owner": "postgres", "secret": {"name": "postgres-credentials"}})
    );
    assert!(out["photos/prod/k8s/README.md"].contains("--from-literal=username=\"postgres\""));
}

#[test]
fn the_official_postgres_18_keeps_its_volume_where_its_image_wants_it() {
    let mut s = Stack::new("shop", Env::Dev);
    s.backing(Postgres::new("shop", SecretRef::new("shop-secrets", "pg")));
    let out = files(&s);
    let pg = &yaml(&out["shop/dev/compose.yaml"])[0]["services"]["postgres"];
    assert_eq!(pg["image"], "postgres:18.6-alpine");
    assert_eq!(pg["user"], "70");
    assert!(pg["environment"].get("PGDATA").is_none(), "{pg}");
    assert_eq!(
        pg["volumes"],
        serde_json::json!(["postgres-data:/var/lib/postgresql"])
    );
}

#[test]
fn a_valkey_without_a_password_says_why_and_its_url_has_none() {
    let out = files(&immich(Env::Prod));
    let compose = &yaml(&out["photos/prod/compose.yaml"])[0];
    let redis = compose_service(compose, "redis");
    assert_eq!(redis["image"], "valkey/valkey:9.1.1-trixie");
    let cmd = redis["command"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap();
    assert!(cmd.starts_with("exec valkey-server --port 6379"), "{cmd}");
    assert!(
        cmd.ends_with("--protected-mode no") && !cmd.contains("requirepass"),
        "{cmd}"
    );
    assert!(
        redis["environment"].get("REDIS_PASSWORD").is_none(),
        "{redis}"
    );
    assert_eq!(
        compose_service(compose, "server")["environment"]["REDIS_URL"],
        "redis://redis:6379/0"
    );
    let k8s_server = &out["photos/prod/k8s/20-server.yaml"];
    assert!(
        k8s_server.contains("value: redis://redis:6379/0"),
        "{k8s_server}"
    );
    // Valkey's chart without auth, on the stack's image.
    let values = &out["photos/prod/terraform/values/redis-topology.yaml"];
    assert!(values.contains("auth:\n  enabled: false"), "{values}");
    assert!(
        values.contains("repository: valkey/valkey\n  tag: 9.1.1-trixie"),
        "{values}"
    );
    // The reason is where the owner reads about the Secrets.
    assert!(out["photos/prod/k8s/README.md"].contains(
        "- `redis`: only the server's pods reach it; it caches job queues that are rebuilt on restart"
    ));
}

#[test]
fn a_redis_image_needs_bitnamis_chart_under_terraform_and_says_so() {
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Kubernetes, Target::Terraform]);
    s.backing(
        Redis::new(SecretRef::new("shop-secrets", "redis"))
            .redis_image(Image::new("redis").tag("8.10.1")),
    );
    let e = stackdsl::validate(&s).unwrap_err();
    let e: Vec<_> = e.iter().collect();
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].kind, ErrorKind::Unsupported);
    assert_eq!(e[0].path, "shop.services[redis]");
    assert!(
        e[0].message.contains("`valkey-server`") && e[0].message.contains("redis:8.10.1"),
        "{}",
        e[0].message
    );
    assert!(e[0].hint.contains(".bitnami_chart()"));
    // In Compose the image runs with its own binaries.
    let mut s = Stack::new("shop", Env::Dev);
    s.backing(
        Redis::new(SecretRef::new("shop-secrets", "redis"))
            .redis_image(Image::new("redis").tag("8.10.1")),
    );
    let compose = &yaml(&files(&s)["shop/dev/compose.yaml"])[0];
    let redis = compose_service(compose, "redis");
    assert!(
        redis["command"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("exec redis-server")
    );
    assert_eq!(
        redis["healthcheck"]["test"],
        serde_json::json!(["CMD", "redis-cli", "ping"])
    );
}

fn bitnami_redis(env: Env) -> Stack {
    let mut s = Stack::new("shop", env);
    s.targets([Target::Kubernetes, Target::Terraform]);
    s.backing(Redis::new(SecretRef::new("shop-secrets", "redis-password")).bitnami_chart());
    s
}

#[test]
fn a_bitnami_chart_is_an_explicit_choice_the_cli_warns_about() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = cli(
        Env::Prod,
        &[bitnami_redis],
        &["--quiet", "--out", out.to_str().unwrap(), "--allow-outside"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("warning[bitnami-chart]: shop.services[redis]: `redis` is installed from Bitnami's chart `redis` 23.1.1"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("bitnamilegacy")
            && run.stderr.contains("hint: drop `.bitnami_chart()`")
    );
    // It renders what was chosen: the chart, its password as a sensitive variable.
    let main = std::fs::read_to_string(out.join("shop/prod/terraform/main.tf")).unwrap();
    assert!(
        main.contains("repository = \"oci://registry-1.docker.io/bitnamicharts\""),
        "{main}"
    );
    assert!(main.contains("name  = \"auth.password\""));
    // The maintained default warns about nothing.
    let plain = |env: Env| {
        let mut s = bitnami_redis(env);
        s.services.clear();
        s.backing(Redis::new(SecretRef::new("shop-secrets", "redis-password")));
        s
    };
    let plan_warnings = stackdsl::validate(&plain(Env::Prod))
        .unwrap()
        .warnings()
        .len();
    assert_eq!(plan_warnings, 0);
}
