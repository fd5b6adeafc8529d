use super::*;

fn files(f: &[(&str, &str)]) -> Files {
    f.iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect()
}

fn plain(r: &Review) -> String {
    text(r, "T", &|_, s| s.to_owned())
}

#[test]
fn paths_group_by_stack_and_environment_and_the_manifest_is_ignored() {
    let before = files(&[
        ("shop/prod/nginx/nginx.conf", "a\n"),
        ("shop/github/README.md", "x\n"),
        (".stackdsl-manifest", "one\n"),
    ]);
    let after = files(&[
        ("shop/prod/nginx/nginx.conf", "b\n"),
        ("shop/github/README.md", "y\n"),
        ("shop/README.md", "new\n"),
        ("web/dev/.env.example", "A=\n"),
        (".stackdsl-manifest", "two\n"),
    ]);
    let r = review(&before, &after);
    let groups: Vec<(&str, &str, usize)> = r
        .groups
        .iter()
        .map(|g| (g.stack.as_str(), g.scope.as_str(), g.objects.len()))
        .collect();
    assert_eq!(
        groups,
        [
            ("shop", "prod", 1),
            ("shop", "github", 1),
            ("shop", "shared", 1),
            ("web", "dev", 1)
        ]
    );
    assert_eq!(r.groups[2].objects[0].status, Status::Added);
    assert_eq!(r.objects(), 4);
    assert_eq!(r.stacks(), 2);
}

#[test]
fn one_name_in_two_namespaces_names_the_namespace() {
    let cm = |ns: &str, v: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: {ns}\ndata:\n  a: \"{v}\"\n"
        )
    };
    let before = files(&[(
        "s/prod/k8s/a.yaml",
        &format!("{}---\n{}", cm("one", "1"), cm("two", "1")),
    )]);
    let after = files(&[(
        "s/prod/k8s/a.yaml",
        &format!("{}---\n{}", cm("one", "2"), cm("two", "1")),
    )]);
    let r = review(&before, &after);
    assert_eq!(
        r.groups[0].objects[0].label,
        "ConfigMap/cfg (namespace one)"
    );
    assert_eq!(
        r.groups[0].objects[0].fields,
        [FieldChange {
            path: "data.a".into(),
            before: Some("1".into()),
            after: Some("2".into())
        }]
    );
}

#[test]
fn text_lists_risks_then_the_summary_then_each_object() {
    let d = |replicas: u32, extra: &str| {
        format!("kind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: {replicas}\n{extra}")
    };
    let before = files(&[("s/prod/k8s/20-api.yaml", &d(3, ""))]);
    let after = files(&[
        ("s/prod/k8s/20-api.yaml", &d(2, "  paused: true\n")),
        ("s/prod/nginx/nginx.conf", "events {}\nhttp {}\n"),
    ]);
    assert_eq!(
        plain(&review(&before, &after)),
        "T\n\
         1 risk to review:\n  \
         ⚠ fewer replicas · s: spec.replicas: 3 → 2 — Deployment/api (prod)\n\
         Summary: 2 objects: 1 added, 1 changed in 1 stack\n  \
         s · prod  2 objects: 1 added, 1 changed\n\
         \n\
         s · prod — 2 objects: 1 added, 1 changed\n  \
         ~ Deployment/api  (k8s/20-api.yaml)\n      \
         spec.paused: true\n      \
         spec.replicas: 3 → 2\n  \
         + nginx/nginx.conf\n      \
         content:\n        \
         + events {}\n        \
         + http {}\n"
    );
}

#[test]
fn markdown_is_cut_at_its_budget_and_counts_the_rest() {
    let cm = |i: usize, v: &str| {
        format!("kind: ConfigMap\nmetadata:\n  name: c{i:02}\ndata:\n  key: \"{v}\"\n")
    };
    let before: Files = (0..40)
        .map(|i| (format!("s/prod/k8s/{i:02}.yaml"), cm(i, "old")))
        .collect();
    let after: Files = (0..40)
        .map(|i| (format!("s/prod/k8s/{i:02}.yaml"), cm(i, "new")))
        .collect();
    let r = review(&before, &after);
    let full = markdown(&r, &MarkdownOptions::new("R"));
    assert_eq!(full.matches("<details>").count(), 40);
    let cut = markdown(
        &r,
        &MarkdownOptions::new("R")
            .max_chars(3_000)
            .rerun("stack-prod diff --base main"),
    );
    assert!(cut.len() <= 3_000, "{}", cut.len());
    let shown = cut.matches("<details>").count();
    assert!(shown > 0 && shown < 40, "{shown}");
    assert_eq!(cut.matches("</details>").count(), shown);
    assert!(
        cut.ends_with(&format!(
            "… and {} more objects not shown here; run `stack-prod diff --base main` to see every change.\n",
            40 - shown
        )),
        "{cut}"
    );
    // Deterministic: the same input gives the same bytes.
    assert_eq!(
        cut,
        markdown(
            &r,
            &MarkdownOptions::new("R")
                .max_chars(3_000)
                .rerun("stack-prod diff --base main")
        )
    );
}

#[test]
fn markdown_values_cannot_break_the_table_or_the_details() {
    let c =
        |v: &str| format!("services:\n  api:\n    image: a:1\n    environment:\n      X: '{v}'\n");
    let before = files(&[("s/prod/compose.yaml", &c("plain"))]);
    let after = files(&[("s/prod/compose.yaml", &c("a|b `c` </details> @team"))]);
    let md = markdown(&review(&before, &after), &MarkdownOptions::new("R"));
    assert!(
        md.contains("| `environment.X` | `plain` | `` a\\|b `c` </details> @team `` |"),
        "{md}"
    );
    assert_eq!(
        md.matches("</details>").count(),
        2,
        "one closes, one is in a code span: {md}"
    );
}

#[test]
fn count_phrases_read_naturally() {
    assert_eq!(count_phrase(0, 1, 0), "1 object changed");
    assert_eq!(count_phrase(2, 0, 0), "2 objects added");
    assert_eq!(
        count_phrase(1, 2, 3),
        "6 objects: 1 added, 2 changed, 3 removed"
    );
    assert_eq!(count_phrase(0, 0, 0), "no object changed");
}
