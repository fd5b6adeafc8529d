//! How each container's image runs, and whether its hardening can work: the rules that
//! turn a pod the kubelet would refuse, or an entrypoint that would fail, into an error
//! naming the service, the image and the setter that says what the image needs.
//!
//! - A container run non-root (the default) whose image is one the plan knows starts as
//!   root ([`starts_as_root`](crate::plan::starts_as_root): Postgres, Redis, Valkey, …)
//!   must say how it runs: Kubernetes' `runAsNonRoot` refuses it, and its entrypoint cannot
//!   step down with every capability dropped. (An image the plan knows nothing about, with
//!   no stated user, is a warning instead: see `plan/security.rs`.)
//! - uid 0 with `runAsNonRoot`, or an image that drops privileges but also a fixed user,
//!   contradict each other; an image that steps down to another user needs `SETUID` and
//!   `SETGID` (unless it keeps the runtime's default capabilities).
//! - Capabilities are named as Linux names them, without `CAP_`; writable paths are
//!   absolute and not mounted read-only.

use super::{ErrorKind, Validator};
use crate::model::{Image, Mount, Security, Service, Target};

/// What a container is, for messages: its image, and whether the stack builds it.
struct Subject<'a> {
    /// `service `api`` or `container `proxy` of `api``.
    who: String,
    /// The image, when one is named.
    image: Option<&'a Image>,
    /// The stack builds the image (its Dockerfile is the team's).
    built: bool,
}

impl<'a> Validator<'a> {
    /// The security rules of `svc` and of each of its init containers and sidecars.
    pub(super) fn security_rules(&mut self, svc: &'a Service, path: &str) {
        // A second service of the same name is reported as a duplicate, once.
        if !self.is_first(svc) {
            return;
        }
        // A service only Terraform's chart runs, or only a PaaS platform, has no pod of ours.
        let runs = self.plan.renders_service(Target::Compose, svc)
            || (self.plan.renders_service(Target::Kubernetes, svc)
                && !self.plan.is_helm_installed(svc));
        let own = Subject {
            who: format!("service `{}`", svc.name),
            image: svc.source.image.as_ref(),
            built: svc.source.build.is_some(),
        };
        self.one_security_rules(
            &own,
            &svc.security,
            &svc.mounts,
            runs,
            &format!("{path}.security"),
        );
        for (slot, c) in svc.containers_by_slot() {
            let subject = Subject {
                who: format!("container `{}` of `{}`", c.name, svc.name),
                image: Some(&c.image),
                built: false,
            };
            let cpath = format!("{path}.{slot}[{}].security", c.name);
            self.one_security_rules(&subject, &c.security, &c.mounts, runs, &cpath);
        }
    }

    fn one_security_rules(
        &mut self,
        subject: &Subject<'_>,
        sec: &Security,
        mounts: &[Mount],
        runs: bool,
        spath: &str,
    ) {
        let who = &subject.who;
        let image = subject
            .image
            .map_or_else(|| "its image".to_owned(), |i| format!("image `{i}`"));
        if runs
            && sec.run_as_non_root
            && sec.run_as_user.is_none()
            && sec.drops_to.is_none()
            && !subject.built
            && let Some(img) = subject.image
            && let Some(known) = crate::plan::starts_as_root(img)
        {
            self.err(
                ErrorKind::InvalidValue,
                spath.to_owned(),
                format!(
                    "{who} runs {image} as a non-root user, but {known}: Kubernetes refuses to start it (`runAsNonRoot`), and in Compose its entrypoint cannot step down with every capability dropped"
                ),
                "state how the image runs: \
                 `.security(Security::drops_privileges(UID, GID, [\"CHOWN\", \"DAC_OVERRIDE\", \"FOWNER\", \"SETUID\", \"SETGID\"], \"why\"))` \
                 with the user its entrypoint switches to (999:999 in the Debian-based official images); \
                 `.security(Security::restricted().run_as_user(UID))` if it also runs as that user from the start; \
                 `.security(Security::restricted().allow_root(\"why\"))` if it must stay root",
            );
        }
        if sec.run_as_non_root && sec.run_as_user == Some(0) {
            self.err(
                ErrorKind::InvalidValue,
                spath.to_owned(),
                format!("{who} runs as uid 0 while it must not run as root (`runAsNonRoot`): Kubernetes would not start it"),
                "run as the image's non-root uid, or allow root with `.allow_root(\"why\")`",
            );
        }
        if let Some((uid, gid)) = sec.drops_to {
            if let Some(fixed) = sec.run_as_user {
                self.err(
                    ErrorKind::InvalidValue,
                    spath.to_owned(),
                    format!("{who} starts as root and drops privileges to {uid}:{gid} itself, but is also started as uid {fixed}: its entrypoint could not step down"),
                    "drop `.run_as_user(…)`, or state the user without `drops_privileges` if the image runs as it from the start",
                );
            }
            if uid == 0 {
                self.err(
                    ErrorKind::InvalidValue,
                    spath.to_owned(),
                    format!("{who} drops privileges to uid 0, which is root"),
                    "name the non-root uid the entrypoint switches to, or use `.allow_root(\"why\")` for an image that stays root",
                );
            }
            let missing: Vec<&str> = ["SETUID", "SETGID"]
                .into_iter()
                .filter(|c| !sec.add_capabilities.iter().any(|a| a == c))
                .collect();
            if sec.drop_all_capabilities && !missing.is_empty() {
                self.err(
                    ErrorKind::InvalidValue,
                    spath.to_owned(),
                    format!(
                        "{who} drops privileges to {uid}:{gid} itself, but every capability is dropped and {} not added back: its entrypoint cannot switch users",
                        missing.join(" and ") + if missing.len() == 1 { " is" } else { " are" }
                    ),
                    "add them to the capabilities of `Security::drops_privileges`, e.g. `[\"CHOWN\", \"SETUID\", \"SETGID\"]`",
                );
            }
        }
        for cap in &sec.add_capabilities {
            if let Some(problem) = capability_problem(cap) {
                self.err(
                    ErrorKind::InvalidValue,
                    spath.to_owned(),
                    format!("capability `{cap}` {problem}"),
                    format!(
                        "name it as Linux does, without `CAP_`: e.g. `{}`",
                        suggest_capability(cap)
                    ),
                );
            }
        }
        for p in &sec.writable_paths {
            if !p.starts_with('/') {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{spath}.writable_paths[{p}]"),
                    format!("writable path `{p}` of {who} is not absolute"),
                    "write the absolute path the image writes, e.g. `/var/run/postgresql`",
                );
            }
            if mounts.iter().any(|m| &m.path == p && m.read_only) {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{spath}.writable_paths[{p}]"),
                    format!("{who} writes `{p}`, but the volume mounted there is read-only"),
                    "mount it writable (drop `.read_only()`), or write elsewhere",
                );
            }
        }
    }
}

/// Why `cap` is not a capability name as the runtimes take it, or `None`: upper-case
/// letters, digits and `_`, starting with a letter, without the `CAP_` prefix.
fn capability_problem(cap: &str) -> Option<&'static str> {
    if cap.starts_with("CAP_") {
        return Some("has the `CAP_` prefix, which Kubernetes does not accept");
    }
    let well_formed = cap.starts_with(|c: char| c.is_ascii_uppercase())
        && cap
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    (!well_formed).then_some("is not a capability name (upper-case letters, digits and `_`)")
}

fn suggest_capability(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase().replace(['-', ' '], "_");
    let bare = upper.trim_start_matches("CAP_");
    if bare.is_empty() {
        "NET_BIND_SERVICE".to_owned()
    } else {
        bare.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Build, Container, Env, Image, Mount, Security, Service, Target};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{errors, found, stack};

    fn img() -> Image {
        Image::new("acme/x").tag("1")
    }

    /// A capability is upper-case letters, digits and `_`, starting with a letter, without
    /// the `CAP_` prefix: a good start does not excuse a bad character, nor good
    /// characters a bad start.
    #[test]
    fn capability_names_are_checked_whole() {
        use super::capability_problem;
        for ok in ["NET_ADMIN", "SYS_PTRACE", "NET_BIND_SERVICE", "A2"] {
            assert_eq!(capability_problem(ok), None, "{ok}");
        }
        assert!(capability_problem("CAP_NET_ADMIN").is_some_and(|p| p.contains("`CAP_` prefix")));
        for bad in [
            "NET-ADMIN",
            "Net_admin",
            "NET ADMIN",
            "1NET",
            "_NET",
            "net_admin",
            "",
        ] {
            assert!(
                capability_problem(bad).is_some_and(|p| p.contains("not a capability name")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_image_known_to_start_as_root_says_how_it_runs() {
        let s = stack(
            Env::Dev,
            [
                Service::new("db").image(Image::new("postgres").tag("18.1")),
                Service::new("cache").image(Image::new("docker.io/library/redis").tag("8.2")),
                // Nothing known about these: a warning (see plan/security.rs), not an error.
                Service::new("api").build(Build::new(".")),
                Service::new("other").image(img()),
                Service::new("ok")
                    .image(Image::new("postgres").tag("18.1"))
                    .security(Security::restricted().run_as_user(999)),
                Service::new("root")
                    .image(Image::new("nginx").tag("1.29"))
                    .security(Security::restricted().allow_root("stays root")),
                Service::new("steps")
                    .image(Image::new("redis").tag("8.2"))
                    .security(Security::drops_privileges(
                        999,
                        999,
                        ["SETUID", "SETGID"],
                        "gosu",
                    )),
            ],
        );
        let e = errors(&s);
        let paths: Vec<String> = e.iter().map(|e| e.path.to_string()).collect();
        assert_eq!(
            paths,
            ["t.services[db].security", "t.services[cache].security"],
            "{e:?}"
        );
        // The message names the service and the image; the hint names the setters.
        assert!(e[0].message.contains("service `db`") && e[0].message.contains("`postgres:18.1`"));
        for fix in [
            "run_as_user(UID)",
            "Security::drops_privileges(",
            "allow_root(",
        ] {
            assert!(e[0].hint.contains(fix), "{}", e[0].hint);
        }
    }

    #[test]
    fn containers_say_it_too_and_paas_only_services_need_not() {
        let s = stack(
            Env::Dev,
            [Service::new("api")
                .image(img())
                .security(Security::restricted().run_as_user(1000))
                .sidecar(Container::new("proxy", Image::new("nginx").tag("1.29")))],
        );
        assert_eq!(
            found(&s),
            [(
                InvalidValue,
                "t.services[api].sidecars[proxy].security".to_owned()
            )]
        );
        let mut s = stack(
            Env::Dev,
            [Service::new("web").image(Image::new("nginx").tag("1.29"))],
        );
        s.targets([Target::Paas(crate::model::Platform::Fly)]);
        assert_eq!(found(&s), []);
    }

    #[test]
    fn contradictions_and_missing_capabilities_are_named() {
        let cases = [
            Security::restricted().run_as_user(0),
            Security::drops_privileges(999, 999, ["SETUID", "SETGID"], "gosu").run_as_user(999),
            Security::drops_privileges(0, 0, ["SETUID", "SETGID"], "gosu"),
            Security::drops_privileges(999, 999, ["CHOWN", "SETUID"], "gosu"),
            Security::restricted()
                .run_as_user(1)
                .add_capability("CAP_CHOWN", "x"),
            Security::restricted()
                .run_as_user(1)
                .add_capability("chown", "x"),
        ];
        for sec in cases {
            let shown = format!("{sec:?}");
            let s = stack(Env::Dev, [Service::new("api").image(img()).security(sec)]);
            assert_eq!(
                found(&s),
                [(InvalidValue, "t.services[api].security".to_owned())],
                "{shown}"
            );
        }
        // Keeping the runtime's defaults keeps SETUID and SETGID.
        let kept = Security::drops_privileges(999, 999, ["CHOWN"], "gosu")
            .keep_default_capabilities("gosu");
        assert_eq!(
            found(&stack(
                Env::Dev,
                [Service::new("api").image(img()).security(kept)]
            )),
            []
        );
    }

    #[test]
    fn writable_paths_are_absolute_and_not_mounted_read_only() {
        let s = stack(
            Env::Dev,
            [Service::new("api")
                .image(img())
                .mount(Mount::bind("conf", "/etc/app").read_only())
                .security(
                    Security::restricted()
                        .run_as_user(1)
                        .writable_path("run")
                        .writable_path("/etc/app"),
                )],
        );
        assert_eq!(
            found(&s),
            [
                (
                    InvalidValue,
                    "t.services[api].security.writable_paths[run]".to_owned()
                ),
                (
                    InvalidValue,
                    "t.services[api].security.writable_paths[/etc/app]".to_owned()
                ),
            ]
        );
    }
}
