//! Container hardening as one intent: every relaxation of [`Security`] reaches Compose and
//! Kubernetes the same way (read from the rendered files, not from the model), images that
//! drop privileges themselves start as root with exactly their capabilities, Compose hands
//! a non-root service's volumes to its user, and Kubernetes pods get no service-link
//! variables unless a stack says why.

use serde_json::Value;
use stackdsl::model::{Container, Relaxation};
use stackdsl::prelude::*;
use stackdsl_tests::render;

fn docs(stack: &Stack, suffix: &str) -> Vec<Value> {
    let doc = render(stack)
        .into_iter()
        .find(|d| d.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("{} renders no {suffix}", stack.name));
    serde_saphyr::from_multiple(&doc.contents).expect("YAML")
}

fn shop(sec: Security, mount: Option<Mount>) -> Stack {
    let mut s = Stack::new("shop", Env::Dev);
    s.targets([Target::Compose, Target::Kubernetes]);
    let mut api = Service::new("api")
        .image(Image::new("acme/app").tag("1.0.0"))
        .security(sec);
    if let Some(m) = mount {
        api = api.mount(m);
    }
    s.add(api);
    s
}

/// The hardening a target renders, in one shape for both.
#[derive(Clone, Debug, PartialEq)]
struct Facts {
    /// `Some(uid)` when the container starts as a fixed user.
    user: Option<String>,
    read_only: bool,
    no_new_privileges: bool,
    drop_all: bool,
    added: Vec<String>,
    seccomp_default: bool,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn compose(stack: &Stack) -> Facts {
    let file = docs(stack, "/compose.yaml").remove(0);
    let svc = &file["services"]["api"];
    let opts = strings(&svc["security_opt"]);
    Facts {
        user: svc["user"].as_str().map(str::to_owned),
        read_only: svc["read_only"] == true,
        no_new_privileges: opts.iter().any(|o| o == "no-new-privileges:true"),
        drop_all: strings(&svc["cap_drop"]) == ["ALL"],
        added: strings(&svc["cap_add"]),
        // Docker applies its default profile unless told `seccomp:unconfined`.
        seccomp_default: !opts.iter().any(|o| o == "seccomp:unconfined"),
    }
}

fn deployment(stack: &Stack) -> Value {
    docs(stack, "/k8s/20-api.yaml")
        .into_iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("a Deployment")
}

fn kubernetes(stack: &Stack) -> Facts {
    let d = deployment(stack);
    let pod = &d["spec"]["template"]["spec"];
    let c = &pod["containers"][0]["securityContext"];
    let user = c["runAsUser"]
        .as_u64()
        .map(|u| match c["runAsGroup"].as_u64() {
            Some(g) => format!("{u}:{g}"),
            None => u.to_string(),
        });
    Facts {
        user,
        read_only: c["readOnlyRootFilesystem"] == true,
        no_new_privileges: c["allowPrivilegeEscalation"] == false,
        drop_all: strings(&c["capabilities"]["drop"]) == ["ALL"],
        added: strings(&c["capabilities"]["add"]),
        seccomp_default: pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault",
    }
}

#[test]
fn every_relaxation_renders_the_same_in_compose_and_kubernetes() {
    let base = || Security::restricted().run_as_user(1000);
    let restricted = Facts {
        user: Some("1000".into()),
        read_only: true,
        no_new_privileges: true,
        drop_all: true,
        added: vec![],
        seccomp_default: true,
    };
    // Each relaxation, and what it changes from `restricted`.
    let cases: Vec<(Security, Facts)> = vec![
        (
            base().writable_root_fs("writes its cache"),
            Facts {
                read_only: false,
                ..restricted.clone()
            },
        ),
        (
            Security::restricted().allow_root("stays root"),
            Facts {
                user: None,
                ..restricted.clone()
            },
        ),
        (
            base().allow_privilege_escalation("runs a setuid helper"),
            Facts {
                no_new_privileges: false,
                ..restricted.clone()
            },
        ),
        (
            base().keep_default_capabilities("the entrypoint chowns its data"),
            Facts {
                drop_all: false,
                ..restricted.clone()
            },
        ),
        (
            base().add_capability("NET_BIND_SERVICE", "listens on 80"),
            Facts {
                added: vec!["NET_BIND_SERVICE".into()],
                ..restricted.clone()
            },
        ),
        (
            base().unconfined_seccomp("needs io_uring"),
            Facts {
                seccomp_default: false,
                ..restricted.clone()
            },
        ),
        (
            base().service_account_token("reads ConfigMaps"),
            restricted.clone(),
        ),
        (
            Security::drops_privileges(999, 999, ["CHOWN", "SETUID", "SETGID"], "gosu"),
            Facts {
                user: None,
                added: vec!["CHOWN".into(), "SETUID".into(), "SETGID".into()],
                ..restricted.clone()
            },
        ),
    ];
    // Every kind of relaxation is walked (Relaxation is non-exhaustive: a new kind makes
    // this count wrong and this test fail until a case is added).
    let kinds: std::collections::BTreeSet<String> = cases
        .iter()
        .flat_map(|(s, _)| s.relaxations.iter())
        .map(|(r, _)| match r {
            Relaxation::Capability(_) => "capability".to_owned(),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    for (sec, want) in cases {
        let shown = format!("{:?}", sec.relaxations);
        let token = sec.service_account_token;
        let stack = shop(sec, None);
        assert_eq!(compose(&stack), want, "Compose, {shown}");
        assert_eq!(kubernetes(&stack), want, "Kubernetes, {shown}");
        // The token is Kubernetes-only: mounted only when asked for.
        let pod = &deployment(&stack)["spec"]["template"]["spec"];
        assert_eq!(
            pod["automountServiceAccountToken"] == false,
            !token,
            "{shown}"
        );
    }
}

/// A writable path gets scratch space on both targets (a Compose `tmpfs`, a Kubernetes
/// `emptyDir`), once each, so the root filesystem stays read-only.
#[test]
fn writable_paths_get_scratch_space_on_both_targets() {
    let sec = Security::restricted()
        .run_as_user(1000)
        .writable_path("/var/run/app")
        .writable_path("/var/cache/app")
        .writable_path("/var/run/app");
    let stack = shop(sec, None);
    let file = docs(&stack, "/compose.yaml").remove(0);
    assert_eq!(
        strings(&file["services"]["api"]["tmpfs"]),
        ["/var/run/app", "/var/cache/app"]
    );
    let d = deployment(&stack);
    let pod = &d["spec"]["template"]["spec"];
    let empty_dirs: Vec<&str> = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v.get("emptyDir").is_some())
        .filter_map(|v| v["name"].as_str())
        .collect();
    let mut scratch: Vec<&str> = pod["containers"][0]["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| empty_dirs.contains(&m["name"].as_str().unwrap_or_default()))
        .filter_map(|m| m["mountPath"].as_str())
        .collect();
    scratch.sort_unstable();
    assert_eq!(scratch, ["/var/cache/app", "/var/run/app"]);
    assert!(compose(&stack).read_only);
    assert!(kubernetes(&stack).read_only);
}

#[test]
fn an_image_that_drops_privileges_gets_its_group_and_hands_over_its_own_volumes() {
    let sec = Security::drops_privileges(999, 999, ["CHOWN", "SETUID", "SETGID"], "gosu");
    let stack = shop(sec, Some(Mount::persistent("api-data", "/data")));
    let pod = &deployment(&stack)["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["fsGroup"], 999);
    assert_eq!(
        pod["containers"][0]["securityContext"]["runAsNonRoot"],
        Value::Null
    );
    let file = docs(&stack, "/compose.yaml").remove(0);
    // No chown one-shot: the entrypoint does it, and compose.yaml says so.
    assert_eq!(file["services"]["api-volumes"], Value::Null);
    let raw = render(&stack)
        .into_iter()
        .find(|d| d.path.ends_with("/compose.yaml"))
        .unwrap()
        .contents;
    assert!(
        raw.contains("# `api` starts as root: its image's entrypoint hands its volumes to 999:999")
    );
}

#[test]
fn compose_hands_a_non_root_services_volumes_to_its_user_first() {
    let sec = Security::restricted().run_as_user(1000).run_as_group(2000);
    let stack = shop(sec, Some(Mount::persistent("api-data", "/data")));
    let file = docs(&stack, "/compose.yaml").remove(0);
    let init = &file["services"]["api-volumes"];
    assert_eq!(
        strings(&init["entrypoint"]),
        ["chown", "1000:2000", "/volumes/api-data"]
    );
    assert_eq!(strings(&init["volumes"]), ["api-data:/volumes/api-data"]);
    assert_eq!(strings(&init["cap_add"]), ["CHOWN"]);
    assert_eq!(strings(&init["cap_drop"]), ["ALL"]);
    assert_eq!(init["restart"], "no");
    assert_eq!(
        file["services"]["api"]["depends_on"]["api-volumes"]["condition"],
        "service_completed_successfully"
    );
    let raw = render(&stack)
        .into_iter()
        .find(|d| d.path.ends_with("/compose.yaml"))
        .unwrap()
        .contents;
    assert!(raw.contains("# `api-volumes` hands the volumes of `api` to 1000:2000"));
    // Kubernetes gives the volume to the user's group instead.
    let pod = &deployment(&stack)["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["fsGroup"], 2000);

    // An init container that mounts the volume waits for the hand-over too.
    let mut s = Stack::new("shop", Env::Dev);
    s.targets([Target::Compose]);
    s.add(
        Service::new("api")
            .image(Image::new("acme/app").tag("1.0.0"))
            .security(Security::restricted().run_as_user(1000))
            .mount(Mount::persistent("api-data", "/data"))
            .init_container(
                Container::new("seed", Image::new("acme/seed").tag("1.0.0"))
                    .security(Security::restricted().run_as_user(1000))
                    .mount(Mount::persistent("api-data", "/data")),
            ),
    );
    let file = docs(&s, "/compose.yaml").remove(0);
    assert_eq!(
        file["services"]["api-seed"]["depends_on"]["api-volumes"]["condition"],
        "service_completed_successfully"
    );

    // A host folder keeps its owner (the user's files): the header names it, as the
    // bind mount writes it, for the user to make writable.
    let stack = shop(
        Security::restricted().run_as_user(1000),
        Some(Mount::bind("data/uploads", "/uploads")),
    );
    let raw = render(&stack)
        .into_iter()
        .find(|d| d.path.ends_with("/compose.yaml"))
        .unwrap()
        .contents;
    let file = docs(&stack, "/compose.yaml").remove(0);
    let bind = strings(&file["services"]["api"]["volumes"]).remove(0);
    let host = bind.split(':').next().unwrap();
    assert!(
        raw.contains(&format!(
            "# `api` writes to the host folder(s) `{host}` as 1000:1000"
        )),
        "{raw}"
    );
}

#[test]
fn pods_get_no_service_link_variables_unless_a_stack_says_why() {
    let stack = shop(Security::restricted().run_as_user(1000), None);
    let pod = &deployment(&stack)["spec"]["template"]["spec"];
    assert_eq!(pod["enableServiceLinks"], false);

    let mut s = Stack::new("shop", Env::Dev);
    s.targets([Target::Kubernetes]);
    s.add(
        Service::new("api")
            .image(Image::new("acme/app").tag("1.0.0"))
            .security(Security::restricted().run_as_user(1000))
            .kubernetes(|k| k.service_links("finds its database through DB_SERVICE_HOST")),
    );
    let pod = &deployment(&s)["spec"]["template"]["spec"];
    assert_eq!(pod["enableServiceLinks"], Value::Null);

    let mut s = Stack::new("shop", Env::Dev);
    s.targets([Target::Kubernetes]);
    s.add(
        Service::new("api")
            .image(Image::new("acme/app").tag("1.0.0"))
            .security(Security::restricted().run_as_user(1000))
            .kubernetes(|k| k.service_links(" ")),
    );
    let Err(errors) = stackdsl::validate(&s) else {
        panic!("a reason is required")
    };
    assert!(
        errors
            .to_string()
            .contains("service links are kept without a reason"),
        "{errors}"
    );
}
