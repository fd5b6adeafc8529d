//! Hostile values through the CLI (issue 19, findings 6 and 7): numbers that would wrap
//! when rendered and names no registry or cluster accepts are validation errors with a
//! path; the run exits 2 and writes nothing.

use std::path::Path;

use stackdsl::cli::StackFn;
use stackdsl::prelude::*;
use stackdsl_tests::{CliRun, cli, tree};

const HTTP: Port = Port::http("http", 8080);

fn sized() -> Resources {
    Resources::requests(Cpu::m(100), Memory::mi(64)).limits(Cpu::m(200), Memory::mi(128))
}

/// One service `api`, in Compose and Kubernetes, with `f` applied.
fn with(env: Env, f: impl FnOnce(ServiceBuilder<HasImage>) -> ServiceBuilder<HasImage>) -> Stack {
    let mut s = Stack::new("shop", env);
    s.targets([Target::Compose, Target::Kubernetes]);
    s.add(f(Service::new("api")
        .image(Image::new("acme/api").tag("1.0.0"))
        .port(HTTP)
        .resources(sized())));
    s
}

fn run(f: StackFn, out: &Path) -> CliRun {
    cli(
        Env::Dev,
        &[f],
        &["--out", out.to_str().unwrap(), "--allow-outside"],
    )
}

/// The run is refused at `path`, with exit 2, and writes nothing.
fn refused(f: StackFn, path: &str) {
    let dir = tempfile::tempdir().unwrap();
    let r = run(f, dir.path());
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(path), "no error at {path}:\n{}", r.stderr);
    assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
    assert!(tree(dir.path()).is_empty(), "an invalid run wrote files");
}

#[test]
fn numbers_that_would_wrap_are_refused_at_their_path() {
    refused(
        |e| with(e, |b| b.replicas(u32::MAX)),
        "shop.services[api].replicas",
    );
    refused(
        |e| with(e, |b| b.autoscale(Autoscale::between(2, u32::MAX).cpu(70))),
        "shop.services[api].autoscale",
    );
    refused(
        |e| {
            with(e, |b| {
                b.autoscale(Autoscale::between(3_000_000_000, 3_000_000_001).cpu(70))
            })
        },
        "shop.services[api].autoscale",
    );
    refused(
        |e| {
            with(e, |b| {
                b.liveness(
                    Probe::http_get("/health", HTTP)
                        .period(4_000_000_000)
                        .timeout(1),
                )
            })
        },
        "shop.services[api].probes.liveness",
    );
    refused(
        |e| {
            let gossip = Port::tcp("gossip", 4369);
            with(e, |b| {
                b.port(gossip)
                    .replicas(200_000)
                    .cluster(Cluster::new(gossip))
            })
        },
        "shop.services[api].replicas",
    );
    // Kubernetes' int32 fields: a utilisation target or a partition that would wrap.
    refused(
        |e| with(e, |b| b.autoscale(Autoscale::between(2, 4).cpu(u32::MAX))),
        "shop.services[api].autoscale",
    );
    refused(
        |e| {
            let gossip = Port::tcp("gossip", 4369);
            with(e, |b| {
                b.port(gossip)
                    .replicas(3)
                    .cluster(Cluster::new(gossip).partition(3_000_000_000))
            })
        },
        "shop.services[api].cluster.partition",
    );
}

#[test]
fn invalid_image_references_and_names_are_refused_at_their_path() {
    refused(
        |e| with(e, |b| b.image(Image::new("acme/x").tag(""))),
        "shop.services[api].image",
    );
    refused(
        |e| with(e, |b| b.image(Image::new("Acme/X").tag("1.0"))),
        "shop.services[api].image",
    );
    refused(
        |e| with(e, |b| b.image(Image::new("acme/x y").tag("1 0"))),
        "shop.services[api].image",
    );
    refused(
        |e| with(e, |b| b.image(Image::new("acme/x").digest("not-a-digest"))),
        "shop.services[api].image",
    );
    refused(
        |e| with(e, |b| b.kubernetes(|k| k.main_container_name("Bad Name!"))),
        "shop.services[api].main_container_name",
    );
}

#[test]
fn an_empty_tag_does_not_satisfy_the_prod_pinning_rule() {
    let stack = with(Env::Prod, |b| b.image(Image::new("acme/x").tag("")));
    let errors = stackdsl::validate(&stack).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.path == "shop.services[api].image" && e.message.contains("tag")),
        "{errors}"
    );
}
