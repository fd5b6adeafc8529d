//! The backing-service catalog: Postgres (and PgBouncer), Redis (Valkey), MongoDB, RabbitMQ,
//! NATS and Kafka, each declared once and rendered right for every target.
//!
//! - **Compose** (and Kubernetes stacks without Terraform): a hardened container of the
//!   product's official image, with a health check, a named volume and its password from a
//!   secret reference.
//! - **Terraform**: a maintained installation, chosen per product below. Terraform installs
//!   the operator (or the product's own chart) with a pinned `helm_release` and small values
//!   files per concern; where an operator runs the service, the Kubernetes manifests carry
//!   its custom resources (`25-backing-services.yaml`) in the stack's namespace, and the
//!   service's own workload leaves them. Consumers point at the Service the operator or
//!   chart creates ([`BackingSpec::host`](crate::model::BackingSpec::host)).
//!
//! # Where each product comes from, and why
//!
//! Bitnami's free catalog changed on 2025-08-28 (bitnami/charts#35164): its versioned images
//! moved to the unmaintained `bitnamilegacy` repository, so its pinned charts install images
//! that no longer get fixes (or fail to pull). Each product's default is therefore a source
//! its own project (or a CNCF project built for it) maintains; versions are the newest
//! releases confirmed in the projects' repositories (tags up to 2026-08-22) and Docker's
//! official-images library (2026-08-21).
//!
//! | product | Compose image | installed by Terraform as | why |
//! |---|---|---|---|
//! | [`Postgres`] | `postgres:18.6-alpine` | CloudNativePG 1.30.0 (chart `cloudnative-pg` 0.29.0, namespace `cnpg-system`); a `Cluster` and an `ImageCatalog` (`ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie`) | a CNCF operator built for Postgres: failover, replicas and rolling updates through the Kubernetes API, no external consensus store |
//! | [`PgBouncer`] | `edoburu/pgbouncer:v1.23.1-p3` | manifests (an ordinary service) | stateless; runs the same everywhere |
//! | [`Redis`] | `valkey/valkey:9.1.1-alpine` | Valkey's chart `valkey` 0.11.0 (`https://valkey.io/valkey-helm/`) | Valkey is the BSD-licensed, wire-compatible continuation of Redis under the Linux Foundation; the chart is the project's own. Redis's own images (AGPL/RSAL/SSPL) remain a choice with [`Redis::redis_image`] |
//! | [`MongoDb`] | `mongo:8.0.29` | MongoDB Controllers for Kubernetes 1.10.0 (`oci://quay.io/mongodb/helm-charts`, chart `mongodb-kubernetes`, namespace `mongodb`); a `MongoDBCommunity` | MongoDB's own operator; it replaced the community operator, whose support ended in November 2025 |
//! | [`RabbitMq`] | `rabbitmq:4.2.9-management` | RabbitMQ Cluster Operator v2.22.3 (its release manifest, namespace `rabbitmq-system`); a `RabbitmqCluster` | the RabbitMQ team's operator. It publishes no Helm chart (its maintainers removed theirs in 2020 and 2021 and keep the release manifest as the install path, rabbitmq/cluster-operator#1637), so Terraform applies that manifest, pinned to the release, object by object with the kubernetes provider's `kubernetes_manifest` (no third-party provider, no copy of its YAML in the output); it needs cert-manager for its webhook certificate |
//! | [`Nats`] | `nats:2.14.5-alpine` | the NATS project's chart `nats` 2.14.2 (chart versions follow the server's since 2.12.1) | the official chart |
//! | [`Kafka`] | `apache/kafka:4.3.1` | Strimzi 1.2.0 (`oci://quay.io/strimzi-helm`, chart `strimzi-kafka-operator`, namespace `strimzi`); a `Kafka` and a `KafkaNodePool` (`kafka.strimzi.io/v1`, KRaft) | a CNCF operator built for Kafka; `v1` is its only API since 1.0.0, KRaft its only mode |
//!
//! Operators are cluster-wide: Terraform installs them behind `var.install_operators`
//! (default `true`); where another stack or the platform team already runs them in the
//! cluster, set it to `false`. A Bitnami chart stays possible as an explicit choice
//! (`.bitnami_chart()`), which validation reports as a warning.
//!
//! Each item returns a typed handle whose URL builders make consumers' connection strings
//! with the password as a secret reference, so the same declaration wires every consumer in
//! every target. Items take a custom image (e.g. Postgres with vector extensions) and their
//! own user, database and authentication settings:
//!
//! ```
//! use stackdsl::prelude::*;
//! use stackdsl::catalog::{Postgres, Redis};
//!
//! let mut s = Stack::new("shop", Env::Dev);
//! let pg = s.backing(Postgres::new("shop", SecretRef::new("shop-secrets", "postgres-password")));
//! let cache = s.backing(Redis::new(SecretRef::new("shop-secrets", "redis-password")));
//! assert_eq!(pg.url().template().preview(), "postgresql://shop:${SHOP_SECRETS_POSTGRES_PASSWORD}@postgres:5432/shop");
//! assert_eq!(cache.url(0).template().preview(), "redis://:${SHOP_SECRETS_REDIS_PASSWORD}@redis:6379/0");
//!
//! let vectors = s.backing(
//!     Postgres::new("immich", SecretRef::new("shop-secrets", "immich-db-password"))
//!         .name("vectors")
//!         .user("postgres")
//!         .image(Image::new("pgvector/pgvector").tag("0.8.1-pg17"), 17),
//! );
//! assert_eq!(vectors.url().template().preview(), "postgresql://postgres:${SHOP_SECRETS_IMMICH_DB_PASSWORD}@vectors:5432/immich");
//! ```

mod backup;
mod bitnami;
mod helm;
pub mod kafka;
pub mod mongodb;
pub mod nats;
pub mod pgbouncer;
pub mod postgres;
pub mod rabbitmq;
pub mod redis;

pub use helm::{Helm, HelmOverrides};
pub use kafka::{Kafka, KafkaRef};
pub use mongodb::{MongoDb, MongoRef};
pub use nats::{Nats, NatsRef};
pub use pgbouncer::PgBouncer;
pub use postgres::{Postgres, PostgresRef};
pub use rabbitmq::{RabbitMq, RabbitRef};
pub use redis::{Redis, RedisRef};

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::builder::Conditional;
use crate::model::{Cpu, Image, Memory, Resources, Stack, ValuesFile};

/// Bitnami's chart registry: only ever used when a stack chooses it explicitly.
pub const BITNAMI: &str = "oci://registry-1.docker.io/bitnamicharts";

// Catalog items are configured per environment like services are.
impl Conditional for Postgres {}
impl Conditional for PgBouncer {}
impl Conditional for Redis {}
impl Conditional for MongoDb {}
impl Conditional for RabbitMq {}
impl Conditional for Nats {}
impl Conditional for Kafka {}

/// A catalog item: adds itself to a stack and returns a typed handle.
pub trait BackingService {
    /// What consumers use: the service handle and its URL builders.
    type Handle;
    /// Adds the service to `stack`.
    fn install(self, stack: &mut Stack) -> Self::Handle;
}

impl Stack {
    /// Adds a backing service from the [`catalog`](crate::catalog) and returns its handle.
    /// Errors about the services it adds name this call's location.
    #[track_caller]
    pub fn backing<B: BackingService>(&mut self, item: B) -> B::Handle {
        let outer = self.origin_override.replace(crate::model::Origin::caller());
        let handle = item.install(self);
        self.origin_override = outer;
        handle
    }
}

pub(super) fn resources_json(r: &Resources) -> Value {
    let amount = |a: crate::model::Amount| {
        let mut m = serde_json::Map::new();
        if let Some(c) = a.cpu {
            m.insert("cpu".into(), Value::String(c.to_string()));
        }
        if let Some(mem) = a.memory {
            m.insert("memory".into(), Value::String(mem.to_string()));
        }
        Value::Object(m)
    };
    json!({ "requests": amount(r.requests), "limits": amount(r.limits) })
}

pub(super) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Labels of a chart's pods that follow Helm's conventions.
pub(super) fn pod_labels(release: &str, chart: &str) -> BTreeMap<String, String> {
    labels(&[
        ("app.kubernetes.io/instance", release),
        ("app.kubernetes.io/name", chart),
    ])
}

pub(super) fn values(concern: &str, values: Value) -> ValuesFile {
    ValuesFile::new(concern, values)
}

pub(super) fn sized(cpu: (u32, u32), memory_mi: (u64, u64)) -> Resources {
    Resources::requests(Cpu::m(cpu.0), Memory::mi(memory_mi.0))
        .limits(Cpu::m(cpu.1), Memory::mi(memory_mi.1))
}

/// An image as a chart's `image` values: `registry`, `repository` and `tag` (a digest
/// follows the tag, as `<tag>@<digest>`).
pub(super) fn chart_image(image: &Image) -> Value {
    // `ghcr.io/acme/x`: the first path segment names a registry when it looks like a host.
    let full = image.name();
    let (registry, repository) = match full.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => {
            (host.to_owned(), rest.to_owned())
        }
        _ => ("docker.io".to_owned(), full.clone()),
    };
    let tag = match (&image.tag, &image.digest) {
        (Some(t), Some(d)) => format!("{t}@{d}"),
        (Some(t), None) => t.clone(),
        (None, Some(d)) => format!("@{d}"),
        (None, None) => String::new(),
    };
    json!({ "registry": registry, "repository": repository, "tag": tag })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_images_split_the_registry_off_only_when_there_is_one() {
        assert_eq!(
            chart_image(&Image::new("valkey/valkey").tag("9.1.1")),
            json!({ "registry": "docker.io", "repository": "valkey/valkey", "tag": "9.1.1" })
        );
        assert_eq!(
            chart_image(
                &Image::new("ghcr.io/acme/cache")
                    .tag("1")
                    .digest("sha256:ab")
            ),
            json!({ "registry": "ghcr.io", "repository": "acme/cache", "tag": "1@sha256:ab" })
        );
        assert_eq!(
            chart_image(
                &crate::model::Registry::new("registry.local:5000")
                    .image("kv")
                    .tag("2")
            ),
            json!({ "registry": "registry.local:5000", "repository": "kv", "tag": "2" })
        );
    }
}
