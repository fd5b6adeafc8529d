//! Rules of a service's init containers and sidecars (names, images, resources,
//! environment, mounts, hardening) and of how the service stops (grace period, pre-stop
//! hook).

use super::{ErrorKind, Validator, names};
use crate::model::{Container, Env, EnvValue, PreStop, Service, VolumeSource};

/// Longest grace period accepted: a day (Kubernetes has no bound; anything longer is a
/// typo, and a node drain would wait for it).
pub const MAX_GRACE_PERIOD: u32 = 86_400;

impl<'a> Validator<'a> {
    pub(super) fn container_rules(&mut self, svc: &'a Service, path: &str) {
        // Names of the pod's containers so far: the app's, and the migration's.
        let mut taken: Vec<(&str, String)> =
            vec![(svc.container(), "the service's container".to_owned())];
        if svc.migrations.is_some() {
            taken.push(("migrate", "the migration's init container".to_owned()));
        }
        let all = svc.containers_by_slot();
        for (slot, c) in all {
            let cpath = format!("{path}.{slot}[{}]", c.name);
            if let Some(problem) = names::dns1123_problem(&c.name) {
                self.err(
                    ErrorKind::InvalidName,
                    cpath.clone(),
                    format!("container name `{}` {problem}", c.name),
                    format!(
                        "use a DNS-1123 label such as `{}` (declared at {})",
                        names::suggest_label(&c.name),
                        c.origin
                    ),
                );
            }
            if let Some((_, who)) = taken.iter().find(|(n, _)| *n == c.name) {
                self.err(
                    ErrorKind::DuplicateName,
                    cpath.clone(),
                    format!(
                        "container name `{}` is already {who} in the pods of `{}`",
                        c.name, svc.name
                    ),
                    format!("rename the container declared at {}", c.origin),
                );
            }
            taken.push((&c.name, format!("a container declared at {}", c.origin)));
            self.one_container_rules(svc, c, &cpath);
        }
    }

    fn one_container_rules(&mut self, svc: &Service, c: &Container, cpath: &str) {
        let env = self.stack.env;
        let image = &c.image;
        if image.repository.trim().is_empty() {
            self.err(
                ErrorKind::InvalidValue,
                format!("{cpath}.image"),
                "image repository is empty",
                "name the image, e.g. `Image::new(\"busybox\").tag(\"1.37.0\")`",
            );
        } else if env != Env::Dev
            && image.digest.is_none()
            && matches!(image.tag.as_deref(), None | Some("latest"))
        {
            self.err(
                ErrorKind::UnpinnedImage,
                format!("{cpath}.image"),
                format!("image `{image}` has no pinned tag; {env} deploys must be reproducible"),
                "set an explicit version with `.tag(\"1.2.3\")` (or `.digest(\"sha256:…\")`)",
            );
        }
        let r = c.resources.unwrap_or_default();
        if env != Env::Dev
            && [
                r.requests.cpu.is_none(),
                r.requests.memory.is_none(),
                r.limits.cpu.is_none(),
                r.limits.memory.is_none(),
            ]
            .contains(&true)
        {
            self.err(
                ErrorKind::MissingResources,
                format!("{cpath}.resources"),
                format!("container `{}` has no complete requests and limits in {env}", c.name),
                "set `.resources(Resources::requests(Cpu::m(50), Memory::mi(64)).limits(Cpu::m(200), Memory::mi(128)))`",
            );
        }
        if let (Some(req), Some(lim)) = (r.requests.memory, r.limits.memory)
            && req.bytes() > lim.bytes()
        {
            self.err(
                ErrorKind::InvalidValue,
                format!("{cpath}.resources"),
                "memory request is larger than its limit",
                "raise the limit or lower the request",
            );
        }
        if let (Some(req), Some(lim)) = (r.requests.cpu, r.limits.cpu)
            && req.millicores() > lim.millicores()
        {
            self.err(
                ErrorKind::InvalidValue,
                format!("{cpath}.resources"),
                "cpu request is larger than its limit",
                "raise the limit or lower the request",
            );
        }
        self.env_list_rules(&c.env, cpath);
        for var in &c.env {
            if let EnvValue::Config(_) = var.value {
                self.err(
                    ErrorKind::Unsupported,
                    format!("{cpath}.env[{}]", var.name),
                    format!("configuration value `{}` of container `{}`: configuration values are keys of the service's own ConfigMap", var.name, c.name),
                    "set it with `.env(name, value)` on the container, or on the service with `.config(…)`",
                );
            }
        }
        self.mount_list_rules(&c.mounts, cpath);
        for m in &c.mounts {
            let shared = |m2: &crate::model::Mount| match (&m.source, &m2.source) {
                (
                    VolumeSource::Persistent { name: a, .. },
                    VolumeSource::Persistent { name: b, .. },
                ) => a == b,
                (VolumeSource::File(a), VolumeSource::File(b)) => a == b,
                _ => false,
            };
            let what = match &m.source {
                VolumeSource::Persistent { name, .. } => format!("persistent volume `{name}`"),
                VolumeSource::File(f) => format!("generated file `{}`", f.name),
                VolumeSource::Scratch | VolumeSource::Bind { .. } | VolumeSource::HostDir(_) => {
                    continue;
                }
            };
            if !svc.mounts.iter().any(shared) {
                self.err(
                    ErrorKind::UnknownService,
                    format!("{cpath}.mounts[{}]", m.path),
                    format!("container `{}` mounts {what}, which service `{}` does not mount (or mounts with other content)", c.name, svc.name),
                    "mount the same volume on the service too: a container shares the service's volumes, it does not bring its own",
                );
            }
        }
        for (what, reason) in &c.security.relaxations {
            if reason.trim().is_empty() {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{cpath}.security"),
                    format!("security relaxation ({what}) has no reason"),
                    "say why the container needs it",
                );
            }
        }
    }

    /// How the service stops: a grace period in range, and a pre-stop hook that leaves
    /// the app time to stop. A cluster sets both on the [`Cluster`](crate::model::Cluster).
    pub(super) fn lifecycle_rules(&mut self, svc: &Service, path: &str) {
        if svc.cluster.is_some() && (svc.grace_period.is_some() || svc.pre_stop.is_some()) {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.cluster"),
                format!("cluster `{}` sets its grace period and pre-stop delay on the `Cluster`; the service sets them too", svc.name),
                "use `Cluster::graceful_shutdown(…)` and `Cluster::pre_stop_delay(…)`, and drop the service's `.graceful_shutdown(…)`/`.pre_stop(…)`",
            );
        }
        if let Some(g) = svc.grace_period
            && !(1..=MAX_GRACE_PERIOD).contains(&g)
        {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.grace_period"),
                format!("a grace period of {g} s is out of range"),
                format!("give the service between 1 and {MAX_GRACE_PERIOD} seconds to stop"),
            );
        }
        let Some(hook) = &svc.pre_stop else { return };
        let hpath = format!("{path}.pre_stop");
        match hook {
            PreStop::Sleep(0) => self.err(
                ErrorKind::InvalidValue,
                hpath.clone(),
                "a pre-stop sleep of 0 s does nothing",
                "sleep at least 1 second, or drop `.pre_stop(…)`",
            ),
            PreStop::Exec(argv) if argv.first().is_none_or(|a| a.trim().is_empty()) => self.err(
                ErrorKind::InvalidValue,
                hpath.clone(),
                "the pre-stop command is empty",
                "give the command and its arguments",
            ),
            _ => {}
        }
        // Kubernetes' default grace period is 30 s.
        let grace = svc.grace_period.unwrap_or(30);
        if hook.seconds() > 0 && grace > 0 && hook.seconds() >= grace {
            self.err(
                ErrorKind::InvalidValue,
                hpath,
                format!("the pre-stop sleep ({} s) uses the whole grace period ({grace} s): the container is killed before it is ever asked to stop", hook.seconds()),
                format!("sleep less than {grace} s, or raise `.graceful_shutdown(…)`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{
        Container, Cpu, Env, Image, Memory, Migration, Mount, PreStop, Resources, Service,
    };
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{found, stack};

    fn api() -> crate::builder::ServiceBuilder<crate::builder::HasImage> {
        Service::new("api").image(Image::new("a").tag("1"))
    }

    fn small() -> Resources {
        Resources::requests(Cpu::m(10), Memory::mi(16)).limits(Cpu::m(100), Memory::mi(32))
    }

    #[test]
    fn containers_have_unique_names_pinned_images_and_resources() {
        let c = |name: &str| {
            Container::new(name, Image::new("busybox").tag("1.37.0")).resources(small())
        };
        let s = stack(
            Env::Prod,
            [api()
                .resources(small())
                .env("DATABASE_URL", "postgres://db/app")
                .migrations(Migration::command(["migrate"]))
                .sidecar(c("api"))
                .init_container(c("migrate"))
                .init_container(c("Bad_Name"))
                .init_container(Container::new("latest", Image::new("busybox")).resources(small()))
                .init_container(Container::new("bare", Image::new("busybox").tag("1.37.0")))],
        );
        assert_eq!(
            found(&s),
            [
                (DuplicateName, "t.services[api].sidecars[api]".to_owned()),
                (
                    DuplicateName,
                    "t.services[api].init_containers[migrate]".to_owned()
                ),
                (
                    InvalidName,
                    "t.services[api].init_containers[Bad_Name]".to_owned()
                ),
                (
                    UnpinnedImage,
                    "t.services[api].init_containers[latest].image".to_owned()
                ),
                (
                    MissingResources,
                    "t.services[api].init_containers[bare].resources".to_owned()
                ),
            ]
        );
    }

    /// Requests equal to limits (Guaranteed QoS) are fine; above them, refused per resource.
    #[test]
    fn container_requests_may_equal_but_not_exceed_their_limits() {
        let c = |name: &str, cpu: (u32, u32), mem: (u64, u64)| {
            Container::new(name, Image::new("busybox").tag("1.37.0")).resources(
                Resources::requests(Cpu::m(cpu.0), Memory::mi(mem.0))
                    .limits(Cpu::m(cpu.1), Memory::mi(mem.1)),
            )
        };
        let s = stack(
            Env::Prod,
            [api()
                .resources(small())
                .sidecar(c("guaranteed", (100, 100), (64, 64)))
                .sidecar(c("cpu", (200, 100), (64, 64)))
                .sidecar(c("mem", (100, 100), (128, 64)))],
        );
        assert_eq!(
            found(&s),
            [
                (
                    InvalidValue,
                    "t.services[api].sidecars[cpu].resources".to_owned()
                ),
                (
                    InvalidValue,
                    "t.services[api].sidecars[mem].resources".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn containers_share_the_services_volumes_and_set_no_configuration() {
        let s = stack(
            Env::Dev,
            [api()
                .mount(Mount::persistent("data", "/data"))
                .mount(Mount::scratch("/shared"))
                .sidecar(
                    Container::new("backup", Image::new("b").tag("1"))
                        .mount(Mount::persistent("data", "/backup/data").read_only())
                        .mount(Mount::persistent("other", "/other"))
                        .mount(Mount::scratch("/shared"))
                        .mount(Mount::scratch("tmp"))
                        .env("MODE", crate::model::EnvValue::Config("fast".into()))
                        .env("API_TOKEN", "hunter2-literal"),
                )],
        );
        assert_eq!(
            found(&s),
            [
                (
                    SecretLiteral,
                    "t.services[api].sidecars[backup].env[API_TOKEN]".to_owned()
                ),
                (
                    Unsupported,
                    "t.services[api].sidecars[backup].env[MODE]".to_owned()
                ),
                (
                    InvalidValue,
                    "t.services[api].sidecars[backup].mounts[tmp]".to_owned()
                ),
                (
                    UnknownService,
                    "t.services[api].sidecars[backup].mounts[/other]".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_service_stops_within_its_grace_period() {
        assert_eq!(
            found(&stack(
                Env::Dev,
                [api().graceful_shutdown(45).pre_stop(PreStop::sleep(5))]
            )),
            []
        );
        let s = stack(
            Env::Dev,
            [api().graceful_shutdown(0).pre_stop(PreStop::sleep(0))],
        );
        assert_eq!(
            found(&s),
            [
                (InvalidValue, "t.services[api].grace_period".to_owned()),
                (InvalidValue, "t.services[api].pre_stop".to_owned()),
            ]
        );
        let s = stack(Env::Dev, [api().pre_stop(PreStop::sleep(30))]);
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].pre_stop".to_owned())]
        );
        let empty: [&str; 0] = [];
        let s = stack(Env::Dev, [api().pre_stop(PreStop::exec(empty))]);
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].pre_stop".to_owned())]
        );
    }
}
