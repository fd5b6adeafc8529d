//! Where Kubernetes Secrets come from: without a [`SecretStore`] the cluster owner creates
//! them (the Kubernetes README lists `kubectl create secret` commands); with one, the
//! External Secrets Operator syncs each of them from the store (one `ExternalSecret` per
//! Secret, `external-secrets.io/v1`). Workloads read them the same way either way
//! (`secretKeyRef`).

use super::Window;

/// The kind of store an `ExternalSecret` reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKind {
    /// A `ClusterSecretStore`: one store for every namespace.
    Cluster,
    /// A `SecretStore` in the stack's namespace.
    Namespaced,
}

impl StoreKind {
    /// The store's kind as `secretStoreRef.kind` spells it.
    pub const fn kind(self) -> &'static str {
        match self {
            StoreKind::Cluster => "ClusterSecretStore",
            StoreKind::Namespaced => "SecretStore",
        }
    }
}

/// How a Secret's keys are named in the store.
///
/// ```
/// use stackdsl::prelude::*;
/// let key = SecretRef::new("shop-secrets", "db-password");
/// let store = SecretStore::cluster("vault").prefix("shop/prod/");
/// assert_eq!(store.remote(&key), ("shop/prod/shop-secrets".to_owned(), Some("db-password".to_owned())));
/// let store = store.remote_key(RemoteKey::per_key("-"));
/// assert_eq!(store.remote(&key), ("shop/prod/shop-secrets-db-password".to_owned(), None));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteKey {
    /// One remote secret per Kubernetes Secret (`<prefix><secret>`), one property per key
    /// (`remoteRef.property`). The default: Vault KV v2 and AWS Secrets Manager, the most
    /// used providers, hold a JSON object per secret, and one remote secret per Secret keeps
    /// an application's keys (and their access policy) together.
    Property,
    /// One remote secret per key: `<prefix><secret><separator><key>`. For stores whose
    /// secrets hold one value each (GCP Secret Manager and Azure Key Vault, whose names
    /// allow no `/`: use `-` there).
    PerKey {
        /// Between the Secret's name and the key.
        separator: String,
    },
}

impl RemoteKey {
    /// One remote secret per key, `<prefix><secret><separator><key>`.
    pub fn per_key(separator: impl Into<String>) -> Self {
        RemoteKey::PerKey {
            separator: separator.into(),
        }
    }
}

/// The store every Secret of the stack is synced from by the External Secrets Operator.
/// Set it with [`KubernetesOptions::secret_store`](super::KubernetesOptions::secret_store).
///
/// ```
/// use stackdsl::prelude::*;
/// let mut s = Stack::new("shop", Env::Prod);
/// s.kubernetes(|k| k.secret_store(SecretStore::cluster("vault").prefix("shop/prod/")));
/// let store = s.kubernetes.secret_store.as_ref().unwrap();
/// assert_eq!((store.kind.kind(), store.refresh.to_string()), ("ClusterSecretStore", "1h".to_owned()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretStore {
    /// `ClusterSecretStore` or `SecretStore`.
    pub kind: StoreKind,
    /// The store's name (it exists in the cluster; the stack does not render it).
    pub name: String,
    /// Prepended to every remote key, e.g. `shop/prod/` (default none).
    pub prefix: String,
    /// How keys are named in the store (default [`RemoteKey::Property`]).
    pub remote_key: RemoteKey,
    /// How often the operator re-reads the store (default one hour, the operator's own
    /// default), so a rotated value reaches the Secret.
    pub refresh: Window,
}

impl SecretStore {
    fn new(kind: StoreKind, name: impl Into<String>) -> Self {
        SecretStore {
            kind,
            name: name.into(),
            prefix: String::new(),
            remote_key: RemoteKey::Property,
            refresh: Window::hours(1),
        }
    }

    /// The `ClusterSecretStore` named `name`.
    pub fn cluster(name: impl Into<String>) -> Self {
        SecretStore::new(StoreKind::Cluster, name)
    }

    /// The `SecretStore` named `name` in the stack's namespace.
    pub fn namespaced(name: impl Into<String>) -> Self {
        SecretStore::new(StoreKind::Namespaced, name)
    }

    /// Prepends `prefix` to every remote key (e.g. the environment: `shop/prod/`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How keys are named in the store.
    pub fn remote_key(mut self, remote_key: RemoteKey) -> Self {
        self.remote_key = remote_key;
        self
    }

    /// How often the operator re-reads the store.
    pub fn refresh(mut self, every: Window) -> Self {
        self.refresh = every;
        self
    }

    /// Where `secret` is in the store: the remote key, and the property within it.
    pub fn remote(&self, secret: &super::SecretRef) -> (String, Option<String>) {
        match &self.remote_key {
            RemoteKey::Property => (
                format!("{}{}", self.prefix, secret.name()),
                Some(secret.key().to_owned()),
            ),
            RemoteKey::PerKey { separator } => (
                format!(
                    "{}{}{separator}{}",
                    self.prefix,
                    secret.name(),
                    secret.key()
                ),
                None,
            ),
        }
    }
}
