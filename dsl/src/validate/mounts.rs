//! Mount rules: paths, volume and file names, bind mounts, and what generated files may hold.

use std::collections::BTreeMap;

use super::{ErrorKind, Validator, names};
use crate::model::{Env, Service, VolumeSource};

impl<'a> Validator<'a> {
    pub(super) fn mount_rules(&mut self, svc: &Service, path: &str) {
        self.mount_list_rules(&svc.mounts, path);
    }

    /// The rules of one container's mounts (a service's, or an init container's or
    /// sidecar's), reported under `<path>.mounts[<path>]`.
    pub(super) fn mount_list_rules(&mut self, mounts: &[crate::model::Mount], path: &str) {
        let mut seen: BTreeMap<&str, ()> = BTreeMap::new();
        for m in mounts {
            let mpath = format!("{path}.mounts[{}]", m.path);
            if !m.path.starts_with('/') {
                self.err(
                    ErrorKind::InvalidValue,
                    mpath.clone(),
                    format!("mount path `{}` is not absolute", m.path),
                    "mount at an absolute path such as `/data`",
                );
            }
            if seen.insert(&m.path, ()).is_some() {
                self.err(
                    ErrorKind::DuplicateName,
                    mpath.clone(),
                    format!("two volumes are mounted at `{}`", m.path),
                    "mount each path once",
                );
            }
            match &m.source {
                VolumeSource::Persistent { name, .. } => {
                    if let Some(problem) = names::dns1123_problem(name) {
                        self.err(
                            ErrorKind::InvalidName,
                            mpath.clone(),
                            format!("volume name `{name}` {problem}"),
                            format!(
                                "use a DNS-1123 label such as `{}`",
                                names::suggest_label(name)
                            ),
                        );
                    }
                }
                VolumeSource::Bind { host_path } => {
                    if self.stack.env != Env::Dev {
                        self.err(
                            ErrorKind::Unsupported,
                            mpath.clone(),
                            format!("bind mount of `{host_path}` in {}; host directories exist only on a developer's machine", self.stack.env),
                            "bake the files into the image, or mount a `Mount::file` rendered from the stack",
                        );
                    }
                    if host_path.starts_with('/') || host_path.split('/').any(|c| c == "..") {
                        self.err(
                            ErrorKind::InvalidValue,
                            mpath.clone(),
                            format!("bind mount source `{host_path}` leaves the repository"),
                            "use a path relative to the repository root, without `..`",
                        );
                    }
                }
                VolumeSource::File(f) => {
                    if let Some(problem) = names::dns1123_problem(&f.name) {
                        self.err(
                            ErrorKind::InvalidName,
                            mpath.clone(),
                            format!("config file name `{}` {problem}", f.name),
                            "use a DNS-1123 label such as `collector-config`",
                        );
                    }
                    if !f.content.secrets().is_empty() {
                        self.err(
                            ErrorKind::SecretLiteral,
                            mpath.clone(),
                            format!("config file `{}` splices in a secret; files are written to `out/` in clear text", f.name),
                            "pass the secret as an environment variable and reference it from the file (e.g. `${env:VAR}`)",
                        );
                    }
                    for r in f.content.services() {
                        self.check_ref(r, &mpath);
                    }
                }
                VolumeSource::HostDir(p) => {
                    if let Some(problem) = names::env_name_problem(p.name()) {
                        self.err(
                            ErrorKind::InvalidName,
                            mpath.clone(),
                            format!("parameter `{}` {problem}", p.name()),
                            "name it like an environment variable, e.g. `UPLOAD_LOCATION`",
                        );
                    }
                }
                VolumeSource::Scratch if m.path.trim_end_matches('/') == "/dev/shm" => self.err(
                    ErrorKind::InvalidValue,
                    mpath.clone(),
                    "scratch space at `/dev/shm` is an unbounded tmpfs in Compose and a disk-backed folder in Kubernetes, not shared memory of a known size",
                    "size the shared memory with `.shm_size(Memory::mi(…))` instead",
                ),
                VolumeSource::Scratch => {}
            }
        }
    }

    /// Config file names are unique across the stack.
    pub(super) fn file_name_rules(&mut self) {
        let stack = self.stack;
        let mut files: BTreeMap<&str, &str> = BTreeMap::new();
        for svc in &stack.services {
            for m in &svc.mounts {
                if let VolumeSource::File(f) = &m.source
                    && let Some(owner) = files.insert(&f.name, &svc.name)
                {
                    self.err(
                        ErrorKind::DuplicateName,
                        format!("{}.mounts[{}]", self.svc_path(svc), m.path),
                        format!(
                            "config file name `{}` is also used by service `{owner}`",
                            f.name
                        ),
                        "give each generated file a unique name",
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Env, Image, Mount, Service, Template};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{found, stack};

    fn api() -> crate::builder::ServiceBuilder<crate::builder::HasImage> {
        Service::new("api").image(Image::new("a").tag("1"))
    }

    #[test]
    fn mounts_are_absolute_and_once_per_path() {
        let s = stack(
            Env::Dev,
            [api()
                .mount(Mount::scratch("tmp"))
                .mount(Mount::scratch("/a"))
                .mount(Mount::scratch("/a"))],
        );
        assert_eq!(
            found(&s),
            [
                (InvalidValue, "t.services[api].mounts[tmp]".to_owned()),
                (DuplicateName, "t.services[api].mounts[/a]".to_owned()),
            ]
        );
    }

    #[test]
    fn bind_mounts_stay_in_the_repository_and_in_dev() {
        let s = stack(Env::Dev, [api().mount(Mount::bind("../etc", "/etc/x"))]);
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].mounts[/etc/x]".to_owned())]
        );
        let errors = found(&stack(
            Env::Staging,
            [api().mount(Mount::bind("src", "/src"))],
        ));
        assert!(errors.contains(&(Unsupported, "t.services[api].mounts[/src]".to_owned())));
    }

    #[test]
    fn volume_and_file_names_are_labels_and_files_unique() {
        let s = stack(Env::Dev, [api().mount(Mount::persistent("Data", "/data"))]);
        assert_eq!(
            found(&s),
            [(InvalidName, "t.services[api].mounts[/data]".to_owned())]
        );
        let file = || Mount::file("conf", "/etc/c", Template::new().text("x"));
        let s = stack(
            Env::Dev,
            [
                api().mount(file()),
                Service::new("web")
                    .image(Image::new("w").tag("1"))
                    .mount(file()),
            ],
        );
        assert_eq!(
            found(&s),
            [(DuplicateName, "t.services[web].mounts[/etc/c]".to_owned())]
        );
    }
}
