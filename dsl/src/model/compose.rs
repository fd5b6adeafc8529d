//! What a real compose file says that the other targets have no word for (a container's
//! fixed name, profiles, env files, variables passed through from `.env`, the project
//! name), and the runtime settings every target is asked to honour (shared memory, ulimits,
//! host devices, host folders given as parameters, explicit start conditions).

use super::ServiceRef;

/// How the Compose target renders a stack, set with
/// [`Stack::compose`](crate::model::Stack::compose).
///
/// ```
/// use stackdsl::prelude::*;
/// let mut s = Stack::new("plausible", Env::Dev);
/// s.compose(|c| c.project_name("plausible-ce"));
/// assert_eq!(s.compose.project_name.as_deref(), Some("plausible-ce"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComposeOptions {
    /// The project name, `name:` in `compose.yaml` (`None`: `<stack>-<env>`). Compose
    /// prefixes volumes, networks and containers with it, so an existing deployment's
    /// volumes are found again only under the project name it ran with.
    pub project_name: Option<String>,
}

impl ComposeOptions {
    /// Names the Compose project (default `<stack>-<env>`): lowercase letters, digits,
    /// `-` and `_`, starting with a letter or digit.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Dev);
    /// s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")));
    /// s.compose(|c| c.project_name("shop"));
    /// let docs = stackdsl::render(&stackdsl::validate(&s).unwrap()).unwrap();
    /// assert!(docs[0].contents.contains("\nname: shop\n"));
    /// ```
    pub fn project_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.project_name = Some(name.into());
        self
    }
}

/// A service's Compose-only settings (set inside
/// [`ServiceBuilder::compose`](crate::builder::ServiceBuilder::compose)). Kubernetes and
/// the PaaS platforms have no counterpart; where one of them renders the service and a
/// setting would change what the app sees (an env file, variables passed through), the run
/// warns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ComposeSettings {
    /// `container_name`: a fixed container name instead of `<project>-<service>-1`.
    pub container_name: Option<String>,
    /// `profiles`: the service starts only when one of them is enabled
    /// (`docker compose --profile <name> up`).
    pub profiles: Vec<String>,
    /// `env_file`: files of `KEY=value` lines read into the container's environment.
    pub env_files: Vec<EnvFile>,
    /// Variables passed through from `.env` or the shell when set there (`environment:
    /// {NAME: null}`), left unset in the container otherwise.
    pub pass_env: Vec<String>,
}

/// An env file of a service in Compose (`env_file:`): `KEY=value` lines read into the
/// container's environment. The path is relative to the compose file's folder
/// (`out/<stack>/<env>/`), where `.env` lives too.
///
/// ```
/// use stackdsl::model::EnvFile;
/// let f = EnvFile::new("plausible.env").optional();
/// assert_eq!((f.path.as_str(), f.required), ("plausible.env", false));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvFile {
    /// Path relative to the compose file's folder.
    pub path: String,
    /// Compose refuses to start without the file (default); an optional one may be absent.
    pub required: bool,
}

impl EnvFile {
    /// A required env file at `path`, relative to the compose file's folder.
    pub fn new(path: impl Into<String>) -> Self {
        EnvFile {
            path: path.into(),
            required: true,
        }
    }

    /// The file may be absent (Compose `required: false`).
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
}

impl From<&str> for EnvFile {
    fn from(path: &str) -> Self {
        EnvFile::new(path)
    }
}

impl From<String> for EnvFile {
    fn from(path: String) -> Self {
        EnvFile::new(path)
    }
}

/// A resource limit of the container's processes (`ulimit`), e.g. the open files a
/// database needs.
///
/// Compose sets it (`ulimits:`). Kubernetes has no per-container limit: its pods get the
/// container runtime's (containerd's and CRI-O's defaults are set on the node), and the
/// run warns. The PaaS platforms refuse it.
///
/// ```
/// use stackdsl::model::Ulimit;
/// let u = Ulimit::nofile(262_144, 262_144);
/// assert_eq!((u.name.as_str(), u.soft, u.hard), ("nofile", 262_144, 262_144));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ulimit {
    /// The limit's name as Docker spells it (`nofile`, `nproc`, `memlock`, …).
    pub name: String,
    /// The soft limit the process starts with.
    pub soft: i64,
    /// The ceiling the process may raise its soft limit to.
    pub hard: i64,
}

/// The limit names Docker accepts (`docker run --ulimit`).
pub const ULIMIT_NAMES: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

impl Ulimit {
    /// Limit `name` with a soft and a hard value (`-1`: unlimited).
    pub fn new(name: impl Into<String>, soft: i64, hard: i64) -> Self {
        Ulimit {
            name: name.into(),
            soft,
            hard,
        }
    }

    /// Open files (`nofile`).
    pub fn nofile(soft: i64, hard: i64) -> Self {
        Ulimit::new("nofile", soft, hard)
    }

    /// Processes of the user (`nproc`).
    pub fn nproc(soft: i64, hard: i64) -> Self {
        Ulimit::new("nproc", soft, hard)
    }

    /// Locked memory in bytes (`memlock`; `-1`: unlimited).
    pub fn memlock(soft: i64, hard: i64) -> Self {
        Ulimit::new("memlock", soft, hard)
    }
}

/// A host device given to the container, e.g. a GPU's render node for hardware video
/// transcoding.
///
/// Compose maps it (`devices: ["<host>:<container>:<permissions>"]`). Kubernetes cannot
/// give a pod a host device without a device plugin, and the PaaS platforms have none: both
/// refuse it (validation error), so a service that needs one is rendered where it runs.
///
/// ```
/// use stackdsl::model::Device;
/// let d = Device::new("/dev/dri/renderD128").read_write();
/// assert_eq!(d.compose(), "/dev/dri/renderD128:/dev/dri/renderD128:rw");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Device {
    /// The device's path on the Docker host.
    pub host: String,
    /// Where the container sees it (default: the same path).
    pub container: String,
    /// cgroup permissions: `r`ead, `w`rite, `m`knod (default `rwm`, Docker's).
    pub permissions: String,
}

impl Device {
    /// Host device `path`, at the same path in the container, with Docker's default
    /// permissions (`rwm`).
    pub fn new(path: impl Into<String>) -> Self {
        let host = path.into();
        Device {
            container: host.clone(),
            host,
            permissions: "rwm".into(),
        }
    }

    /// The device appears at `path` in the container.
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.container = path.into();
        self
    }

    /// Read and write, no `mknod`.
    pub fn read_write(mut self) -> Self {
        self.permissions = "rw".into();
        self
    }

    /// Read only.
    pub fn read_only(mut self) -> Self {
        self.permissions = "r".into();
        self
    }

    /// `<host>:<container>:<permissions>`, the Compose short syntax.
    pub fn compose(&self) -> String {
        format!("{}:{}:{}", self.host, self.container, self.permissions)
    }
}

/// A value the deployer supplies when Compose runs (in `.env` beside `compose.yaml`), for
/// what the stack cannot know: where a folder lives on the Docker host, say. It is listed
/// in `.env.example` and required with `${NAME:?…}`, so Compose refuses to start without
/// it. Kubernetes and the PaaS platforms have no deploy-time parameters: a mount that uses
/// one is a validation error there.
///
/// ```
/// use stackdsl::prelude::*;
/// use stackdsl::model::Param;
/// let uploads = Param::new("UPLOAD_LOCATION").describe("Folder on the Docker host that keeps uploaded files");
/// let m = Mount::host_dir(&uploads, "/data");
/// assert_eq!(uploads.name(), "UPLOAD_LOCATION");
/// assert_eq!(m.path, "/data");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Param {
    name: String,
    description: Option<String>,
}

impl Param {
    /// Parameter `name`: an environment variable name (`UPLOAD_LOCATION`).
    pub fn new(name: impl Into<String>) -> Self {
        Param {
            name: name.into(),
            description: None,
        }
    }

    /// A one-line description for `.env.example`.
    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// The variable's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
}

/// When a dependant may start, stated explicitly with
/// [`ServiceBuilder::depends_on_when`](crate::builder::ServiceBuilder::depends_on_when)
/// (a plain [`depends_on`](crate::builder::ServiceBuilder::depends_on) derives it: healthy
/// where the dependency has a Compose healthcheck, started otherwise).
///
/// Compose waits for it (`depends_on: {<service>: {condition: …}}`). Kubernetes starts pods
/// in any order and gates traffic with readiness probes, so `Started` and `Healthy` render
/// as a plain dependency there (the app retries its connections); `CompletedSuccessfully`
/// has no Kubernetes counterpart between workloads and is refused there (an init container
/// or [`Migration`](crate::model::Migration) is how a pod waits for a one-shot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Condition {
    /// The dependency's container has started (`service_started`).
    Started,
    /// Its healthcheck passes (`service_healthy`); it must have one in Compose.
    Healthy,
    /// It ran to completion with exit status 0 (`service_completed_successfully`): a
    /// one-shot, whose restart policy is [`Restart::Never`](crate::model::Restart::Never)
    /// or [`Restart::OnFailure`](crate::model::Restart::OnFailure).
    CompletedSuccessfully,
}

impl Condition {
    /// The Compose spelling (`service_healthy`, …).
    pub const fn compose(self) -> &'static str {
        match self {
            Condition::Started => "service_started",
            Condition::Healthy => "service_healthy",
            Condition::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

/// One entry of a service's [`depends_on`](crate::model::Service::depends_on): the service
/// and, when stated, the condition it must meet.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dependency {
    /// The service depended on.
    pub service: ServiceRef,
    /// The stated condition (`None`: derived, see [`Condition`]).
    pub condition: Option<Condition>,
}

impl Dependency {
    /// The dependency's name.
    pub fn name(&self) -> &str {
        self.service.name()
    }
}
