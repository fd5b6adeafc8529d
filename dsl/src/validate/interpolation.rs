//! `${…}` where no target interpolates it. Compose interpolates `${VAR}` anywhere in
//! `compose.yaml`, but Kubernetes manifests, Terraform and the PaaS files write it as is:
//! a tag `:${VERSION:-release}` lands literally in a Deployment, and a bind source
//! `${UPLOAD_LOCATION}` becomes a folder of that name under the repository. So a `${` in
//! a path, a build input or a volume or file name is an error naming the field and the
//! typed way: a Rust value the stack function computes (an environment's `match`, a
//! function argument), or an environment variable the container reads. (Image references
//! are checked with the rest of their grammar in `reference.rs`; values of environment
//! variables, where a `${…}` is the app's business, are left alone.)

use super::{ErrorKind, Validator};
use crate::model::{Mount, Security, Service, VolumeSource};

/// How to say it without `${…}`.
const HINT: &str = "no target but Compose interpolates `${…}` here (Kubernetes and Terraform \
    write it as is): write the value itself, computed in the stack function (e.g. a `match` on \
    the environment, or a function argument), or let the app read it from an environment \
    variable (`.env(\"NAME\", …)`)";

/// Does `s` hold a `${` (the start of a Compose interpolation)?
fn interpolates(s: &str) -> bool {
    s.contains("${")
}

impl Validator<'_> {
    /// `${…}` in `svc`'s build inputs, and in the mounts and writable paths of the service
    /// and of each of its init containers and sidecars.
    pub(super) fn interpolation_rules(&mut self, svc: &Service, path: &str) {
        if let Some(b) = &svc.source.build {
            let fields = [
                ("context", Some(&b.context)),
                ("dockerfile", b.dockerfile.as_ref()),
                ("target", b.target.as_ref()),
            ];
            for (field, value) in fields {
                if let Some(v) = value.filter(|v| interpolates(v)) {
                    self.err(
                        ErrorKind::InvalidValue,
                        format!("{path}.build.{field}"),
                        format!("the build {field} `{v}` of `{}` holds a `${{…}}`", svc.name),
                        HINT,
                    );
                }
            }
        }
        self.one_interpolation_rules(&svc.mounts, &svc.security, path);
        for (slot, c) in svc.containers_by_slot() {
            let cpath = format!("{path}.{slot}[{}]", c.name);
            self.one_interpolation_rules(&c.mounts, &c.security, &cpath);
        }
    }

    fn one_interpolation_rules(&mut self, mounts: &[Mount], sec: &Security, path: &str) {
        for m in mounts {
            let mpath = format!("{path}.mounts[{}]", m.path);
            if interpolates(&m.path) {
                self.err(
                    ErrorKind::InvalidValue,
                    mpath.clone(),
                    format!("mount path `{}` holds a `${{…}}`", m.path),
                    HINT,
                );
            }
            let (what, value) = match &m.source {
                VolumeSource::Bind { host_path } => ("bind mount source", host_path),
                VolumeSource::Persistent { name, .. } => ("volume name", name),
                VolumeSource::File(f) => ("config file name", &f.name),
                // A declared parameter: its name is checked with the parameters.
                VolumeSource::Scratch | VolumeSource::HostDir(_) => continue,
            };
            if interpolates(value) {
                self.err(
                    ErrorKind::InvalidValue,
                    mpath,
                    format!("{what} `{value}` holds a `${{…}}`"),
                    HINT,
                );
            }
        }
        for p in sec.writable_paths.iter().filter(|p| interpolates(p)) {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.security.writable_paths[{p}]"),
                format!("writable path `{p}` holds a `${{…}}`"),
                HINT,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Build, Container, Env, Image, Mount, Security, Service};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{errors, found, stack};

    fn user() -> Security {
        Security::restricted().run_as_user(1000)
    }

    #[test]
    fn interpolation_in_paths_build_inputs_and_names_is_an_error_with_the_typed_way() {
        let s = stack(
            Env::Dev,
            [Service::new("api")
                .build(Build::new("${APP_DIR}").dockerfile("Dockerfile.${FLAVOUR}"))
                .mount(Mount::bind("${UPLOAD_LOCATION}", "/uploads"))
                .mount(Mount::persistent("data", "/srv/${NAME}"))
                .security(user().writable_path("/run/${X}"))],
        );
        let e = found(&s);
        let interpolation: Vec<&str> = e
            .iter()
            .filter(|(k, _)| *k == InvalidValue)
            .map(|(_, p)| p.as_str())
            .collect();
        assert_eq!(
            interpolation,
            [
                "t.services[api].build.context",
                "t.services[api].build.dockerfile",
                "t.services[api].mounts[/uploads]",
                "t.services[api].mounts[/srv/${NAME}]",
                "t.services[api].security.writable_paths[/run/${X}]",
            ]
        );
        let first = &errors(&s)[0];
        assert!(first.message.contains("`${APP_DIR}`"), "{}", first.message);
        assert!(
            first.hint.contains("environment variable"),
            "{}",
            first.hint
        );
    }

    #[test]
    fn interpolation_in_a_sidecars_mount_and_a_volume_name_is_named_there() {
        let s = stack(
            Env::Dev,
            [Service::new("web")
                .image(Image::new("acme/web").tag("1"))
                .security(user())
                .mount(Mount::persistent("${VOL}", "/data"))
                .sidecar(
                    Container::new("c", Image::new("acme/c").tag("1"))
                        .security(user())
                        .mount(Mount::bind("${LOGS}", "/logs")),
                )],
        );
        let paths: Vec<String> = errors(&s)
            .iter()
            .filter(|e| e.hint.contains("interpolates"))
            .map(|e| e.path.to_string())
            .collect();
        assert_eq!(
            paths,
            [
                "t.services[web].mounts[/data]",
                "t.services[web].sidecars[c].mounts[/logs]",
            ]
        );
    }
}
