//! Backup CronJobs of backing services (`60-backups.yaml`): per service with a
//! [`Backup`] policy, the claim the dumps go to, a `CronJob` running the catalog's dump
//! script, and the NetworkPolicy that lets only that job reach the database.
//!
//! # Where the CronJob lives when Terraform installs the database
//!
//! In staging and prod the backing services are installed by Terraform (an operator and
//! its custom resources, or a chart), not rendered as manifests of their own. The backup
//! job still belongs to the Kubernetes manifests of the environment: it is an ordinary
//! workload of the stack's namespace, applied and reviewed with the others. The wiring
//! stays right because it is derived from the same model the installation is: the host is
//! the operator's or chart's Service ([`Stack::k8s_host`], e.g. CloudNativePG's
//! `postgres-rw`, MongoDB's `mongo-svc`), the password the same
//! [`SecretRef`](crate::model::SecretRef) the consumers use (the one MongoDB's operator and
//! Valkey's chart read, and the one CloudNativePG's credentials are made from), and the
//! NetworkPolicies select the operator's or chart's pod labels.
//!
//! Why `pg_dump` stays beside CloudNativePG: it works with any Postgres, writes logical
//! dumps that restore anywhere (another major version, a laptop), and needs nothing but
//! the database's own image. CloudNativePG's physical backups and point-in-time recovery
//! need its Barman Cloud plugin, cert-manager and an object store; a team that wants them
//! adds the plugin beside these dumps. Compose (dev) renders no backups: it has no
//! scheduler, and dev data is disposable.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::network::{dns_rule, peer, pods, target_ports};
use super::{Object, int32, meta};
use crate::builder::IntoService;
use crate::model::{
    Backup, BackupTarget, Bucket, Dump, EnvValue, EnvVar, Memory, Mount, Security, Service, Spread,
    Target,
};
use crate::plan::Plan;

/// Name of a service's backup CronJob (and its pods' `app.kubernetes.io/name`).
pub(crate) fn job_name(svc: &Service) -> Option<String> {
    svc.backup
        .as_ref()
        .filter(|b| b.dump.is_some())
        .map(|_| format!("{}-backup", svc.name))
}

fn claim_name(svc: &Service) -> String {
    format!("{}-backups", svc.name)
}

const BACKUP_DIR: &str = "/backup";

fn plain(name: &str, value: String) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: EnvValue::Plain(value),
        not_secret: None,
    }
}

/// The job's container as a model service, so it is rendered (environment, secret
/// references, hosts, security context, volumes) exactly like every workload.
fn job_service(db: &Service, name: &str, b: &Backup, dump: &Dump) -> Service {
    let backup_dir = match b.target {
        BackupTarget::Volume { .. } => Mount::persistent(claim_name(db), BACKUP_DIR),
        // The dump waits in scratch space for the uploader.
        BackupTarget::Bucket(_) => Mount::scratch(BACKUP_DIR),
    };
    let mut svc = Service::new(name)
        .image(dump.image.clone())
        .command(["sh", "-c"])
        .args([dump.script.clone()])
        .mount(backup_dir)
        .mount(Mount::scratch("/tmp"))
        .security(
            Security::restricted()
                .run_as_user(dump.run_as_user)
                .fs_group(dump.run_as_user),
        )
        .resources(b.resources)
        .kubernetes(|k| k.spread(Spread::None))
        .into_service();
    svc.env = dump.env.clone();
    svc.env.push(plain("BACKUP_DIR", BACKUP_DIR.to_owned()));
    svc.env.push(plain(
        "RETENTION_MINUTES",
        (u64::from(b.retention_days) * 24 * 60).to_string(),
    ));
    svc
}

/// The uploader's script: copy the dump to `<bucket url>/<UTC date>/` (the seed's layout).
const UPLOAD: &str = "set -eu\n\
    aws s3 cp \"$BACKUP_DIR/\" \"$BUCKET_URL/$(date -u +%Y%m%d)/\" --recursive --only-show-errors\n";

/// The uploader container of a bucket target, as a model service like the dump's.
fn upload_service(name: &str, b: &Backup, bucket: &Bucket) -> Service {
    let mut svc = Service::new(name)
        .image(bucket.uploader.clone())
        .command(["sh", "-c"])
        .args([UPLOAD])
        .mount(Mount::scratch(BACKUP_DIR).read_only())
        .mount(Mount::scratch("/tmp"))
        // The aws-cli image runs as root by default; any user works with HOME in /tmp.
        .security(Security::restricted().run_as_user(65532))
        .resources(b.resources)
        .kubernetes(|k| k.spread(Spread::None))
        .into_service();
    svc.env = vec![
        plain("BACKUP_DIR", BACKUP_DIR.to_owned()),
        plain("BUCKET_URL", bucket.url.trim_end_matches('/').to_owned()),
        EnvVar {
            name: "AWS_ACCESS_KEY_ID".to_owned(),
            value: EnvValue::Secret(bucket.access_key_id.clone()),
            not_secret: None,
        },
        EnvVar {
            name: "AWS_SECRET_ACCESS_KEY".to_owned(),
            value: EnvValue::Secret(bucket.secret_access_key.clone()),
            not_secret: None,
        },
        // The CLI caches and writes its config under $HOME; the root filesystem is read-only.
        plain("HOME", "/tmp".to_owned()),
    ];
    if let Some(region) = &bucket.region {
        svc.env.push(plain("AWS_DEFAULT_REGION", region.clone()));
    }
    if let Some(endpoint) = &bucket.endpoint {
        svc.env.push(plain("AWS_ENDPOINT_URL", endpoint.clone()));
    }
    svc
}

/// The backup objects of every Kubernetes service with a backup policy.
pub(crate) fn objects(plan: &Plan<'_>) -> Vec<Object> {
    let stack = plan.stack();
    let mut out = Vec::new();
    for db in plan.services(Target::Kubernetes) {
        let (Some(b), Some(name)) = (&db.backup, job_name(db)) else {
            continue;
        };
        let Some(dump) = &b.dump else { continue };
        let job = job_service(db, &name, b, dump);
        let mut template = super::workload::pod_template(plan, &job, None);
        let bucket = match &b.target {
            BackupTarget::Volume { size } => {
                out.push(claim(plan, db, &name, *size));
                None
            }
            BackupTarget::Bucket(bucket) => {
                // The dump runs first, as an init container; the uploader is the job's
                // container, sharing the scratch volume the dump was written to.
                let upload =
                    super::workload::pod_template(plan, &upload_service(&name, b, bucket), None);
                let (Some(dump_pod), Some(mut pod)) = (template.spec.take(), upload.spec) else {
                    continue;
                };
                let mut init = dump_pod.containers;
                for c in &mut init {
                    c.name = "dump".to_owned();
                }
                for c in &mut pod.containers {
                    c.name = "upload".to_owned();
                }
                let mut volumes = dump_pod.volumes.unwrap_or_default();
                for v in pod.volumes.take().unwrap_or_default() {
                    if !volumes.iter().any(|w| w.name == v.name) {
                        volumes.push(v);
                    }
                }
                pod.volumes = Some(volumes);
                pod.init_containers = Some(init);
                template.spec = Some(pod);
                Some(bucket)
            }
        };
        if let Some(spec) = &mut template.spec {
            // A failed run is a failed pod, retried up to `backoffLimit` times.
            spec.restart_policy = Some("Never".to_owned());
        }
        out.push(Object::CronJob(Box::new(CronJob {
            metadata: meta(plan, name.clone(), &name),
            spec: Some(CronJobSpec {
                schedule: b.schedule.as_str().to_owned(),
                time_zone: Some("Etc/UTC".to_owned()),
                concurrency_policy: Some("Forbid".to_owned()),
                // A run missed by more than this (controller down) is skipped, not piled up.
                starting_deadline_seconds: Some(600),
                successful_jobs_history_limit: Some(int32(b.history.0)),
                failed_jobs_history_limit: Some(int32(b.history.1)),
                job_template: JobTemplateSpec {
                    metadata: None,
                    spec: Some(JobSpec {
                        active_deadline_seconds: Some(i64::from(b.deadline.as_secs())),
                        backoff_limit: Some(int32(b.retries)),
                        template,
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        })));
        if stack.kubernetes.hardened {
            // Default deny covers the job's pods: they may reach the database and DNS only
            // (and, for a bucket, the storage endpoint's port anywhere).
            let mut egress = vec![
                NetworkPolicyEgressRule {
                    to: Some(vec![peer(plan, db)]),
                    ports: target_ports(plan, db),
                },
                dns_rule(),
            ];
            if let Some(bucket) = bucket {
                egress.push(NetworkPolicyEgressRule {
                    to: Some(vec![NetworkPolicyPeer {
                        ip_block: Some(IPBlock {
                            cidr: "0.0.0.0/0".to_owned(),
                            except: None,
                        }),
                        ..Default::default()
                    }]),
                    ports: Some(vec![NetworkPolicyPort {
                        port: Some(IntOrString::Int(i32::from(bucket.port()))),
                        protocol: Some("TCP".to_owned()),
                        end_port: None,
                    }]),
                });
            }
            out.push(Object::NetworkPolicy(NetworkPolicy {
                metadata: meta(plan, name.clone(), &name),
                spec: Some(NetworkPolicySpec {
                    pod_selector: pods(&name).pod_selector,
                    policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
                    ingress: None,
                    egress: Some(egress),
                }),
            }));
        }
    }
    out
}

/// The claim a volume target's dumps are kept on.
fn claim(plan: &Plan<'_>, db: &Service, name: &str, size: Memory) -> Object {
    Object::PersistentVolumeClaim(PersistentVolumeClaim {
        metadata: meta(plan, claim_name(db), name),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    Quantity(size.to_string()),
                )])),
                limits: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}
