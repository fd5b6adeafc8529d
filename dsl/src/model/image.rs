//! Container images and builds.

use std::fmt;

/// A container image reference: `[registry/]repository[:tag][@digest]`.
///
/// ```
/// use stackdsl::prelude::*;
/// assert_eq!(Image::new("redis").tag("7.4-alpine").to_string(), "redis:7.4-alpine");
/// let registry = Registry::new("ghcr.io/acme");
/// assert_eq!(registry.image("api").tag("1.2.3").to_string(), "ghcr.io/acme/api:1.2.3");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Image {
    /// Registry host and optional namespace, e.g. `ghcr.io/acme`.
    pub registry: Option<String>,
    /// Repository, e.g. `library/redis` or `tsdev-api`.
    pub repository: String,
    /// Tag; staging and prod require one that is not `latest`.
    pub tag: Option<String>,
    /// Content digest (`sha256:…`), pins the exact image.
    pub digest: Option<String>,
}

impl Image {
    /// An image from Docker Hub (or any registry spelled into `repository`).
    pub fn new(repository: impl Into<String>) -> Self {
        Image {
            registry: None,
            repository: repository.into(),
            tag: None,
            digest: None,
        }
    }

    /// Sets the tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Pins a digest.
    pub fn digest(mut self, digest: impl Into<String>) -> Self {
        self.digest = Some(digest.into());
        self
    }

    /// The reference without tag or digest (what CI pushes tags to).
    pub fn name(&self) -> String {
        match &self.registry {
            Some(r) => format!("{r}/{}", self.repository),
            None => self.repository.clone(),
        }
    }
}

impl fmt::Display for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// A container registry (host and namespace) that a team pushes its images to. Declare it
/// once; every image built from it changes with it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Registry(String);

impl Registry {
    /// `host[/namespace]`, e.g. `ghcr.io/acme`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Registry(prefix.into().trim_end_matches('/').to_owned())
    }

    /// An image in this registry.
    pub fn image(&self, repository: impl Into<String>) -> Image {
        Image {
            registry: Some(self.0.clone()),
            ..Image::new(repository)
        }
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How to build an image from source.
///
/// ```
/// use stackdsl::prelude::*;
/// let b = Build::new(".").dockerfile("Dockerfile").target("production");
/// assert_eq!(b.target.as_deref(), Some("production"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Build {
    /// Build context relative to the repository root (the directory holding `out/`).
    pub context: String,
    /// Dockerfile path relative to the context.
    pub dockerfile: Option<String>,
    /// Multi-stage target.
    pub target: Option<String>,
}

impl Build {
    /// Builds from `context` (relative to the repository root).
    pub fn new(context: impl Into<String>) -> Self {
        Build {
            context: context.into(),
            dockerfile: None,
            target: None,
        }
    }

    /// Dockerfile path relative to the context.
    pub fn dockerfile(mut self, path: impl Into<String>) -> Self {
        self.dockerfile = Some(path.into());
        self
    }

    /// Multi-stage build target.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
}

/// Where a service's image comes from: a reference, a build, or a build that is tagged and
/// pushed as a reference. The builder's typestate guarantees at least one is set.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageSource {
    /// The image to run (and, with `build`, the name the build is tagged with).
    pub image: Option<Image>,
    /// How to build it.
    pub build: Option<Build>,
}
