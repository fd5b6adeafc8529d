//! PostgreSQL: a Compose/Kubernetes container, or a CloudNativePG cluster where the stack
//! renders Terraform; and its connection URLs.
//!
//! # Sources
//!
//! - **Compose** (and Kubernetes without Terraform): Docker's official `postgres:18.6-alpine`
//!   (uid 70). PostgreSQL 18's image keeps its data under `/var/lib/postgresql/18/docker`
//!   and wants its volume at `/var/lib/postgresql`; an image of 17 or older gets it at
//!   `/var/lib/postgresql/data` with `PGDATA` below it.
//! - **Terraform**: [CloudNativePG](https://cloudnative-pg.io) 1.30.0, installed by its chart
//!   `cloudnative-pg` 0.29.0 into `cnpg-system` (watching every namespace). The manifests
//!   carry an `ImageCatalog` (the image, with its major version stated rather than read from
//!   the tag, so any tag works) and a `Cluster` of `1 + read_replicas` instances whose
//!   `bootstrap.initdb` creates the database and its owner. Consumers connect to the
//!   operator's `<name>-rw` Service (the primary). Why CloudNativePG: a CNCF operator built
//!   for Postgres alone, with failover, replicas, rolling updates and switchover through the
//!   Kubernetes API; Bitnami's chart (the previous default) pins images that no longer get
//!   fixes. Its default image is `ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie`
//!   (uid 26, the operator's default); a custom image ([`Postgres::image`]) runs with its
//!   own user ([`Postgres::run_as_user`], default 999 as in Debian-based images).
//! - **Secrets**: CloudNativePG reads the owner's credentials from a
//!   `kubernetes.io/basic-auth` Secret `<name>-credentials` (`username`, `password`); the
//!   Kubernetes README says how to create it from the same variable as the stack's password,
//!   so consumers' URLs and the database agree.
//! - **NetworkPolicies**: the operator (namespace `cnpg-system`, pods
//!   `app.kubernetes.io/name: cloudnative-pg`) reaches the instances on 8000 (status) and
//!   5432; the instances (`cnpg.io/cluster: <name>`) reach each other and the Kubernetes API
//!   server (the instance manager watches its `Cluster`).
//!
//! # Backups
//!
//! [`Postgres::backup`] keeps our `pg_dump` CronJob on every target: it works against any
//! Postgres (it connects to `<name>-rw` with the owner's password), writes plain logical
//! dumps restorable anywhere, and is validated like the rest of the manifests.
//! CloudNativePG's own backups (continuous WAL archiving and point-in-time recovery) need
//! its Barman Cloud plugin, cert-manager and an object store (`ObjectStore` CR); the
//! in-tree `spec.backup.barmanObjectStore` is deprecated since 1.26. We do not render those
//! yet; a team that needs point-in-time recovery adds the plugin beside our dumps.

use serde_json::json;

use super::{BackingService, labels, resources_json, sized};
use crate::model::{
    BackingKind, BackingSpec, Backup, CiService, CustomResource, HelmChart, Image, Install, Memory,
    Mount, Operated, Operator, OperatorSource, Port, Probe, Release, Resources, SecretRef,
    Security, Service, ServiceRef, ShapedSecret, Stack, Template, Url,
};

/// The Compose image: Docker's official Postgres 18 on Alpine (user `postgres`, uid 70).
const IMAGE: (&str, &str, u32) = ("postgres", "18.6-alpine", 18);
const ALPINE_UID: u32 = 70;
/// The image CloudNativePG runs by default (1.30.0), and its user.
const CNPG_IMAGE: &str = "ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie";
/// The user of Debian-based Postgres images (Docker's official ones and those built on them).
const DEBIAN_UID: u32 = 999;

/// PostgreSQL: one database and the role that owns it; optional streaming read replicas
/// (Terraform). See the [module docs](self) for where it comes from on each target.
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct Postgres {
    name: String,
    database: String,
    user: Option<String>,
    password: SecretRef,
    image: Option<(Image, u32)>,
    uid: Option<u32>,
    storage: Memory,
    read_replicas: u32,
    resources: Resources,
    backup: Option<Backup>,
    bitnami: bool,
}

impl Postgres {
    /// Database `database`, owned by a role of the same name (see [`Postgres::user`])
    /// whose password is `password`.
    pub fn new(database: impl Into<String>, password: SecretRef) -> Self {
        Postgres {
            name: "postgres".into(),
            database: database.into(),
            user: None,
            password,
            image: None,
            uid: None,
            storage: Memory::gi(10),
            read_replicas: 0,
            resources: sized((250, 1000), (256, 1024)),
            backup: None,
            bitnami: false,
        }
    }

    /// Service name (default `postgres`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The role that owns the database and that clients log in as (default: the
    /// database's name).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Runs `image` instead of the official one, e.g. a Postgres with vector extensions
    /// (`pgvector/pgvector`, `tensorchord/pgvecto-rs`), everywhere: in Compose, and as
    /// CloudNativePG's image under Terraform. `major` is the image's PostgreSQL major
    /// version: it places the data directory in Compose and tells CloudNativePG the
    /// version, whatever the tag says. The image must keep Postgres's binaries on its
    /// `PATH` (CloudNativePG replaces the entrypoint).
    pub fn image(mut self, image: Image, major: u32) -> Self {
        self.image = Some((image, major));
        self
    }

    /// The uid the image's `postgres` user has (default: 70 for the official Alpine image,
    /// 999 for a custom one, as in Debian-based images).
    pub fn run_as_user(mut self, uid: u32) -> Self {
        self.uid = Some(uid);
        self
    }

    /// Volume size (default 10 GiB).
    pub fn storage(mut self, size: Memory) -> Self {
        self.storage = size;
        self
    }

    /// Backs the database up on a schedule with `pg_dump` (a CronJob in Kubernetes).
    pub fn backup(mut self, policy: Backup) -> Self {
        self.backup = Some(policy);
        self
    }

    /// Streaming read replicas beside the primary (Terraform; Compose runs the primary).
    pub fn read_replicas(mut self, n: u32) -> Self {
        self.read_replicas = n;
        self
    }

    /// CPU and memory of each instance.
    pub fn resources(mut self, r: Resources) -> Self {
        self.resources = r;
        self
    }

    /// Installs it with Bitnami's `postgresql` chart instead of CloudNativePG. Bitnami's
    /// versioned images stopped getting fixes on 2025-08-28; validation warns about it.
    pub fn bitnami_chart(mut self) -> Self {
        self.bitnami = true;
        self
    }

    fn owner(&self) -> String {
        self.user.clone().unwrap_or_else(|| self.database.clone())
    }
}

/// A Postgres in a stack.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PostgresRef {
    /// The service.
    pub service: ServiceRef,
    /// Its port.
    pub port: Port,
    /// Database name.
    pub database: String,
    /// The role clients log in as.
    pub user: String,
    /// The role's password.
    pub password: SecretRef,
}

impl PostgresRef {
    /// `postgresql://<user>:<password>@<host>:5432/<database>`.
    pub fn url(&self) -> Url {
        self.service
            .endpoint(self.port)
            .url()
            .scheme("postgresql")
            .user(&self.user)
            .password(&self.password)
            .path(format!("/{}", self.database))
    }
}

/// The CloudNativePG operator: its chart, namespace, pods and the ports it opens to the
/// instances.
fn cloudnative_pg() -> Operator {
    Operator {
        name: "cnpg".into(),
        product: "CloudNativePG".into(),
        namespace: "cnpg-system".into(),
        source: OperatorSource::Chart(Release::new(
            HelmChart::new(
                "https://cloudnative-pg.github.io/charts",
                "cloudnative-pg",
                "0.29.0",
            ),
            vec![super::values(
                "resources",
                json!({ "resources": resources_json(&sized((100, 500), (128, 512))) }),
            )],
        )),
        pod_labels: labels(&[("app.kubernetes.io/name", "cloudnative-pg")]),
        ports: vec![8000, 5432],
    }
}

impl BackingService for Postgres {
    type Handle = PostgresRef;
    fn install(self, s: &mut Stack) -> PostgresRef {
        let port = Port::tcp("postgres", 5432);
        let db = self.database.clone();
        let user = self.owner();
        let custom = self.image.is_some();
        let (image, major) = self.image.clone().unwrap_or_else(|| {
            let (repo, tag, major) = IMAGE;
            (Image::new(repo).tag(tag), major)
        });
        let uid = self
            .uid
            .unwrap_or(if custom { DEBIAN_UID } else { ALPINE_UID });
        let ready = Probe::exec(["pg_isready", "-U", &user, "-d", &db]);
        let kind = BackingKind::Postgres {
            database: db.clone(),
            user: user.clone(),
            password: self.password.clone(),
            major_version: major,
        };
        let ci = Some(CiService {
            env: vec![
                ("POSTGRES_DB".into(), db.clone()),
                ("POSTGRES_USER".into(), user.clone()),
                ("POSTGRES_PASSWORD".into(), CiService::PASSWORD.into()),
            ],
            health_cmd: Some(format!("pg_isready -U {user} -d {db}")),
            password: true,
        });
        let spec = if self.bitnami {
            let release = super::bitnami::postgres(
                &self.name,
                (&db, &user),
                &self.password,
                self.read_replicas,
                &self.resources,
                self.storage,
            );
            let suffix = if self.read_replicas > 0 {
                "-primary"
            } else {
                ""
            };
            super::bitnami::spec(&self.name, "postgresql", release, suffix, kind, ci)
        } else {
            let instances = 1 + self.read_replicas;
            let credentials = format!("{}-credentials", self.name);
            let mut cluster = json!({
                "instances": instances,
                "imageCatalogRef": {
                    "apiGroup": "postgresql.cnpg.io",
                    "kind": "ImageCatalog",
                    "name": self.name,
                    "major": major,
                },
                "enableSuperuserAccess": false,
                // A single instance has nothing to fail over to: a budget would only block
                // node drains.
                "enablePDB": instances > 1,
                "bootstrap": { "initdb": { "database": db, "owner": user, "secret": { "name": credentials } } },
                "storage": { "size": self.storage.to_string() },
                "resources": resources_json(&self.resources),
            });
            if custom {
                cluster["postgresUID"] = json!(uid);
                cluster["postgresGID"] = json!(uid);
            }
            let operand = if custom {
                image.to_string()
            } else {
                CNPG_IMAGE.to_owned()
            };
            BackingSpec {
                kind,
                install: Install::Operator(Operated {
                    operator: cloudnative_pg(),
                    resources: vec![
                        CustomResource::new(
                            "postgresql.cnpg.io/v1",
                            "ImageCatalog",
                            &self.name,
                            json!({ "images": [{ "major": major, "image": operand }] }),
                        ),
                        CustomResource::new(
                            "postgresql.cnpg.io/v1",
                            "Cluster",
                            &self.name,
                            cluster,
                        ),
                    ],
                    api_server: true,
                    service_account: None,
                }),
                host: format!("{}-rw", self.name),
                pod_labels: labels(&[("cnpg.io/cluster", &self.name)]),
                reads: Vec::new(),
                shaped_secrets: vec![
                    ShapedSecret::new(credentials)
                        .kind("kubernetes.io/basic-auth")
                        .key("username", Template::new().text(&user))
                        .key("password", Template::new().secret(&self.password)),
                ],
                ci,
                not_installable: None,
            }
        };
        let mut svc = Service::new(self.name.clone())
            .image(image.clone())
            .port(port)
            .env("POSTGRES_DB", &db)
            .env("POSTGRES_USER", &user)
            .env("POSTGRES_PASSWORD", &self.password);
        // PostgreSQL 18's images keep their data in a versioned folder below the volume.
        svc = if major >= 18 {
            svc.mount(
                Mount::persistent(format!("{}-data", self.name), "/var/lib/postgresql")
                    .size(self.storage),
            )
        } else {
            svc.env("PGDATA", "/var/lib/postgresql/data/pgdata").mount(
                Mount::persistent(format!("{}-data", self.name), "/var/lib/postgresql/data")
                    .size(self.storage),
            )
        };
        let service = s.add(
            svc.readiness(ready.clone().period(5))
                .liveness(ready.period(10).timeout(5))
                .mount(Mount::scratch("/var/run/postgresql"))
                .mount(Mount::scratch("/tmp"))
                // The image's `postgres` user owns the data directory.
                .security(Security::restricted().run_as_user(uid).fs_group(uid))
                .resources(self.resources)
                .backing(spec),
        );
        super::backup::attach(s, &service, self.backup, || {
            super::backup::postgres(&service, port, image, &db, &user, &self.password, uid)
        });
        PostgresRef {
            service,
            port,
            database: db,
            user,
            password: self.password,
        }
    }
}
