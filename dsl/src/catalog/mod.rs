//! The backing-service catalog: Postgres (and PgBouncer), Redis, MongoDB, RabbitMQ, NATS
//! and Kafka, each declared once and rendered right for every target.
//!
//! - **Compose** (and Kubernetes stacks without Terraform): a hardened container with a
//!   health check, a named volume and its password from a secret reference.
//! - **Terraform**: a `helm_release` of a pinned chart, small values files per concern
//!   (topology, resources), passwords passed as sensitive variables; the Kubernetes
//!   manifests then leave the service out and point consumers at the chart's Service.
//!
//! Each item returns a typed handle whose URL builders make consumers' connection strings
//! with the password as a secret reference, so the same declaration wires every consumer in
//! every target.
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
//! ```

mod backup;
mod helm;
mod pgbouncer;
mod postgres;
mod redis;

pub use helm::{Helm, HelmOverrides};
pub use kafka::{Kafka, KafkaRef};
pub use mongodb::{MongoDb, MongoRef};
pub use nats::{Nats, NatsRef};
pub use pgbouncer::PgBouncer;
pub use postgres::{Postgres, PostgresRef};
pub use rabbitmq::{RabbitMq, RabbitRef};
pub use redis::{Redis, RedisRef};
mod kafka;
mod mongodb;
mod nats;
mod rabbitmq;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::builder::Conditional;
use crate::model::{Cpu, Memory, Resources, Stack, ValuesFile};

/// Bitnami's chart registry.
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

pub(super) fn pod_labels(release: &str, chart: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/instance".to_owned(), release.to_owned()),
        ("app.kubernetes.io/name".to_owned(), chart.to_owned()),
    ])
}

pub(super) fn values(concern: &str, values: Value) -> ValuesFile {
    ValuesFile {
        concern: concern.to_owned(),
        values,
    }
}

pub(super) fn sized(cpu: (u32, u32), memory_mi: (u64, u64)) -> Resources {
    Resources::requests(Cpu::m(cpu.0), Memory::mi(memory_mi.0))
        .limits(Cpu::m(cpu.1), Memory::mi(memory_mi.1))
}
