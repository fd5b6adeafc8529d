//! Container hardening, and how an image runs: [`Security`] and its [`Relaxation`]s.
//!
//! One value per container (a service's own, each init container's and sidecar's) says
//! both what the stack asks of the container (non-root, read-only root filesystem, no
//! capabilities, …) and what the stack knows of its image: the user it runs as, whether
//! its entrypoint starts as root and steps down itself, and the paths it writes. Every
//! target reads the settings it renders from one derivation of this value
//! ([`Plan::hardening`](crate::plan::Plan::hardening)), so Compose and Kubernetes never
//! disagree about a relaxation.

/// Container hardening, and how the image runs. Every service starts
/// [`Security::restricted`] (what the Kubernetes "restricted" Pod Security Standard asks,
/// plus a read-only root filesystem and no service-account token); each relaxation takes
/// a reason, which is kept in the model.
///
/// How the image runs is stated in one of three ways, so no target has to guess. An
/// official image known to start as root ([`starts_as_root`](crate::plan::starts_as_root)),
/// run non-root with none of them, is a validation error naming the fix; any other image
/// the stack does not build gets a warning (Kubernetes refuses a root or named `USER` at
/// runtime, and nothing here can read the image's `USER`):
///
/// - it runs as a non-root user: [`run_as_user`](Self::run_as_user) (and
///   [`run_as_group`](Self::run_as_group)) with the ids of the image's `USER`, or any ids
///   the image works with;
/// - it starts as root and its entrypoint steps down itself (gosu, su-exec, setpriv):
///   [`drops_privileges`](Self::drops_privileges), with the user it switches to and the
///   capabilities its entrypoint needs for that;
/// - it must stay root: [`allow_root`](Self::allow_root).
///
/// Paths the image writes besides its volumes are [`writable_path`](Self::writable_path)s.
///
/// ```
/// use stackdsl::prelude::*;
/// let s = Security::restricted().writable_root_fs("postgres writes its socket and pid under /var/run");
/// assert!(!s.read_only_root_fs);
/// assert_eq!(s.relaxations.len(), 1);
/// assert!(Security::restricted().is_restricted());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Security {
    /// Refuse to start as uid 0 (Kubernetes `runAsNonRoot`).
    pub run_as_non_root: bool,
    /// Fixed uid: the image's user, stated (Compose `user`, Kubernetes `runAsUser`).
    pub run_as_user: Option<u32>,
    /// Fixed primary gid (Kubernetes `runAsGroup`; Compose `user: "<uid>:<gid>"`).
    pub run_as_group: Option<u32>,
    /// Group that owns mounted volumes (Kubernetes `fsGroup`; in Compose the group the
    /// volumes are handed to, see [`Plan::volume_init`](crate::plan::Plan::volume_init)).
    pub fs_group: Option<u32>,
    /// `(uid, gid)` the image's entrypoint switches to after starting as root (set by
    /// [`drops_privileges`](Self::drops_privileges)).
    pub drops_to: Option<(u32, u32)>,
    /// Paths the image writes besides its volumes: each gets scratch space (Compose
    /// `tmpfs`, Kubernetes `emptyDir`) unless a mount already covers it.
    pub writable_paths: Vec<String>,
    /// Root filesystem mounted read-only.
    pub read_only_root_fs: bool,
    /// `no-new-privileges` / `allowPrivilegeEscalation: false`.
    pub no_privilege_escalation: bool,
    /// Drop every Linux capability.
    pub drop_all_capabilities: bool,
    /// Capabilities added back after dropping ALL (names without `CAP_`, e.g. `CHOWN`).
    pub add_capabilities: Vec<String>,
    /// The container runtime's default seccomp profile.
    pub seccomp_runtime_default: bool,
    /// Mount a Kubernetes service-account token into the pod.
    pub service_account_token: bool,
    /// Every relaxation with its reason, in the order made.
    pub relaxations: Vec<(Relaxation, String)>,
}

impl Default for Security {
    fn default() -> Self {
        Security::restricted()
    }
}

impl Security {
    /// Non-root, read-only root filesystem, no privilege escalation, all capabilities
    /// dropped, default seccomp profile, no service-account token.
    pub fn restricted() -> Self {
        Security {
            run_as_non_root: true,
            run_as_user: None,
            run_as_group: None,
            fs_group: None,
            drops_to: None,
            writable_paths: Vec::new(),
            read_only_root_fs: true,
            no_privilege_escalation: true,
            drop_all_capabilities: true,
            add_capabilities: Vec::new(),
            seccomp_runtime_default: true,
            service_account_token: false,
            relaxations: Vec::new(),
        }
    }

    /// Does this meet the Kubernetes "restricted" Pod Security Standard?
    pub fn is_restricted(&self) -> bool {
        self.run_as_non_root
            && self.no_privilege_escalation
            && self.drop_all_capabilities
            && self.seccomp_runtime_default
            && self
                .add_capabilities
                .iter()
                .all(|c| c == "NET_BIND_SERVICE")
    }

    fn relax(mut self, what: Relaxation, reason: impl Into<String>) -> Self {
        self.relaxations.push((what, reason.into()));
        self
    }

    /// Only `runAsNonRoot`: every other restriction relaxed, for one `reason`. For
    /// workloads whose platform enforces hardening elsewhere, and for benchmarks.
    pub fn non_root_only(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Security::restricted()
            .writable_root_fs(reason.clone())
            .allow_privilege_escalation(reason.clone())
            .keep_default_capabilities(reason.clone())
            .unconfined_seccomp(reason.clone())
            .service_account_token(reason)
    }

    /// An image that starts as root and whose entrypoint steps down to `uid:gid` itself
    /// (gosu, su-exec, setpriv), usually after handing its data directories to that user:
    /// restricted otherwise, with `capabilities` added back for the entrypoint — `SETUID`
    /// and `SETGID` to switch users, `CHOWN` to hand over volumes, and `DAC_OVERRIDE` or
    /// `FOWNER` where it reads or `chmod`s what another user owns, as the image needs.
    /// Both targets start it as root with exactly those capabilities; its volumes are
    /// group-owned by `gid` in Kubernetes (`fsGroup`), and in Compose the entrypoint
    /// hands them over itself.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// // Docker's official postgres image, as the image documents it when started as root.
    /// let s = Security::drops_privileges(
    ///     999, 999,
    ///     ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"],
    ///     "the entrypoint chowns PGDATA, then steps down to postgres with gosu",
    /// );
    /// assert_eq!(s.drops_to, Some((999, 999)));
    /// assert!(!s.run_as_non_root && s.run_as_user.is_none());
    /// assert!(s.drop_all_capabilities && s.add_capabilities.len() == 5);
    /// ```
    pub fn drops_privileges<C: Into<String>>(
        uid: u32,
        gid: u32,
        capabilities: impl IntoIterator<Item = C>,
        reason: impl Into<String>,
    ) -> Self {
        let reason = reason.into();
        let mut s = Security::restricted().allow_root(reason.clone());
        s.drops_to = Some((uid, gid));
        for cap in capabilities {
            s = s.add_capability(cap, reason.clone());
        }
        s
    }

    /// A path the image writes besides its volumes (a socket or pid directory, a config
    /// file its entrypoint renders, a cache) and whose content from the image it does not
    /// need: it gets scratch space on every target, so the root filesystem stays
    /// read-only. Repeatable. (When the image needs what it ships at that path, relax
    /// [`writable_root_fs`](Self::writable_root_fs) instead.)
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let s = Security::restricted().run_as_user(70).writable_path("/etc/pgbouncer");
    /// assert_eq!(s.writable_paths, ["/etc/pgbouncer"]);
    /// assert!(s.read_only_root_fs);
    /// ```
    pub fn writable_path(mut self, path: impl Into<String>) -> Self {
        self.writable_paths.push(path.into());
        self
    }

    /// Allows writes to the root filesystem.
    pub fn writable_root_fs(mut self, reason: impl Into<String>) -> Self {
        self.read_only_root_fs = false;
        self.relax(Relaxation::WritableRootFs, reason)
    }

    /// Allows the container to start as root and stay root (the image's own user). For an
    /// image whose entrypoint steps down to another user, state it with
    /// [`drops_privileges`](Self::drops_privileges), so its volumes and capabilities fit.
    pub fn allow_root(mut self, reason: impl Into<String>) -> Self {
        self.run_as_non_root = false;
        self.relax(Relaxation::Root, reason)
    }

    /// Allows privilege escalation (setuid binaries).
    pub fn allow_privilege_escalation(mut self, reason: impl Into<String>) -> Self {
        self.no_privilege_escalation = false;
        self.relax(Relaxation::PrivilegeEscalation, reason)
    }

    /// Keeps the runtime's default capabilities instead of dropping all (Compose: no
    /// `cap_drop`; Kubernetes: no `capabilities.drop`).
    pub fn keep_default_capabilities(mut self, reason: impl Into<String>) -> Self {
        self.drop_all_capabilities = false;
        self.relax(Relaxation::DefaultCapabilities, reason)
    }

    /// Adds a Linux capability back (e.g. `NET_BIND_SERVICE`; the name without `CAP_`).
    pub fn add_capability(mut self, cap: impl Into<String>, reason: impl Into<String>) -> Self {
        let cap = cap.into();
        self.add_capabilities.push(cap.clone());
        self.relax(Relaxation::Capability(cap), reason)
    }

    /// Leaves the seccomp profile to the node's configuration (Compose:
    /// `seccomp:unconfined`).
    pub fn unconfined_seccomp(mut self, reason: impl Into<String>) -> Self {
        self.seccomp_runtime_default = false;
        self.relax(Relaxation::UnconfinedSeccomp, reason)
    }

    /// Mounts the pod's service-account token (the app talks to the Kubernetes API).
    pub fn service_account_token(mut self, reason: impl Into<String>) -> Self {
        self.service_account_token = true;
        self.relax(Relaxation::ServiceAccountToken, reason)
    }

    /// Runs as a fixed numeric uid: the uid of the image's `USER` (which satisfies
    /// `runAsNonRoot` even when the image names its user), or any uid the image works
    /// with.
    pub fn run_as_user(mut self, uid: u32) -> Self {
        self.run_as_user = Some(uid);
        self
    }

    /// Runs with primary group `gid` (Kubernetes `runAsGroup`). Compose sets it with the
    /// uid (`user: "<uid>:<gid>"`), so it needs [`run_as_user`](Self::run_as_user) there.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let s = Security::restricted().run_as_user(1000).run_as_group(3000).fs_group(2000);
    /// assert_eq!((s.run_as_user, s.run_as_group, s.fs_group), (Some(1000), Some(3000), Some(2000)));
    /// ```
    pub fn run_as_group(mut self, gid: u32) -> Self {
        self.run_as_group = Some(gid);
        self
    }

    /// Makes mounted volumes group-owned by `gid` (Kubernetes `fsGroup`; in Compose the
    /// one-shot that makes volumes writable hands them to this group).
    pub fn fs_group(mut self, gid: u32) -> Self {
        self.fs_group = Some(gid);
        self
    }
}

/// One way a service's [`Security`] is weaker than [`Security::restricted`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Relaxation {
    /// Writable root filesystem.
    WritableRootFs,
    /// May start as root.
    Root,
    /// Privilege escalation allowed.
    PrivilegeEscalation,
    /// The runtime's default capabilities kept.
    DefaultCapabilities,
    /// A capability added back.
    Capability(String),
    /// No seccomp profile set.
    UnconfinedSeccomp,
    /// Service-account token mounted.
    ServiceAccountToken,
}

impl std::fmt::Display for Relaxation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Relaxation::WritableRootFs => f.write_str("writable root filesystem"),
            Relaxation::Root => f.write_str("may start as root"),
            Relaxation::PrivilegeEscalation => f.write_str("privilege escalation"),
            Relaxation::DefaultCapabilities => f.write_str("default capabilities kept"),
            Relaxation::Capability(c) => write!(f, "capability {c}"),
            Relaxation::UnconfinedSeccomp => f.write_str("no seccomp profile"),
            Relaxation::ServiceAccountToken => f.write_str("service-account token mounted"),
        }
    }
}
