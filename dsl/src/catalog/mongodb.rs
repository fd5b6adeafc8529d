//! MongoDB: a container, or a replica set run by MongoDB's own operator where the stack
//! renders Terraform; and its connection URLs.
//!
//! # Sources
//!
//! - **Compose** (and Kubernetes without Terraform): Docker's official `mongo:8.0.29` (the
//!   8.0 long-term line; user `mongodb`, uid 999) with a root user.
//! - **Terraform**: MongoDB Controllers for Kubernetes (MCK) 1.10.0, MongoDB's operator, from
//!   its chart `mongodb-kubernetes` (`oci://quay.io/mongodb/helm-charts`) in namespace
//!   `mongodb`, watching every namespace and only `MongoDBCommunity` resources. The
//!   manifests carry a `MongoDBCommunity` (`mongodbcommunity.mongodb.com/v1`): a replica
//!   set of [`MongoDb::members`] running MongoDB Community 8.0.29 with SCRAM authentication
//!   and the same root user, whose password the operator reads from the stack's own Secret
//!   key (`passwordSecretRef`). Consumers connect through the operator's `<name>-svc`
//!   Service. Why: it is MongoDB's own, and it replaced the community operator, whose
//!   best-effort support ended in November 2025.
//! - **Namespace**: the database pods run as the ServiceAccount `mongodb-kubernetes-appdb`,
//!   which the chart creates only in the namespaces it is told about; Terraform creates it
//!   in the stack's namespace with its Role (read Secrets; get, patch and delete Pods —
//!   the agent's readiness probe annotates its own Pod).
//! - **NetworkPolicies**: the members (`app: <name>-svc`) reach each other and the
//!   Kubernetes API server; the operator talks only to the API server.

use serde_json::json;

use super::{BackingService, labels, resources_json, sized};
use crate::model::{
    BackingKind, BackingSpec, Backup, CiService, CustomResource, HelmChart, Image, Install, Memory,
    Mount, Operated, Operator, OperatorSource, Port, Probe, Release, Resources, RoleRule,
    SecretRef, Security, Service, ServiceAccountGrant, ServiceRef, Stack, Url,
};

/// Docker's official image: the 8.0 long-term line.
const IMAGE: (&str, &str) = ("mongo", "8.0.29");
/// The MongoDB Community version the operator runs (its `mongodb-community-server` image).
const VERSION: &str = "8.0.29";
const UID: u32 = 999;

/// MongoDB with a root user. See the [module docs](self) for where it comes from.
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct MongoDb {
    name: String,
    user: String,
    password: SecretRef,
    image: Option<Image>,
    uid: u32,
    members: u32,
    storage: Memory,
    resources: Resources,
    backup: Option<Backup>,
    bitnami: bool,
}

impl MongoDb {
    /// Root user `user` with `password`.
    pub fn new(user: impl Into<String>, password: SecretRef) -> Self {
        MongoDb {
            name: "mongo".into(),
            user: user.into(),
            password,
            image: None,
            uid: UID,
            members: 1,
            storage: Memory::gi(20),
            resources: sized((250, 1000), (512, 2048)),
            backup: None,
            bitnami: false,
        }
    }

    /// Backs every database up on a schedule with `mongodump` (a CronJob in Kubernetes).
    pub fn backup(mut self, policy: Backup) -> Self {
        self.backup = Some(policy);
        self
    }

    /// Service name (default `mongo`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Runs `image` in Compose (and Kubernetes without Terraform) instead of `mongo:8.0.29`,
    /// e.g. a build with extra tooling. Under Terraform the operator runs MongoDB's
    /// Community Server image of the same release line.
    pub fn image(mut self, image: Image) -> Self {
        self.image = Some(image);
        self
    }

    /// The uid of the image's `mongodb` user (default 999, as in Docker's official image).
    pub fn run_as_user(mut self, uid: u32) -> Self {
        self.uid = uid;
        self
    }

    /// Replica-set members under Terraform (default 1; Compose runs one).
    pub fn members(mut self, n: u32) -> Self {
        self.members = n;
        self
    }

    /// Volume size (default 20 GiB).
    pub fn storage(mut self, size: Memory) -> Self {
        self.storage = size;
        self
    }

    /// CPU and memory.
    pub fn resources(mut self, r: Resources) -> Self {
        self.resources = r;
        self
    }

    /// Installs it with Bitnami's `mongodb` chart instead of MongoDB's operator. Bitnami's
    /// versioned images stopped getting fixes on 2025-08-28; validation warns about it.
    pub fn bitnami_chart(mut self) -> Self {
        self.bitnami = true;
        self
    }

    /// The `MongoDBCommunity` resource: a SCRAM replica set with the root user.
    fn community(&self) -> CustomResource {
        CustomResource::new(
            "mongodbcommunity.mongodb.com/v1",
            "MongoDBCommunity",
            &self.name,
            json!({
                "members": self.members,
                "type": "ReplicaSet",
                "version": VERSION,
                "security": { "authentication": { "modes": ["SCRAM"] } },
                "users": [{
                    "name": self.user,
                    "db": "admin",
                    "passwordSecretRef": { "name": self.password.name(), "key": self.password.key() },
                    "roles": [{ "name": "root", "db": "admin" }],
                    "scramCredentialsSecretName": format!("{}-{}", self.name, self.user),
                }],
                "statefulSet": { "spec": {
                    "template": { "spec": { "containers": [
                        { "name": "mongod", "resources": resources_json(&self.resources) },
                    ] } },
                    "volumeClaimTemplates": [{
                        "metadata": { "name": "data-volume" },
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": { "requests": { "storage": self.storage.to_string() } },
                        },
                    }],
                } },
            }),
        )
    }
}

/// A MongoDB in a stack.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MongoRef {
    /// The service.
    pub service: ServiceRef,
    /// Its port.
    pub port: Port,
    /// Root user.
    pub user: String,
    /// Root password.
    pub password: SecretRef,
}

impl MongoRef {
    /// `mongodb://<user>:<password>@<host>:27017/<database>?authSource=admin`.
    pub fn url(&self, database: &str) -> Url {
        self.service
            .endpoint(self.port)
            .url()
            .scheme("mongodb")
            .user(&self.user)
            .password(&self.password)
            .path(format!("/{database}?authSource=admin"))
    }
}

/// MongoDB Controllers for Kubernetes: one operator for every namespace, reconciling
/// `MongoDBCommunity` only.
fn controllers() -> Operator {
    Operator {
        name: "mongodb-kubernetes".into(),
        product: "MongoDB Controllers for Kubernetes".into(),
        namespace: "mongodb".into(),
        source: OperatorSource::Chart(Release::new(
            HelmChart::new(
                "oci://quay.io/mongodb/helm-charts",
                "mongodb-kubernetes",
                "1.10.0",
            ),
            vec![
                super::values(
                    "watch",
                    json!({ "operator": {
                        "watchNamespace": "*",
                        "watchedResources": ["mongodbcommunity"],
                    } }),
                ),
                super::values(
                    "resources",
                    json!({ "operator": { "resources": resources_json(&sized((500, 1100), (200, 1024))) } }),
                ),
            ],
        )),
        pod_labels: labels(&[("app.kubernetes.io/name", "mongodb-kubernetes-operator")]),
        ports: Vec::new(),
    }
}

impl BackingService for MongoDb {
    type Handle = MongoRef;
    fn install(self, s: &mut Stack) -> MongoRef {
        let port = Port::tcp("mongo", 27017);
        let ping = Probe::exec(["mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]);
        let image = self
            .image
            .clone()
            .unwrap_or_else(|| Image::new(IMAGE.0).tag(IMAGE.1));
        let ci = Some(CiService {
            env: vec![
                ("MONGO_INITDB_ROOT_USERNAME".into(), self.user.clone()),
                (
                    "MONGO_INITDB_ROOT_PASSWORD".into(),
                    CiService::PASSWORD.into(),
                ),
            ],
            health_cmd: Some("mongosh --quiet --eval \"db.adminCommand('ping').ok\"".into()),
            password: true,
        });
        let spec = if self.bitnami {
            let release = super::bitnami::mongodb(
                &self.name,
                &self.user,
                &self.password,
                &self.resources,
                self.storage,
            );
            super::bitnami::spec(&self.name, "mongodb", release, "", BackingKind::MongoDb, ci)
        } else {
            BackingSpec {
                kind: BackingKind::MongoDb,
                install: Install::Operator(Operated {
                    operator: controllers(),
                    resources: vec![self.community()],
                    api_server: true,
                    service_account: Some(ServiceAccountGrant {
                        name: "mongodb-kubernetes-appdb".into(),
                        rules: vec![
                            RoleRule::new("", &["secrets"], &["get"]),
                            RoleRule::new("", &["pods"], &["delete", "get", "patch"]),
                        ],
                    }),
                }),
                host: format!("{}-svc", self.name),
                pod_labels: labels(&[("app", &format!("{}-svc", self.name))]),
                reads: vec![self.password.clone()],
                shaped_secrets: Vec::new(),
                ci,
                not_installable: None,
            }
        };
        let service = s.add(
            Service::new(self.name.clone())
                .image(image.clone())
                .port(port)
                .env("MONGO_INITDB_ROOT_USERNAME", &self.user)
                .env("MONGO_INITDB_ROOT_PASSWORD", &self.password)
                .readiness(ping.clone().period(10).timeout(5))
                .liveness(ping.period(20).timeout(10))
                .mount(
                    Mount::persistent(format!("{}-data", self.name), "/data/db").size(self.storage),
                )
                .mount(Mount::scratch("/data/configdb"))
                .mount(Mount::scratch("/tmp"))
                // The image's `mongodb` user.
                .security(
                    Security::restricted()
                        .run_as_user(self.uid)
                        .fs_group(self.uid),
                )
                .resources(self.resources)
                .backing(spec),
        );
        super::backup::attach(s, &service, self.backup, || {
            super::backup::mongo(&service, port, image, &self.user, &self.password, self.uid)
        });
        MongoRef {
            service,
            port,
            user: self.user,
            password: self.password,
        }
    }
}
