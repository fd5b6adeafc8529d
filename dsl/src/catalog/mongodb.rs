//! MongoDB: a container or a Helm release, and its connection URLs.

use serde_json::json;

use super::{BITNAMI, BackingService, pod_labels, resources_json, sized, values};
use crate::model::{
    BackingKind, BackingSpec, Backup, CiService, HelmChart, Image, Memory, Mount, Port, Probe,
    Resources, SecretRef, Security, Service, ServiceRef, Stack, Url,
};

/// MongoDB 7 with a root user. Chart: bitnami `mongodb` (standalone).
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct MongoDb {
    name: String,
    user: String,
    password: SecretRef,
    storage: Memory,
    resources: Resources,
    backup: Option<Backup>,
}

impl MongoDb {
    /// Root user `user` with `password`.
    pub fn new(user: impl Into<String>, password: SecretRef) -> Self {
        MongoDb {
            name: "mongo".into(),
            user: user.into(),
            password,
            storage: Memory::gi(20),
            resources: sized((250, 1000), (512, 2048)),
            backup: None,
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

impl BackingService for MongoDb {
    type Handle = MongoRef;
    fn install(self, s: &mut Stack) -> MongoRef {
        let port = Port::tcp("mongo", 27017);
        let ping = Probe::exec(["mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]);
        let image = Image::new("mongo").tag("7.0.16");
        let spec = BackingSpec {
            kind: BackingKind::MongoDb,
            chart: HelmChart::new(BITNAMI, "mongodb", "17.0.2"),
            values: vec![
                values(
                    "topology",
                    json!({
                        "fullnameOverride": self.name,
                        "architecture": "standalone",
                        "auth": { "enabled": true, "rootUser": self.user },
                        "networkPolicy": { "enabled": false },
                    }),
                ),
                values(
                    "resources",
                    json!({
                        "resources": resources_json(&self.resources),
                        "persistence": { "size": self.storage.to_string() },
                    }),
                ),
            ],
            sensitive: vec![("auth.rootPassword".into(), self.password.clone())],
            host_suffix: String::new(),
            pod_labels: pod_labels(&self.name, "mongodb"),
            ci: Some(CiService {
                env: vec![
                    ("MONGO_INITDB_ROOT_USERNAME".into(), self.user.clone()),
                    (
                        "MONGO_INITDB_ROOT_PASSWORD".into(),
                        CiService::PASSWORD.into(),
                    ),
                ],
                health_cmd: Some("mongosh --quiet --eval \"db.adminCommand('ping').ok\"".into()),
                password: true,
            }),
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
                .security(Security::restricted().run_as_user(999).fs_group(999))
                .resources(self.resources)
                .backing(spec),
        );
        super::backup::attach(s, &service, self.backup, || {
            super::backup::mongo(&service, port, image, &self.user, &self.password, 999)
        });
        MongoRef {
            service,
            port,
            user: self.user,
            password: self.password,
        }
    }
}
