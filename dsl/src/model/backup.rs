//! Scheduled backups of a backing service: a validated cron schedule, a retention, where
//! the dumps go, and (filled in by the catalog, which knows the product) how to dump it.

use super::{Cpu, EnvVar, Image, Memory, Resources, SecretRef, Window};

/// A five-field cron schedule (`minute hour day-of-month month day-of-week`, UTC), as
/// Kubernetes CronJobs take it. Checked by validation, which names the bad field.
///
/// ```
/// use stackdsl::model::Schedule;
/// assert_eq!(Schedule::daily_at(2, 0).as_str(), "0 2 * * *");
/// assert!(Schedule::cron("0 2 * * *").problem().is_none());
/// assert!(Schedule::cron("0 25 * * *").problem().unwrap().contains("hour"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule(String);

impl Schedule {
    /// A cron expression (validated when the stack is).
    pub fn cron(expr: impl Into<String>) -> Self {
        Schedule(expr.into())
    }

    /// Every day at `hour:minute` UTC.
    pub fn daily_at(hour: u32, minute: u32) -> Self {
        Schedule(format!("{minute} {hour} * * *"))
    }

    /// The expression.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is wrong with the expression, if anything. Accepts what Kubernetes accepts:
    /// numbers, `*`, ranges, steps, lists, month and weekday names (`jan`, `mon`) and the
    /// macros `@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually`.
    pub fn problem(&self) -> Option<String> {
        const MONTHS: &[&str] = &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ];
        const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        const FIELDS: [(&str, u32, u32, &[&str], u32); 5] = [
            ("minute", 0, 59, &[], 0),
            ("hour", 0, 23, &[], 0),
            ("day of month", 1, 31, &[], 0),
            ("month", 1, 12, MONTHS, 1),
            ("day of week", 0, 7, DAYS, 0),
        ];
        const MACROS: [&str; 7] = [
            "@hourly",
            "@daily",
            "@midnight",
            "@weekly",
            "@monthly",
            "@yearly",
            "@annually",
        ];
        let expr = self.0.trim();
        if expr.starts_with('@') {
            return (!MACROS.contains(&expr)).then(|| {
                format!(
                    "cron schedule `{expr}` is not a known macro ({})",
                    MACROS.join(", ")
                )
            });
        }
        let parts: Vec<&str> = expr.split_whitespace().collect();
        if parts.len() != 5 {
            return Some(format!(
                "cron schedule `{}` has {} fields; it needs 5 (minute hour day-of-month month day-of-week)",
                self.0,
                parts.len()
            ));
        }
        for (part, (name, lo, hi, names, first)) in parts.iter().zip(FIELDS) {
            for item in part.split(',') {
                if let Some(p) = field_problem(item, (lo, hi), names, first) {
                    let named = if names.is_empty() {
                        ""
                    } else {
                        " or names such as `mon`, `jan`"
                    };
                    return Some(format!(
                        "cron schedule `{}`: {name} field `{part}` {p} (allowed {lo}-{hi}{named})",
                        self.0
                    ));
                }
            }
        }
        None
    }
}

fn field_problem(
    item: &str,
    (lo, hi): (u32, u32),
    names: &[&str],
    first: u32,
) -> Option<&'static str> {
    let range = match item.split_once('/') {
        Some((r, s)) => match s.parse::<u32>() {
            Ok(n) if n > 0 => r,
            _ => return Some("has a step that is not a positive number"),
        },
        None => item,
    };
    let num = |s: &str| {
        s.parse::<u32>()
            .ok()
            .or_else(|| {
                names
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(s))
                    .map(|i| i as u32 + first)
            })
            .filter(|n| (lo..=hi).contains(n))
    };
    if range == "*" || range == "?" {
        return None;
    }
    match range.split_once('-') {
        Some((a, b)) => match (num(a), num(b)) {
            (Some(a), Some(b)) if a <= b => None,
            (Some(_), Some(_)) => Some("has a range that runs backwards"),
            _ => Some("has a value out of range"),
        },
        None => num(range).is_none().then_some("has a value out of range"),
    }
}

/// Where backups are written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackupTarget {
    /// A PersistentVolumeClaim of its own (`<service>-backups`), mounted at `/backup`.
    Volume {
        /// Claim size.
        size: Memory,
    },
    /// An S3-compatible bucket, off the cluster: the dump runs in an init container into
    /// scratch space, then an uploader copies it to `<url>/<UTC date>/`.
    Bucket(Box<Bucket>),
}

/// An S3-compatible bucket for backups, with credentials by secret reference.
///
/// Retention in a bucket belongs to the bucket: the job only writes (its credentials
/// need `s3:PutObject` on the prefix, nothing else), and a lifecycle rule on the prefix
/// expires objects after the policy's [`Backup::keep_days`] — the Kubernetes README of the
/// environment states the rule to set.
///
/// ```
/// use stackdsl::prelude::*;
/// use stackdsl::model::Bucket;
/// let b = Bucket::s3(
///     "s3://shop-backups/postgres",
///     &SecretRef::new("backup-credentials", "access-key-id"),
///     &SecretRef::new("backup-credentials", "secret-access-key"),
/// )
/// .region("eu-central-1");
/// assert_eq!(b.bucket(), Some("shop-backups"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bucket {
    /// `s3://<bucket>[/<prefix>]`.
    pub url: String,
    /// The bucket's region (`AWS_DEFAULT_REGION`), if the endpoint needs one.
    pub region: Option<String>,
    /// An S3-compatible endpoint other than AWS (`AWS_ENDPOINT_URL`), e.g. MinIO or R2.
    pub endpoint: Option<String>,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: SecretRef,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: SecretRef,
    /// The image with the `aws` CLI that uploads (pinned `amazon/aws-cli`).
    pub uploader: Image,
}

impl Bucket {
    /// The bucket at `url` (`s3://bucket/prefix`), written with these credentials.
    pub fn s3(
        url: impl Into<String>,
        access_key_id: &SecretRef,
        secret_access_key: &SecretRef,
    ) -> Self {
        Bucket {
            url: url.into(),
            region: None,
            endpoint: None,
            access_key_id: access_key_id.clone(),
            secret_access_key: secret_access_key.clone(),
            uploader: Image::new("amazon/aws-cli").tag("2.22.35"),
        }
    }

    /// The bucket's region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// An S3-compatible endpoint (`https://…`), for storage other than AWS S3.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Another uploader image (it must ship the `aws` CLI v2).
    pub fn uploader(mut self, image: Image) -> Self {
        self.uploader = image;
        self
    }

    /// The bucket name, when the URL is `s3://<bucket>[/…]`.
    pub fn bucket(&self) -> Option<&str> {
        let rest = self.url.strip_prefix("s3://")?;
        let name = rest.split('/').next().unwrap_or_default();
        (!name.is_empty()).then_some(name)
    }

    /// The TCP port uploads leave on: the endpoint's, else HTTPS.
    pub fn port(&self) -> u16 {
        let Some(e) = &self.endpoint else { return 443 };
        let (default, rest) = match e.split_once("://") {
            Some(("http", rest)) => (80, rest),
            Some((_, rest)) => (443, rest),
            None => (443, e.as_str()),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        authority
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or(default)
    }
}

/// How the catalog dumps a product: image, shell script and the environment it reads
/// (connection settings, the password by secret reference). The script writes one file
/// into `$BACKUP_DIR` and prunes files older than the retention.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dump {
    /// The image with the dump tool (the product's own image, same version).
    pub image: Image,
    /// `sh -c` script.
    pub script: String,
    /// Its environment.
    pub env: Vec<EnvVar>,
    /// The image's non-root user.
    pub run_as_user: u32,
}

impl Dump {
    /// A dump run by `script` in `image` as `run_as_user`, reading `env`.
    pub fn new(
        image: Image,
        script: impl Into<String>,
        env: Vec<EnvVar>,
        run_as_user: u32,
    ) -> Self {
        Dump {
            image,
            script: script.into(),
            env,
            run_as_user,
        }
    }
}

/// A backup policy of a backing service, rendered in Kubernetes as a `CronJob` (with
/// `concurrencyPolicy: Forbid`, history limits, a deadline, resources, the restricted
/// security context and the NetworkPolicy it needs to reach the database).
///
/// Where Terraform installs the database (its operator or chart; staging and prod of the
/// seeds' stacks), the CronJob is still part of that environment's Kubernetes manifests
/// (`k8s/60-backups.yaml`): it connects to the Service the operator or chart creates
/// ([`Plan::k8s_host`](crate::plan::Plan::k8s_host), e.g. CloudNativePG's `postgres-rw`), reads
/// the password from the same Secret key the consumers use, and its NetworkPolicies select
/// the operator's or chart's pod labels. Compose renders no backups (no scheduler); declaring one on a
/// stack without Kubernetes is a validation error.
///
/// ```
/// use stackdsl::prelude::*;
/// use stackdsl::catalog::Postgres;
/// use stackdsl::model::{Backup, Schedule};
/// let mut s = Stack::new("shop", Env::Prod);
/// s.targets([Target::Kubernetes]);
/// let pg = s.backing(
///     Postgres::new("shop", SecretRef::new("shop-secrets", "pg"))
///         .backup(Backup::new(Schedule::daily_at(2, 0)).keep_days(7).volume(Memory::gi(20))),
/// );
/// let svc = s.service(pg.service.name()).unwrap();
/// assert_eq!(svc.backup.as_ref().unwrap().retention_days, 7);
/// assert!(svc.backup.as_ref().unwrap().dump.is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Backup {
    /// When it runs.
    pub schedule: Schedule,
    /// Days a dump is kept.
    pub retention_days: u32,
    /// Where dumps go.
    pub target: BackupTarget,
    /// CPU and memory of the job.
    pub resources: Resources,
    /// The job is stopped after this long (`activeDeadlineSeconds`, default 1h).
    pub deadline: Window,
    /// Retries of a failed run (`backoffLimit`, default 2).
    pub retries: u32,
    /// Finished jobs kept for inspection: (successful, failed), default (3, 3).
    pub history: (u32, u32),
    /// How to dump the product (set by the catalog item).
    pub dump: Option<Dump>,
}

impl Backup {
    /// A daily-retention policy on `schedule`: keep 7 days on a 10 GiB volume.
    pub fn new(schedule: Schedule) -> Self {
        Backup {
            schedule,
            retention_days: 7,
            target: BackupTarget::Volume {
                size: Memory::gi(10),
            },
            resources: Resources::requests(Cpu::m(100), Memory::mi(256))
                .limits(Cpu::m(500), Memory::mi(512)),
            deadline: Window::hours(1),
            retries: 2,
            history: (3, 3),
            dump: None,
        }
    }

    /// Keep dumps for `days` days.
    pub fn keep_days(mut self, days: u32) -> Self {
        self.retention_days = days;
        self
    }

    /// Write dumps to a volume of `size`.
    pub fn volume(mut self, size: Memory) -> Self {
        self.target = BackupTarget::Volume { size };
        self
    }

    /// Upload dumps to a bucket instead of keeping them on a volume in the cluster.
    pub fn bucket(mut self, bucket: Bucket) -> Self {
        self.target = BackupTarget::Bucket(Box::new(bucket));
        self
    }

    /// CPU and memory of the job.
    pub fn resources(mut self, r: Resources) -> Self {
        self.resources = r;
        self
    }

    /// Stop a run after `w`.
    pub fn deadline(mut self, w: Window) -> Self {
        self.deadline = w;
        self
    }

    /// Retries of a failed run.
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }

    /// Finished jobs kept: `successful`, `failed`.
    pub fn history(mut self, successful: u32, failed: u32) -> Self {
        self.history = (successful, failed);
        self
    }

    /// The secrets the backup job reads: the dump's (the database password), then the
    /// bucket's credentials.
    pub fn secrets(&self) -> Vec<&SecretRef> {
        let mut out: Vec<&SecretRef> = self
            .dump
            .iter()
            .flat_map(|d| d.env.iter().flat_map(|v| v.value.secrets()))
            .collect();
        if let BackupTarget::Bucket(b) = &self.target {
            out.extend([&b.access_key_id, &b.secret_access_key]);
        }
        out
    }

    /// Sets how the product is dumped (catalog items call this).
    pub fn dump(mut self, dump: Dump) -> Self {
        self.dump = Some(dump);
        self
    }
}
