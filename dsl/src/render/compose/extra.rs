//! Raw Compose keys of a service ([`ComposeKey`], set with `.compose(|c| …)`): checked
//! against the Compose Specification's service keys, then merged into the service.
//!
//! A key stackdsl writes ([`OWNED`]) can only be replaced explicitly (`replace`), and a
//! key it does not write only added (`extra`), so neither a typo nor a clash with a key a
//! later version starts writing passes unnoticed.

use indexmap::IndexMap;

use super::ComposeService;
use crate::diagnostics::{Error, ErrorKind, Errors};
use crate::model::{ComposeKey, Service, Target};
use crate::plan::Plan;

/// The service keys of the Compose Specification: `definitions.service.properties` of its
/// JSON schema (`schema/compose-spec.json` of `compose-spec/compose-spec`, 92 keys as of
/// June 2026). The integration tests check that the pinned `docker compose` (v5.6.1, see
/// `tests/validators/requirements.txt`) knows each. Keys starting with `x-` (extensions)
/// are accepted as well.
pub const SPEC_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "pull_refresh_after",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// The keys stackdsl writes for a service (the fields of its Compose service), which only
/// `replace` may set.
pub const OWNED: &[&str] = &[
    "image",
    "build",
    "entrypoint",
    "command",
    "environment",
    "ports",
    "volumes",
    "configs",
    "tmpfs",
    "depends_on",
    "healthcheck",
    "restart",
    "stop_grace_period",
    "pre_stop",
    "user",
    "read_only",
    "cap_drop",
    "cap_add",
    "security_opt",
    "deploy",
    "networks",
    "network_mode",
];

/// The keys stackdsl writes from a typed setting, with the setter: neither `extra` nor
/// `replace` may set them, so each has one way to be said (and the other targets hear it).
pub const TYPED: &[(&str, &str)] = &[
    ("container_name", "`.compose(|c| c.container_name(…))`"),
    ("profiles", "`.compose(|c| c.profile(…))`"),
    ("env_file", "`.compose(|c| c.env_file(…))`"),
    ("shm_size", "`.shm_size(Memory::mi(…))`"),
    ("devices", "`.device(Device::new(…))`"),
    ("ulimits", "`.ulimit(Ulimit::nofile(…))`"),
];

/// Removes what stackdsl wrote for `key` (one of [`OWNED`]), so a replacement is the only
/// value of the key.
fn clear(s: &mut ComposeService, key: &str) {
    match key {
        "image" => s.image = None,
        "build" => s.build = None,
        "entrypoint" => s.entrypoint = None,
        "command" => s.command = None,
        "environment" => s.environment.clear(),
        "ports" => s.ports.clear(),
        "volumes" => s.volumes.clear(),
        "configs" => s.configs.clear(),
        "tmpfs" => s.tmpfs.clear(),
        "depends_on" => s.depends_on.clear(),
        "healthcheck" => s.healthcheck = None,
        "restart" => s.restart = "",
        "stop_grace_period" => s.stop_grace_period = None,
        "pre_stop" => s.pre_stop.clear(),
        "user" => s.user = None,
        "read_only" => s.read_only = false,
        "cap_drop" => s.cap_drop.clear(),
        "cap_add" => s.cap_add.clear(),
        "security_opt" => s.security_opt.clear(),
        "deploy" => s.deploy = None,
        "networks" => s.networks.clear(),
        "network_mode" => s.network_mode = None,
        _ => {}
    }
}

/// Merges `svc`'s raw keys into its Compose service `out` (validation accepted them).
pub(super) fn apply(svc: &Service, out: &mut ComposeService) {
    for k in &svc.hatches.compose {
        if k.replaces {
            clear(out, &k.key);
        }
        out.extra.insert(k.key.clone(), k.value.clone());
    }
}

/// The raw keys of the services Compose renders: each a key of the Compose Specification,
/// `extra` only for keys stackdsl does not write and `replace` only for keys it does, each
/// set once, each a value.
pub(super) fn check(plan: &Plan<'_>) -> Errors {
    let mut errors = Errors::default();
    for svc in plan.services(Target::Compose) {
        let mut seen: IndexMap<&str, &ComposeKey> = IndexMap::new();
        for k in &svc.hatches.compose {
            let path = format!(
                "{}.services[{}].compose[{}]",
                plan.stack().name,
                svc.name,
                k.key
            );
            let mut err = |message: String, hint: String| {
                errors.push(
                    Error::new(ErrorKind::InvalidValue, path.clone(), message, hint).at(k.origin),
                );
            };
            let key = k.key.as_str();
            let owned = OWNED.contains(&key);
            if let Some(first) = seen.insert(key, k) {
                err(
                    format!(
                        "`{key}` is set twice, at {} and at {}",
                        first.origin, k.origin
                    ),
                    "set each key once".to_owned(),
                );
            } else if !key.starts_with("x-") && !SPEC_KEYS.contains(&key) {
                err(
                    format!("`{key}` is not a service key of the Compose Specification"),
                    closest(key).map_or_else(
                        || "use a key of the specification, or an `x-` extension".to_owned(),
                        |c| format!("did you mean `{c}`?"),
                    ),
                );
            } else if let Some((_, setter)) = TYPED.iter().find(|(t, _)| *t == key) {
                err(
                    format!(
                        "`{key}` has a typed setting, which validation checks and every target renders or refuses explicitly"
                    ),
                    format!("use {setter} instead of a raw key"),
                );
            } else if owned && !k.replaces {
                err(
                    format!("stackdsl writes `{key}` for the service; `extra` would clash with it"),
                    format!(
                        "replace it explicitly with `.replace(\"{key}\", …)`, or use the setter that models it"
                    ),
                );
            } else if !owned && k.replaces {
                err(
                    format!("stackdsl does not write `{key}`, so there is nothing to replace"),
                    format!("add it with `.extra(\"{key}\", …)`"),
                );
            } else if let Some(e) = &k.error {
                err(
                    format!("the value of `{key}` cannot be turned into data: {e}"),
                    "pass a string, number, list or map (`serde_json::json!`)".to_owned(),
                );
            } else if k.value.is_null() {
                err(
                    format!("`{key}` is null"),
                    "give it a value, or leave the key out".to_owned(),
                );
            }
        }
    }
    errors
}

/// The specification's key nearest to `key`, if one is near.
fn closest(key: &str) -> Option<&'static str> {
    SPEC_KEYS
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_keys_are_the_fields_stackdsl_writes_and_clear_removes_each() {
        use super::super::*;
        let mut s = ComposeService {
            image: Some("x".into()),
            build: Some(BuildDef {
                context: ".".into(),
                dockerfile: None,
                target: None,
            }),
            container_name: Some("n".into()),
            profiles: vec!["p".into()],
            entrypoint: Some(vec!["a".into()]),
            command: Some(vec!["b".into()]),
            environment: {
                let mut env = options::Environment::default();
                env.insert("A".to_owned(), "1".to_owned());
                env
            },
            env_file: vec![options::EnvFileDef::Required("e".into())],
            ports: vec![DoubleQuoted("1:1".into())],
            volumes: vec!["v:/v".into()],
            configs: vec![ConfigMount {
                source: "c".into(),
                target: "/c".into(),
            }],
            tmpfs: vec!["/tmp".into()],
            shm_size: Some("1G".into()),
            devices: vec!["/dev/dri:/dev/dri:rwm".into()],
            ulimits: IndexMap::from([(
                "nofile".to_owned(),
                options::UlimitDef { soft: 1, hard: 1 },
            )]),
            depends_on: IndexMap::from([(
                "db".to_owned(),
                DependsOn {
                    condition: "service_started",
                },
            )]),
            healthcheck: Some(health::Healthcheck {
                test: vec!["CMD".into()],
                interval: "1s".into(),
                timeout: "1s".into(),
                retries: 1,
                start_period: None,
            }),
            restart: "always",
            stop_grace_period: Some("30s".into()),
            pre_stop: vec![containers::Hook {
                command: vec!["drain".into()],
            }],
            user: Some(DoubleQuoted("1".into())),
            read_only: true,
            cap_drop: vec!["ALL"],
            cap_add: vec!["NET_BIND_SERVICE".into()],
            security_opt: vec!["no-new-privileges:true"],
            deploy: Some(Deploy {
                replicas: Some(2),
                resources: None,
            }),
            networks: IndexMap::from([("default", NetworkAttach { aliases: vec![] })]),
            network_mode: Some("host".into()),
            extra: IndexMap::new(),
        };
        let keys: Vec<String> = match serde_json::to_value(&s).unwrap() {
            serde_json::Value::Object(m) => m.keys().cloned().collect(),
            _ => unreachable!(),
        };
        let typed: Vec<&str> = TYPED.iter().map(|(k, _)| *k).collect();
        let (typed_keys, owned): (Vec<String>, Vec<String>) =
            keys.into_iter().partition(|k| typed.contains(&k.as_str()));
        assert_eq!(
            owned, OWNED,
            "OWNED must list every untyped field, in order"
        );
        assert_eq!(
            typed_keys.len(),
            TYPED.len(),
            "TYPED must list every typed field"
        );
        assert!(typed.iter().all(|k| SPEC_KEYS.contains(k)));
        for key in OWNED {
            assert!(SPEC_KEYS.contains(key), "{key}");
            clear(&mut s, key);
        }
        // Typed keys are refused as raw keys, so nothing clears them.
        s.container_name = None;
        s.profiles.clear();
        s.env_file.clear();
        s.shm_size = None;
        s.devices.clear();
        s.ulimits.clear();
        assert_eq!(crate::render::yaml::to_string(&s), "{}\n");
    }

    #[test]
    fn misspelt_keys_get_a_suggestion() {
        assert_eq!(closest("shm_sise"), Some("shm_size"));
        assert_eq!(closest("ulimit"), Some("ulimits"));
        assert_eq!(closest("zzz"), None);
    }
}
