//! Rules of how a container runs, whatever the target: shared memory, ulimits and host
//! devices (the setters of `builder/runtime.rs`). What one target cannot do with them is
//! that target's rule (Kubernetes refuses devices, the PaaS platforms all three).

use super::{ErrorKind, Validator};
use crate::model::{Service, ULIMIT_NAMES};

impl Validator<'_> {
    pub(super) fn runtime_rules(&mut self, svc: &Service, path: &str) {
        self.shm_rules(svc, path);
        self.ulimit_rules(svc, path);
        self.device_rules(svc, path);
    }

    /// Shared memory has a size, and its pages count against the memory limit.
    fn shm_rules(&mut self, svc: &Service, path: &str) {
        let Some(size) = svc.shm_size else {
            return;
        };
        if size.bytes() == 0 {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.shm_size"),
                "shared memory of size 0",
                "give a size such as `Memory::mi(256)`, or leave the runtime's 64 MiB",
            );
        }
        let limit = svc.resources.and_then(|r| r.limits.memory);
        if let Some(limit) = limit
            && size.bytes() > limit.bytes()
        {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.shm_size"),
                format!(
                    "shared memory of {size} is more than the container's memory limit of {limit}; what it holds counts against that limit, so the container would be killed before filling it"
                ),
                format!("shrink the shared memory to at most {limit}, or raise the memory limit"),
            );
        }
    }

    /// Names Docker knows, each once, with a soft limit no higher than the hard one.
    fn ulimit_rules(&mut self, svc: &Service, path: &str) {
        let mut seen: Vec<&str> = Vec::new();
        for u in &svc.ulimits {
            let upath = format!("{path}.ulimits[{}]", u.name);
            if !ULIMIT_NAMES.contains(&u.name.as_str()) {
                self.err(
                    ErrorKind::InvalidName,
                    upath.clone(),
                    format!("`{}` is not a ulimit Docker knows", u.name),
                    format!("use one of {}", ULIMIT_NAMES.join(", ")),
                );
            }
            if seen.contains(&u.name.as_str()) {
                self.err(
                    ErrorKind::DuplicateName,
                    upath.clone(),
                    format!("ulimit `{}` is set twice", u.name),
                    "set each limit once",
                );
            }
            seen.push(&u.name);
            // -1 is unlimited, so it is above every number.
            let above = |a: i64, b: i64| b != -1 && (a == -1 || a > b);
            if u.soft < -1 || u.hard < -1 {
                self.err(
                    ErrorKind::InvalidValue,
                    upath,
                    format!(
                        "ulimit `{}` has a negative value other than -1 (unlimited)",
                        u.name
                    ),
                    "give a count, or -1 for unlimited",
                );
            } else if above(u.soft, u.hard) {
                self.err(
                    ErrorKind::InvalidValue,
                    upath,
                    format!(
                        "ulimit `{}` has a soft limit {} above its hard limit {}, which the kernel refuses",
                        u.name, u.soft, u.hard
                    ),
                    "make the soft limit at most the hard one",
                );
            }
        }
    }

    /// Devices are absolute paths with cgroup permissions, each container path once.
    fn device_rules(&mut self, svc: &Service, path: &str) {
        let mut seen: Vec<&str> = Vec::new();
        for d in &svc.devices {
            let dpath = format!("{path}.devices[{}]", d.host);
            for p in [&d.host, &d.container] {
                if !p.starts_with('/') || p.contains(':') {
                    self.err(
                        ErrorKind::InvalidValue,
                        dpath.clone(),
                        format!("device path `{p}` is not an absolute path without `:`"),
                        "give the device's path, e.g. `/dev/dri/renderD128`",
                    );
                }
            }
            let perms = &d.permissions;
            let ordered = ["r", "w", "m"]
                .iter()
                .filter(|c| perms.contains(**c))
                .copied()
                .collect::<String>();
            if perms.is_empty() || ordered.len() != perms.len() {
                self.err(
                    ErrorKind::InvalidValue,
                    dpath.clone(),
                    format!("device permissions `{perms}` are not a subset of `rwm`"),
                    "use `r`, `w` and `m` (mknod), each at most once, e.g. `rw`",
                );
            }
            if seen.contains(&d.container.as_str()) {
                self.err(
                    ErrorKind::DuplicateName,
                    dpath,
                    format!("two devices appear at `{}`", d.container),
                    "map each device to its own path",
                );
            }
            seen.push(&d.container);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Device, Env, Ulimit};
    use crate::prelude::*;
    use crate::validate::ErrorKind;
    use crate::validate::testing::{found, stack};

    fn svc() -> crate::builder::ServiceBuilder<crate::builder::HasImage> {
        Service::new("db").image(Image::new("acme/db").tag("1.0"))
    }

    #[test]
    fn shared_memory_fits_the_memory_limit() {
        let limited = svc().resources(
            Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256)),
        );
        let ok = stack(Env::Dev, [limited.clone().shm_size(Memory::mi(256))]);
        assert_eq!(found(&ok), []);
        let over = stack(Env::Dev, [limited.shm_size(Memory::mi(512))]);
        assert_eq!(
            found(&over),
            [(
                ErrorKind::InvalidValue,
                "t.services[db].shm_size".to_owned()
            )]
        );
        let zero = stack(Env::Dev, [svc().shm_size(Memory::mi(0))]);
        assert_eq!(found(&zero).len(), 1);
    }

    #[test]
    fn ulimits_are_known_once_and_ordered() {
        let ok = stack(
            Env::Dev,
            [svc()
                .ulimit(Ulimit::nofile(65_535, 65_535))
                .ulimit(Ulimit::memlock(-1, -1))
                .ulimit(Ulimit::nproc(512, -1))],
        );
        assert_eq!(found(&ok), []);
        let bad = stack(
            Env::Dev,
            [svc()
                .ulimit(Ulimit::new("openfiles", 1, 1))
                .ulimit(Ulimit::nofile(4096, 1024))
                .ulimit(Ulimit::nofile(-1, 1024))
                .ulimit(Ulimit::nproc(-2, 5))],
        );
        let kinds = found(&bad);
        assert_eq!(
            kinds,
            [
                (
                    ErrorKind::InvalidName,
                    "t.services[db].ulimits[openfiles]".to_owned()
                ),
                (
                    ErrorKind::InvalidValue,
                    "t.services[db].ulimits[nofile]".to_owned()
                ),
                (
                    ErrorKind::DuplicateName,
                    "t.services[db].ulimits[nofile]".to_owned()
                ),
                (
                    ErrorKind::InvalidValue,
                    "t.services[db].ulimits[nofile]".to_owned()
                ),
                (
                    ErrorKind::InvalidValue,
                    "t.services[db].ulimits[nproc]".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn devices_are_absolute_with_cgroup_permissions() {
        let ok = stack(
            Env::Dev,
            [svc().device(Device::new("/dev/dri").read_write())],
        );
        assert_eq!(found(&ok), []);
        let mut bad_perms = Device::new("/dev/fuse");
        bad_perms.permissions = "rx".into();
        let bad = stack(
            Env::Dev,
            [svc()
                .device(Device::new("dri"))
                .device(bad_perms)
                .device(Device::new("/dev/sda").at("/dev/fuse"))],
        );
        assert_eq!(
            found(&bad),
            [
                (
                    ErrorKind::InvalidValue,
                    "t.services[db].devices[dri]".to_owned()
                ),
                (
                    ErrorKind::InvalidValue,
                    "t.services[db].devices[dri]".to_owned()
                ),
                (
                    ErrorKind::InvalidValue,
                    "t.services[db].devices[/dev/fuse]".to_owned()
                ),
                (
                    ErrorKind::DuplicateName,
                    "t.services[db].devices[/dev/sda]".to_owned()
                ),
            ]
        );
    }
}
