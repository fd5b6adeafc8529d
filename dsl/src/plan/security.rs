//! How each container runs, derived once from its [`Security`]: the settings every target
//! renders ([`Hardening`]), and in Compose the one-shot that makes a service's volumes
//! writable by its user ([`VolumeInit`]).
//!
//! The mapping to each target is in [`Hardening`]'s docs. The PaaS platforms have none of these settings (they isolate workloads themselves and
//! run the image's own user); their READMEs say so.

use crate::diagnostics::{Path, Warning, WarningKind};
use crate::model::{Image, Mount, Security, Service, Target, VolumeSource};

use super::Plan;

/// The image of the Compose one-shot that hands a service's volumes to its user
/// ([`VolumeInit`]): BusyBox, for its `chown` and `chmod`.
pub const VOLUME_INIT_IMAGE: (&str, &str) = ("busybox", "1.37.0");

/// The security settings of one container, as every target renders them: derived from
/// its [`Security`] and its mounts by [`Plan::hardening`].
///
/// | model | Compose | Kubernetes | PaaS |
/// |---|---|---|---|
/// | user (`run_as_user`/`run_as_group`) | `user: "<uid>[:<gid>]"` | `runAsUser`, `runAsGroup` | the image's own `USER` |
/// | non-root (default) | — (the stated user is never 0) | `runAsNonRoot: true` | — |
/// | read-only root (default) | `read_only: true` | `readOnlyRootFilesystem: true` | — |
/// | no privilege escalation (default) | `security_opt: [no-new-privileges:true]` | `allowPrivilegeEscalation: false` | — |
/// | drop all capabilities (default) | `cap_drop: [ALL]` | `capabilities.drop: [ALL]` | — |
/// | capabilities added | `cap_add` | `capabilities.add` | — |
/// | default seccomp (default) | Docker's default profile | `seccompProfile: RuntimeDefault` | — |
/// | unconfined seccomp | `security_opt: [seccomp:unconfined]` | no profile | — |
/// | volume group (`fs_group`) | the volumes' group ([`VolumeInit`]) | `fsGroup` | — |
/// | writable paths | `tmpfs` | `emptyDir` | — |
/// | service-account token | — (no API server) | `automountServiceAccountToken` | — |
///
/// ```
/// use stackdsl::prelude::*;
/// let mut s = Stack::new("shop", Env::Dev);
/// s.add(Service::new("db").image(Image::new("postgres").tag("17"))
///     .mount(Mount::persistent("db-data", "/var/lib/postgresql/data"))
///     .security(Security::restricted().run_as_user(999).writable_path("/var/run/postgresql")));
/// let plan = stackdsl::validate(&s).expect("valid");
/// let db = &plan.stack().services[0];
/// let h = plan.hardening(&db.security, &db.mounts);
/// assert_eq!((h.user, h.non_root, h.drop_all_capabilities), (Some(999), true, true));
/// // A persistent volume is handed to the user's group; the socket directory is scratch space.
/// assert_eq!(h.fs_group, Some(999));
/// assert_eq!(h.scratch, ["/var/run/postgresql"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hardening {
    /// The uid the container starts as, when fixed (`None`: the image's own user, which
    /// is root for an image that [drops privileges](Security::drops_privileges) itself).
    pub user: Option<u32>,
    /// Its primary gid, when fixed.
    pub group: Option<u32>,
    /// Refuse to start as root (Kubernetes `runAsNonRoot`).
    pub non_root: bool,
    /// Root filesystem read-only.
    pub read_only_root_fs: bool,
    /// No privilege escalation (`no-new-privileges`).
    pub no_new_privileges: bool,
    /// Every capability dropped.
    pub drop_all_capabilities: bool,
    /// Capabilities added, each once, in the order stated.
    pub add_capabilities: Vec<String>,
    /// The runtime's default seccomp profile (`false`: unconfined).
    pub seccomp_runtime_default: bool,
    /// The group volumes are handed to: stated, the group an image that drops privileges
    /// steps down to, or (for a container with a persistent volume and a stated non-root
    /// user) that user's group, so the volume is writable on first use.
    pub fs_group: Option<u32>,
    /// The pod mounts its service-account token (Kubernetes only).
    pub service_account_token: bool,
    /// Writable paths no mount covers: scratch space of their own.
    pub scratch: Vec<String>,
}

/// The hardening of a container with `sec` and `mounts`.
pub(super) fn hardening(sec: &Security, mounts: &[Mount]) -> Hardening {
    let dropping = sec.drops_to.is_some();
    let user = if dropping { None } else { sec.run_as_user };
    let persistent = mounts
        .iter()
        .any(|m| matches!(m.source, VolumeSource::Persistent { .. }));
    let own_group = user
        .filter(|u| *u != 0 && persistent)
        .map(|u| sec.run_as_group.unwrap_or(u));
    let mut add_capabilities: Vec<String> = Vec::new();
    for c in &sec.add_capabilities {
        if !add_capabilities.contains(c) {
            add_capabilities.push(c.clone());
        }
    }
    let mut scratch: Vec<String> = Vec::new();
    for p in &sec.writable_paths {
        if !mounts.iter().any(|m| &m.path == p) && !scratch.contains(p) {
            scratch.push(p.clone());
        }
    }
    Hardening {
        user,
        group: if dropping { None } else { sec.run_as_group },
        non_root: sec.run_as_non_root,
        read_only_root_fs: sec.read_only_root_fs,
        no_new_privileges: sec.no_privilege_escalation,
        drop_all_capabilities: sec.drop_all_capabilities,
        add_capabilities,
        seccomp_runtime_default: sec.seccomp_runtime_default,
        fs_group: sec
            .fs_group
            .or(sec.drops_to.map(|(_, gid)| gid))
            .or(own_group),
        service_account_token: sec.service_account_token,
        scratch,
    }
}

/// The Compose one-shot `<service>-volumes` that makes a service's volumes writable before
/// anything mounts them (see [`Plan::volume_init`]). Docker creates named volumes
/// root-owned (mode 0755) when the image has nothing at the path, so a service
/// running as a stated non-root user could not write them: the one-shot, restricted and
/// with only `CHOWN` added back, hands each one to the user (`chown`, not recursive: what
/// is inside keeps its owner) and exits; the service, its init containers and its
/// migration wait for it to complete (`service_completed_successfully`).
///
/// An image that [drops privileges](Security::drops_privileges) itself hands its volumes
/// over with its own entrypoint: the stack renders no chown for it.
///
/// ```
/// use stackdsl::prelude::*;
/// let mut s = Stack::new("shop", Env::Dev);
/// s.add(Service::new("queue").image(Image::new("nats").tag("2.14.5-alpine"))
///     .mount(Mount::persistent("queue-data", "/data"))
///     .security(Security::restricted().run_as_user(1000).run_as_group(1000)));
/// let plan = stackdsl::validate(&s).expect("valid");
/// let init = plan.volume_init(&plan.stack().services[0]).expect("a volume to hand over");
/// assert_eq!(init.name, "queue-volumes");
/// assert_eq!(init.owner, (1000, 1000));
/// assert_eq!(init.volumes[0].path, "/data");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VolumeInit<'s> {
    /// The Compose service: `<service>-volumes`.
    pub name: String,
    /// `(uid, gid)` the volumes are handed to.
    pub owner: (u32, u32),
    /// The writable named volumes of the service and its containers, each source once, in
    /// order. Host folders (bind mounts) are not changed: see [`Plan::host_folders`].
    pub volumes: Vec<&'s Mount>,
    /// Scratch paths the service shares with one of its containers (a named volume in
    /// Compose, root-owned like the others).
    pub scratch: Vec<&'s str>,
    /// The one-shot's image ([`VOLUME_INIT_IMAGE`]).
    pub image: Image,
    /// How the one-shot runs: as root, everything dropped but `CHOWN`.
    pub security: Security,
}

/// Does `svc` share scratch space at `path` with one of its containers (one volume both
/// mount, a named volume in Compose)?
pub(crate) fn shares_scratch(svc: &Service, path: &str) -> bool {
    let scratch = |mounts: &[Mount]| {
        mounts
            .iter()
            .any(|m| m.path == path && matches!(m.source, VolumeSource::Scratch))
    };
    scratch(&svc.mounts) && svc.containers().any(|c| scratch(&c.mounts))
}

/// The writable mounts of `svc` and its containers whose source `keep` selects, each
/// source once.
fn writable_mounts(svc: &Service, keep: fn(&VolumeSource) -> bool) -> Vec<&Mount> {
    let mounts = svc
        .mounts
        .iter()
        .chain(svc.containers().flat_map(|c| &c.mounts));
    let mut out: Vec<&Mount> = Vec::new();
    for m in mounts {
        if m.read_only || !keep(&m.source) {
            continue;
        }
        if !out.iter().any(|o| o.source == m.source) {
            out.push(m);
        }
    }
    out
}

/// The user and group a Compose service runs as, when the stack states a non-root one and
/// the image does not step down to it by itself: whom its volumes must belong to.
fn compose_owner(svc: &Service) -> Option<(u32, u32)> {
    let h = hardening(&svc.security, &svc.mounts);
    let sec = &svc.security;
    let uid = h.user.filter(|u| *u != 0 && sec.drops_to.is_none())?;
    Some((uid, sec.fs_group.or(sec.run_as_group).unwrap_or(uid)))
}

/// The host folders (bind mounts, folders given by a parameter) `svc` writes to as its
/// stated non-root user, with that user. They are the developer's or the operator's files,
/// so no one-shot changes their owner: the Compose file says who must be able to write them.
pub(super) fn host_folders<'s>(
    plan: &Plan<'s>,
    svc: &'s Service,
) -> Option<((u32, u32), Vec<&'s Mount>)> {
    if !plan.renders_service(Target::Compose, svc) {
        return None;
    }
    let owner = compose_owner(svc)?;
    let folders = writable_mounts(svc, |s| {
        matches!(s, VolumeSource::Bind { .. } | VolumeSource::HostDir(_))
    });
    (!folders.is_empty()).then_some((owner, folders))
}

pub(super) fn volume_init<'s>(plan: &Plan<'s>, svc: &'s Service) -> Option<VolumeInit<'s>> {
    if !plan.renders_service(Target::Compose, svc) {
        return None;
    }
    let owner = compose_owner(svc)?;
    // Named volumes only: Docker creates them root-owned, and they are ours to hand over.
    let volumes = writable_mounts(svc, |s| matches!(s, VolumeSource::Persistent { .. }));
    let scratch: Vec<&str> = svc
        .mounts
        .iter()
        .filter(|m| matches!(m.source, VolumeSource::Scratch) && shares_scratch(svc, &m.path))
        .map(|m| m.path.as_str())
        .collect();
    if volumes.is_empty() && scratch.is_empty() {
        return None;
    }
    let security = Security::restricted()
        .allow_root("changes the owner of the volumes Docker created root-owned")
        .add_capability(
            "CHOWN",
            "hands the service's volumes to its user before it starts",
        );
    Some(VolumeInit {
        name: format!("{}-volumes", svc.name),
        owner,
        volumes,
        scratch,
        image: Image::new(VOLUME_INIT_IMAGE.0).tag(VOLUME_INIT_IMAGE.1),
        security,
    })
}

/// One warning per Compose service that mounts a writable named volume or bind folder
/// while nothing says which non-root user its image runs as (an image the stack builds,
/// run non-root with no stated user): Compose cannot hand the volume over.
/// Before them, the [`image_user_warnings`] of every service.
pub(super) fn warnings(plan: &Plan<'_>) -> Vec<Warning> {
    let stack = plan.stack();
    let mut out = Vec::new();
    for svc in &stack.services {
        image_user_warnings(plan, svc, &mut out);
    }
    for svc in plan.services(Target::Compose) {
        let sec = &svc.security;
        if sec.run_as_user.is_some() || sec.drops_to.is_some() || !sec.run_as_non_root {
            continue;
        }
        // Said once: the warning about the image's user names the same fix.
        let own = Path::service(&stack.name, &svc.name).field("security");
        if out.iter().any(|w| w.path == own) {
            continue;
        }
        let Some(m) = writable_mounts(svc, |s| {
            matches!(
                s,
                VolumeSource::Persistent { .. }
                    | VolumeSource::Bind { .. }
                    | VolumeSource::HostDir(_)
            )
        })
        .into_iter()
        .next() else {
            continue;
        };
        out.push(Warning::new(
            WarningKind::VolumeOwner,
            Path::service(&stack.name, &svc.name).field("security"),
            format!(
                "Compose mounts `{}` at {} in `{}`, which Docker creates root-owned, but nothing says which user the image runs as, so it is not handed to that user and a non-root process cannot write it",
                volume_label(m),
                m.path,
                svc.name
            ),
            "state the uid of the image's `USER`: `.security(Security::restricted().run_as_user(UID))`",
        ));
    }
    out
}

/// Official images whose `Dockerfile` has no `USER`: they start as root and their
/// entrypoint hands the data directory over and steps down itself (gosu or su-exec), or
/// stays root (nginx and httpd master processes). Docker Hub names, without `library/`.
const ROOT_IMAGES: &[&str] = &[
    "postgres",
    "pgvector/pgvector",
    "redis",
    "valkey/valkey",
    "mysql",
    "mariadb",
    "mongo",
    "rabbitmq",
    "clickhouse/clickhouse-server",
    "nginx",
    "httpd",
];

/// What the plan knows about `image` starting as root, as a phrase for messages (``the
/// official `postgres` image starts as root``), or `None` when it knows nothing: the
/// official Docker Hub images in a short list whose `Dockerfile` sets no `USER`.
///
/// ```
/// use stackdsl::prelude::*;
/// assert!(stackdsl::plan::starts_as_root(&Image::new("postgres").tag("18.1")).is_some());
/// assert!(stackdsl::plan::starts_as_root(&Image::new("docker.io/library/redis").tag("8")).is_some());
/// assert!(stackdsl::plan::starts_as_root(&Image::new("ghcr.io/acme/api").tag("1")).is_none());
/// ```
pub fn starts_as_root(image: &Image) -> Option<String> {
    let name = image.name();
    let hub = name
        .strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("index.docker.io/"))
        .unwrap_or(&name);
    let hub = hub.strip_prefix("library/").unwrap_or(hub);
    ROOT_IMAGES
        .contains(&hub)
        .then(|| format!("the official `{hub}` image starts as root"))
}

/// Does `svc` run in a pod or container of ours (Compose, or Kubernetes outside a chart)?
fn runs_ours(plan: &Plan<'_>, svc: &Service) -> bool {
    plan.renders_service(Target::Compose, svc)
        || (plan.renders_service(Target::Kubernetes, svc) && !plan.is_helm_installed(svc))
}

/// One warning per container (a service's own, each init container's and sidecar's) run
/// non-root with no stated user whose image the stack does not build and the plan knows
/// nothing about: whether it starts depends on the image's `USER` (Kubernetes refuses root
/// or a name under `runAsNonRoot`). Images known to start as root are validation errors.
fn image_user_warnings(plan: &Plan<'_>, svc: &Service, out: &mut Vec<Warning>) {
    if !runs_ours(plan, svc) {
        return;
    }
    let own = svc
        .source
        .image
        .as_ref()
        .filter(|_| svc.source.build.is_none())
        .map(|i| (None, i, &svc.security));
    let containers = svc
        .containers_by_slot()
        .map(|(slot, c)| (Some((slot, c.name.as_str())), &c.image, &c.security));
    for (container, image, sec) in own.into_iter().chain(containers) {
        if !sec.run_as_non_root
            || sec.run_as_user.is_some()
            || sec.drops_to.is_some()
            || starts_as_root(image).is_some()
        {
            continue;
        }
        let who = match container {
            Some((_, c)) => format!("container `{c}` of `{}`", svc.name),
            None => format!("`{}`", svc.name),
        };
        let mut path = Path::service(&plan.stack().name, &svc.name);
        if let Some((slot, c)) = container {
            path = path.field(slot).key(c);
        }
        out.push(Warning::new(
            WarningKind::ImageUser,
            path.field("security"),
            format!(
                "{who} runs image `{image}` non-root without saying as which user: it starts only if the image's `USER` is a non-zero numeric uid (Kubernetes refuses root or a name under `runAsNonRoot`)"
            ),
            "state how the image runs: `.security(Security::restricted().run_as_user(UID))`, `Security::drops_privileges(UID, GID, [\"CHOWN\", \"SETUID\", \"SETGID\"], \"why\")` for an entrypoint that steps down, or `.allow_root(\"why\")`",
        ));
    }
}

/// How a volume is named in messages.
fn volume_label(m: &Mount) -> &str {
    match &m.source {
        VolumeSource::Persistent { name, .. } => name,
        VolumeSource::Bind { host_path } => host_path,
        _ => &m.path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Container, Env, Stack};
    use crate::prelude::Service;

    fn plan_of(s: &Stack) -> Plan<'_> {
        Plan::derive(s)
    }

    #[test]
    fn hardening_follows_the_security_value() {
        let restricted = hardening(&Security::restricted(), &[]);
        assert!(restricted.non_root && restricted.read_only_root_fs);
        assert!(restricted.no_new_privileges && restricted.drop_all_capabilities);
        assert!(restricted.seccomp_runtime_default && !restricted.service_account_token);
        assert_eq!((restricted.user, restricted.fs_group), (None, None));

        let dropping =
            Security::drops_privileges(999, 1000, ["CHOWN", "SETUID", "SETGID", "CHOWN"], "gosu");
        let h = hardening(&dropping, &[]);
        assert_eq!((h.user, h.group, h.non_root), (None, None, false));
        assert_eq!(h.add_capabilities, ["CHOWN", "SETUID", "SETGID"]);
        assert_eq!(h.fs_group, Some(1000));

        let kept = hardening(
            &Security::restricted()
                .keep_default_capabilities("x")
                .unconfined_seccomp("y"),
            &[],
        );
        assert!(!kept.drop_all_capabilities && !kept.seccomp_runtime_default);
    }

    #[test]
    fn a_persistent_volume_goes_to_the_users_group_and_writable_paths_not_mounted_are_scratch() {
        let data = Mount::persistent("d", "/data");
        let sec = Security::restricted()
            .run_as_user(70)
            .writable_path("/data")
            .writable_path("/run")
            .writable_path("/run");
        let h = hardening(&sec, std::slice::from_ref(&data));
        assert_eq!(h.fs_group, Some(70));
        assert_eq!(h.scratch, ["/run"]);
        // No persistent volume, no derived group; a stated one wins.
        assert_eq!(hardening(&sec, &[]).fs_group, None);
        assert_eq!(
            hardening(&sec.clone().fs_group(5), &[data]).fs_group,
            Some(5)
        );
    }

    #[test]
    fn compose_hands_writable_volumes_to_a_stated_user_only() {
        let mut s = Stack::new("t", Env::Dev);
        let img = || crate::model::Image::new("a").tag("1");
        s.add(
            Service::new("db")
                .image(img())
                .mount(Mount::persistent("db-data", "/data"))
                .mount(Mount::bind("conf", "/conf").read_only())
                .mount(Mount::bind("logs", "/logs"))
                .security(Security::restricted().run_as_user(70).run_as_group(71)),
        );
        s.add(
            Service::new("root")
                .image(img())
                .mount(Mount::persistent("root-data", "/data"))
                .security(Security::drops_privileges(
                    999,
                    999,
                    ["CHOWN", "SETUID", "SETGID"],
                    "gosu",
                )),
        );
        s.add(
            Service::new("built")
                .build(crate::model::Build::new("."))
                .mount(Mount::persistent("built-data", "/data")),
        );
        s.add(
            Service::new("web")
                .image(img())
                .mount(Mount::scratch("/shared"))
                .sidecar(Container::new("c", img()).mount(Mount::scratch("/shared")))
                .security(Security::restricted().run_as_user(1)),
        );
        let plan = plan_of(&s);
        let svc = |n: &str| plan.stack().service(n).unwrap();
        let db = plan.volume_init(svc("db")).unwrap();
        assert_eq!(db.owner, (70, 71));
        let paths: Vec<&str> = db.volumes.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, ["/data"]);
        // The bind folder is the developer's: named, never chowned.
        let (owner, folders) = plan.host_folders(svc("db")).unwrap();
        let folders: Vec<&str> = folders.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(
            (owner, folders.as_slice()),
            ((70, 71), ["/logs"].as_slice())
        );
        assert!(plan.host_folders(svc("root")).is_none());
        assert_eq!(db.security.add_capabilities, ["CHOWN"]);
        // The image's entrypoint hands its volumes over; nothing says who a built image runs as.
        assert!(plan.volume_init(svc("root")).is_none());
        assert!(plan.volume_init(svc("built")).is_none());
        let web = plan.volume_init(svc("web")).unwrap();
        assert_eq!(
            (web.owner, web.scratch.as_slice()),
            ((1, 1), ["/shared"].as_slice())
        );
        assert!(web.volumes.is_empty());
        let w: Vec<String> = warnings(&plan).iter().map(|w| w.path.to_string()).collect();
        // The sidecar's image is unknown and its user unstated; the built image's volume
        // cannot be handed over.
        assert_eq!(
            w,
            [
                "t.services[web].sidecars[c].security",
                "t.services[built].security"
            ]
        );
    }
}
