//! Setters for how the container runs that every target answers for: shared memory,
//! ulimits, host devices and explicit start conditions. Each target renders its
//! equivalent, or validation (or a warning) says what it cannot do.

use super::ServiceBuilder;
use crate::model::{Condition, Dependency, Device, Memory, ServiceRef, Ulimit};

impl<S> ServiceBuilder<S> {
    /// Size of the shared memory at `/dev/shm` (browsers, Postgres' parallel queries and
    /// ML runtimes outgrow Docker's 64 MiB). Compose sets `shm_size`; Kubernetes, which
    /// gives pods a 64 MiB `/dev/shm` of the runtime's, mounts a memory-backed `emptyDir`
    /// with that `sizeLimit` there (what the pages hold counts against the container's
    /// memory limit, on both targets, so the size may not exceed it); the PaaS platforms
    /// refuse it. A scratch mount at `/dev/shm` is refused in favour of this setter: it
    /// would be an unbounded tmpfs in Compose and a disk-backed folder in Kubernetes.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Dev);
    /// s.targets([Target::Compose, Target::Kubernetes]);
    /// s.add(Service::new("browser").image(Image::new("browserless/chrome").tag("1.61"))
    ///     .shm_size(Memory::gi(1)));
    /// let docs = stackdsl::render(&stackdsl::validate(&s).unwrap()).unwrap();
    /// let file = |end: &str| &docs.iter().find(|d| d.path.ends_with(end)).unwrap().contents;
    /// assert!(file("compose.yaml").contains("    shm_size: 1G\n"));
    /// assert!(file("20-browser.yaml").contains("- emptyDir:\n            medium: Memory\n            sizeLimit: 1Gi\n"));
    /// ```
    pub fn shm_size(self, size: Memory) -> Self {
        self.with(|s| s.shm_size = Some(size))
    }

    /// Sets a resource limit of the container's processes (see [`Ulimit`]); repeatable,
    /// one per name. Compose renders `ulimits`; Kubernetes has no per-container limits
    /// (its pods get the container runtime's), so the run warns there; the PaaS platforms
    /// refuse it.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::Ulimit;
    /// let mut s = Stack::new("events", Env::Dev);
    /// s.add(Service::new("clickhouse").image(Image::new("clickhouse/clickhouse-server").tag("24.12-alpine"))
    ///     .security(Security::restricted().run_as_user(101)) // the image's `clickhouse` user
    ///     .ulimit(Ulimit::nofile(262_144, 262_144)));
    /// let docs = stackdsl::render(&stackdsl::validate(&s).unwrap()).unwrap();
    /// assert!(docs[0].contents.contains("    ulimits:\n      nofile:\n        soft: 262144\n        hard: 262144\n"));
    /// ```
    pub fn ulimit(self, limit: Ulimit) -> Self {
        self.with(|s| s.ulimits.push(limit))
    }

    /// Gives the container a host device (see [`Device`]); repeatable. Compose maps it
    /// (`devices`); Kubernetes and the PaaS platforms cannot, and refuse the service:
    /// render it where it runs (`.only_on([Target::Compose])`).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::Device;
    /// let mut s = Stack::new("media", Env::Dev);
    /// s.add(Service::new("transcoder").image(Image::new("acme/transcoder").tag("1.0"))
    ///     .device(Device::new("/dev/dri")));
    /// let docs = stackdsl::render(&stackdsl::validate(&s).unwrap()).unwrap();
    /// assert!(docs[0].contents.contains("    devices:\n      - /dev/dri:/dev/dri:rwm\n"));
    /// ```
    pub fn device(self, device: Device) -> Self {
        self.with(|s| s.devices.push(device))
    }

    /// Starts after `service` has met `condition` (see [`Condition`]), and may connect to
    /// it: [`depends_on`](Self::depends_on) with the condition stated instead of derived.
    /// Compose refuses `Healthy` for a service it gives no healthcheck and
    /// `CompletedSuccessfully` for one that restarts, and validation says so; Kubernetes
    /// refuses `CompletedSuccessfully` (a pod waits for a one-shot through an init
    /// container).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::Condition;
    /// let mut s = Stack::new("shop", Env::Dev);
    /// let setup = s.add(Service::new("setup").image(Image::new("acme/setup").tag("1.0"))
    ///     .restart(Restart::Never));
    /// s.add(Service::new("api").image(Image::new("acme/api").tag("1.0"))
    ///     .depends_on_when(&setup, Condition::CompletedSuccessfully));
    /// let docs = stackdsl::render(&stackdsl::validate(&s).unwrap()).unwrap();
    /// assert!(docs[0].contents.contains("      setup:\n        condition: service_completed_successfully\n"));
    /// ```
    pub fn depends_on_when(self, service: &ServiceRef, condition: Condition) -> Self {
        let dep = Dependency {
            service: service.clone(),
            condition: Some(condition),
        };
        self.with(|s| s.depends_on.push(dep))
    }
}
