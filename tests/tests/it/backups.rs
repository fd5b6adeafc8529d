//! Backups: SrvThreds and Easy Flow get the backup CronJobs their guides ask for, hardened
//! and wired to the Helm releases' hosts and Secrets; the CronJob files pass
//! kubernetes-validate --strict and checkov; the dump scripts pass shellcheck; bad policies
//! are reported at their paths.

use std::fs;

use serde_json::Value;
use stackdsl::catalog::{MongoDb, Postgres};
use stackdsl::model::{Backup, Bucket, Schedule, Window};
use stackdsl::prelude::*;
use stackdsl::validate::ErrorKind;
use stackdsl_tests::{corpus, files_with_suffix, run, tool};

fn objects(s: &Stack) -> Vec<Value> {
    stackdsl_tests::manifests(s)
        .objects()
        .map(|o| o.to_json())
        .collect()
}

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
}

/// The container that dumps: the job's container for a volume target, its init container
/// (before the uploader) for a bucket target.
fn dump_container(job: &Value) -> &Value {
    let pod = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    match pod.get("initContainers") {
        Some(init) => &init[0],
        None => &pod["containers"][0],
    }
}

/// Every container of a CronJob's pod, init containers first.
fn all_containers(job: &Value) -> Vec<&Value> {
    let pod = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    pod.get("initContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(pod["containers"].as_array().unwrap())
        .collect()
}

/// The `(name, env var → value or secret)` a container is given.
fn env_of_container(c: &Value) -> Vec<(String, String)> {
    c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let v = match e.get("value") {
                Some(v) => v.as_str().unwrap().to_owned(),
                None => format!(
                    "secret:{}/{}",
                    e["valueFrom"]["secretKeyRef"]["name"].as_str().unwrap(),
                    e["valueFrom"]["secretKeyRef"]["key"].as_str().unwrap()
                ),
            };
            (e["name"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

/// The `(name, env var → value or secret)` a CronJob's dump container is given.
fn env_of(job: &Value) -> Vec<(String, String)> {
    env_of_container(dump_container(job))
}

fn assert_hardened(job: &Value) {
    let spec = &job["spec"];
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    assert!(spec["successfulJobsHistoryLimit"].as_i64().unwrap() > 0);
    assert!(spec["failedJobsHistoryLimit"].as_i64().unwrap() > 0);
    let js = &spec["jobTemplate"]["spec"];
    assert!(js["activeDeadlineSeconds"].as_i64().unwrap() > 0);
    assert!(js["backoffLimit"].is_i64());
    let pod = &js["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    for c in all_containers(job) {
        let sc = &c["securityContext"];
        assert_eq!(sc["runAsNonRoot"], true);
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
        for k in ["requests", "limits"] {
            for r in ["cpu", "memory"] {
                assert!(c["resources"][k][r].is_string(), "{k}.{r} missing");
            }
        }
        let mounts = c["volumeMounts"].as_array().unwrap();
        assert!(mounts.iter().any(|m| m["mountPath"] == "/tmp"));
        assert!(mounts.iter().any(|m| m["mountPath"] == "/backup"));
    }
    // Writable scratch for the dump tool; the dumps on a claim, or (bucket) in scratch
    // space the uploader reads.
    let vols = pod["volumes"].as_array().unwrap();
    assert!(vols.iter().any(|v| v["emptyDir"].is_object()));
    let bucket = pod.get("initContainers").is_some();
    assert_eq!(
        vols.iter().any(|v| v["persistentVolumeClaim"].is_object()),
        !bucket
    );
}

#[test]
fn srvthreds_backs_up_mongo_and_redis_nightly() {
    for env in [Env::Staging, Env::Prod] {
        let s = stacks::srvthreds::srvthreds(env);
        let objs = objects(&s);
        for (db, tool, host) in [
            ("mongo", "mongodump", "mongo-svc"),
            ("redis", "valkey-cli", "redis"),
        ] {
            let job = find(&objs, "CronJob", &format!("{db}-backup"));
            assert_eq!(job["spec"]["schedule"], "0 2 * * *", "{db} ({env})");
            assert_hardened(job);
            let c = dump_container(job);
            assert!(c["args"][0].as_str().unwrap().contains(tool));
            let env_vars = env_of(job);
            let host_var = if db == "mongo" {
                "MONGO_HOST"
            } else {
                "REDIS_HOST"
            };
            // The operator's or chart's Service, as Terraform installs them.
            assert!(
                env_vars.contains(&(host_var.to_owned(), host.to_owned())),
                "{env_vars:?}"
            );
            // The very Secret key the operator or chart reads the password from.
            let svc = s.service(db).unwrap();
            let secret = &svc.backing.as_ref().unwrap().reads[0];
            let want = format!("secret:{}/{}", secret.name(), secret.key());
            assert!(env_vars.iter().any(|(_, v)| *v == want), "{env_vars:?}");
            assert!(
                env_vars.contains(&("RETENTION_MINUTES".to_owned(), "10080".to_owned())),
                "a week of dumps: {env_vars:?}"
            );
            // The guide's `aws s3 sync` to `s3://srvthreds-backups/<date>/`: the uploader
            // gets the bucket and its credentials by reference, and no claim is rendered.
            let pod = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
            let upload = &pod["containers"][0];
            assert_eq!(upload["name"], "upload");
            assert_eq!(dump_container(job)["name"], "dump");
            assert!(
                upload["args"][0]
                    .as_str()
                    .unwrap()
                    .contains("aws s3 cp \"$BACKUP_DIR/\" \"$BUCKET_URL/$$(date -u +%Y%m%d)/\"")
            );
            let up_env = env_of_container(upload);
            let prefix = if db == "mongo" { "mongodb" } else { "redis" };
            assert!(up_env.contains(&(
                "BUCKET_URL".to_owned(),
                format!("s3://srvthreds-backups/{prefix}")
            )));
            for (var, key) in [
                ("AWS_ACCESS_KEY_ID", "access-key-id"),
                ("AWS_SECRET_ACCESS_KEY", "secret-access-key"),
            ] {
                assert!(
                    up_env.contains(&(var.to_owned(), format!("secret:srvthreds-backup-s3/{key}"))),
                    "{up_env:?}"
                );
            }
            assert!(!objs.iter().any(|o| o["kind"] == "PersistentVolumeClaim"
                && o["metadata"]["name"] == format!("{db}-backups")));
            // Default deny: the job may reach its database, DNS and HTTPS (the bucket), and
            // the database admits it.
            let own = find(&objs, "NetworkPolicy", &format!("{db}-backup"));
            let egress = own["spec"]["egress"].as_array().unwrap();
            assert_eq!(egress.len(), 3);
            assert_eq!(
                egress[2]["ports"],
                serde_json::json!([{"port": 443, "protocol": "TCP"}])
            );
            let labels = &svc.backing.as_ref().unwrap().pod_labels;
            assert_eq!(
                own["spec"]["egress"][0]["to"][0]["podSelector"]["matchLabels"],
                serde_json::to_value(labels).unwrap()
            );
            let theirs = find(&objs, "NetworkPolicy", db);
            assert!(
                theirs["spec"]["ingress"].as_array().unwrap().iter().any(
                    |r| r["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                        == format!("{db}-backup")
                ),
                "{db}'s policy does not admit its backup job"
            );
        }
    }
    // Dev (Compose) has no scheduler: no backups are declared there.
    assert!(
        stacks::srvthreds::srvthreds(Env::Dev)
            .services
            .iter()
            .all(|s| s.backup.is_none())
    );
}

#[test]
fn easyflow_runs_the_guides_pg_dump_cronjob() {
    for env in [Env::Staging, Env::Prod] {
        let s = stacks::easyflow::easyflow(env);
        let objs = objects(&s);
        let job = find(&objs, "CronJob", "postgres-backup");
        assert_eq!(job["spec"]["schedule"], "0 2 * * *");
        assert_hardened(job);
        let c = dump_container(job);
        assert!(c["args"][0].as_str().unwrap().contains("pg_dump"));
        // The same Postgres image (and so pg_dump version) as the server's.
        assert_eq!(c["image"], "postgres:18.6-alpine");
        let vars = env_of(job);
        // CloudNativePG's Service of the primary, `<cluster>-rw`, with or without replicas.
        for (k, v) in [
            ("PGHOST", "postgres-rw"),
            ("PGUSER", "easyflow"),
            ("PGDATABASE", "easyflow"),
            ("PGPASSWORD", "secret:easyflow-secrets/postgres-password"),
        ] {
            assert!(
                vars.contains(&(k.to_owned(), v.to_owned())),
                "{k}: {vars:?}"
            );
        }
    }
}

fn k8s_backup_files() -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
    let corpus = corpus();
    let files = files_with_suffix(corpus.path(), &["k8s/60-backups.yaml"]);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(corpus.path()).unwrap().display().to_string())
        .collect();
    for expected in [
        "srvthreds/staging/k8s/60-backups.yaml",
        "srvthreds/prod/k8s/60-backups.yaml",
        "easyflow/staging/k8s/60-backups.yaml",
        "easyflow/prod/k8s/60-backups.yaml",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "no {expected}: {names:?}"
        );
    }
    (corpus, files)
}

#[test]
fn backup_cronjobs_pass_kubernetes_validate_strict() {
    let (_corpus, files) = k8s_backup_files();
    let (ok, out) = run(tool("kubernetes-validate")
        .args(["--strict", "-k", "1.33.0"])
        .args(&files));
    assert!(ok, "kubernetes-validate --strict failed:\n{out}");
    assert!(
        out.matches("passed for resource cronjob/").count() >= 6,
        "{out}"
    );
}

#[test]
fn backup_cronjobs_pass_checkov() {
    let (corpus, files) = k8s_backup_files();
    let dir = corpus.path().join("backups-only");
    fs::create_dir_all(&dir).unwrap();
    for (i, f) in files.iter().enumerate() {
        fs::copy(f, dir.join(format!("{i}.yaml"))).unwrap();
    }
    let report = stackdsl_tests::checkov_kubernetes(&dir);
    assert!(
        report.failures.is_empty(),
        "checkov failures:\n{}",
        report.failures.join("\n")
    );
    let on_cronjobs = report
        .passed
        .iter()
        .filter(|(_, resource)| resource.starts_with("CronJob."))
        .count();
    assert!(
        on_cronjobs >= 6 * 20,
        "checkov checked the CronJobs too little ({on_cronjobs})"
    );
}

#[test]
fn dump_scripts_pass_shellcheck() {
    let work = tempfile::tempdir().unwrap();
    let mut n = 0;
    for env in [Env::Staging, Env::Prod] {
        for s in [
            stacks::srvthreds::srvthreds(env),
            stacks::easyflow::easyflow(env),
        ] {
            for (job, c) in objects(&s)
                .iter()
                .filter(|o| o["kind"] == "CronJob")
                .flat_map(|job| all_containers(job).into_iter().map(move |c| (job, c)))
            {
                assert_eq!(c["command"], serde_json::json!(["sh", "-c"]));
                // The kubelet turns `$$(` back into `$(` before the shell sees it.
                let script = c["args"][0].as_str().unwrap().replace("$$(", "$(");
                // Alpine images run busybox sh; mongo's is Ubuntu's dash (POSIX sh).
                let shell = if c["image"].as_str().unwrap().contains("alpine") {
                    "busybox"
                } else {
                    "sh"
                };
                let path = work.path().join(format!("{n}.sh"));
                fs::write(&path, &script).unwrap();
                let (ok, out) = run(tool("shellcheck").args(["-s", shell]).arg(&path));
                assert!(
                    ok,
                    "{} {}:\n{script}\n{out}",
                    s.name, job["metadata"]["name"]
                );
                n += 1;
            }
        }
    }
    assert_eq!(
        n, 10,
        "mongo and redis dumps and uploads (srvthreds), the postgres dump (easyflow), in two envs"
    );
}

fn errors(s: &Stack) -> Vec<(ErrorKind, String, String)> {
    stackdsl_tests::validation_errors(s)
}

fn with_backup(backup: Backup) -> Vec<(ErrorKind, String, String)> {
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Kubernetes]);
    s.backing(Postgres::new("shop", SecretRef::new("shop-secrets", "pg")).backup(backup));
    errors(&s)
}

fn one(e: Vec<(ErrorKind, String, String)>, path: &str, needle: &str) {
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].0, ErrorKind::InvalidValue);
    assert_eq!(e[0].1, path);
    assert!(e[0].2.contains(needle), "{e:#?}");
}

#[test]
fn bad_backup_policies_are_reported_at_their_paths() {
    let daily = || Backup::new(Schedule::daily_at(2, 0));
    assert!(with_backup(daily()).is_empty());
    assert!(with_backup(Backup::new(Schedule::cron("*/15 1-5 1,15 * 0-6"))).is_empty());
    let path = "shop.services[postgres].backup.schedule";
    one(
        with_backup(Backup::new(Schedule::cron("0 2 * *"))),
        path,
        "has 4 fields",
    );
    one(
        with_backup(Backup::new(Schedule::cron("0 25 * * *"))),
        path,
        "hour field `25`",
    );
    assert!(with_backup(Backup::new(Schedule::cron("0 2 * JAN-jun mon-fri"))).is_empty());
    assert!(with_backup(Backup::new(Schedule::cron("@daily"))).is_empty());
    one(
        with_backup(Backup::new(Schedule::cron("0 2 * * funday"))),
        path,
        "day of week",
    );
    one(
        with_backup(Backup::new(Schedule::cron("@nightly"))),
        path,
        "macro",
    );
    one(
        with_backup(Backup::new(Schedule::cron("0 5-2 * * *"))),
        path,
        "backwards",
    );
    one(
        with_backup(Backup::new(Schedule::cron("*/0 2 * * *"))),
        path,
        "step",
    );
    one(
        with_backup(daily().keep_days(0)),
        "shop.services[postgres].backup.retention",
        "0 days",
    );
    one(
        with_backup(daily().deadline(Window::secs(0))),
        "shop.services[postgres].backup.deadline",
        "0s",
    );
}

#[test]
fn backups_need_a_catalog_database_and_kubernetes() {
    // A plain service has no dump tool.
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Kubernetes]);
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0.0"))
            .kubernetes(|k| k.backup(Backup::new(Schedule::daily_at(2, 0)))),
    );
    let e = errors(&s);
    assert!(
        e.iter().any(|(k, p, m)| *k == ErrorKind::Unsupported
            && p == "shop.services[api].backup"
            && m.contains("catalog")),
        "{e:#?}"
    );
    // Compose has no scheduler: declaring a backup there is an error, not a silent no-op.
    let mut dev = Stack::new("shop", Env::Dev);
    dev.backing(
        MongoDb::new("root", SecretRef::new("shop-secrets", "mongo"))
            .backup(Backup::new(Schedule::daily_at(2, 0))),
    );
    let e = errors(&dev);
    assert!(
        e.iter().any(|(k, p, m)| *k == ErrorKind::Unsupported
            && p == "shop.services[mongo].backup"
            && m.contains("CronJobs")),
        "{e:#?}"
    );
}

#[test]
fn the_cross_check_covers_backup_cronjobs() {
    let s = stacks::easyflow::easyflow(Env::Staging);
    let m = stackdsl_tests::manifests(&s);
    assert!(stackdsl::render::k8s::cross_check(&s.name, &m).is_empty());
    // Without its claim, the CronJob's volume points nowhere.
    let mut broken = m.clone();
    for f in &mut broken.files {
        f.objects
            .retain(|o| o.key() != "PersistentVolumeClaim/postgres-backups");
    }
    let e = stackdsl::render::k8s::cross_check(&s.name, &broken);
    assert!(
        e.iter()
            .any(|e| e.path.contains(
                ".k8s.CronJob/postgres-backup.spec.jobTemplate.spec.template.spec.volumes["
            ) && e.message.contains("postgres-backups")),
        "{e:#?}"
    );
    // The password the job reads is a Secret the manifests list for the cluster owner.
    assert!(
        m.secrets["easyflow-secrets"]
            .iter()
            .any(|k| k.key() == "postgres-password")
    );
}

#[test]
fn a_bucket_needs_an_s3_url_an_http_endpoint_and_valid_credentials() {
    let key = SecretRef::new("backup-s3", "access-key-id");
    let secret = SecretRef::new("backup-s3", "secret-access-key");
    let daily = || Backup::new(Schedule::daily_at(2, 0));
    assert_eq!(
        with_backup(daily().bucket(Bucket::s3("s3://shop-backups/pg", &key, &secret))),
        []
    );
    one(
        with_backup(daily().bucket(Bucket::s3("shop-backups/pg", &key, &secret))),
        "shop.services[postgres].backup.bucket",
        "is not a bucket URL",
    );
    one(
        with_backup(
            daily().bucket(
                Bucket::s3("s3://shop-backups", &key, &secret).endpoint("minio.local:9000"),
            ),
        ),
        "shop.services[postgres].backup.bucket.endpoint",
        "not an http(s) URL",
    );
    let e = with_backup(daily().bucket(Bucket::s3(
        "s3://shop-backups",
        &SecretRef::new("Backup_S3", "key"),
        &secret,
    )));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        (e[0].0, e[0].1.as_str()),
        (
            ErrorKind::InvalidName,
            "shop.services[postgres].backup.bucket.credentials"
        )
    );
    // The port the job's NetworkPolicy opens follows the endpoint.
    let port = |e: &str| Bucket::s3("s3://b", &key, &secret).endpoint(e).port();
    assert_eq!(port("https://minio.local:9000/"), 9000);
    assert_eq!(port("http://minio.local"), 80);
    assert_eq!(Bucket::s3("s3://b", &key, &secret).port(), 443);
}
