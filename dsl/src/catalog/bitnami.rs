//! Bitnami's charts, kept only as an explicit choice (`.bitnami_chart()` on a catalog
//! item): since 2025-08-28 (bitnami/charts#35164) their versioned images live in the
//! unmaintained `bitnamilegacy` repository, so an install pins images that get no fixes.
//! Validation reports every use as a warning ([`crate::validate`]). The values are the ones
//! these charts took before the catalog moved to maintained sources.

use serde_json::json;

use super::{BITNAMI, pod_labels, resources_json, values};
use crate::model::{
    BackingKind, BackingSpec, CiService, HelmChart, Install, Memory, Release, Resources, SecretRef,
};

/// What every Bitnami chart needs from its product: release name, chart, the release, and
/// the suffix its primary Service has.
pub(super) fn spec(
    name: &str,
    chart: &str,
    release: Release,
    host_suffix: &str,
    kind: BackingKind,
    ci: Option<CiService>,
) -> BackingSpec {
    BackingSpec {
        kind,
        install: Install::Chart(release),
        host: format!("{name}{host_suffix}"),
        pod_labels: pod_labels(name, chart),
        reads: Vec::new(),
        shaped_secrets: Vec::new(),
        ci,
        not_installable: None,
    }
}

fn chart(name: &str, version: &str) -> HelmChart {
    HelmChart::new(BITNAMI, name, version)
}

/// Volume size and resources of one kind of pod (`primary`, `master`, …) in a values file.
fn sized(resources: &Resources, storage: Memory) -> serde_json::Value {
    json!({
        "resources": resources_json(resources),
        "persistence": { "size": storage.to_string() },
    })
}

/// `postgresql` 17.1.0: a role and database, optional streaming read replicas.
pub(super) fn postgres(
    name: &str,
    (database, user): (&str, &str),
    password: &SecretRef,
    read_replicas: u32,
    resources: &Resources,
    storage: Memory,
) -> Release {
    let replication = read_replicas > 0;
    let mut release = Release::new(
        chart("postgresql", "17.1.0"),
        vec![
            values(
                "topology",
                json!({
                    "fullnameOverride": name,
                    "architecture": if replication { "replication" } else { "standalone" },
                    "auth": { "enablePostgresUser": false, "username": user, "database": database },
                    "readReplicas": { "replicaCount": read_replicas },
                    "networkPolicy": { "enabled": false },
                }),
            ),
            values(
                "resources",
                json!({
                    "primary": sized(resources, storage),
                    "readReplicas": sized(resources, storage),
                }),
            ),
        ],
    )
    .sensitive("auth.password", password.clone());
    if replication {
        let repl = SecretRef::new(password.name(), "postgres-replication-password")
            .describe("Password of the Postgres replication role");
        release = release.sensitive("auth.replicationPassword", repl);
    }
    release
}

/// `redis` 23.1.1: a master, optional replicas, the stack's configuration lines.
pub(super) fn redis(
    name: &str,
    password: Option<&SecretRef>,
    replicas: u32,
    config: &[String],
    resources: &Resources,
    storage: Memory,
) -> Release {
    let release = Release::new(
        chart("redis", "23.1.1"),
        vec![
            values(
                "topology",
                json!({
                    "fullnameOverride": name,
                    "architecture": if replicas > 0 { "replication" } else { "standalone" },
                    "auth": { "enabled": password.is_some(), "sentinel": false },
                    "commonConfiguration": config.join("\n"),
                    "replica": { "replicaCount": replicas },
                    "networkPolicy": { "enabled": false },
                }),
            ),
            values(
                "resources",
                json!({ "master": sized(resources, storage), "replica": sized(resources, storage) }),
            ),
        ],
    );
    match password {
        Some(p) => release.sensitive("auth.password", p.clone()),
        None => release,
    }
}

/// `mongodb` 17.0.2: a standalone server with a root user.
pub(super) fn mongodb(
    name: &str,
    user: &str,
    password: &SecretRef,
    resources: &Resources,
    storage: Memory,
) -> Release {
    Release::new(
        chart("mongodb", "17.0.2"),
        vec![
            values(
                "topology",
                json!({
                    "fullnameOverride": name,
                    "architecture": "standalone",
                    "auth": { "enabled": true, "rootUser": user },
                    "networkPolicy": { "enabled": false },
                }),
            ),
            values("resources", sized(resources, storage)),
        ],
    )
    .sensitive("auth.rootPassword", password.clone())
}

/// `rabbitmq` 16.0.16: nodes sharing an Erlang cookie, a default user.
pub(super) fn rabbitmq(
    name: &str,
    (user, password): (&str, &SecretRef),
    erlang_cookie: &SecretRef,
    replicas: u32,
    resources: &Resources,
    storage: Memory,
) -> Release {
    Release::new(
        chart("rabbitmq", "16.0.16"),
        vec![
            values(
                "topology",
                json!({
                    "fullnameOverride": name,
                    "replicaCount": replicas,
                    "auth": { "username": user },
                    "networkPolicy": { "enabled": false },
                }),
            ),
            values("resources", sized(resources, storage)),
        ],
    )
    .sensitive("auth.password", password.clone())
    .sensitive("auth.erlangCookie", erlang_cookie.clone())
}

/// `kafka` 32.4.4: combined KRaft controller/broker nodes, plaintext clients.
pub(super) fn kafka(name: &str, replicas: u32, resources: &Resources, storage: Memory) -> Release {
    Release::new(
        chart("kafka", "32.4.4"),
        vec![
            values(
                "topology",
                json!({
                    "fullnameOverride": name,
                    "controller": { "replicaCount": replicas },
                    "listeners": { "client": { "protocol": "PLAINTEXT" } },
                    "networkPolicy": { "enabled": false },
                }),
            ),
            values(
                "resources",
                json!({ "controller": sized(resources, storage) }),
            ),
        ],
    )
}
