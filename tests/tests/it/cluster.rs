//! Clustered nodes: quorum rules, seed derivation in both targets, and the ServiceMonitor
//! against the Prometheus Operator's schema.

use std::fs;

use stackdsl::prelude::*;
use stackdsl::validate;
use stackdsl::validate::ErrorKind;
use stackdsl_tests::{corpus, files_with_suffix, outputs, run, tool, workspace_root};

fn node(nodes: u32, cluster: Cluster) -> ServiceBuilder<HasImage> {
    let gossip = Port::tcp("cluster", 4369);
    let health = Port::http("health", 8080);
    let _ = gossip;
    Service::new("ring")
        .image(Image::new("acme/ring").tag("1.0.0"))
        .port(cluster.port)
        .port(health)
        .replicas(nodes)
        .cluster(cluster)
        .resources(
            Resources::requests(Cpu::m(100), Memory::mi(64)).limits(Cpu::m(200), Memory::mi(128)),
        )
}

fn gossip() -> Cluster {
    Cluster::new(Port::tcp("cluster", 4369))
}

fn errors(env: Env, b: ServiceBuilder<HasImage>) -> Vec<(ErrorKind, String, String)> {
    let mut s = Stack::new("ring", env);
    s.targets([Target::Kubernetes]);
    s.add(b);
    match validate(&s) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .iter()
            .map(|e| (e.kind, e.path.to_string(), e.message.clone()))
            .collect(),
    }
}

fn only(errors: Vec<(ErrorKind, String, String)>, path: &str, needle: &str) {
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].1, path);
    assert!(errors[0].2.contains(needle), "{}", errors[0].2);
}

#[test]
fn a_healthy_cluster_is_valid() {
    assert_eq!(errors(Env::Prod, node(5, gossip())), []);
    assert_eq!(errors(Env::Staging, node(3, gossip().seeds(3))), []);
}

#[test]
fn prod_clusters_need_three_nodes() {
    let e = errors(Env::Prod, node(2, gossip()));
    let paths: Vec<&str> = e.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        paths,
        [
            "ring.services[ring].cluster.nodes",
            "ring.services[ring].cluster.min_available"
        ]
    );
    assert!(e[0].2.contains("runs 2 nodes in prod"), "{}", e[0].2);
    // Two nodes are allowed outside prod, but a majority of 2 is 2: a drain would hang.
    only(
        errors(Env::Staging, node(2, gossip())),
        "ring.services[ring].cluster.min_available",
        "forbids every eviction",
    );
}

#[test]
fn pdb_must_keep_a_majority_and_allow_a_drain() {
    only(
        errors(Env::Prod, node(5, gossip().min_available(5))),
        "ring.services[ring].cluster.min_available",
        "keeping 5 of 5 members",
    );
    only(
        errors(Env::Prod, node(5, gossip().min_available(2))),
        "ring.services[ring].cluster.min_available",
        "below its majority of 3",
    );
    only(
        errors(
            Env::Prod,
            node(5, gossip()).kubernetes(|k| k.disruption(Disruption::MaxUnavailable(3))),
        ),
        "ring.services[ring].cluster.min_available",
        "2 available member(s)",
    );
}

#[test]
fn autoscaling_never_below_quorum() {
    let e = errors(
        Env::Prod,
        node(5, gossip()).autoscale(Autoscale::between(2, 10).cpu(70)),
    );
    let paths: Vec<&str> = e.iter().map(|e| e.1.as_str()).collect();
    // Down to 2 members loses the majority, and a PDB of 3 could never be honoured.
    assert_eq!(
        paths,
        [
            "ring.services[ring].cluster.min_available",
            "ring.services[ring].autoscale"
        ],
        "{e:#?}"
    );
    assert!(
        e[1].2
            .contains("down to 2 members would lose the majority of 3"),
        "{}",
        e[1].2
    );
}

#[test]
fn seeds_must_be_members() {
    only(
        errors(Env::Prod, node(3, gossip().seeds(4))),
        "ring.services[ring].cluster.seeds",
        "names 4 seed(s) but has 3 member(s)",
    );
    only(
        errors(Env::Prod, node(3, gossip().seeds(0))),
        "ring.services[ring].cluster.seeds",
        "names 0 seed(s)",
    );
}

#[test]
fn gossip_port_must_be_declared_and_not_scraped() {
    let undeclared = Service::new("ring")
        .image(Image::new("acme/ring").tag("1.0.0"))
        .port(Port::http("health", 8080))
        .replicas(3)
        .cluster(gossip())
        .resources(
            Resources::requests(Cpu::m(100), Memory::mi(64)).limits(Cpu::m(200), Memory::mi(128)),
        );
    only(
        errors(Env::Prod, undeclared),
        "ring.services[ring].cluster",
        "gossips on port `cluster`",
    );
    only(
        errors(
            Env::Prod,
            node(3, gossip()).metrics(Metrics::new(Port::tcp("cluster", 4369))),
        ),
        "ring.services[ring].metrics",
        "gossip port",
    );
}

#[test]
fn compose_member_names_must_not_clash() {
    let mut s = Stack::new("ring", Env::Dev);
    s.add(node(3, gossip()));
    s.add(Service::new("ring-worker-1").image(Image::new("acme/other").tag("1")));
    let e = validate(&s).unwrap_err();
    assert!(
        e.iter()
            .any(|e| e.kind == ErrorKind::DuplicateName && e.message.contains("`ring-worker-1`")),
        "{e}"
    );
}

#[test]
fn seeds_name_exactly_the_members_that_exist() {
    // Compose: every worker's seeds are services of the file.
    let dev = outputs(Env::Dev, &[stacks::noex::noex]);
    let compose = &dev
        .iter()
        .find(|o| o.doc.path == "noex/dev/compose.yaml")
        .unwrap()
        .doc
        .contents;
    let file: serde_json::Value = serde_saphyr::from_str(compose).unwrap();
    let mut services = file["services"].as_object().unwrap().clone();
    // Beside the members, the stack's monitoring runs Prometheus (it scrapes each member).
    assert!(services.remove("prometheus").is_some());
    assert_eq!(
        services.keys().collect::<Vec<_>>(),
        ["noex-seed", "noex-worker-1", "noex-worker-2"]
    );
    for (name, svc) in &services {
        assert_eq!(svc["environment"]["NODE_NAME"], name.as_str());
        match svc["environment"]
            .get("CLUSTER_SEEDS")
            .and_then(|v| v.as_str())
        {
            None => assert_eq!(name, "noex-seed", "only the seed has no seeds"),
            Some(seeds) => {
                for seed in seeds.split(',') {
                    let (node, host_port) = seed.split_once('@').unwrap();
                    let (host, port) = host_port.split_once(':').unwrap();
                    assert_eq!(node, host);
                    assert!(
                        services.contains_key(host),
                        "{seed} names a member that does not exist"
                    );
                    assert_eq!(port, "4369");
                    assert_eq!(svc["depends_on"][host]["condition"], "service_healthy");
                }
            }
        }
    }
    // Kubernetes: seed hosts are pods of the StatefulSet, under its headless Service.
    for env in [Env::Staging, Env::Prod] {
        let stack = stacks::noex::noex(env);
        let m = stackdsl_tests::manifests(&stack);
        let ns = stack.namespace();
        let json: Vec<serde_json::Value> = m.objects().map(|o| o.to_json()).collect();
        let sts = json.iter().find(|o| o["kind"] == "StatefulSet").unwrap();
        let replicas = sts["spec"]["replicas"].as_u64().unwrap();
        let governing = sts["spec"]["serviceName"].as_str().unwrap();
        let headless = json
            .iter()
            .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == governing)
            .unwrap();
        assert_eq!(headless["spec"]["clusterIP"], "None");
        assert_eq!(headless["spec"]["publishNotReadyAddresses"], true);
        let env_vars = sts["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap();
        let seeds = env_vars
            .iter()
            .find(|v| v["name"] == "CLUSTER_SEEDS")
            .unwrap()["value"]
            .as_str()
            .unwrap();
        for seed in seeds.split(',') {
            let (node, host_port) = seed.split_once('@').unwrap();
            let (host, port) = host_port.split_once(':').unwrap();
            let ordinal: u64 = node.strip_prefix("noex-").unwrap().parse().unwrap();
            assert!(ordinal < replicas, "{seed} is not a member of {replicas}");
            assert_eq!(host, format!("{node}.{governing}.{ns}.svc.cluster.local"));
            assert_eq!(port, "4369");
        }
    }
}

#[test]
fn the_cluster_port_is_written_once_in_the_stack_and_everywhere_in_the_output() {
    let source = fs::read_to_string(workspace_root().join("stacks/src/noex.rs")).unwrap();
    assert_eq!(
        source.matches("4369").count(),
        1,
        "the cluster port must be declared once"
    );
    let dev = outputs(Env::Dev, &[stacks::noex::noex]);
    let compose = &dev
        .iter()
        .find(|o| o.doc.path.ends_with("compose.yaml"))
        .unwrap()
        .doc
        .contents;
    for expected in [
        "CLUSTER_PORT: \"4369\"",
        "CLUSTER_SEEDS: noex-seed@noex-seed:4369",
        "\"127.0.0.1:4369:4369\"",
    ] {
        assert!(compose.contains(expected), "compose lacks {expected}");
    }
    let prod = outputs(Env::Prod, &[stacks::noex::noex]);
    let k8s: String = prod
        .iter()
        .filter(|o| o.doc.path.contains("/k8s/"))
        .map(|o| o.doc.contents.as_str())
        .collect();
    for expected in [
        "containerPort: 4369",
        "port: 4369",
        ".svc.cluster.local:4369",
        "name: cluster",
    ] {
        assert!(k8s.contains(expected), "manifests lack {expected}");
    }
}

#[test]
fn service_monitors_pass_the_prometheus_operator_schema() {
    let corpus = corpus();
    let work = tempfile::tempdir().unwrap();
    let schema = work.path().join("servicemonitor.json");
    let (ok, out) = run(tool("python")
        .arg(workspace_root().join("tests/validators/crd_schema.py"))
        .arg("ServiceMonitor")
        .arg(&schema));
    assert!(ok, "{out}");
    let mut docs = Vec::new();
    for f in files_with_suffix(corpus.path(), &["50-monitoring.yaml"]) {
        let text = fs::read_to_string(&f).unwrap();
        for (i, doc) in text.split("\n---\n").skip(1).enumerate() {
            if doc.contains("kind: ServiceMonitor") {
                let path = work.path().join(format!(
                    "{}-{i}.yaml",
                    f.display().to_string().replace('/', "_")
                ));
                fs::write(&path, doc).unwrap();
                docs.push(path);
            }
        }
    }
    assert!(
        docs.len() >= 2,
        "expected ServiceMonitors for noex staging and prod, got {docs:?}"
    );
    let (ok, out) = run(tool("check-jsonschema")
        .arg("--schemafile")
        .arg(&schema)
        .args(&docs));
    assert!(ok, "{out}");
    // Negative control: a misspelt field fails the closed schema.
    let bad = work.path().join("bad.yaml");
    fs::write(
        &bad,
        fs::read_to_string(&docs[0])
            .unwrap()
            .replace("interval:", "intervall:"),
    )
    .unwrap();
    let (ok, out) = run(tool("check-jsonschema")
        .arg("--schemafile")
        .arg(&schema)
        .arg(&bad));
    assert!(!ok && out.contains("intervall"), "{out}");
}

/// A cluster member's persistent volume is its own: Kubernetes renders a claim template on
/// the StatefulSet (no shared PersistentVolumeClaim object, which only one pod could
/// attach), Compose a named volume per member.
#[test]
fn each_member_of_a_cluster_gets_its_own_volume() {
    use stackdsl_tests::fixtures::stateful_cluster;
    for env in [Env::Staging, Env::Prod] {
        let stack = stateful_cluster(env);
        validate(&stack).unwrap_or_else(|e| panic!("{env}: {e}"));
        let m = stackdsl_tests::manifests(&stack);
        let json: Vec<serde_json::Value> = m.objects().map(|o| o.to_json()).collect();
        assert!(
            !json.iter().any(|o| o["kind"] == "PersistentVolumeClaim"),
            "no shared claim"
        );
        let sts = json.iter().find(|o| o["kind"] == "StatefulSet").unwrap();
        let templates = sts["spec"]["volumeClaimTemplates"].as_array().unwrap();
        assert_eq!(templates.len(), 1);
        assert_eq!(templates[0]["metadata"]["name"], "data");
        assert_eq!(
            templates[0]["spec"]["resources"]["requests"]["storage"],
            "5Gi"
        );
        assert_eq!(templates[0]["spec"]["accessModes"][0], "ReadWriteOnce");
        let pod = &sts["spec"]["template"]["spec"];
        let volumes: Vec<&str> = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert!(!volumes.contains(&"data"), "{volumes:?}");
        let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
        assert!(
            mounts
                .iter()
                .any(|m| m["name"] == "data" && m["mountPath"] == "/var/lib/ring")
        );
    }
    let dev = outputs(Env::Dev, &[stateful_cluster]);
    let compose: serde_json::Value = serde_saphyr::from_str(
        &dev.iter()
            .find(|o| o.doc.path == "fixture-ring/dev/compose.yaml")
            .unwrap()
            .doc
            .contents,
    )
    .unwrap();
    let members = ["ring-seed", "ring-worker-1", "ring-worker-2"];
    assert_eq!(
        compose["volumes"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        members
            .iter()
            .map(|m| format!("data-{m}"))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
    for m in members {
        let volumes = compose["services"][m]["volumes"].as_array().unwrap();
        assert_eq!(volumes.len(), 1, "{m}: {volumes:?}");
        assert_eq!(volumes[0], format!("data-{m}:/var/lib/ring"));
    }
}

#[test]
fn variables_the_cluster_derives_are_not_set_by_hand() {
    let e = errors(
        Env::Staging,
        node(3, gossip().seeds_env("PEERS")).env("PEERS", "ring-0:4369"),
    );
    only(
        e,
        "ring.services[ring].env[PEERS]",
        "which its cluster derives (the seed addresses)",
    );
    let e = errors(
        Env::Staging,
        node(3, gossip().node_name_env("PEERS").seeds_env("PEERS")),
    );
    only(
        e,
        "ring.services[ring].cluster.env[PEERS]",
        "uses `PEERS` for two things",
    );
}
