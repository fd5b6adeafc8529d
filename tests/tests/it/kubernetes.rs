//! The Kubernetes target: the real validators (kubernetes-validate --strict, kubectl
//! kustomize, checkov), cross-reference checks against broken objects, and the CLI's
//! staging↔prod diff.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use stackdsl::prelude::*;
use stackdsl::render::k8s::{Manifests, Object, cross_check};
use stackdsl::validate::ErrorKind;
use stackdsl_tests::manifests;
use stackdsl_tests::{cli, corpus, files_with_suffix, run, tool, tree};

fn k8s_yaml(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    files_with_suffix(dir, &[".yaml"])
        .into_iter()
        // Custom resources are checked against their own schemas.
        .filter(|p| {
            !stackdsl_tests::CUSTOM_RESOURCE_FILES
                .iter()
                .any(|f| p.ends_with(f))
        })
        .filter(|p| {
            p.parent().is_some_and(|d| d.ends_with("k8s")) && !p.ends_with("kustomization.yaml")
        })
        .collect()
}

#[test]
fn manifests_pass_kubernetes_validate_strict() {
    let corpus = corpus();
    let files = k8s_yaml(corpus.path());
    assert!(
        files.len() >= 20,
        "expected manifests for every stack, got {}",
        files.len()
    );
    let (ok, out) = run(tool("kubernetes-validate")
        .args(["--strict", "-k", "1.33.0", "--quiet"])
        .args(&files));
    assert!(ok, "kubernetes-validate --strict failed:\n{out}");
    // The validator really is strict: an unknown field fails it.
    let bad = corpus.path().join("bad.yaml");
    fs::write(
        &bad,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n",
    )
    .unwrap();
    let (ok, out) = run(tool("kubernetes-validate")
        .args(["--strict", "-k", "1.33.0", "--quiet"])
        .arg(&bad));
    assert!(!ok, "kubernetes-validate accepted an unknown field:\n{out}");
}

#[test]
fn every_k8s_folder_renders_with_kubectl_kustomize() {
    let corpus = corpus();
    let mut folders: Vec<_> = k8s_yaml(corpus.path())
        .into_iter()
        .filter_map(|p| p.parent().map(|d| d.to_path_buf()))
        .collect();
    folders.dedup();
    assert!(folders.len() >= 6, "{folders:?}");
    for dir in folders {
        let out = std::process::Command::new(stackdsl_tests::machine_tool("kubectl"))
            .arg("kustomize")
            .arg(&dir)
            .output()
            .expect("kubectl must be on PATH for this test (client only; no cluster needed)");
        assert!(
            out.status.success(),
            "kubectl kustomize {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let rendered = String::from_utf8_lossy(&out.stdout);
        // Every file the kustomization lists, custom resources included.
        let ours: usize = files_with_suffix(&dir, &[".yaml"])
            .iter()
            .filter(|f| !f.ends_with("kustomization.yaml"))
            .map(|f| fs::read_to_string(f).unwrap().matches("\n---\n").count())
            .sum();
        let theirs = rendered.matches("\n---\n").count() + 1;
        assert_eq!(
            theirs,
            ours,
            "kustomize rendered a different number of objects for {}",
            dir.display()
        );
    }
}

/// The skip list stays short, and every skip says why.
#[test]
fn checkov_skips_are_few_and_reasoned() {
    for (id, reason) in stackdsl_tests::checkov_skip_lines() {
        assert!(id.starts_with("CKV"), "bad skip line: {id} {reason}");
        assert!(reason.trim().len() > 20, "skip {id} needs a real reason");
    }
    let ids = stackdsl_tests::checkov_skips();
    assert!(
        ids.len() <= 6,
        "the checkov skip list grew to {}; fix the output instead",
        ids.len()
    );
}

#[test]
fn checkov_finds_nothing_outside_the_skip_list() {
    let corpus = corpus();
    let report = stackdsl_tests::checkov_kubernetes(corpus.path());
    assert!(
        report.passed.len() > 1000,
        "checkov checked too little ({} passed):\n{}",
        report.passed.len(),
        report.text
    );
    assert!(
        report.failures.is_empty(),
        "checkov failures:\n{}",
        report.failures.join("\n")
    );
}

#[test]
fn no_secret_object_carries_data() {
    let corpus = corpus();
    for f in k8s_yaml(corpus.path()) {
        let text = fs::read_to_string(&f).unwrap();
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap();
        for d in docs {
            assert_ne!(d["kind"], "Secret", "{} emits a Secret object", f.display());
            assert!(
                d.get("data").is_none() || d["kind"] == "ConfigMap",
                "{}: unexpected data in {}",
                f.display(),
                d["kind"]
            );
            assert!(d.get("stringData").is_none(), "{}", f.display());
        }
    }
}

// --- Cross-reference checks on rendered objects -------------------------------------------

fn prod() -> Manifests {
    manifests(&stacks::srvthreds::srvthreds(Env::Prod))
}

/// tsdev microservices with Postgres and Redis as in-cluster manifests (no Terraform), so
/// there are claims and volumes to break.
fn staging_micro() -> Manifests {
    let mut s = stacks::tsdev::microservices(Env::Staging);
    s.targets = vec![Target::Kubernetes];
    manifests(&s)
}

fn find<'a>(m: &'a mut Manifests, key: &str) -> &'a mut Object {
    m.objects_mut()
        .find(|o| o.key() == key)
        .unwrap_or_else(|| panic!("no {key}"))
}

/// Breaks one object with `f` and returns the (kind, path, message) of every error.
fn broken(mut m: Manifests, f: impl FnOnce(&mut Manifests)) -> Vec<(ErrorKind, String, String)> {
    assert!(
        cross_check("s", &m).is_empty(),
        "the unbroken manifests must check clean"
    );
    f(&mut m);
    cross_check("s", &m)
        .into_iter()
        .map(|e| (e.kind, e.path.to_string(), e.message))
        .collect()
}

fn one_error(errors: Vec<(ErrorKind, String, String)>, path: &str, needle: &str) {
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let (kind, p, message) = &errors[0];
    assert_eq!(*kind, ErrorKind::BrokenReference);
    assert_eq!(p, path);
    assert!(message.contains(needle), "{message}");
}

macro_rules! deployment {
    ($o:expr) => {
        match $o {
            Object::Deployment(d) => d.spec.as_mut().unwrap(),
            other => panic!("not a Deployment: {}", other.key()),
        }
    };
}

#[test]
fn an_object_rendered_twice_is_refused() {
    let e = broken(prod(), |m| {
        let deny = m
            .objects()
            .find(|o| o.key() == "NetworkPolicy/default-deny")
            .cloned()
            .expect("a default-deny policy");
        let last = m.files.len() - 1;
        m.files[last].objects.push(deny);
    });
    one_error(
        e,
        "s.k8s.NetworkPolicy/default-deny",
        "NetworkPolicy/default-deny is rendered twice",
    );
}

#[test]
fn broken_service_selector() {
    let e = broken(prod(), |m| {
        if let Object::Service(s) = find(m, "Service/engine") {
            s.spec
                .as_mut()
                .unwrap()
                .selector
                .as_mut()
                .unwrap()
                .insert("app.kubernetes.io/name".into(), "engin".into());
        }
    });
    one_error(
        e,
        "s.k8s.Service/engine.spec.selector",
        "matches no pod template",
    );
}

#[test]
fn broken_service_target_port() {
    let e = broken(prod(), |m| {
        if let Object::Service(s) = find(m, "Service/engine") {
            s.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].target_port =
                Some(IntOrString::String("htp".into()));
        }
    });
    one_error(
        e,
        "s.k8s.Service/engine.spec.ports[http].targetPort",
        "port `htp`",
    );
}

#[test]
fn broken_probe_port() {
    let e = broken(prod(), |m| {
        let spec = deployment!(find(m, "Deployment/engine"));
        let c = &mut spec.template.spec.as_mut().unwrap().containers[0];
        c.readiness_probe
            .as_mut()
            .unwrap()
            .http_get
            .as_mut()
            .unwrap()
            .port = IntOrString::String("admin".into());
    });
    one_error(
        e,
        "s.k8s.Deployment/engine.spec.template.spec.containers[engine].readinessProbe",
        "targets port `admin`",
    );
}

#[test]
fn broken_hpa_target() {
    let e = broken(prod(), |m| {
        if let Object::HorizontalPodAutoscaler(h) = find(m, "HorizontalPodAutoscaler/engine") {
            h.spec.as_mut().unwrap().scale_target_ref.name = "engines".into();
        }
    });
    one_error(
        e,
        "s.k8s.HorizontalPodAutoscaler/engine.spec.scaleTargetRef",
        "Deployment/engines",
    );
}

/// The cross-check's errors after `f` changed the Service backend of the srvthreds
/// Ingress's first path.
fn broken_backend(
    f: impl FnOnce(&mut k8s_openapi::api::networking::v1::IngressServiceBackend),
) -> Vec<(ErrorKind, String, String)> {
    broken(prod(), |m| {
        if let Object::Ingress(i) = find(m, "Ingress/srvthreds-ingress") {
            let rule = &mut i.spec.as_mut().unwrap().rules.as_mut().unwrap()[0];
            f(rule.http.as_mut().unwrap().paths[0]
                .backend
                .service
                .as_mut()
                .unwrap());
        }
    })
}

#[test]
fn broken_ingress_backend_service_and_port() {
    let path = "s.k8s.Ingress/srvthreds-ingress.spec.rules[engine.srvthreds.example.com].paths[/]";
    let e = broken_backend(|b| b.name = "api".into());
    one_error(e, path, "Service `api`, which is not in the manifests");
    let e = broken_backend(|b| b.port.as_mut().unwrap().number = Some(3001));
    one_error(e, path, "a port Service `engine` does not expose");
    // By name: the Service's own port name routes, another name does not.
    let by_name = |name: &'static str| {
        broken_backend(move |b| {
            let port = b.port.as_mut().unwrap();
            port.number = None;
            port.name = Some(name.into());
        })
    };
    assert_eq!(by_name("http"), []);
    one_error(
        by_name("grpc"),
        path,
        "a port Service `engine` does not expose",
    );
}

#[test]
fn broken_network_policy_selectors() {
    let e = broken(prod(), |m| {
        if let Object::NetworkPolicy(n) = find(m, "NetworkPolicy/engine") {
            n.spec
                .as_mut()
                .unwrap()
                .pod_selector
                .as_mut()
                .unwrap()
                .match_labels
                .as_mut()
                .unwrap()
                .insert("app.kubernetes.io/name".into(), "ghost".into());
        }
    });
    one_error(
        e,
        "s.k8s.NetworkPolicy/engine.spec.podSelector",
        "matches no pod",
    );
    let e = broken(prod(), |m| {
        if let Object::NetworkPolicy(n) = find(m, "NetworkPolicy/engine") {
            let egress = n.spec.as_mut().unwrap().egress.as_mut().unwrap();
            egress[0].to.as_mut().unwrap()[0]
                .pod_selector
                .as_mut()
                .unwrap()
                .match_labels
                .as_mut()
                .unwrap()
                .insert("app.kubernetes.io/name".into(), "redis-old".into());
        }
    });
    one_error(e, "s.k8s.NetworkPolicy/engine.spec", "allows traffic with");
}

#[test]
fn broken_config_map_key_ref() {
    let e = broken(prod(), |m| {
        if let Object::ConfigMap(c) = find(m, "ConfigMap/engine-config") {
            c.data.as_mut().unwrap().remove("LOG_LEVEL");
        }
    });
    one_error(
        e,
        "s.k8s.Deployment/engine.spec.template.spec.containers[engine].env[LOG_LEVEL]",
        "key `LOG_LEVEL` of ConfigMap `engine-config`",
    );
}

#[test]
fn undeclared_secret_key() {
    let e = broken(prod(), |m| {
        let spec = deployment!(find(m, "Deployment/engine"));
        let env = spec.template.spec.as_mut().unwrap().containers[0]
            .env
            .as_mut()
            .unwrap();
        env[0]
            .value_from
            .as_mut()
            .unwrap()
            .secret_key_ref
            .as_mut()
            .unwrap()
            .key = "redis-pasword".into();
    });
    one_error(
        e,
        "s.k8s.Deployment/engine.spec.template.spec.containers[engine].env[SRVTHREDS_SECRETS_REDIS_PASSWORD]",
        "key `redis-pasword` of Secret `srvthreds-secrets`, which the stack does not declare",
    );
}

#[test]
fn pdb_that_blocks_every_eviction() {
    let e = broken(prod(), |m| {
        if let Object::PodDisruptionBudget(p) = find(m, "PodDisruptionBudget/engine") {
            let spec = p.spec.as_mut().unwrap();
            spec.max_unavailable = None;
            spec.min_available = Some(IntOrString::Int(3));
        }
    });
    // The HPA may scale the engine down to 3, so minAvailable 3 would block drains.
    one_error(
        e,
        "s.k8s.PodDisruptionBudget/engine.spec.minAvailable",
        "keeps 3 of Deployment/engine's 3 replicas",
    );
}

#[test]
fn broken_volumes_and_claims() {
    let e = broken(staging_micro(), |m| {
        let spec = deployment!(find(m, "Deployment/postgres"));
        spec.template
            .spec
            .as_mut()
            .unwrap()
            .volumes
            .as_mut()
            .unwrap()
            .retain(|v| v.name != "scratch-tmp");
    });
    one_error(
        e,
        "s.k8s.Deployment/postgres.spec.template.spec.containers[postgres].volumeMounts[scratch-tmp]",
        "does not define",
    );
    let e = broken(staging_micro(), |m| {
        for f in &mut m.files {
            f.objects
                .retain(|o| o.key() != "PersistentVolumeClaim/postgres-data");
        }
    });
    one_error(
        e,
        "s.k8s.Deployment/postgres.spec.template.spec.volumes[postgres-data]",
        "PersistentVolumeClaim `postgres-data`",
    );
}

#[test]
fn deployment_selector_must_match_its_template() {
    let e = broken(prod(), |m| {
        let spec = deployment!(find(m, "Deployment/engine"));
        spec.selector
            .match_labels
            .as_mut()
            .unwrap()
            .insert("tier".into(), "web".into());
    });
    assert!(
        e.iter()
            .any(|(_, p, msg)| p == "s.k8s.Deployment/engine.spec.selector"
                && msg.contains("does not match its pod template")),
        "{e:#?}"
    );
}

// --- Model-level errors reach the user before anything is written ----------------------

fn probe_without_port(env: Env) -> Stack {
    let mut s = Stack::new("shop", env);
    s.targets([Target::Kubernetes]);
    let http = Port::http("http", 3000);
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0.0"))
            .port(Port::http("web", 3000))
            .readiness(Probe::http_get("/ready", http))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(64))
                    .limits(Cpu::m(200), Memory::mi(128)),
            ),
    );
    s
}

#[test]
fn removing_a_port_a_probe_uses_fails_synthesis_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let r = cli(
        Env::Prod,
        &[probe_without_port],
        &["--out", dir.path().to_str().unwrap()],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("error[unknown-port]: shop.services[api].probes.readiness: readiness probe of service `api` uses port `http`, which the service does not declare"),
        "{}",
        r.stderr
    );
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn multi_replica_service_with_a_volume_is_rejected_for_kubernetes() {
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Kubernetes]);
    s.add(
        Service::new("db")
            .image(Image::new("postgres").tag("17.2"))
            .security(Security::restricted().run_as_user(999))
            .replicas(2)
            .mount(Mount::persistent("data", "/data"))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(64))
                    .limits(Cpu::m(200), Memory::mi(128)),
            ),
    );
    let e = stackdsl::validate(&s).unwrap_err();
    assert_eq!(
        e.iter()
            .map(|e| (e.kind, e.path.as_str()))
            .collect::<Vec<_>>(),
        [(ErrorKind::Unsupported, "shop.services[db].mounts[/data]")]
    );
}

#[test]
fn min_available_at_or_above_replicas_is_rejected() {
    let mut s = Stack::new("shop", Env::Prod);
    s.targets([Target::Kubernetes]);
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0.0"))
            .replicas(3)
            .kubernetes(|k| k.disruption(Disruption::MinAvailable(3)))
            .resources(
                Resources::requests(Cpu::m(100), Memory::mi(64))
                    .limits(Cpu::m(200), Memory::mi(128)),
            ),
    );
    let e = stackdsl::validate(&s).unwrap_err();
    let e = e.iter().next().unwrap();
    assert_eq!(
        (e.kind, e.path.as_str()),
        (ErrorKind::InvalidValue, "shop.services[api].disruption")
    );
    assert!(e.hint.contains("at most 2"), "{}", e.hint);
}

// --- Environments --------------------------------------------------------------------------

#[test]
fn every_ingress_group_gets_a_name_of_its_own() {
    // Found by the property tests: `web` starts two groups, which were both named
    // `shop-ingress-web`, so applying the manifests kept only one of them.
    let http = Port::http("http", 8080);
    let mut s = Stack::new("shop", Env::Dev);
    s.targets([Target::Kubernetes])
        .kubernetes(|k| k.routes(RouteApi::ingress(IngressController::ingress_nginx())));
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0.0"))
            .port(http)
            .expose(Route::host("api.example.com", http)),
    );
    s.add(
        Service::new("web")
            .image(Image::new("acme/web").tag("1.0.0"))
            .port(http)
            .expose(Route::host("web.example.com", http).rate_limit(10))
            .expose(Route::host("www.example.com", http).tls(ClusterIssuer::new("le"))),
    );
    stackdsl::validate(&s).expect("valid");
    let m = manifests(&s);
    let names: Vec<String> = m
        .objects()
        .filter(|o| o.kind() == "Ingress")
        .map(|o| o.name().to_owned())
        .collect();
    assert_eq!(
        names,
        ["shop-ingress", "shop-ingress-web", "shop-ingress-web-2"]
    );
    assert!(cross_check("shop", &m).is_empty());
}

#[test]
fn staging_to_prod_diff_shows_what_changes() {
    let r = cli(
        Env::Prod,
        stacks::ALL,
        &["--stack", "srvthreds", "diff", "--against", "staging"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let out = r.stdout;
    for expected in [
        "srvthreds: staging → prod",
        "  ~ Deployment/engine\n",
        "      spec.replicas: 2 → 5\n",
        "      spec.template.spec.containers[engine].resources.limits.cpu: 500m → 2\n",
        "      spec.template.spec.containers[engine].resources.requests.memory: 512Mi → 2Gi\n",
        "      spec.template.spec.containers[engine].image: ghcr.io/srvthreds/srvthreds-engine:1.2.3",
        "      spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: 100\n",
        "  + HorizontalPodAutoscaler/engine (only in prod)\n",
        "      spec.minReplicas: 3\n",
        "      spec.maxReplicas: 20\n",
    ] {
        if expected.contains("image:") {
            // Same release in both environments: the image must *not* show as a change.
            assert!(
                !out.contains(expected),
                "image differs unexpectedly:\n{out}"
            );
        } else {
            assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
        }
    }
    assert!(
        !out.contains("namespace"),
        "namespaces must be normalised away:\n{out}"
    );
}

#[test]
fn diff_needs_kubernetes_on_both_sides() {
    let r = cli(
        Env::Prod,
        stacks::ALL,
        &["--stack", "srvthreds", "diff", "--against", "dev"],
    );
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .contains("srvthreds: not rendered for Kubernetes in both dev and prod; skipped"),
        "{}",
        r.stdout
    );
    let bad = cli(Env::Prod, stacks::ALL, &["diff", "--against", "qa"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("unknown environment `qa`"),
        "{}",
        bad.stderr
    );
}

/// `ConfigMapUse::ReadByApp` keeps the values in the ConfigMap and out of the container's
/// environment; the default reads each from the ConfigMap; `without_kustomization` drops
/// only `kustomization.yaml`.
#[test]
fn config_map_use_and_kustomization_are_explicit_choices() {
    let stack = |read_by_app: bool, kustomization: bool| {
        let mut s = Stack::new("shop", Env::Dev);
        s.targets([Target::Kubernetes]).kubernetes(|k| {
            if kustomization {
                k
            } else {
                k.without_kustomization()
            }
        });
        let mut api = Service::new("api")
            .image(Image::new("acme/api").tag("1.0.0"))
            .resources(Resources::requests(Cpu::m(100), Memory::mi(64)))
            .env("MODE", "fast")
            .config("LOG_LEVEL", "info");
        if read_by_app {
            api = api.kubernetes(|k| k.config_map_use(ConfigMapUse::ReadByApp));
        }
        s.add(api);
        stackdsl::validate(&s).expect("valid");
        s
    };
    let env_of = |s: &Stack| -> Vec<(String, bool)> {
        let m = manifests(s);
        assert!(cross_check(&s.name, &m).is_empty());
        let cm = m
            .objects()
            .find_map(|o| match o {
                Object::ConfigMap(c) => c.data.clone(),
                _ => None,
            })
            .expect("the service's ConfigMap");
        assert_eq!(cm.get("LOG_LEVEL").map(String::as_str), Some("info"));
        let (_, template, _) = m
            .objects()
            .find_map(Object::workload)
            .expect("a Deployment");
        let container = &template.spec.as_ref().expect("pod spec").containers[0];
        container
            .env
            .iter()
            .flatten()
            .map(|e| (e.name.clone(), e.value_from.is_some()))
            .collect()
    };
    assert_eq!(
        env_of(&stack(false, true)),
        [("MODE".to_owned(), false), ("LOG_LEVEL".to_owned(), true)]
    );
    assert_eq!(env_of(&stack(true, true)), [("MODE".to_owned(), false)]);

    let paths = |s: &Stack| -> Vec<String> {
        stackdsl_tests::render(s)
            .into_iter()
            .map(|d| d.path)
            .collect()
    };
    let with = paths(&stack(false, true));
    let without = paths(&stack(false, false));
    assert!(with.contains(&"shop/dev/k8s/kustomization.yaml".to_owned()));
    assert_eq!(
        without,
        with.iter()
            .filter(|p| !p.ends_with("/kustomization.yaml"))
            .cloned()
            .collect::<Vec<_>>()
    );
}

/// Routes of one host split over several Ingresses (for their own annotations) share one
/// certificate: one Ingress asks cert-manager for it, the others serve its Secret. Without
/// this each would issue a duplicate certificate (and count against the ACME rate limits).
#[test]
fn one_host_gets_one_certificate_however_many_ingresses_route_it() {
    let mut split_hosts = 0;
    for env in [Env::Staging, Env::Prod] {
        for f in stacks::ALL {
            let mut stack = f(env);
            // Every stack's routes as ingress-nginx Ingresses (easyflow's split one host
            // over three, for their annotations).
            stack.kubernetes(|k| k.routes(RouteApi::ingress(IngressController::ingress_nginx())));
            let routed = check_certificates(&stack);
            split_hosts += routed.values().filter(|&&n| n > 1).count();
        }
    }
    assert!(
        split_hosts > 0,
        "some stack routes one host through several Ingresses"
    );
}

/// Two hosts of one issuer in separate Ingresses (their annotations differ): neither
/// Ingress's certificate covers the other's host, so each asks for its own.
#[test]
fn hosts_of_one_issuer_in_separate_ingresses_get_a_certificate_each() {
    let http = Port::http("http", 8080);
    let mut s = Stack::new("shop", Env::Dev);
    s.targets([Target::Kubernetes])
        .kubernetes(|k| k.routes(RouteApi::ingress(IngressController::ingress_nginx())));
    let le = ClusterIssuer::new("letsencrypt-staging");
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1.0.0"))
            .port(http)
            .expose(
                Route::host("api.example.com", http)
                    .tls(le.clone())
                    .rate_limit(10),
            ),
    );
    s.add(
        Service::new("web")
            .image(Image::new("acme/web").tag("1.0.0"))
            .port(http)
            .expose(Route::host("web.example.com", http).tls(le)),
    );
    let routed = check_certificates(&s);
    assert_eq!(
        routed.keys().collect::<Vec<_>>(),
        ["api.example.com", "web.example.com"]
    );
}

/// Checks that every TLS host of `stack`'s Ingresses is served by one Secret, which exactly
/// one Ingress routing that host asks cert-manager for. Returns how many Ingresses route
/// each TLS host.
fn check_certificates(stack: &Stack) -> BTreeMap<String, usize> {
    let m = stackdsl_tests::manifests(stack);
    let mut secrets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut issuing: BTreeMap<String, usize> = BTreeMap::new();
    let mut routed: BTreeMap<String, usize> = BTreeMap::new();
    for ing in m
        .objects()
        .map(|o| o.to_json())
        .filter(|o| o["kind"] == "Ingress")
    {
        let issues = ing["metadata"]["annotations"]
            .get("cert-manager.io/cluster-issuer")
            .is_some();
        for tls in ing["spec"]["tls"].as_array().into_iter().flatten() {
            for host in tls["hosts"].as_array().unwrap() {
                let host = host.as_str().unwrap().to_owned();
                secrets
                    .entry(host.clone())
                    .or_default()
                    .insert(tls["secretName"].as_str().unwrap().to_owned());
                *issuing.entry(host.clone()).or_default() += usize::from(issues);
                *routed.entry(host).or_default() += 1;
            }
        }
    }
    let env = stack.env;
    for (host, s) in &secrets {
        assert_eq!(s.len(), 1, "{} {env}: {host} has secrets {s:?}", stack.name);
        assert_eq!(issuing[host], 1, "{} {env}: {host}", stack.name);
    }
    routed
}

/// The README's Secrets table names, in each key's "used by" column, every workload whose
/// containers read that key (`<job> (CronJob)` for a CronJob): read from the manifests, for
/// every stack and fixture on Kubernetes.
#[test]
fn the_readme_names_every_workload_that_reads_each_secret_key() {
    let mut checked = 0;
    for env in [Env::Staging, Env::Prod] {
        for f in stacks::ALL.iter().chain(stackdsl_tests::fixtures::ALL) {
            let stack = f(env);
            if !stack.targets.contains(&Target::Kubernetes) {
                continue;
            }
            let docs = stackdsl_tests::render_fn(*f, env);
            let Some(readme) = docs.iter().find(|d| d.path.ends_with("/k8s/README.md")) else {
                continue;
            };
            for o in stackdsl_tests::manifests(&stack)
                .objects()
                .map(|o| o.to_json())
            {
                let name = o["metadata"]["name"].as_str().unwrap_or_default();
                let (pod, user) = match o["kind"].as_str() {
                    Some("Deployment" | "StatefulSet") => {
                        (&o["spec"]["template"]["spec"], name.to_owned())
                    }
                    Some("CronJob") => (
                        &o["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                        format!("{name} (CronJob)"),
                    ),
                    _ => continue,
                };
                let containers = ["initContainers", "containers"]
                    .iter()
                    .flat_map(|k| pod[k].as_array().into_iter().flatten());
                for env_var in containers.flat_map(|c| c["env"].as_array().into_iter().flatten()) {
                    let r = &env_var["valueFrom"]["secretKeyRef"];
                    let (Some(secret), Some(key)) = (r["name"].as_str(), r["key"].as_str()) else {
                        continue;
                    };
                    let row = format!("| `{secret}` | `{key}` | ");
                    let row = readme
                        .contents
                        .lines()
                        .find(|l| l.starts_with(&row))
                        .unwrap_or_else(|| {
                            panic!("{} {env}: no README row for {secret}/{key}", stack.name)
                        });
                    let cols: Vec<&str> = row.trim_matches('|').split(" | ").collect();
                    // `| Secret | key | used by | description |`, or with the store's
                    // `remote key | property` before `used by`.
                    let used_by = cols[cols.len() - 2];
                    assert!(
                        used_by.trim().split(", ").any(|u| u == user),
                        "{} {env}: {user} reads {secret}/{key}, but the README says `{used_by}`",
                        stack.name
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} secret readers checked");
}

/// The streamed renderer (`render_checked`, what `stack-*` runs: one file's objects alive at
/// a time, the cross-check on their facts) writes exactly what building every object,
/// checking them and serializing them does, for every stack, fixture and environment, and
/// for a stack large enough to run on every core.
#[test]
fn streamed_rendering_equals_rendering_every_object_first() {
    let mut stacks: Vec<Stack> = Vec::new();
    for env in Env::ALL {
        for f in stacks::ALL.iter().chain(stackdsl_tests::fixtures::ALL) {
            stacks.push(f(env));
        }
    }
    stacks.push(stackdsl_tests::big::stack(300, 0));
    let mut compared = 0;
    for s in stacks
        .iter()
        .filter(|s| s.targets.contains(&Target::Kubernetes))
    {
        let plan = stackdsl::validate(s).unwrap_or_else(|e| panic!("{e}"));
        let m = stackdsl::render::k8s::manifests(&plan);
        assert!(cross_check(&s.name, &m).is_empty(), "{}", s.name);
        let staged = stackdsl::render::k8s::render_manifests(&plan, &m);
        let streamed = stackdsl::render::k8s::render_checked(&plan)
            .unwrap_or_else(|e| panic!("{} {}: {e:?}", s.name, s.env));
        assert_eq!(streamed, staged, "{} {}", s.name, s.env);
        compared += streamed.len();
    }
    assert!(compared > 300, "only {compared} files compared");
}
