//! How each product is dumped for a [`Backup`]: the product's own image (so the dump tool
//! matches the server's version), a short `sh` script, and the connection settings as
//! environment variables, the password by secret reference only.
//!
//! Every script writes `<prefix>-<UTC timestamp>.<ext>` into `$BACKUP_DIR` through a
//! `.partial` file (so a killed run never leaves a file that looks complete) and then
//! deletes dumps older than `$RETENTION_MINUTES`. The renderer sets both variables from the
//! policy.

use crate::model::{
    Backup, Dump, EnvValue, EnvVar, Image, Port, SecretRef, ServiceRef, Stack, Template,
};

fn var(name: &str, value: impl Into<EnvValue>) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: value.into(),
        not_secret: None,
    }
}

fn host(svc: &ServiceRef) -> EnvValue {
    EnvValue::Template(Template::new().host(svc))
}

fn port(svc: &ServiceRef, port: Port) -> EnvValue {
    EnvValue::Template(Template::new().port(&svc.endpoint(port)))
}

/// Finishes a script: atomically publish the dump, then prune by age.
fn script(shell_opts: &str, body: &str, prefix: &str, ext: &str) -> String {
    format!(
        "set {shell_opts}\n\
         out=\"$BACKUP_DIR/{prefix}-$(date -u +%Y%m%d-%H%M%S).{ext}\"\n\
         {body}\n\
         mv \"$out.partial\" \"$out\"\n\
         find \"$BACKUP_DIR\" -name '{prefix}-*.{ext}' -mmin \"+$RETENTION_MINUTES\" -delete\n"
    )
}

/// `pg_dump` of one database, gzipped, as the role that owns it.
pub(super) fn postgres(
    svc: &ServiceRef,
    p: Port,
    image: Image,
    database: &str,
    user: &str,
    password: &SecretRef,
    uid: u32,
) -> Dump {
    Dump::new(
        image,
        script(
            "-eu -o pipefail",
            "pg_dump --no-password | gzip > \"$out.partial\"",
            database,
            "sql.gz",
        ),
        vec![
            var("PGHOST", host(svc)),
            var("PGPORT", port(svc, p)),
            var("PGUSER", user),
            var("PGDATABASE", database),
            var("PGPASSWORD", password),
        ],
        uid,
    )
}

/// `mongodump` of every database as one gzipped archive. The password goes through a
/// config file in the job's scratch space, never on the command line. It reads from the
/// primary, or from the member it reaches when that is a secondary (a replica set's
/// members share the Service name).
pub(super) fn mongo(
    svc: &ServiceRef,
    p: Port,
    image: Image,
    user: &str,
    password: &SecretRef,
    uid: u32,
) -> Dump {
    Dump::new(
        image,
        script(
            "-eu",
            "printf '%s\\n' \"password: \\\"${MONGO_PASSWORD}\\\"\" > /tmp/mongodump.yaml\n\
             mongodump --host=\"$MONGO_HOST\" --port=\"$MONGO_PORT\" --username=\"$MONGO_USER\" \\\n  \
             --authenticationDatabase=admin --readPreference=primaryPreferred \\\n  \
             --config=/tmp/mongodump.yaml --gzip --archive=\"$out.partial\"\n\
             rm -f /tmp/mongodump.yaml",
            svc.name(),
            "archive.gz",
        ),
        vec![
            var("MONGO_HOST", host(svc)),
            var("MONGO_PORT", port(svc, p)),
            var("MONGO_USER", user),
            var("MONGO_PASSWORD", password),
        ],
        uid,
    )
}

/// `<cli> --rdb` (`valkey-cli` or `redis-cli`): a snapshot of the dataset, gzipped. The CLI
/// reads the password, if there is one, from `REDISCLI_AUTH`.
pub(super) fn redis(
    svc: &ServiceRef,
    p: Port,
    (image, cli): (Image, &str),
    password: Option<&SecretRef>,
    uid: u32,
) -> Dump {
    let mut env = vec![
        var("REDIS_HOST", host(svc)),
        var("REDIS_PORT", port(svc, p)),
    ];
    if let Some(password) = password {
        env.push(var("REDISCLI_AUTH", password));
    }
    Dump::new(
        image,
        script(
            "-eu",
            &format!(
                "{cli} -h \"$REDIS_HOST\" -p \"$REDIS_PORT\" --no-auth-warning --rdb /tmp/dump.rdb\n\
                 gzip -c /tmp/dump.rdb > \"$out.partial\"\n\
                 rm -f /tmp/dump.rdb"
            ),
            svc.name(),
            "rdb.gz",
        ),
        env,
        uid,
    )
}

/// Attaches `backup` (if any) with its dump to the service just added.
pub(super) fn attach(
    s: &mut Stack,
    svc: &ServiceRef,
    backup: Option<Backup>,
    dump: impl FnOnce() -> Dump,
) {
    if let Some(b) = backup {
        let b = b.dump(dump());
        s.update(svc, |x| x.kubernetes(|k| k.backup(b)));
    }
}
