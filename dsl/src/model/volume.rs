//! Volumes and files mounted into containers.

use super::{Memory, Param, Template};

/// What backs a mount.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VolumeSource {
    /// A named persistent volume (Compose named volume, Kubernetes PersistentVolumeClaim).
    Persistent {
        /// Volume name (DNS-1123 label).
        name: String,
        /// Requested capacity (Kubernetes); Compose ignores it.
        size: Option<Memory>,
    },
    /// Scratch space that lives as long as the container (Compose tmpfs, Kubernetes
    /// `emptyDir`): what a read-only root filesystem needs for `/tmp`.
    Scratch,
    /// A host directory, relative to the repository root. Development only.
    Bind {
        /// Host path relative to the repository root.
        host_path: String,
    },
    /// A file rendered from the model (Compose `configs`, Kubernetes ConfigMap volume).
    File(ConfigFile),
    /// A folder of the Docker host whose path the deployer gives as a [`Param`] (Compose
    /// `${NAME:?…}:<path>`, listed in `.env.example`). Compose only: Kubernetes and the
    /// PaaS platforms refuse it.
    HostDir(Param),
}

/// A file whose content is part of the stack, e.g. a collector configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigFile {
    /// Name of the config (DNS-1123 label), unique in the stack.
    pub name: String,
    /// Content; may refer to other services' hosts and ports (never to secrets).
    pub content: Template,
}

/// A volume mounted at a path in the container.
///
/// ```
/// use stackdsl::prelude::*;
/// let m = Mount::persistent("pg-data", "/var/lib/postgresql/data").size(Memory::gi(10));
/// assert_eq!(m.path, "/var/lib/postgresql/data");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mount {
    /// The backing volume.
    pub source: VolumeSource,
    /// Absolute path in the container.
    pub path: String,
    /// Mounted read-only.
    pub read_only: bool,
}

impl Mount {
    /// A named persistent volume at `path`.
    ///
    /// A ReadWriteOnce volume serves one pod, so a service with more than one replica
    /// cannot mount one — unless it is a [`Cluster`](crate::model::Cluster): then every
    /// member gets a volume of its own (a StatefulSet claim template, claims
    /// `<name>-<service>-<ordinal>`; in Compose a volume `<name>-<member>` per member).
    pub fn persistent(name: impl Into<String>, path: impl Into<String>) -> Self {
        Mount {
            source: VolumeSource::Persistent {
                name: name.into(),
                size: None,
            },
            path: path.into(),
            read_only: false,
        }
    }

    /// Writable scratch space at `path` (tmpfs / emptyDir).
    pub fn scratch(path: impl Into<String>) -> Self {
        Mount {
            source: VolumeSource::Scratch,
            path: path.into(),
            read_only: false,
        }
    }

    /// A host directory (relative to the repository root) at `path`; development only.
    pub fn bind(host_path: impl Into<String>, path: impl Into<String>) -> Self {
        Mount {
            source: VolumeSource::Bind {
                host_path: host_path.into(),
            },
            path: path.into(),
            read_only: false,
        }
    }

    /// A folder of the Docker host at `path`, its location given by the deployer as
    /// parameter `param` (in `.env` beside `compose.yaml`). Unlike [`bind`](Self::bind),
    /// which mounts a folder of the repository in development, it serves a Compose
    /// deployment in any environment: the uploads folder of a self-hosted app, say.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::Param;
    /// let library = Param::new("LIBRARY_PATH").describe("Folder of photos on the Docker host");
    /// let mut s = Stack::new("photos", Env::Prod);
    /// s.add(Service::new("server").image(Image::new("acme/photos").tag("1.0"))
    ///     .resources(Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256)))
    ///     .mount(Mount::host_dir(&library, "/photos").read_only()));
    /// let docs = stackdsl::render(&stackdsl::validate(&s).unwrap()).unwrap();
    /// assert!(docs[0].contents.contains("- ${LIBRARY_PATH:?set it in .env (see .env.example)}:/photos:ro\n"));
    /// let example = docs.iter().find(|d| d.path.ends_with(".env.example")).unwrap();
    /// assert!(example.contents.contains("# Folder of photos on the Docker host. Used by: server.\nLIBRARY_PATH=\n"));
    /// ```
    pub fn host_dir(param: &Param, path: impl Into<String>) -> Self {
        Mount {
            source: VolumeSource::HostDir(param.clone()),
            path: path.into(),
            read_only: false,
        }
    }

    /// A generated file at `path`, read-only.
    pub fn file(
        name: impl Into<String>,
        path: impl Into<String>,
        content: impl Into<Template>,
    ) -> Self {
        Mount {
            source: VolumeSource::File(ConfigFile {
                name: name.into(),
                content: content.into(),
            }),
            path: path.into(),
            read_only: true,
        }
    }

    /// Requested capacity of a persistent volume.
    pub fn size(mut self, size: Memory) -> Self {
        if let VolumeSource::Persistent { size: s, .. } = &mut self.source {
            *s = Some(size);
        }
        self
    }

    /// Mounts read-only.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

impl From<&str> for Template {
    fn from(s: &str) -> Self {
        Template::new().text(s)
    }
}

impl From<String> for Template {
    fn from(s: String) -> Self {
        Template::new().text(s)
    }
}
