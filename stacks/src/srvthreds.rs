//! SrvThreds: the Node event engine and its Redis, MongoDB and RabbitMQ (seed `001_*.txt`,
//! "SrvThreds: Deployment Architecture Guide").
//!
//! - **dev** (Compose): the engine built from source with `npm run start-dev` and the
//!   source mounted, Redis with keyspace notifications, RabbitMQ with its management UI,
//!   MongoDB, and nginx in front; named volumes; everything published on loopback only.
//! - **staging** (Kubernetes, namespace `srvthreds-staging`): 2 engine replicas on 3001,
//!   configuration in a ConfigMap.
//! - **prod** (Kubernetes, namespace `srvthreds-prod`): 5 replicas, RollingUpdate
//!   (surge 1, unavailable 1), pod anti-affinity, connection URLs from Secrets, larger
//!   resources, HPA 3–20 with the guide's scale-up/scale-down behaviour.
//! - everywhere: the engine runs as `node:node` (1000:1000) and stops gracefully (a 5 s
//!   pre-stop pause while the Ingress drops the pod, 30 s to finish).
//!
//! The engine's route stays an Ingress served by ingress-nginx, chosen explicitly (its
//! rate limit is an ingress-nginx annotation).
//!
//! Fixed from the guide: the `guest:guest` RabbitMQ credentials and password-less Redis and
//! MongoDB (every password is a secret reference), `srvthreds:latest` (pinned), missing
//! probes, resources and security contexts, and a Redis URL copied into a Secret by hand
//! (derived here from the one declaration).

use stackdsl::model::{Backup, Bucket, MetricFamily, Monitoring, PreStop, Schedule};
use stackdsl::prelude::*;

use stackdsl::catalog::{MongoDb, RabbitMq, Redis};

use crate::components;

/// Where SrvThreds images are pushed.
pub fn registry() -> Registry {
    Registry::new("ghcr.io/srvthreds")
}

/// The released engine version staging and prod run.
pub const VERSION: &str = "1.2.3";

/// The engine's HTTP port (clients reach it on 80 through its Kubernetes Service).
pub const HTTP: Port = Port::http("http", 3001).service_port(80);

/// The Secret holding every SrvThreds password.
pub const SECRETS: Secrets = Secrets::external("srvthreds-secrets");

/// The Secret holding the backup uploader's S3 credentials (variables `SRVTHREDS_BACKUP_*`).
pub const BACKUP_SECRETS: Secrets =
    Secrets::external("srvthreds-backup-s3").var_prefix("SRVTHREDS_BACKUP");

/// The SrvThreds stack for `env`.
pub fn srvthreds(env: Env) -> Stack {
    let (dev, prod) = (env == Env::Dev, env == Env::Prod);
    // Staging mirrors prod: Terraform installs the brokers' and databases' operators (and
    // Valkey's chart), the engine is plain manifests.
    let targets = match env {
        Env::Dev => vec![Target::Compose],
        Env::Staging => vec![Target::Kubernetes, Target::Terraform],
        Env::Prod => vec![Target::Kubernetes, Target::Terraform, Target::GitHubActions],
    };
    let mut s = Stack::new("srvthreds", env);
    s.targets(targets)
        .in_namespace(format!("srvthreds-{env}"))
        .ci(Ci::node("18", PackageManager::Npm))
        .kubernetes(|k| k.routes(RouteApi::ingress(IngressController::ingress_nginx())))
        .monitoring(if dev {
            Monitoring::prometheus()
        } else {
            Monitoring::default()
        });

    let redis = s.backing(
        Redis::new(
            SECRETS
                .key("redis-password")
                .describe("Password Redis requires from every client (URL-safe characters)"),
        )
        // The engine reacts to key changes, so Redis publishes keyspace notifications.
        .notify_keyspace_events("KA")
        // The guide's prod Redis: a replicated master with 20 GiB volumes and 1–2 cores.
        .when(prod, |redis| {
            redis.replicas(2).storage(Memory::gi(20)).resources(
                Resources::requests(Cpu::m(1000), Memory::gi(2))
                    .limits(Cpu::m(2000), Memory::gi(4)),
            )
        })
        .when(!dev, |redis| redis.backup(nightly_backup("redis"))),
    );
    let rabbitmq = s.backing(
        RabbitMq::new(
            "srvthreds",
            SECRETS
                .key("rabbitmq-password")
                .describe("Password of the RabbitMQ user (URL-safe characters)"),
        )
        .when(prod, |rabbitmq| rabbitmq.replicas(3)),
    );
    let mongo = s.backing(
        MongoDb::new(
            "srvthreds",
            SECRETS
                .key("mongo-password")
                .describe("Password of the MongoDB root user (URL-safe characters)"),
        )
        .when(prod, |mongo| mongo.storage(Memory::gi(50)))
        .when(!dev, |mongo| mongo.backup(nightly_backup("mongodb"))),
    );
    if dev {
        // The seed publishes the brokers for local tools; loopback only.
        s.update(&redis.service, |b| b.publish(redis.port, 6379))
            .update(&rabbitmq.service, |b| {
                b.publish(rabbitmq.amqp, 5672)
                    .publish(rabbitmq.management, 15672)
            })
            .update(&mongo.service, |b| b.publish(mongo.port, 27017));
    }

    let http = HTTP;
    let engine = Service::new("engine")
        .image(
            registry()
                .image("srvthreds-engine")
                .tag(if dev { "dev" } else { VERSION }),
        )
        // The image CI builds and pushes; Compose builds it locally in dev.
        .build(Build::new("."))
        .port(http)
        .env(
            "NODE_ENV",
            match env {
                Env::Dev => "development",
                Env::Staging => "staging",
                Env::Prod => "production",
            },
        )
        .env("PORT", http.number)
        .env("REDIS_URL", redis.url(0))
        .env("MONGODB_URL", mongo.url("srvthreds"))
        .env("RABBITMQ_URL", rabbitmq.url())
        .config("LOG_LEVEL", if prod { "info" } else { "debug" })
        .config("LOG_FORMAT", "json")
        // The series the guide's Grafana dashboard plots (the guide scraped pods by
        // annotation; a ServiceMonitor and a scrape job are derived from this instead).
        .metrics(
            Metrics::new(http)
                .family(MetricFamily::counter(
                    "srvthreds_events_processed_total",
                    "Events processed",
                ))
                .family(MetricFamily::gauge(
                    "srvthreds_active_threds",
                    "Active threds",
                ))
                .family(MetricFamily::gauge("srvthreds_queue_depth", "Queue depth")),
        )
        .mount(Mount::scratch("/tmp"))
        // node:18-alpine's `node` user and group.
        .security(Security::restricted().run_as_user(1000).run_as_group(1000))
        // Rolling updates behind the Ingress: keep serving while the controller drops the
        // pod from its endpoints, then get 30 s to finish in-flight events.
        .pre_stop(PreStop::sleep(5))
        .graceful_shutdown(30)
        .apply(|engine| match env {
            Env::Dev => engine
                .args(["npm", "run", "start-dev"])
                .mount(Mount::bind("src", "/app/src"))
                .mount(Mount::bind("run-config", "/app/run-config").read_only())
                .security(
                    Security::restricted()
                        .run_as_user(1000)
                        .run_as_group(1000)
                        .writable_root_fs(
                            "the development server recompiles into the image's dist folder",
                        ),
                )
                .liveness(Probe::http_get("/health", http))
                .readiness(Probe::http_get("/ready", http).period(5))
                .resources(
                    Resources::requests(Cpu::m(250), Memory::mi(512))
                        .limits(Cpu::m(500), Memory::gi(1)),
                )
                .publish(http, 3001),
            Env::Staging => engine
                .replicas(2)
                .liveness(
                    Probe::http_get("/health", http)
                        .initial_delay(30)
                        .period(10),
                )
                .readiness(Probe::http_get("/ready", http).initial_delay(5).period(5))
                .resources(
                    Resources::requests(Cpu::m(250), Memory::mi(512))
                        .limits(Cpu::m(500), Memory::gi(1)),
                )
                .expose(
                    Route::host("engine.staging.srvthreds.example.com", http)
                        .tls(ClusterIssuer::new("letsencrypt-staging")),
                ),
            Env::Prod => engine
                .replicas(5)
                .kubernetes(|k| {
                    k.rollout(Rollout::rolling(1, 1))
                        .spread(Spread::AntiAffinity)
                })
                .liveness(
                    Probe::http_get("/health", http)
                        .initial_delay(60)
                        .period(30)
                        .timeout(10)
                        .failure_threshold(3),
                )
                .readiness(
                    Probe::http_get("/ready", http)
                        .initial_delay(10)
                        .period(5)
                        .timeout(5)
                        .failure_threshold(3),
                )
                .resources(
                    Resources::requests(Cpu::m(1000), Memory::gi(2))
                        .limits(Cpu::m(2000), Memory::gi(4)),
                )
                .autoscale(
                    Autoscale::between(3, 20)
                        .cpu(70)
                        .memory(80)
                        // Grow by up to half per minute once the load has held for a minute;
                        // shrink by a tenth per minute after five quiet minutes.
                        .scale_up(
                            Scaling::percent(50)
                                .every(Window::minutes(1))
                                .stabilized_over(Window::minutes(1)),
                        )
                        .scale_down(
                            Scaling::percent(10)
                                .every(Window::minutes(1))
                                .stabilized_over(Window::minutes(5)),
                        ),
                )
                .expose(
                    Route::host("engine.srvthreds.example.com", http)
                        .tls(ClusterIssuer::new("letsencrypt-prod"))
                        .rate_limit(50),
                ),
        });
    let engine = s.add(engine);
    if dev {
        components::edge(&mut s, &engine.endpoint(http), 8080);
    }
    s
}

/// The guide's nightly backup (02:00) of one product — `mongodump` or `redis-cli --rdb`, as a
/// restricted CronJob of its own — uploaded to the guide's bucket under the product's prefix
/// (`s3://srvthreds-backups/<prefix>/<date>/`); the bucket's lifecycle rule keeps a week
/// (the Kubernetes README says so).
fn nightly_backup(prefix: &str) -> Backup {
    Backup::new(Schedule::daily_at(2, 0))
        .keep_days(7)
        .bucket(Bucket::s3(
            format!("s3://srvthreds-backups/{prefix}"),
            &BACKUP_SECRETS.key("access-key-id").describe(
                "Access key of the backup uploader (s3:PutObject on srvthreds-backups only)",
            ),
            &BACKUP_SECRETS
                .key("secret-access-key")
                .describe("Secret key of the backup uploader"),
        ))
}
