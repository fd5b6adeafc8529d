//! `diff --base`: the review of a change between two revisions of `out/`, read through git
//! from a throwaway repository, as text and as GitHub-flavoured Markdown.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use stackdsl::prelude::*;
use stackdsl_tests::{cli, gfm_tree, workspace_root};

/// The shop as first committed: api 1.0.0 with 3 prod replicas, and a worker.
fn shop_v1(env: Env) -> Stack {
    shop(env, "1.0.0", 3, true)
}

/// The change under review: api 1.1.0, 2 prod replicas, the worker removed.
fn shop_v2(env: Env) -> Stack {
    shop(env, "1.1.0", 2, false)
}

fn shop(env: Env, tag: &str, prod_replicas: u32, worker: bool) -> Stack {
    let targets = match env {
        Env::Dev => vec![Target::Compose],
        _ => vec![Target::Kubernetes],
    };
    let mut s = Stack::new("shop", env);
    s.targets(targets);
    let http = Port::http("http", 8080);
    let resources =
        || Resources::requests(Cpu::m(100), Memory::mi(64)).limits(Cpu::m(200), Memory::mi(128));
    s.add(
        Service::new("api")
            .image(Image::new("acme/api").tag(tag))
            .port(http)
            .readiness(Probe::http_get("/ready", http))
            .resources(resources())
            .replicas(match env {
                Env::Dev => 1,
                Env::Staging => 2,
                Env::Prod => prod_replicas,
            }),
    );
    if worker {
        s.add(
            Service::new("worker")
                .image(Image::new("acme/worker").tag("2.0.0"))
                .resources(resources()),
        );
    }
    s
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new(stackdsl_tests::machine_tool("git"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git (needed by `diff --base`)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Synthesizes `stack` for every environment into `out`.
fn synthesize_all(out: &Path, stack: StackFn) {
    for env in Env::ALL {
        let r = cli(
            env,
            &[stack],
            &["--out", out.to_str().unwrap(), "--allow-outside", "-q"],
        );
        assert_eq!(r.code, 0, "{r:?}");
    }
}

/// A repository with two commits: `out/` of `shop_v1`, then of `shop_v2`.
fn two_commits() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path();
    git(dir, &["init", "-q"]);
    git(dir, &["config", "user.name", "Review Test"]);
    git(dir, &["config", "user.email", "review@example.com"]);
    git(dir, &["config", "commit.gpgsign", "false"]);
    for (stack, message) in [(shop_v1 as StackFn, "v1"), (shop_v2, "v2")] {
        synthesize_all(&dir.join("out"), stack);
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", message]);
    }
    repo
}

fn review(repo: &Path, extra: &[&str]) -> stackdsl_tests::CliRun {
    let out = repo.join("out");
    let mut args = vec!["--out", out.to_str().unwrap(), "diff"];
    args.extend_from_slice(extra);
    cli(Env::Prod, &[shop_v2], &args)
}

#[test]
fn text_review_of_two_commits_lists_the_risks_and_every_change() {
    let repo = two_commits();
    let r = review(repo.path(), &["--base", "HEAD~1"]);
    assert_eq!(r.code, 0, "{r:?}");
    let text = r.stdout;
    let risks: Vec<&str> = text.lines().filter(|l| l.starts_with("  ⚠")).collect();
    assert_eq!(
        risks,
        [
            "  ⚠ image change · shop: acme/api 1.0.0 → 1.1.0 — compose service api (dev); Deployment/api (staging, prod)",
            "  ⚠ fewer replicas · shop: spec.replicas: 3 → 2 — Deployment/api (prod)",
            "  ⚠ removed · shop: object removed — compose service worker (dev); Deployment/worker, NetworkPolicy/worker, ServiceAccount/worker (staging, prod)",
            "  ⚠ network policy widened · shop: policy removed: its pods lose its isolation — NetworkPolicy/worker (staging, prod)",
            "  ⚠ prod only · shop: spec.replicas — Deployment/api (prod)",
        ],
        "{text}"
    );
    for expected in [
        "shop · prod — 5 objects: 2 changed, 3 removed\n",
        "  ~ Deployment/api  (k8s/20-api.yaml)\n      spec.replicas: 3 → 2\n      spec.template.spec.containers[api].image: acme/api:1.0.0 → acme/api:1.1.0\n",
        "  - Deployment/worker  (k8s/20-worker.yaml)\n",
        "  ~ Kustomization/kustomization  (k8s/kustomization.yaml)\n",
        "  - NetworkPolicy/worker  (k8s/30-network-policies.yaml)\n",
        "  - ServiceAccount/worker  (k8s/20-worker.yaml)\n",
        "shop · dev — 2 objects: 1 changed, 1 removed\n",
        "  ~ compose service api  (compose.yaml)\n      image: acme/api:1.0.0 → acme/api:1.1.0\n",
        "  - compose service worker  (compose.yaml)\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // Risks, then the summary, then the objects.
    let (risk, summary, object) = (
        text.find("⚠").unwrap(),
        text.find("Summary:").unwrap(),
        text.find("~ Deployment/api").unwrap(),
    );
    assert!(risk < summary && summary < object, "{text}");

    // The second commit against itself: nothing.
    let same = review(repo.path(), &["--base", "HEAD"]);
    assert_eq!(same.code, 0, "{same:?}");
    assert!(
        same.stdout.ends_with("\nno object changed\n"),
        "{}",
        same.stdout
    );

    // A folder holding v1's files gives the same review as the revision that holds them.
    let v1 = tempfile::tempdir().unwrap();
    synthesize_all(&v1.path().join("out"), shop_v1);
    let from_dir = review(
        repo.path(),
        &["--base-dir", v1.path().join("out").to_str().unwrap()],
    );
    let body = |s: &str| s.split_once('\n').unwrap().1.to_owned();
    assert_eq!(body(&from_dir.stdout), body(&text));
}

#[test]
fn markdown_review_parses_as_github_flavoured_markdown_with_its_structure() {
    let repo = two_commits();
    let r = review(repo.path(), &["--base", "HEAD~1", "--format", "md"]);
    assert_eq!(r.code, 0, "{r:?}");
    let md = r.stdout;
    assert!(md.starts_with("<!-- stackdsl-review -->\n### "), "{md}");
    let tree = gfm_tree(&md);
    let children = tree["children"].as_array().unwrap();
    let of =
        |kind: &str| -> Vec<&Value> { children.iter().filter(|n| n["type"] == kind).collect() };

    // The marker is an HTML comment GitHub does not show.
    assert_eq!(children[0]["type"], "html");
    assert_eq!(children[0]["value"], "<!-- stackdsl-review -->");
    // One list of risks, one item per risk, each starting with its title in bold.
    let lists = of("list");
    assert_eq!(lists.len(), 1, "{md}");
    let titles: Vec<&str> = lists[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item["children"][0]["children"][0]["children"][0]["value"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        titles,
        [
            "image change",
            "fewer replicas",
            "removed",
            "network policy widened",
            "prod only"
        ]
    );
    // The summary table: a header and one row per environment (and the stack README), five
    // cells each.
    let tables = of("table");
    let summary = &tables[0];
    let rows = summary["children"].as_array().unwrap();
    assert_eq!(rows.len(), 5, "{md}");
    assert!(
        rows.iter()
            .all(|r| r["children"].as_array().unwrap().len() == 5)
    );
    let cells = |row: &Value| -> Vec<String> {
        row["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c["children"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["value"].as_str().unwrap_or_default())
                    .collect()
            })
            .collect()
    };
    assert_eq!(cells(&rows[3]), ["shop", "prod", "0", "2", "3"]);
    // Every object is a collapsible block: its opening, a field table (for a change), its
    // closing; nothing of it is swallowed into a paragraph.
    let html: Vec<&str> = of("html")
        .iter()
        .map(|n| n["value"].as_str().unwrap())
        .collect();
    let opened = html
        .iter()
        .filter(|h| h.starts_with("<details><summary>"))
        .count();
    let closed = html.iter().filter(|h| **h == "</details>").count();
    // (A ServiceAccount per service: the removed worker's is one block in staging and prod.)
    assert_eq!((opened, closed), (13, 13), "{html:#?}");
    assert!(html.contains(
        &"<details><summary>~ <code>Deployment/api</code> · 2 fields · <code>k8s/20-api.yaml</code></summary>"
    ));
    let replicas = tables
        .iter()
        .flat_map(|t| t["children"].as_array().unwrap().iter())
        .map(cells)
        .find(|c| c[0] == "spec.replicas" && c[1] == "3")
        .unwrap_or_else(|| panic!("no replicas row in {md}"));
    assert_eq!(replicas, ["spec.replicas", "3", "2"]);
    assert!(
        !of("paragraph")
            .iter()
            .any(|p| serde_json::to_string(p).unwrap().contains("<details")),
        "a details tag ended up as text:\n{md}"
    );
}

#[test]
fn a_missing_revision_is_named_and_nothing_is_printed() {
    let repo = two_commits();
    let r = review(repo.path(), &["--base", "no-such-branch"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("revision `no-such-branch` does not exist in this repository"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
    // Outside any repository git's own message is shown.
    let plain = tempfile::tempdir().unwrap();
    let r = review(plain.path(), &["--base", "HEAD"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("not a git repository"), "{}", r.stderr);
    // Exactly one way to compare.
    let both = review(repo.path(), &["--base", "HEAD", "--against", "staging"]);
    assert_eq!(both.code, 2, "{both:?}");
    let md_against = review(repo.path(), &["--against", "staging", "--format", "md"]);
    assert_eq!(md_against.code, 2, "{md_against:?}");
    assert!(md_against.stderr.contains("`--format` applies to `--base`"));
}

/// `(group, object, field line)` of every change a text review lists (`""` for an object
/// listed without fields).
fn changes(text: &str) -> std::collections::BTreeSet<(String, String, String)> {
    let mut out = std::collections::BTreeSet::new();
    let (mut group, mut object) = (String::new(), String::new());
    let body = text.split_once("\n\n").map_or("", |(_, b)| b);
    for line in body.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            group = line.split(" — ").next().unwrap().to_owned();
        } else if ["  ~ ", "  + ", "  - "].iter().any(|m| line.starts_with(m)) {
            object = line.to_owned();
            out.insert((group.clone(), object.clone(), String::new()));
        } else if line.starts_with("      ") {
            out.insert((group.clone(), object.clone(), line.to_owned()));
        }
    }
    out
}

/// In this repository: a stack edited in the working tree (here, one prod replica more for
/// tsdev-monolith's api) adds exactly that edit to what `diff --base HEAD` shows (nothing,
/// once `out/` is committed; CI checks that it is).
#[test]
fn in_this_repository_an_edit_shows_exactly_the_edit() {
    fn edited(env: Env) -> Stack {
        let mut s = stacks::tsdev::monolith(env);
        if env == Env::Prod {
            let api = s.services.iter_mut().find(|s| s.name == "api").unwrap();
            api.replicas = 4;
        }
        s
    }
    let out = workspace_root().join("out");
    let mut all: Vec<StackFn> = stacks::ALL.to_vec();
    let i = all
        .iter()
        .position(|f| f(Env::Prod).name == "tsdev-monolith")
        .unwrap();
    all[i] = edited;
    let args = ["--out", out.to_str().unwrap(), "diff", "--base", "HEAD"];
    let unedited = cli(Env::Prod, stacks::ALL, &args);
    let r = cli(Env::Prod, &all, &args);
    assert_eq!((unedited.code, r.code), (0, 0), "{unedited:?}\n{r:?}");
    let (before, after) = (changes(&unedited.stdout), changes(&r.stdout));
    let added: Vec<(String, String, String)> = after.difference(&before).cloned().collect();
    let t = |g: &str, o: &str, f: &str| (g.to_owned(), o.to_owned(), f.to_owned());
    let prod = "tsdev-monolith · prod";
    let paas = "tsdev-monolith · paas";
    let shared = "tsdev-monolith · shared";
    let objects: std::collections::BTreeSet<(String, String)> = added
        .iter()
        .map(|(g, o, _)| (g.clone(), o.clone()))
        .collect();
    assert_eq!(
        objects.into_iter().collect::<Vec<_>>(),
        [
            (paas.to_owned(), "  ~ railway/README.md".to_owned()),
            (paas.to_owned(), "  ~ railway/railway.toml".to_owned()),
            (
                prod.to_owned(),
                "  ~ Deployment/api  (k8s/20-api.yaml)".to_owned()
            ),
            (
                prod.to_owned(),
                "  ~ compose service api  (compose.yaml)".to_owned()
            ),
            (shared.to_owned(), "  ~ README.md".to_owned()),
        ],
        "{}",
        r.stdout
    );
    for expected in [
        t(
            prod,
            "  ~ Deployment/api  (k8s/20-api.yaml)",
            "      spec.replicas: 3 → 4",
        ),
        t(
            prod,
            "  ~ compose service api  (compose.yaml)",
            "      deploy.replicas: 3 → 4",
        ),
        t(
            paas,
            "  ~ railway/railway.toml",
            "      deploy.numReplicas: 3 → 4",
        ),
    ] {
        assert!(added.contains(&expected), "{expected:?} not in {added:#?}");
    }
    assert!(
        r.stdout
            .contains("  ⚠ prod only · tsdev-monolith: spec.replicas — Deployment/api (prod)\n"),
        "{}",
        r.stdout
    );
    // Nothing the unedited review shows disappears, but for the objects the edit touches.
    for (g, o, _) in before.difference(&after) {
        assert!(g.starts_with("tsdev-monolith"), "{g} {o} vanished");
    }
    // Against a folder the stacks were just synthesized into: the unedited stacks show
    // nothing at all (no noise), the edited ones exactly the edit.
    let fresh = tempfile::tempdir().unwrap();
    for env in Env::ALL {
        stackdsl_tests::synthesize(fresh.path(), env, stacks::ALL);
    }
    let dir_args = ["diff", "--base-dir", fresh.path().to_str().unwrap()];
    let none = cli(Env::Prod, stacks::ALL, &dir_args);
    assert!(
        none.stdout.ends_with("\nno object changed\n"),
        "{}",
        none.stdout
    );
    let exact = cli(Env::Prod, &all, &dir_args);
    assert_eq!(
        changes(&exact.stdout),
        added.into_iter().collect(),
        "{}",
        exact.stdout
    );
}

#[test]
fn the_review_reads_git_without_touching_the_work_tree() {
    let repo = two_commits();
    let before = stackdsl_tests::tree(repo.path());
    let r = review(repo.path(), &["--base", "HEAD~1"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(stackdsl_tests::tree(repo.path()), before);
}
