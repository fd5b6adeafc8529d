//! What real services need of their pods, on every target (issue 18 item 2): a service
//! account per service with cloud workload identity, init containers and native sidecars,
//! grace periods and pre-stop hooks, run-as group, scheduling (node selector, tolerations,
//! priority class), image pull secrets, and Service exposure (LoadBalancer, NodePort).
//! `fixtures::grpc_shop` uses every one of them; the validators check it here and in the
//! corpus.

use std::fs;

use serde_json::{Value, json};
use stackdsl::model::{Container, Exposure, PullSecret, ServiceAccount, Toleration, TrafficPolicy};
use stackdsl::prelude::*;
use stackdsl::render::k8s::{Object, cross_check};
use stackdsl::validate::ErrorKind;
use stackdsl_tests::fixtures::grpc_shop;
use stackdsl_tests::{files_with_suffix, manifests, render, run, synthesize, tool};

fn docs(stack: &Stack, suffix: &str) -> Vec<Value> {
    let doc = render(stack)
        .into_iter()
        .find(|d| d.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("{} renders no {suffix}", stack.name));
    serde_saphyr::from_multiple(&doc.contents).expect("YAML")
}

fn object(stack: &Stack, file: &str, kind: &str) -> Value {
    docs(stack, file)
        .into_iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("{file} has no {kind}"))
}

fn pod(stack: &Stack, service: &str) -> Value {
    object(stack, &format!("/k8s/20-{service}.yaml"), "Deployment")["spec"]["template"]["spec"]
        .clone()
}

fn compose(stack: &Stack) -> Value {
    docs(stack, "/compose.yaml").remove(0)
}

fn errors(stack: &Stack) -> Vec<(ErrorKind, String)> {
    match stackdsl::validate(stack) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(|e| (e.kind, e.path.to_string())).collect(),
    }
}

#[test]
fn the_shop_fixture_passes_every_validator() {
    let dir = tempfile::Builder::new()
        .prefix("stackdsl-shop-")
        .tempdir()
        .unwrap();
    for env in Env::ALL {
        synthesize(dir.path(), env, &[grpc_shop]);
    }
    let yaml: Vec<_> = files_with_suffix(dir.path(), &[".yaml"]);
    let k8s: Vec<_> = yaml
        .iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("k8s")))
        .filter(|p| !p.ends_with("kustomization.yaml"))
        .collect();
    assert!(k8s.len() >= 3 * 6, "{k8s:?}");
    let (ok, out) = run(tool("kubernetes-validate")
        .args(["--strict", "-k", "1.33.0", "--quiet"])
        .args(&k8s));
    assert!(ok, "kubernetes-validate --strict:\n{out}");
    for env in Env::ALL {
        let folder = dir.path().join(format!("fixture-grpc-shop/{env}/k8s"));
        let out = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(&folder)
            .output()
            .expect("kubectl on PATH");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let compose = dir
            .path()
            .join(format!("fixture-grpc-shop/{env}/compose.yaml"));
        let (ok, out) = run(tool("docker-compose")
            .arg("-f")
            .arg(&compose)
            .args(["config", "--quiet"]));
        assert!(ok, "docker-compose config {}:\n{out}", compose.display());
    }
    let report = stackdsl_tests::checkov_kubernetes(dir.path());
    assert!(report.passed.len() > 100, "{}", report.text);
    assert!(
        report.failures.is_empty(),
        "checkov failures:\n{}",
        report.failures.join("\n")
    );
}

#[test]
fn every_service_runs_as_its_own_account_with_its_cloud_identity() {
    let s = grpc_shop(Env::Prod);
    for svc in ["redis", "cart", "frontend", "admin"] {
        let sa = object(&s, &format!("/k8s/20-{svc}.yaml"), "ServiceAccount");
        assert_eq!(sa["metadata"]["name"], svc);
        assert_eq!(sa["automountServiceAccountToken"], false);
        let pod = pod(&s, svc);
        assert_eq!(pod["serviceAccountName"], svc);
        assert_eq!(pod["automountServiceAccountToken"], false);
    }
    let cart = object(&s, "/k8s/20-cart.yaml", "ServiceAccount");
    assert_eq!(
        cart["metadata"]["annotations"],
        json!({ "iam.gke.io/gcp-service-account": "cart-sa@acme-shop.iam.gserviceaccount.com" })
    );
    let admin = object(&s, "/k8s/20-admin.yaml", "ServiceAccount");
    assert_eq!(
        admin["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/shop-admin"
    );
    // The ServiceAccount is applied before the workload that runs as it.
    let kinds: Vec<Value> = docs(&s, "/k8s/20-cart.yaml")
        .iter()
        .map(|o| o["kind"].clone())
        .collect();
    assert_eq!(kinds[0], "ServiceAccount");
}

#[test]
fn a_pod_that_mounts_its_token_says_so_and_a_plain_stack_gets_no_account_unasked() {
    let mut s = Stack::new("t", Env::Dev);
    s.targets([Target::Kubernetes]);
    s.add(
        Service::new("operator")
            .image(Image::new("acme/operator").tag("1"))
            .security(Security::restricted().service_account_token("watches its own CRDs")),
    );
    let web = s.add(Service::new("web").image(Image::new("acme/web").tag("1")));
    // The account says no; the pod that needs the token opts in, with its checkov skip.
    let p = pod(&s, "operator");
    assert_eq!(p["automountServiceAccountToken"], true);
    assert_eq!(p["serviceAccountName"], "operator");
    s.kubernetes(|k| k.plain());
    s.update(&web, |b| {
        b.kubernetes(|k| k.service_account(ServiceAccount::new()))
    });
    let keys: Vec<String> = manifests(&s).objects().map(Object::key).collect();
    assert!(keys.contains(&"ServiceAccount/web".to_owned()), "{keys:?}");
    assert!(
        !keys.contains(&"ServiceAccount/operator".to_owned()),
        "{keys:?}"
    );
    assert_eq!(pod(&s, "operator").get("serviceAccountName"), None);
}

#[test]
fn sidecars_start_first_then_init_containers_then_the_migration() {
    let small = Resources::requests(Cpu::m(10), Memory::mi(16)).limits(Cpu::m(50), Memory::mi(32));
    let mut s = Stack::new("t", Env::Dev);
    s.targets([Target::Kubernetes, Target::Compose]);
    let pg = Port::tcp("postgres", 5432);
    let db = s.add(
        Service::new("db")
            .image(Image::new("postgres").tag("17.2-alpine"))
            .security(Security::restricted().run_as_user(70))
            .port(pg)
            .readiness(Probe::exec(["pg_isready"])),
    );
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1"))
            .env("DATABASE_URL", db.endpoint(pg).url().scheme("postgresql"))
            .migrations(Migration::command(["migrate", "$(DATABASE_URL)"]))
            .mount(Mount::scratch("/work"))
            .init_container(
                Container::new("wait-db", Image::new("busybox").tag("1.37.0"))
                    .command(["sh", "-c", "until nc -z db 5432; do sleep 1; done"])
                    .env("DB_HOST", Template::new().host(&db))
                    .resources(small),
            )
            .init_container(
                Container::new("seed", Image::new("busybox").tag("1.37.0"))
                    .mount(Mount::scratch("/work"))
                    .mount(Mount::scratch("/tmp"))
                    .resources(small),
            )
            .sidecar(
                Container::new("proxy", Image::new("acme/proxy").tag("2"))
                    .args(["--listen=127.0.0.1:15000"])
                    .resources(small),
            ),
    );
    let p = pod(&s, "api");
    let names: Vec<&str> = p["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["proxy", "wait-db", "seed", "migrate"]);
    let inits = &p["initContainers"];
    assert_eq!(inits[0]["restartPolicy"], "Always");
    assert_eq!(inits[1].get("restartPolicy"), None);
    assert_eq!(
        inits[1]["env"][0],
        json!({ "name": "DB_HOST", "value": "db" })
    );
    // `/work` is the service's scratch volume, shared; `/tmp` is the init container's own.
    assert_eq!(inits[2]["volumeMounts"][0]["name"], "scratch-work");
    assert_eq!(inits[2]["volumeMounts"][1]["name"], "seed-scratch-tmp");
    let volumes: Vec<&str> = p["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(volumes, ["scratch-work", "seed-scratch-tmp"]);
    // The init containers are restricted and checked like the app's container.
    assert_eq!(inits[1]["securityContext"]["readOnlyRootFilesystem"], true);

    let c = compose(&s);
    let svc = |n: &str| c["services"][n].clone();
    let order: Vec<&String> = c["services"].as_object().unwrap().keys().collect();
    assert_eq!(
        order,
        [
            "db",
            "api-wait-db",
            "api-seed",
            "api-migrate",
            "api",
            "api-proxy"
        ]
    );
    assert_eq!(svc("api-wait-db")["restart"], "no");
    assert_eq!(
        svc("api-wait-db")["depends_on"]["db"]["condition"],
        "service_healthy"
    );
    assert_eq!(
        svc("api-seed")["depends_on"]["api-wait-db"]["condition"],
        "service_completed_successfully"
    );
    for one_shot in ["api-wait-db", "api-seed", "api-migrate"] {
        assert_eq!(
            svc("api")["depends_on"][one_shot]["condition"],
            "service_completed_successfully"
        );
    }
    assert_eq!(
        svc("api-migrate")["depends_on"]["api-seed"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(svc("api-proxy")["network_mode"], "service:api");
    assert_eq!(svc("api-proxy")["restart"], "unless-stopped");
    // The scratch space the app and an init container share is one named volume.
    assert_eq!(svc("api")["volumes"], json!(["api-scratch-work:/work"]));
    assert_eq!(
        svc("api-seed")["volumes"],
        json!(["api-scratch-work:/work"])
    );
    assert_eq!(svc("api-seed")["tmpfs"], json!(["/tmp"]));
    assert!(c["volumes"].get("api-scratch-work").is_some());
}

#[test]
fn grace_periods_and_pre_stop_hooks_for_any_service() {
    let s = grpc_shop(Env::Prod);
    let front = pod(&s, "frontend");
    assert_eq!(front["terminationGracePeriodSeconds"], 45);
    assert_eq!(
        front["containers"][0]["lifecycle"]["preStop"],
        json!({ "exec": { "command": ["/app/drain", "--timeout=10s"] } })
    );
    let admin = pod(&s, "admin");
    assert_eq!(
        admin["containers"][0]["lifecycle"]["preStop"],
        json!({ "sleep": { "seconds": 5 } })
    );
    let c = compose(&s);
    assert_eq!(c["services"]["frontend"]["stop_grace_period"], "45s");
    assert_eq!(
        c["services"]["frontend"]["pre_stop"],
        json!([{ "command": ["/app/drain", "--timeout=10s"] }])
    );
    // A sleep drains Kubernetes endpoints; Compose has none and renders no hook.
    assert_eq!(c["services"]["admin"].get("pre_stop"), None);
    assert_eq!(c["services"]["admin"]["stop_grace_period"], "20s");
    // Clusters keep theirs, now in Compose too.
    let noex = stackdsl_tests::render_fn(stacks::noex::noex, Env::Dev);
    let text = &noex
        .iter()
        .find(|d| d.path.ends_with("compose.yaml"))
        .unwrap()
        .contents;
    assert_eq!(text.matches("stop_grace_period: 30s").count(), 3);
}

#[test]
fn scheduling_pull_secrets_and_groups_reach_the_pod() {
    let s = grpc_shop(Env::Prod);
    let cart = pod(&s, "cart");
    assert_eq!(
        cart["nodeSelector"],
        json!({ "cloud.google.com/gke-spot": "true" })
    );
    assert_eq!(
        cart["tolerations"],
        json!([{ "key": "cloud.google.com/gke-spot", "operator": "Equal", "value": "true", "effect": "NoSchedule" }])
    );
    assert_eq!(cart["priorityClassName"], "shop-critical");
    assert_eq!(cart["imagePullSecrets"], json!([{ "name": "ghcr-pull" }]));
    assert_eq!(
        cart["containers"][0]["securityContext"]["runAsGroup"],
        65532
    );
    let redis = pod(&s, "redis");
    assert_eq!(redis["securityContext"]["fsGroup"], 1000);
    let c = compose(&s);
    assert_eq!(c["services"]["cart"]["user"], "65532:65532");
    // The README tells the cluster owner which registry Secret to create, never its value.
    let readme = render(&s)
        .into_iter()
        .find(|d| d.path.ends_with("k8s/README.md"))
        .unwrap()
        .contents;
    assert!(
        readme.contains("| `ghcr-pull` | cart, admin | Read-only token for ghcr.io/acme |"),
        "{readme}"
    );
    assert!(
        readme.contains("create secret docker-registry ghcr-pull"),
        "{readme}"
    );
}

#[test]
fn services_are_exposed_as_load_balancers_and_node_ports() {
    let s = grpc_shop(Env::Prod);
    let front = object(&s, "/k8s/20-frontend.yaml", "Service");
    assert_eq!(front["spec"]["type"], "LoadBalancer");
    assert_eq!(front["spec"]["externalTrafficPolicy"], "Local");
    assert_eq!(
        front["spec"]["loadBalancerSourceRanges"],
        json!(["203.0.113.0/24"])
    );
    assert_eq!(
        front["metadata"]["annotations"]["cloud.google.com/l4-rbs"],
        "enabled"
    );
    let cart = object(&s, "/k8s/20-cart.yaml", "Service");
    assert_eq!(
        cart["metadata"]["annotations"],
        json!({ "networking.gke.io/load-balancer-type": "Internal" })
    );
    let admin = object(&s, "/k8s/20-admin.yaml", "Service");
    assert_eq!(admin["spec"]["type"], "NodePort");
    assert_eq!(admin["spec"]["ports"][0]["nodePort"], 30900);
    // Default-deny would drop the load balancer's traffic: the exposed port is open.
    let policies = docs(&s, "/k8s/30-network-policies.yaml");
    let front_policy = policies
        .iter()
        .find(|p| p["metadata"]["name"] == "frontend")
        .unwrap();
    assert!(
        front_policy["spec"]["ingress"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.get("from").is_none() && r["ports"][0]["port"] == "http"),
        "{front_policy:#}"
    );
    // ClusterIP stays the default.
    let redis = object(&s, "/k8s/20-redis.yaml", "Service");
    assert_eq!(redis["spec"]["type"], "ClusterIP");
}

#[test]
fn exposure_and_scheduling_are_validated() {
    let http = Port::http("http", 8080);
    let other = Port::http("other", 8081);
    let mut s = Stack::new("t", Env::Dev);
    s.targets([Target::Kubernetes]);
    s.add(
        Service::new("a")
            .image(Image::new("acme/a").tag("1"))
            .port(http)
            .kubernetes(|k| {
                k.exposure(
                    Exposure::node_port()
                        .fixed(http, 80)
                        .fixed(other, 30001)
                        .source_ranges(["10.0.0.0/33"])
                        .annotation("bad key!", "x"),
                )
                .node_selector("kubernetes.io/arch", "arm 64")
                .toleration(Toleration::exists("pool").for_seconds(30))
                .priority_class("Critical")
                .image_pull_secret(PullSecret::new("ghcr-pull"))
                .image_pull_secret(PullSecret::new("ghcr-pull"))
                .service_account(
                    ServiceAccount::new()
                        .gke("not-an-email")
                        .eks("arn:aws:iam::123:role/x"),
                )
            }),
    );
    s.add(
        Service::new("b")
            .image(Image::new("acme/b").tag("1"))
            .port(http)
            .kubernetes(|k| {
                k.exposure(Exposure::cluster_ip().traffic_policy(TrafficPolicy::Local))
            }),
    );
    s.add(
        Service::new("c")
            .image(Image::new("acme/c").tag("1"))
            .port(other)
            .kubernetes(|k| k.exposure(Exposure::node_port().fixed(other, 30001))),
    );
    s.add(
        Service::new("d")
            .image(Image::new("acme/d").tag("1"))
            .port(other)
            .kubernetes(|k| k.exposure(Exposure::load_balancer().fixed(other, 30001))),
    );
    let found = errors(&s);
    let expected = [
        (
            ErrorKind::InvalidValue,
            "t.services[a].exposure.node_ports[http]",
        ),
        (
            ErrorKind::UnknownPort,
            "t.services[a].exposure.node_ports[other]",
        ),
        (ErrorKind::InvalidValue, "t.services[a].exposure"),
        (
            ErrorKind::InvalidValue,
            "t.services[a].exposure.source_ranges[10.0.0.0/33]",
        ),
        (
            ErrorKind::InvalidName,
            "t.services[a].exposure.annotations[bad key!]",
        ),
        (
            ErrorKind::InvalidValue,
            "t.services[a].node_selector[kubernetes.io/arch]",
        ),
        (ErrorKind::InvalidValue, "t.services[a].tolerations[pool]"),
        (
            ErrorKind::DuplicateName,
            "t.services[a].image_pull_secrets[ghcr-pull]",
        ),
        (ErrorKind::InvalidName, "t.services[a].priority_class"),
        (
            ErrorKind::InvalidValue,
            "t.services[a].service_account.annotations[iam.gke.io/gcp-service-account]",
        ),
        (
            ErrorKind::InvalidValue,
            "t.services[a].service_account.annotations[eks.amazonaws.com/role-arn]",
        ),
        (
            ErrorKind::InvalidValue,
            "t.services[b].exposure.traffic_policy",
        ),
        (
            ErrorKind::HostPortClash,
            "t.services[c].exposure.node_ports[other]",
        ),
        (
            ErrorKind::HostPortClash,
            "t.services[d].exposure.node_ports[other]",
        ),
    ];
    for (kind, path) in expected {
        assert!(
            found.contains(&(kind, path.to_owned())),
            "missing {kind:?} at {path} in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn compose_refuses_what_it_cannot_express() {
    let small = Resources::requests(Cpu::m(10), Memory::mi(16)).limits(Cpu::m(50), Memory::mi(32));
    let sidecar = || Container::new("proxy", Image::new("acme/proxy").tag("2")).resources(small);
    let gossip = Port::tcp("gossip", 7000);
    let mut s = Stack::new("t", Env::Dev);
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1"))
            .replicas(2)
            .sidecar(sidecar())
            .security(Security::restricted().run_as_group(1000)),
    );
    s.add(
        Service::new("ring")
            .image(Image::new("acme/ring").tag("1"))
            .port(gossip)
            .replicas(3)
            .cluster(Cluster::new(gossip))
            .init_container(sidecar()),
    );
    s.add(Service::new("api-proxy").image(Image::new("acme/other").tag("1")));
    assert_eq!(
        errors(&s),
        [
            (
                ErrorKind::Unsupported,
                "t.services[api].security".to_owned()
            ),
            (
                ErrorKind::Unsupported,
                "t.services[api].sidecars[proxy]".to_owned()
            ),
            (
                ErrorKind::DuplicateName,
                "t.services[api].sidecars[proxy]".to_owned()
            ),
            (
                ErrorKind::Unsupported,
                "t.services[ring].cluster".to_owned()
            ),
        ]
    );
    // Kubernetes runs all of it.
    s.targets([Target::Kubernetes]);
    s.services.retain(|svc| svc.name != "api-proxy");
    assert_eq!(errors(&s), []);
}

#[test]
fn a_pod_running_as_a_missing_account_is_a_broken_reference() {
    let mut m = manifests(&grpc_shop(Env::Prod));
    assert!(cross_check("s", &m).is_empty());
    for o in m.objects_mut() {
        if let Object::Deployment(d) = o
            && d.metadata.name.as_deref() == Some("cart")
        {
            let spec = d.spec.as_mut().unwrap().template.spec.as_mut().unwrap();
            spec.service_account_name = Some("carts".to_owned());
        }
    }
    let e = cross_check("s", &m);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].kind, ErrorKind::BrokenReference);
    assert_eq!(
        e[0].path,
        "s.k8s.Deployment/cart.spec.template.spec.serviceAccountName"
    );
    assert!(
        e[0].message.contains("ServiceAccount `carts`"),
        "{}",
        e[0].message
    );
    // Init containers are checked like the app's: a sidecar mounting a missing volume.
    let mut m = manifests(&grpc_shop(Env::Prod));
    for o in m.objects_mut() {
        if let Object::Deployment(d) = o
            && d.metadata.name.as_deref() == Some("frontend")
        {
            let spec = d.spec.as_mut().unwrap().template.spec.as_mut().unwrap();
            let sidecar = &mut spec.init_containers.as_mut().unwrap()[0];
            sidecar.volume_mounts.as_mut().unwrap()[0].name = "logs".to_owned();
        }
    }
    let e = cross_check("s", &m);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        e[0].path,
        "s.k8s.Deployment/frontend.spec.template.spec.initContainers[log-shipper].volumeMounts[logs]"
    );
}

#[test]
fn the_pull_secret_never_carries_a_value() {
    let dir = tempfile::tempdir().unwrap();
    synthesize(dir.path(), Env::Prod, &[grpc_shop]);
    for f in files_with_suffix(dir.path(), &[".yaml"]) {
        let text = fs::read_to_string(&f).unwrap();
        assert!(!text.contains("kind: Secret\n"), "{}", f.display());
        assert!(!text.contains(".dockerconfigjson"), "{}", f.display());
    }
}

#[test]
fn paas_platforms_refuse_containers_beside_the_app() {
    let http = Port::http("http", 8080);
    let mut s = Stack::new("t", Env::Prod);
    s.targets([Target::Paas(Platform::Fly)]);
    let small =
        Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256));
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag("1"))
            .port(http)
            .resources(small)
            .sidecar(Container::new("proxy", Image::new("acme/proxy").tag("2")).resources(small)),
    );
    assert!(
        errors(&s).contains(&(
            ErrorKind::Unsupported,
            "t.services[api].sidecars[proxy]".to_owned()
        )),
        "{:#?}",
        errors(&s)
    );
}

#[test]
fn a_helm_installed_service_takes_no_pod_settings() {
    let mut s = Stack::new("t", Env::Dev);
    s.targets([Target::Kubernetes, Target::Terraform]);
    let redis = s.backing(stackdsl::catalog::Redis::new(SecretRef::new(
        "t-secrets",
        "redis",
    )));
    s.update(&redis.service, |b| {
        b.graceful_shutdown(60)
            .kubernetes(|k| k.priority_class("high").exposure(Exposure::load_balancer()))
    });
    let found = errors(&s);
    for path in [
        "t.services[redis]",
        "t.services[redis].pod",
        "t.services[redis].exposure",
    ] {
        assert!(
            found.contains(&(ErrorKind::Unsupported, path.to_owned())),
            "{path} not in {found:#?}"
        );
    }
}
