//! Google's [Bank of Anthos](https://github.com/GoogleCloudPlatform/bank-of-anthos) v0.6.10,
//! written from its plain manifests (`kubernetes-manifests/`, `extras/jwt/jwt-secret.yaml`)
//! as a stackdsl user would: a Python frontend, three Java ledger services, two Python
//! account services, two Postgres databases with demo data, and a Locust load generator.
//!
//! - **dev** (Compose): the released images, the frontend on `127.0.0.1:8080`, the JWT key
//!   pair from a folder the developer generates (`jwt/`, see the README).
//! - **staging**/**prod** (Kubernetes): the frontend behind a LoadBalancer Service, every
//!   pod as upstream runs it (uid and gid 1000, read-only root filesystem, a writable
//!   `/tmp`, five seconds to stop) and acting as the upstream's Google service account.
//!
//! What the intent API does not say yet is patched in through the typed escape hatches,
//! each marked `Escape hatch` below: the JWT key files from the `jwt-key` Secret, the
//! `NAMESPACE` variable from the downward API, and `ephemeral-storage` requests and limits.
//!
//! `cargo run -p bank-of-anthos` writes `examples/bank-of-anthos/out/`.

use stackdsl::catalog::{Postgres, PostgresRef};
use stackdsl::k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, KeyToPath, ObjectFieldSelector, PodSpec, SecretVolumeSource, Volume,
    VolumeMount,
};
use stackdsl::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use stackdsl::model::{Exposure, ServiceAccount};
use stackdsl::prelude::*;

/// The release every image is pinned to.
pub const VERSION: &str = "v0.6.10";

/// Where upstream publishes the images.
pub fn registry() -> Registry {
    Registry::new("us-central1-docker.pkg.dev/bank-of-anthos-ci/bank-of-anthos")
}

/// The Secret with the databases' passwords (upstream writes them into ConfigMaps).
pub const SECRETS: Secrets = Secrets::external("bank-of-anthos");

/// The Secret with the JWT key pair (`jwtRS256.key`, `jwtRS256.key.pub`), created as
/// upstream's `extras/jwt/README.md` says; the stack only references it.
pub const JWT_SECRET: &str = "jwt-key";

/// The Google service account the application pods act as (GKE Workload Identity).
pub const GCP_SERVICE_ACCOUNT: &str =
    "gke-workload-development@bank-of-anthos-ci.iam.gserviceaccount.com";

/// The bank's routing number, shared by every service and the demo data.
pub const LOCAL_ROUTING_NUM: &str = "883745000";

/// Where the services read the JWT keys (a folder mounted inside the writable `/tmp`).
const KEYS: &str = "/tmp/.ssh";

/// Every application serves HTTP on 8080.
///
/// Upstream's probes wait longer for an answer (10 s, the frontend's liveness 30 s) than
/// the period between them (5 s, 15 s); stackdsl refuses a timeout longer than the period,
/// so ours time out at the period.
pub const HTTP: Port = Port::http("http", 8080);

/// A released image, pinned by tag and digest as upstream pins it.
fn image(name: &str, digest: &str) -> Image {
    registry().image(name).tag(VERSION).digest(digest)
}

/// The Bank of Anthos stack for `env`.
pub fn bank_of_anthos(env: Env) -> Stack {
    let dev = env == Env::Dev;
    let mut s = Stack::new("bank-of-anthos", env);
    s.targets(if dev {
        [Target::Compose]
    } else {
        [Target::Kubernetes]
    });

    let accounts_db = database(
        &mut s,
        Postgres::new(
            "accounts-db",
            SECRETS
                .key("accounts-db-password")
                .describe("Password of the `accounts-admin` role of accounts-db"),
        )
        .name("accounts-db")
        .user("accounts-admin")
        .image(
            image(
                "accounts-db",
                "sha256:d95c4094c75f69069b915ef3adc99a8f95e43077885140cdeeb90d807ea74eff",
            ),
            16,
        )
        .run_as_user(70)
        .storage(Memory::gi(1))
        .resources(
            Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(250), Memory::mi(512)),
        ),
    );
    s.update(&accounts_db.service, |db| {
        db.env("ACCOUNTS_DB_URI", accounts_db.url())
    });

    let ledger_db = database(
        &mut s,
        Postgres::new(
            "postgresdb",
            SECRETS
                .key("ledger-db-password")
                .describe("Password of the `admin` role of ledger-db"),
        )
        .name("ledger-db")
        .user("admin")
        .image(
            image(
                "ledger-db",
                "sha256:891cb7afe34f358ce7ed7002a1923b25e113b30bca44fecb10cc8b116d665a03",
            ),
            16,
        )
        .run_as_user(70)
        .storage(Memory::gi(1))
        .resources(
            Resources::requests(Cpu::m(100), Memory::mi(512)).limits(Cpu::m(250), Memory::gi(1)),
        ),
    );
    // Upstream names the ledger database's container `postgres`.
    s.update(&ledger_db.service, |db| {
        spring_datasource(db, &ledger_db).kubernetes(|k| k.main_container_name("postgres"))
    });

    // The ledger: Spring Boot services on Java 17 (Alpine, so BusyBox `wget` probes in Compose).
    let java = |b: ServiceBuilder<HasImage>| {
        b.env("ENABLE_METRICS", "true")
            .env("JVM_OPTS", "-XX:+UnlockExperimentalVMOptions -XX:+UseCGroupMemoryLimitForHeap -Xms256m -Xmx512m")
            .readiness(Probe::http_get("/ready", HTTP).initial_delay(60).period(5).timeout(5))
            .resources(Resources::requests(Cpu::m(100), Memory::mi(256)).limits(Cpu::m(500), Memory::mi(512)))
            .health_tool(HealthTool::Wget)
            .kubernetes(|k| k.pod(namespace_env).pod(ephemeral_storage("0.5Gi")))
    };
    let balancereader = s.add(
        app(
            "balancereader",
            image(
                "balancereader",
                "sha256:feae443c650786c253bbfa3447d0902dd1689122c13962f97ccc37068d73733b",
            ),
            HTTP,
            dev,
        )
        .apply(java)
        .env("POLL_MS", "100")
        .env("CACHE_SIZE", "1000000")
        .apply(|b| ledger_db_config(b, &ledger_db))
        .liveness(
            Probe::http_get("/healthy", HTTP)
                .initial_delay(120)
                .period(5)
                .timeout(5),
        )
        .startup(
            Probe::http_get("/healthy", HTTP)
                .period(10)
                .failure_threshold(30),
        ),
    );
    let transactionhistory = s.add(
        app(
            "transactionhistory",
            image(
                "transactionhistory",
                "sha256:109cdad9c29a46af2708574ac4635dd73afa30cc020a4fef0266abcde87db744",
            ),
            HTTP,
            dev,
        )
        .apply(java)
        .env("POLL_MS", "100")
        .env("CACHE_SIZE", "1000")
        .env("CACHE_MINUTES", "60")
        .env("HISTORY_LIMIT", "100")
        .apply(|b| ledger_db_config(b, &ledger_db))
        .liveness(
            Probe::http_get("/healthy", HTTP)
                .initial_delay(120)
                .period(5)
                .timeout(5),
        )
        .startup(
            Probe::http_get("/healthy", HTTP)
                .period(10)
                .failure_threshold(30),
        ),
    );

    // The accounts: Python services (slim images without wget or curl: Python probes in Compose).
    let python = |b: ServiceBuilder<HasImage>| {
        b.readiness(
            Probe::http_get("/ready", HTTP)
                .initial_delay(10)
                .period(5)
                .timeout(5),
        )
        .liveness(alive())
        .health_tool(HealthTool::Python)
    };
    let contacts = s.add(
        app(
            "contacts",
            image(
                "contacts",
                "sha256:90d47594270e64f8dafa6da52c89ff70c2483cca0821dff2cc38b1450ac7a6b9",
            ),
            HTTP,
            dev,
        )
        .apply(python)
        .apply(|b| accounts_db_config(b, &accounts_db))
        .resources(
            Resources::requests(Cpu::m(100), Memory::mi(64)).limits(Cpu::m(250), Memory::mi(128)),
        )
        .kubernetes(|k| k.pod(ephemeral_storage("0.25Gi"))),
    );
    let userservice = s.add(
        app(
            "userservice",
            image(
                "userservice",
                "sha256:d8c4412edc46ab105000f721788b73301651cc43b19cee7e7302739f81882dcc",
            ),
            HTTP,
            dev,
        )
        .apply(python)
        .env_not_secret(
            "TOKEN_EXPIRY_SECONDS",
            "3600",
            "a lifetime in seconds, not a token",
        )
        .env("PRIV_KEY_PATH", format!("{KEYS}/privatekey"))
        .apply(|b| accounts_db_config(b, &accounts_db))
        .resources(
            Resources::requests(Cpu::m(260), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256)),
        )
        .kubernetes(|k| k.pod(ephemeral_storage("0.25Gi"))),
    );

    // The ledger writer calls the other services, as the frontend does.
    let apis = Apis {
        transactions: None,
        balances: balancereader,
        history: transactionhistory,
        contacts,
        users: userservice,
    };
    let ledgerwriter = s.add(
        app(
            "ledgerwriter",
            image(
                "ledgerwriter",
                "sha256:eae37de0d9b28fec7534c1ea860868c87279b0a85b405f8fd66c3d7734e3e42f",
            ),
            HTTP,
            dev,
        )
        .apply(java)
        .apply(|b| apis.config(b))
        .apply(|b| ledger_db_config(b, &ledger_db))
        .liveness(alive())
        .startup(
            Probe::http_get("/ready", HTTP)
                .period(10)
                .failure_threshold(30),
        ),
    );
    // Its own address too, as upstream's shared ConfigMap gives every reader all five.
    s.update(&ledgerwriter, |b| {
        b.env("TRANSACTIONS_API_ADDR", &ledgerwriter.endpoint(HTTP))
    });
    let apis = Apis {
        transactions: Some(ledgerwriter),
        ..apis
    };

    // The frontend: clients reach port 80 of a cloud load balancer.
    let web = HTTP.service_port(80);
    let frontend = s.add(
        app(
            "frontend",
            image(
                "frontend",
                "sha256:076294ce717309f711743fa3b72a9809c7f156edf1c4fa58505fd9f436d65345",
            ),
            web,
            dev,
        )
        .env("SCHEME", "http")
        .apply(|b| apis.config(b))
        .config("DEFAULT_USERNAME", "testuser")
        .env_not_secret("DEFAULT_PASSWORD", DEMO_PASSWORD, DEMO_PASSWORD_REASON)
        .readiness(
            Probe::http_get("/ready", web)
                .initial_delay(10)
                .period(5)
                .timeout(5),
        )
        .liveness(
            Probe::http_get("/ready", web)
                .initial_delay(60)
                .period(15)
                .timeout(15),
        )
        .health_tool(HealthTool::Python)
        .resources(
            Resources::requests(Cpu::m(100), Memory::mi(64)).limits(Cpu::m(250), Memory::mi(128)),
        )
        .when(dev, |b| b.publish(web, 8080))
        .kubernetes(|k| {
            k.main_container_name("front")
                .exposure(Exposure::load_balancer())
        }),
    );

    // Locust, against the frontend; it serves nothing, so it has no Service. Upstream gives
    // it no probes; with no port of its own, both check what it needs: the frontend
    // answering (the liveness probe only after five minutes without it).
    let frontend_answers = Probe::exec([
        "python",
        "-c",
        "import os, urllib.request; urllib.request.urlopen('http://' + os.environ['FRONTEND_ADDR'] + '/ready', timeout=5)",
    ])
    .period(30)
    .timeout(10);
    s.add(
        Service::new("loadgenerator")
            .image(image(
                "loadgenerator",
                "sha256:dd7e27f1b1bcbb9c85070eb900a6060d098d06d62ef03f98182424919895df83",
            ))
            .env("FRONTEND_ADDR", &frontend.endpoint(web))
            .env("USERS", "5")
            .env("LOG_LEVEL", "error")
            .readiness(frontend_answers.clone())
            .liveness(frontend_answers.failure_threshold(10))
            .security(
                Security::restricted()
                    .run_as_user(1000)
                    .run_as_group(1000)
                    .fs_group(1000),
            )
            .graceful_shutdown(5)
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(512))
                    .limits(Cpu::m(250), Memory::gi(1)),
            )
            .kubernetes(|k| k.annotation("sidecar.istio.io/rewriteAppHTTPProbers", "true")),
    );
    s
}

/// Liveness where upstream has none (ledgerwriter, contacts, userservice): `/version`,
/// which the service answers itself, without its database or the other services.
fn alive() -> Probe {
    Probe::http_get("/version", HTTP)
        .initial_delay(60)
        .period(15)
        .timeout(5)
}

/// The demo accounts' password: the accounts-db image stores its hash for every demo
/// user, so it is a published fact of the image, not a secret this stack could choose.
const DEMO_PASSWORD: &str = "bankofanthos";
const DEMO_PASSWORD_REASON: &str =
    "the password of the demo accounts, fixed in the accounts-db image and published upstream";

/// A database from the catalog, running upstream's image: Docker's Postgres entrypoint runs
/// its `initdb` scripts (schema and demo data) on the first start. The demo data needs the
/// routing number; upstream passes the demo login to both databases as well.
fn database(s: &mut Stack, db: Postgres) -> PostgresRef {
    let db = s.backing(db);
    s.update(&db.service, |b| {
        environment_config(b)
            .config("USE_DEMO_DATA", "True")
            .config("DEMO_LOGIN_USERNAME", "testuser")
            .env_not_secret("DEMO_LOGIN_PASSWORD", DEMO_PASSWORD, DEMO_PASSWORD_REASON)
    });
    db
}

/// What upstream's ConfigMap `environment-config` gives every service.
fn environment_config(b: ServiceBuilder<HasImage>) -> ServiceBuilder<HasImage> {
    b.config("LOCAL_ROUTING_NUM", LOCAL_ROUTING_NUM)
        .config("PUB_KEY_PATH", format!("{KEYS}/publickey"))
}

/// The variables the Postgres image reads, which upstream also gives the database's
/// clients (the password by reference).
fn postgres_env(b: ServiceBuilder<HasImage>, db: &PostgresRef) -> ServiceBuilder<HasImage> {
    b.config("POSTGRES_DB", &db.database)
        .config("POSTGRES_USER", &db.user)
        .env("POSTGRES_PASSWORD", &db.password)
}

/// What upstream's ConfigMap `accounts-db-config` gives the accounts services.
fn accounts_db_config(b: ServiceBuilder<HasImage>, db: &PostgresRef) -> ServiceBuilder<HasImage> {
    postgres_env(b, db).env("ACCOUNTS_DB_URI", db.url())
}

/// What upstream's ConfigMap `ledger-db-config` gives the ledger services.
fn ledger_db_config(b: ServiceBuilder<HasImage>, db: &PostgresRef) -> ServiceBuilder<HasImage> {
    spring_datasource(postgres_env(b, db), db)
}

/// Spring's connection settings for the ledger database.
fn spring_datasource(b: ServiceBuilder<HasImage>, db: &PostgresRef) -> ServiceBuilder<HasImage> {
    let jdbc = db
        .service
        .endpoint(db.port)
        .url()
        .scheme("jdbc:postgresql")
        .path(format!("/{}", db.database));
    b.env("SPRING_DATASOURCE_URL", jdbc)
        .config("SPRING_DATASOURCE_USERNAME", &db.user)
        .env("SPRING_DATASOURCE_PASSWORD", &db.password)
}

/// The services the frontend and the ledger writer call (upstream's `service-api-config`).
#[derive(Clone)]
struct Apis {
    transactions: Option<ServiceRef>,
    balances: ServiceRef,
    history: ServiceRef,
    contacts: ServiceRef,
    users: ServiceRef,
}

impl Apis {
    fn config(&self, b: ServiceBuilder<HasImage>) -> ServiceBuilder<HasImage> {
        let addr = |s: &ServiceRef| s.endpoint(HTTP);
        let b = match &self.transactions {
            Some(t) => b.env("TRANSACTIONS_API_ADDR", &addr(t)),
            None => b,
        };
        b.env("BALANCES_API_ADDR", &addr(&self.balances))
            .env("HISTORY_API_ADDR", &addr(&self.history))
            .env("CONTACTS_API_ADDR", &addr(&self.contacts))
            .env("USERSERVICE_API_ADDR", &addr(&self.users))
    }
}

/// What the six application services share upstream: port 8080, the common variables, uid
/// and gid 1000 with a read-only root filesystem and a writable `/tmp`, the JWT public
/// key, five seconds to stop, Istio's hold-until-proxy-starts, and the Google identity.
fn app(name: &'static str, image: Image, port: Port, dev: bool) -> ServiceBuilder<HasImage> {
    let private = name == "userservice";
    Service::new(name)
        .image(image)
        .port(port)
        .env("VERSION", VERSION)
        .env("PORT", HTTP.number)
        .env("ENABLE_TRACING", "true")
        .env("LOG_LEVEL", "info")
        .apply(environment_config)
        .mount(Mount::scratch("/tmp"))
        // dev: the key pair the developer generated (see the README); the private key
        // only where it signs tokens.
        .when(dev, |b| {
            b.mount(
                Mount::bind(if private { "jwt/private" } else { "jwt/public" }, KEYS).read_only(),
            )
        })
        .security(
            Security::restricted()
                .run_as_user(1000)
                .run_as_group(1000)
                .fs_group(1000),
        )
        .graceful_shutdown(5)
        .kubernetes(|k| {
            k.annotation(
                "proxy.istio.io/config",
                r#"{ "holdApplicationUntilProxyStarts": true }"#,
            )
            .service_account(ServiceAccount::new().gke(GCP_SERVICE_ACCOUNT))
            .pod(jwt_keys(private))
        })
}

/// Escape hatch: the JWT keys as files. The intent API passes secrets as variables only
/// (`SecretRef`); the services read the keys from files, so the pod mounts Secret
/// `jwt-key` at `/tmp/.ssh`: the public key as `publickey`, and for the service that signs
/// tokens the private key as `privatekey`.
fn jwt_keys(private: bool) -> impl Fn(&mut PodSpec) + Send + Sync + 'static {
    move |pod| {
        let mut files = vec![("jwtRS256.key.pub", "publickey")];
        if private {
            files.insert(0, ("jwtRS256.key", "privatekey"));
        }
        let volume = if private { "keys" } else { "publickey" };
        pod.volumes.get_or_insert_default().push(Volume {
            name: volume.to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(JWT_SECRET.to_owned()),
                items: Some(
                    files
                        .into_iter()
                        .map(|(key, path)| KeyToPath {
                            key: key.to_owned(),
                            path: path.to_owned(),
                            mode: None,
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        });
        for c in &mut pod.containers {
            c.volume_mounts.get_or_insert_default().push(VolumeMount {
                name: volume.to_owned(),
                mount_path: KEYS.to_owned(),
                read_only: Some(true),
                ..Default::default()
            });
        }
    }
}

/// Escape hatch: `NAMESPACE` from the downward API (the Java services tag their traces and
/// metrics with it); the intent API has no `fieldRef` values.
fn namespace_env(pod: &mut PodSpec) {
    for c in &mut pod.containers {
        c.env.get_or_insert_default().push(EnvVar {
            name: "NAMESPACE".to_owned(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "metadata.namespace".to_owned(),
                    api_version: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
}

/// Escape hatch: `ephemeral-storage` requests and limits (`Resources` has CPU and memory).
fn ephemeral_storage(amount: &'static str) -> impl Fn(&mut PodSpec) + Send + Sync + 'static {
    move |pod| {
        for c in &mut pod.containers {
            let r = c.resources.get_or_insert_default();
            for side in [&mut r.requests, &mut r.limits] {
                side.get_or_insert_default()
                    .insert("ephemeral-storage".to_owned(), Quantity(amount.to_owned()));
            }
        }
    }
}
