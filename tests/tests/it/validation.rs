//! Validation: each rule on its own, and many errors reported at once.

use stackdsl::prelude::*;
use stackdsl::synth::validate_all;
use stackdsl::validate;
use stackdsl::validate::ErrorKind;

fn image() -> Image {
    Image::new("acme/app").tag("1.0.0")
}

fn small() -> Resources {
    Resources::requests(Cpu::m(100), Memory::mi(64)).limits(Cpu::m(200), Memory::mi(128))
}

/// (kind, path) of every error.
fn errors(s: &Stack) -> Vec<(ErrorKind, String)> {
    match validate(s) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(|e| (e.kind, e.path.to_string())).collect(),
    }
}

fn one(s: &Stack) -> stackdsl::validate::Error {
    let e = validate(s).expect_err("expected an error");
    assert_eq!(e.len(), 1, "expected exactly one error, got:\n{e}");
    e.iter().next().unwrap().clone()
}

#[test]
fn real_stacks_are_valid() {
    for env in Env::ALL {
        let built: Vec<Stack> = stacks::ALL.iter().map(|f| f(env)).collect();
        validate_all(&built).unwrap_or_else(|e| panic!("{env}:\n{e}"));
    }
}

#[test]
fn duplicate_service_names() {
    let mut s = Stack::new("shop", Env::Dev);
    s.add(Service::new("api").image(image()));
    s.add(Service::new("api").image(image()));
    let e = one(&s);
    assert_eq!(
        (e.kind, e.path.as_str()),
        (ErrorKind::DuplicateName, "shop.services[api]")
    );
    assert!(
        e.message.contains("tests/tests/it/validation.rs:"),
        "names both origins: {}",
        e.message
    );
}

#[test]
fn names_that_are_not_dns_labels() {
    let mut s = Stack::new("Shop_1", Env::Dev);
    s.add(Service::new("API_1").image(image()));
    s.add(Service::new("1api").image(image()));
    let e = validate(&s).unwrap_err();
    let got: Vec<_> = e.iter().map(|e| (e.kind, e.path.as_str())).collect();
    assert_eq!(
        got,
        [
            (ErrorKind::InvalidName, "Shop_1"),
            (ErrorKind::InvalidName, "Shop_1.services[API_1]"),
            (ErrorKind::InvalidName, "Shop_1.services[1api]"),
        ]
    );
    let api = e.iter().nth(1).unwrap();
    assert!(api.hint.contains("`api-1`"), "suggests a fix: {}", api.hint);
}

#[test]
fn host_port_clash() {
    let http = Port::http("http", 8080);
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("a")
            .image(image())
            .port(http)
            .publish(http, 8080),
    );
    s.add(
        Service::new("b")
            .image(image())
            .port(http)
            .publish(http, 8080),
    );
    let e = one(&s);
    assert_eq!(
        (e.kind, e.path.as_str()),
        (ErrorKind::HostPortClash, "shop.services[b].publish[8080]")
    );
    assert!(e.message.contains("`a`"));
}

#[test]
fn same_host_port_on_different_addresses_is_fine_but_not_with_all_interfaces() {
    let http = Port::http("http", 8080);
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("a")
            .image(image())
            .port(http)
            .publish(http, 8080),
    );
    s.add(Service::new("b").image(image()).port(http).publish_on(
        "127.0.0.2".parse().unwrap(),
        http,
        8080,
    ));
    assert_eq!(errors(&s), []);
    s.add(
        Service::new("c")
            .image(image())
            .port(http)
            .publish_public(http, 8080),
    );
    assert_eq!(
        errors(&s),
        [(
            ErrorKind::HostPortClash,
            "shop.services[c].publish[8080]".to_owned()
        )]
    );
}

#[test]
fn port_clashes_and_bad_port_names() {
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("api")
            .image(image())
            .port(Port::http("http", 3000))
            .port(Port::http("http", 3001))
            .port(Port::http("admin", 3000))
            .port(Port::tcp("a-very-long-port-name", 4000)),
    );
    assert_eq!(
        errors(&s),
        [
            (
                ErrorKind::PortClash,
                "shop.services[api].ports[http]".to_owned()
            ),
            (
                ErrorKind::PortClash,
                "shop.services[api].ports[admin]".to_owned()
            ),
            (
                ErrorKind::InvalidName,
                "shop.services[api].ports[a-very-long-port-name]".to_owned()
            ),
        ]
    );
}

#[test]
fn dependency_cycle_through_depends_on_and_urls() {
    let http = Port::http("http", 80);
    let mut s = Stack::new("shop", Env::Dev);
    let a = s.add(Service::new("a").image(image()).port(http));
    let b = s.add(Service::new("b").image(image()).port(http).depends_on(&a));
    let c = s.add(Service::new("c").image(image()).port(http).depends_on(&b));
    // a → c through a URL, which counts as a dependency.
    s.update(&a, |svc| svc.env("C_URL", c.endpoint(http).url()));
    let e = one(&s);
    assert_eq!(
        (e.kind, e.path.as_str()),
        (ErrorKind::DependencyCycle, "shop.services[a].depends_on")
    );
    assert!(e.message.contains("a → c → b → a"), "{}", e.message);
}

#[test]
fn self_dependency() {
    let mut s = Stack::new("shop", Env::Dev);
    let a = s.add(Service::new("a").image(image()));
    s.update(&a, |svc| svc.depends_on(&a));
    assert_eq!(
        errors(&s),
        [(
            ErrorKind::DependencyCycle,
            "shop.services[a].depends_on[a]".to_owned()
        )]
    );
}

#[test]
fn update_refuses_foreign_handles() {
    let mut other = Stack::new("billing", Env::Dev);
    let foreign = other.add(Service::new("api").image(image()));
    let mut s = Stack::new("shop", Env::Dev);
    s.add(Service::new("api").image(image()));
    s.update(&foreign, |b| b.replicas(9));
    assert_eq!(s.service("api").unwrap().replicas, 1);
    assert_eq!(
        errors(&s),
        [(ErrorKind::UnknownService, "shop.update[api]".to_owned())]
    );
}

#[test]
fn zero_replicas_where_traffic_is_routed() {
    let http = Port::http("http", 80);
    let mut s = Stack::new("shop", Env::Dev);
    let db = s.add(Service::new("db").image(image()).port(http).replicas(0));
    s.add(Service::new("api").image(image()).depends_on(&db));
    s.add(Service::new("idle").image(image()).replicas(0));
    let e = one(&s);
    assert_eq!(
        (e.kind, e.path.as_str()),
        (ErrorKind::NoReplicas, "shop.services[db].replicas")
    );
    assert!(e.message.contains("`api` depends on it"));
}

#[test]
fn secret_literals() {
    let pg = Port::tcp("pg", 5432);
    let mut s = Stack::new("shop", Env::Dev);
    let db = s.add(Service::new("db").image(image()).port(pg));
    s.add(
        Service::new("api")
            .image(image())
            .env("JWT_SECRET", "hunter2")
            .env("AMQP_URL", "amqp://guest:guest@rabbit:5672")
            .env(
                "DATABASE_URL",
                Template::new()
                    .text("postgres://u:pw@")
                    .host(&db)
                    .text(":")
                    .port(&db.endpoint(pg)),
            )
            .env(
                "OK_URL",
                db.endpoint(pg)
                    .url()
                    .user("u")
                    .password(&SecretRef::new("db", "password")),
            )
            .env("EMPTY_PASSWORD", "")
            .env_not_secret(
                "POSTGRES_PASSWORD_FILE",
                "/run/secrets/pg",
                "a path to the secret, not the secret",
            ),
    );
    assert_eq!(
        errors(&s),
        [
            (
                ErrorKind::SecretLiteral,
                "shop.services[api].env[JWT_SECRET]".to_owned()
            ),
            (
                ErrorKind::SecretLiteral,
                "shop.services[api].env[AMQP_URL]".to_owned()
            ),
            (
                ErrorKind::SecretLiteral,
                "shop.services[api].env[DATABASE_URL]".to_owned()
            ),
        ]
    );
}

#[test]
fn handle_from_another_stack() {
    let mut other = Stack::new("billing", Env::Dev);
    let foreign = other.add(Service::new("ledger").image(image()));
    let mut s = Stack::new("shop", Env::Dev);
    s.add(Service::new("api").image(image()).depends_on(&foreign));
    let e = one(&s);
    assert_eq!(
        (e.kind, e.path.as_str()),
        (
            ErrorKind::UnknownService,
            "shop.services[api].depends_on[ledger]"
        )
    );
    assert!(e.message.contains("stack `billing`"), "{}", e.message);
    // A handle names its stack: a service of this stack with the same name is not it.
    s.add(Service::new("ledger").image(image()));
    let e = one(&s);
    assert_eq!(
        (e.kind, e.path.as_str()),
        (
            ErrorKind::UnknownService,
            "shop.services[api].depends_on[ledger]"
        )
    );
}

#[test]
fn probe_on_a_port_the_service_does_not_declare() {
    let http = Port::http("http", 3000);
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("api")
            .image(image())
            .port(Port::http("web", 3000))
            .readiness(Probe::http_get("/ready", http)),
    );
    let e = one(&s);
    assert_eq!(
        (e.kind, e.path.as_str()),
        (
            ErrorKind::UnknownPort,
            "shop.services[api].probes.readiness"
        )
    );
    assert!(
        e.message
            .contains("readiness probe of service `api` uses port `http`"),
        "{}",
        e.message
    );
    assert!(e.hint.contains("`web` (3000)"), "{}", e.hint);
}

#[test]
fn stale_port_copy_is_caught() {
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("api")
            .image(image())
            .port(Port::http("http", 3000))
            .liveness(Probe::http_get("/health", Port::http("http", 8080))),
    );
    let e = one(&s);
    assert_eq!(e.kind, ErrorKind::UnknownPort);
    assert!(
        e.message
            .contains("as 8080/TCP, but declares `http` as 3000/TCP"),
        "{}",
        e.message
    );
}

#[test]
fn url_to_a_port_the_target_does_not_declare() {
    let mut s = Stack::new("shop", Env::Dev);
    let db = s.add(
        Service::new("db")
            .image(image())
            .port(Port::tcp("pg", 5432)),
    );
    s.add(
        Service::new("api")
            .image(image())
            .env("DB", db.endpoint(Port::tcp("postgres", 5432)).url()),
    );
    let e = one(&s);
    assert_eq!(
        (e.kind, e.path.as_str()),
        (ErrorKind::UnknownPort, "shop.services[api].env[DB]")
    );
}

#[test]
fn staging_and_prod_need_pinned_images_and_resources() {
    for env in [Env::Staging, Env::Prod] {
        let mut s = Stack::new("shop", env);
        s.add(
            Service::new("latest")
                .image(Image::new("acme/app").tag("latest"))
                .resources(small()),
        );
        s.add(
            Service::new("untagged")
                .image(Image::new("acme/app"))
                .resources(small()),
        );
        s.add(
            Service::new("pinned")
                .image(Image::new("acme/app").digest(format!("sha256:{}", "0".repeat(64))))
                .resources(small()),
        );
        s.add(Service::new("bare").image(image()));
        s.add(
            Service::new("built")
                .build(Build::new("."))
                .resources(small()),
        );
        assert_eq!(
            errors(&s),
            [
                (
                    ErrorKind::UnpinnedImage,
                    "shop.services[latest].image".to_owned()
                ),
                (
                    ErrorKind::UnpinnedImage,
                    "shop.services[untagged].image".to_owned()
                ),
                (
                    ErrorKind::MissingResources,
                    "shop.services[bare].resources".to_owned()
                ),
                (
                    ErrorKind::UnpinnedImage,
                    "shop.services[built].image".to_owned()
                ),
            ],
            "{env}"
        );
    }
    let mut dev = Stack::new("shop", Env::Dev);
    dev.add(Service::new("latest").image(Image::new("acme/app").tag("latest")));
    assert_eq!(errors(&dev), []);
}

#[test]
fn compose_cannot_publish_one_host_port_from_many_replicas() {
    let http = Port::http("http", 3000);
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("api")
            .image(image())
            .port(http)
            .publish(http, 3000)
            .replicas(3),
    );
    let e = one(&s);
    assert_eq!(
        (e.kind, e.path.as_str()),
        (ErrorKind::Unsupported, "shop.services[api].publish[3000]")
    );
}

#[test]
fn bind_mounts_are_dev_only_and_stay_in_the_repository() {
    let mut s = Stack::new("shop", Env::Prod);
    s.add(
        Service::new("api")
            .image(image())
            .resources(small())
            .mount(Mount::bind("../etc", "/etc/app")),
    );
    assert_eq!(
        errors(&s),
        [
            (
                ErrorKind::Unsupported,
                "shop.services[api].mounts[/etc/app]".to_owned()
            ),
            (
                ErrorKind::InvalidValue,
                "shop.services[api].mounts[/etc/app]".to_owned()
            ),
        ]
    );
}

#[test]
fn bad_env_names_duplicates_and_mounts() {
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("api")
            .image(image())
            .env("1BAD", "x")
            .env("A", "1")
            .env("A", "2")
            .mount(Mount::scratch("tmp"))
            .mount(Mount::persistent("Data", "/data"))
            .mount(Mount::scratch("/data")),
    );
    assert_eq!(
        errors(&s),
        [
            (
                ErrorKind::InvalidName,
                "shop.services[api].env[1BAD]".to_owned()
            ),
            (
                ErrorKind::DuplicateName,
                "shop.services[api].env[A]".to_owned()
            ),
            (
                ErrorKind::InvalidValue,
                "shop.services[api].mounts[tmp]".to_owned()
            ),
            (
                ErrorKind::InvalidName,
                "shop.services[api].mounts[/data]".to_owned()
            ),
            (
                ErrorKind::DuplicateName,
                "shop.services[api].mounts[/data]".to_owned()
            ),
        ]
    );
}

#[test]
fn autoscale_and_probe_settings() {
    let http = Port::http("http", 80);
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("api")
            .image(image())
            .port(http)
            .autoscale(Autoscale::between(5, 2))
            .liveness(Probe::http_get("/", http).period(2).timeout(5))
            .resources(
                Resources::requests(Cpu::m(500), Memory::mi(64))
                    .limits(Cpu::m(100), Memory::mi(128)),
            ),
    );
    assert_eq!(
        errors(&s),
        [
            (
                ErrorKind::InvalidValue,
                "shop.services[api].probes.liveness".to_owned()
            ),
            (
                ErrorKind::InvalidValue,
                "shop.services[api].autoscale".to_owned()
            ),
            (
                ErrorKind::InvalidValue,
                "shop.services[api].autoscale".to_owned()
            ),
            (
                ErrorKind::InvalidValue,
                "shop.services[api].resources".to_owned()
            ),
        ]
    );
}

#[test]
fn security_relaxations_need_a_reason() {
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("api")
            .image(image())
            .security(Security::restricted().allow_root("  ")),
    );
    assert_eq!(
        errors(&s),
        [(
            ErrorKind::InvalidValue,
            "shop.services[api].security".to_owned()
        )]
    );
}

#[test]
fn compose_only_service_cannot_be_needed_elsewhere() {
    // A service rendered for Compose only may not be a dependency of one rendered everywhere
    // — checked per target the stack renders.
    let mut s = Stack::new("shop", Env::Dev);
    let edge = s.add(Service::new("edge").image(image()).only_on([]));
    s.add(Service::new("api").image(image()).depends_on(&edge));
    assert_eq!(
        errors(&s),
        [(
            ErrorKind::Unsupported,
            "shop.services[api].depends_on[edge]".to_owned()
        )]
    );
}

#[test]
fn many_errors_are_reported_together_in_stack_order() {
    let http = Port::http("http", 80);
    let mut s = Stack::new("shop", Env::Prod);
    s.add(
        Service::new("api")
            .image(Image::new("acme/api"))
            .port(http)
            .publish(http, 80),
    );
    s.add(Service::new("api").image(image()).resources(small()));
    s.add(
        Service::new("API_1")
            .image(image())
            .resources(small())
            .port(http)
            .publish(http, 80)
            .env("TOKEN", "abc"),
    );
    let kinds: Vec<ErrorKind> = validate(&s).unwrap_err().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            ErrorKind::UnpinnedImage,
            ErrorKind::MissingResources,
            ErrorKind::InvalidName,
            ErrorKind::SecretLiteral,
            ErrorKind::DuplicateName,
            ErrorKind::HostPortClash,
        ]
    );
}

#[test]
fn two_stacks_writing_the_same_folder() {
    let one = Stack::new("shop", Env::Dev);
    let two = Stack::new("shop", Env::Dev);
    let mut a = one;
    a.add(Service::new("a").image(image()));
    let mut b = two;
    b.add(Service::new("b").image(image()));
    let e = validate_all(&[a, b]).unwrap_err();
    assert_eq!(
        e.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [ErrorKind::DuplicateName]
    );
    assert!(e.to_string().contains("two stacks write `out/shop/dev/`"));
}

// --- Kubernetes object names (found by the property tests) --------------------------------

fn k8s(env: Env) -> Stack {
    let mut s = Stack::new("shop", env);
    s.targets([Target::Compose, Target::Kubernetes]);
    s
}

#[test]
fn a_service_named_like_the_deny_all_policy_is_refused() {
    // Its own NetworkPolicy would have replaced the namespace-wide deny-all one on apply.
    let mut s = k8s(Env::Dev);
    s.add(Service::new("default-deny").image(image()));
    let e = one(&s);
    assert_eq!(e.kind, ErrorKind::DuplicateName);
    assert_eq!(e.path, "shop.services[default-deny]");
    assert!(
        e.message.contains(
            "Kubernetes NetworkPolicy `default-deny` would be rendered for service `default-deny` and for the stack's deny-all policy"
        ),
        "{}",
        e.message
    );
    // Compose has no such object, and plain Kubernetes output no deny-all policy.
    let mut compose = Stack::new("shop", Env::Dev);
    compose.add(Service::new("default-deny").image(image()));
    assert_eq!(errors(&compose), []);
    let mut plain = k8s(Env::Dev);
    plain.kubernetes(|k| k.plain());
    plain.add(Service::new("default-deny").image(image()));
    assert_eq!(errors(&plain), []);
}

#[test]
fn derived_and_chosen_kubernetes_names_must_not_clash() {
    let http = Port::http("http", 8080);
    let mut s = k8s(Env::Dev);
    s.add(
        Service::new("api")
            .image(image())
            .port(http)
            .config("LOG_LEVEL", "info"),
    );
    // A config file named like api's configuration ConfigMap.
    s.add(Service::new("web").image(image()).mount(Mount::file(
        "api-config",
        "/etc/web.conf",
        "x=1",
    )));
    // Two services claiming one volume (two PersistentVolumeClaims of one name).
    s.add(
        Service::new("a")
            .image(image())
            .mount(Mount::persistent("shared", "/data")),
    );
    s.add(
        Service::new("b")
            .image(image())
            .mount(Mount::persistent("shared", "/data")),
    );
    let e = validate(&s).unwrap_err();
    let got: Vec<(ErrorKind, &str, &str)> = e
        .iter()
        .map(|e| (e.kind, e.path.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(got.len(), 2, "{e}");
    assert_eq!(got[0].1, "shop.services[web].mounts[/etc/web.conf]");
    assert!(got[0].2.contains("Kubernetes ConfigMap `api-config` would be rendered for config file `api-config` of service `web` and for the configuration of service `api`"), "{}", got[0].2);
    assert_eq!(got[1].1, "shop.services[b].mounts[/data]");
    assert!(
        got[1].2.contains("PersistentVolumeClaim `shared`"),
        "{}",
        got[1].2
    );
    assert!(got.iter().all(|g| g.0 == ErrorKind::DuplicateName));
    // Compose shares named volumes and has no ConfigMaps: fine there.
    let mut compose = Stack::new("shop", Env::Dev);
    for n in ["a", "b"] {
        compose.add(
            Service::new(n)
                .image(image())
                .mount(Mount::persistent("shared", "/data")),
        );
    }
    assert_eq!(errors(&compose), []);
}

#[test]
fn a_cluster_name_must_leave_room_for_its_members_names() {
    let gossip = Port::tcp("gossip", 4369);
    let ring = |name: &str| {
        let mut s = Stack::new("shop", Env::Dev);
        s.targets([Target::Kubernetes]);
        s.add(
            Service::new(name)
                .image(image())
                .port(gossip)
                .replicas(3)
                .cluster(Cluster::new(gossip)),
        );
        s
    };
    let longest = "r".repeat(stackdsl::validate::MAX_CLUSTER_NAME);
    assert_eq!(errors(&ring(&longest)), []);
    let too_long = "r".repeat(stackdsl::validate::MAX_CLUSTER_NAME + 1);
    let e = one(&ring(&too_long));
    assert_eq!(e.kind, ErrorKind::InvalidName);
    assert_eq!(e.path, format!("shop.services[{too_long}]"));
    assert!(e.message.contains("has 53 characters"), "{}", e.message);
}

#[test]
fn secrets_that_would_break_compose_or_kubernetes() {
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("api")
            .image(image())
            // `a-b` + `c` and `a` + `b-c` both default to the variable `A_B_C`.
            .env("ONE", SecretRef::new("a-b", "c"))
            .env("DOT", SecretRef::new("app", ".").var_name("DOT_KEY"))
            .env(
                "TWO_LINES",
                SecretRef::new("app", "token").describe("first line\nINJECTED=1"),
            ),
    );
    s.add(
        Service::new("worker")
            .image(image())
            .env("TWO", SecretRef::new("a", "b-c"))
            // The same secret used twice is fine.
            .env("ONE_AGAIN", SecretRef::new("a-b", "c")),
    );
    let e = validate(&s).expect_err("three problems");
    let got: Vec<_> = e.iter().map(|e| (e.kind, e.path.as_str())).collect();
    assert_eq!(
        got,
        [
            (ErrorKind::InvalidName, "shop.services[api].env[DOT]"),
            (ErrorKind::InvalidValue, "shop.services[api].env[TWO_LINES]"),
            (ErrorKind::DuplicateName, "shop.services[worker]"),
        ],
        "{e}"
    );
    let clash = e.iter().nth(2).unwrap();
    assert!(
        clash.message.contains("`a`/`b-c`")
            && clash.message.contains("`a-b`/`c`")
            && clash.message.contains("`A_B_C`")
            && clash.message.contains("service `api`"),
        "{}",
        clash.message
    );
    assert!(clash.hint.contains(".var_name("), "{}", clash.hint);
}

#[test]
fn probes_cannot_target_a_udp_port() {
    let dns = Port::udp("dns", 53);
    let mut s = Stack::new("shop", Env::Dev);
    s.add(
        Service::new("resolver")
            .image(image())
            .port(dns)
            .liveness(Probe::tcp(dns)),
    );
    let e = one(&s);
    assert_eq!(
        (e.kind, e.path.as_str()),
        (
            ErrorKind::InvalidValue,
            "shop.services[resolver].probes.liveness"
        )
    );
    assert!(e.message.contains("UDP port `dns`"), "{}", e.message);
}
