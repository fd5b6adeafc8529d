//! Review a change as a change: the semantic difference between two sets of generated
//! files (the committed `out/` of a base revision and what the stacks produce now), object
//! by object and risk first — `stack-prod diff --base <rev>`.
//!
//! The engine needs no stack model: it compares two [`Files`] maps (path under `out/` →
//! text). Each path is grouped by stack and environment (`<stack>/<env>/…`; the pipeline
//! under `<stack>/github/`, PaaS files under `<stack>/paas/`, the stack README as
//! `shared`), each file is split into the objects a reviewer thinks in (see [`FileKind`]),
//! and objects are compared field by field with the comparison `diff --against` uses
//! ([`compare`]): Kubernetes objects keyed by kind/namespace/name, containers, env, ports,
//! volumes and workflow steps keyed by name.
//!
//! Risks come first ([`RiskKind`]): image and chart version changes, fewer replicas or
//! resources, removed objects and volumes, NetworkPolicies that allow more, relaxed
//! security settings, new secret references, and changes only prod gets.
//!
//! ```
//! use stackdsl::review::{self, Files, RiskKind};
//! let deploy = |replicas: u32, tag: &str| {
//!     format!("kind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: {replicas}\n  template:\n    spec:\n      containers:\n        - name: api\n          image: acme/api:{tag}\n")
//! };
//! let before = Files::from([("shop/prod/k8s/20-api.yaml".to_owned(), deploy(3, "1.0"))]);
//! let after = Files::from([("shop/prod/k8s/20-api.yaml".to_owned(), deploy(2, "1.1"))]);
//! let r = review::review(&before, &after);
//! assert_eq!(r.groups[0].objects[0].label, "Deployment/api");
//! let kinds: Vec<RiskKind> = r.risks.iter().map(|r| r.kind).collect();
//! assert_eq!(kinds, [RiskKind::ImageChange, RiskKind::ReplicasDecreased]);
//! let text = review::text(&r, "shop", &|_, s| s.to_owned());
//! assert!(text.contains("spec.replicas: 3 → 2"));
//! ```

pub mod compare;
mod markdown;
mod parse;
mod risk;
mod text;

use std::collections::{BTreeMap, BTreeSet};

pub use compare::FieldChange;
pub use markdown::{MarkdownOptions, markdown};
pub use parse::FileKind;
pub use text::{Tone, text};

use compare::Fields;
use parse::Parsed;

/// A set of generated files: path relative to the output folder → contents.
pub type Files = BTreeMap<String, String>;

/// The emitter's bookkeeping file, never compared.
const MANIFEST: &str = ".stackdsl-manifest";

/// The result of a review: what changed per stack and environment, and the risks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Review {
    /// Groups with at least one change, by stack, then environment (dev, staging, prod,
    /// then the other folders).
    pub groups: Vec<Group>,
    /// What reviewers must not miss, by kind, stack and object.
    pub risks: Vec<Risk>,
}

impl Review {
    /// Number of changed objects, over all groups.
    pub fn objects(&self) -> usize {
        self.groups.iter().map(|g| g.objects.len()).sum()
    }

    /// Number of stacks with a change.
    pub fn stacks(&self) -> usize {
        let names: BTreeSet<&str> = self.groups.iter().map(|g| g.stack.as_str()).collect();
        names.len()
    }
}

/// The changes of one stack in one environment (or one of the stack's other folders).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Group {
    /// The stack (the first path segment).
    pub stack: String,
    /// `dev`, `staging` or `prod`; or the folder (`github`, `paas`); `shared` for the
    /// files at the stack's root.
    pub scope: String,
    /// The objects that differ, by file kind and key.
    pub objects: Vec<ObjectChange>,
}

impl Group {
    /// How many objects of the group have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.objects.iter().filter(|o| o.status == status).count()
    }
}

/// Whether an object was added, changed or removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Only after.
    Added,
    /// On both sides, with different fields.
    Changed,
    /// Only before.
    Removed,
}

/// One object that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectChange {
    /// What the object is.
    pub kind: FileKind,
    /// How it is shown: `Deployment/api`, `compose service api`, `terraform var.x`, a path.
    pub label: String,
    /// The file it is in, relative to its group (`k8s/20-api.yaml`).
    pub file: String,
    /// Added, changed or removed.
    pub status: Status,
    /// Its differing fields (every field of an added or removed object).
    pub fields: Vec<FieldChange>,
}

/// What a risk is about, in the order risks are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RiskKind {
    /// An image (or a Helm chart version) changed.
    ImageChange,
    /// Fewer replicas (or a lower autoscaling bound).
    ReplicasDecreased,
    /// A lower CPU, memory or storage request or limit, or one removed.
    ResourcesDecreased,
    /// An object, a pod volume or a Compose mount removed, or persistence disabled.
    Removed,
    /// A NetworkPolicy allows traffic it did not allow, or was removed.
    NetworkPolicyWidened,
    /// A security setting relaxed: root, privilege escalation, capabilities, read-only
    /// root filesystem, seccomp, Pod Security level, workflow write permissions.
    SecurityRelaxed,
    /// A secret referenced that was not referenced before.
    NewSecret,
    /// A change in prod that staging does not get.
    ProdOnly,
}

impl RiskKind {
    /// The short heading of the risk, e.g. `image change`.
    pub fn title(self) -> &'static str {
        match self {
            RiskKind::ImageChange => "image change",
            RiskKind::ReplicasDecreased => "fewer replicas",
            RiskKind::ResourcesDecreased => "less resources",
            RiskKind::Removed => "removed",
            RiskKind::NetworkPolicyWidened => "network policy widened",
            RiskKind::SecurityRelaxed => "security relaxed",
            RiskKind::NewSecret => "new secret reference",
            RiskKind::ProdOnly => "prod only",
        }
    }
}

/// One thing a reviewer must not miss: a finding, and every object it holds for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Risk {
    /// What it is about.
    pub kind: RiskKind,
    /// The stack.
    pub stack: String,
    /// What was found, e.g. `ghcr.io/acme/api 1.4.2 → 1.5.0` or `spec.replicas: 3 → 2`.
    pub detail: String,
    /// Where it holds, by environment (or folder), then object.
    pub places: Vec<Place>,
}

/// An object in an environment (or a stack folder).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Place {
    /// `dev`, `staging`, `prod`, `github`, `paas`, `shared`.
    pub scope: String,
    /// The object's label.
    pub object: String,
}

impl Risk {
    /// Where the risk holds, objects with the environments they are in:
    /// `Deployment/api (staging, prod); compose service api (prod)`.
    pub fn places_phrase(&self) -> String {
        let mut by_object: Vec<(&str, Vec<&str>)> = Vec::new();
        for p in &self.places {
            match by_object.iter_mut().find(|(o, _)| *o == p.object) {
                Some((_, scopes)) => scopes.push(&p.scope),
                None => by_object.push((&p.object, vec![&p.scope])),
            }
        }
        let mut by_scopes: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
        for (object, scopes) in by_object {
            match by_scopes.iter_mut().find(|(s, _)| *s == scopes) {
                Some((_, objects)) => objects.push(object),
                None => by_scopes.push((scopes, vec![object])),
            }
        }
        by_scopes
            .into_iter()
            .map(|(scopes, objects)| format!("{} ({})", objects.join(", "), scopes.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn scope_rank(scope: &str) -> (u8, &str) {
    match scope {
        "dev" => (0, ""),
        "staging" => (1, ""),
        "prod" => (2, ""),
        "shared" => (4, ""),
        other => (3, other),
    }
}

/// `(stack, scope, path within the group)` of a path under the output folder.
fn locate(path: &str) -> (&str, &str, &str) {
    let Some((stack, rest)) = path.split_once('/') else {
        return ("", "shared", path);
    };
    match rest.split_once('/') {
        Some((scope, rel)) => (stack, scope, rel),
        None => (stack, "shared", rest),
    }
}

type GroupKey<'a> = (&'a str, (u8, &'a str), &'a str);

fn grouped(files: &Files) -> BTreeMap<GroupKey<'_>, Vec<(&str, &str)>> {
    let mut out: BTreeMap<GroupKey<'_>, Vec<(&str, &str)>> = BTreeMap::new();
    for (path, text) in files {
        if path.rsplit('/').next() == Some(MANIFEST) {
            continue;
        }
        let (stack, scope, rel) = locate(path);
        out.entry((stack, scope_rank(scope), scope))
            .or_default()
            .push((rel, text));
    }
    out
}

type ObjectKey = (FileKind, String);

fn objects(scope: &str, files: Option<&Vec<(&str, &str)>>) -> BTreeMap<ObjectKey, Parsed> {
    let mut out = BTreeMap::new();
    for (rel, text) in files.into_iter().flatten() {
        for p in parse::parse_file(scope, rel, text) {
            let mut id = p.id.clone();
            let mut n = 1;
            while out.contains_key(&(p.kind, id.clone())) {
                n += 1;
                id = format!("{}#{n}", p.id);
            }
            out.insert((p.kind, id), p);
        }
    }
    out
}

fn fields_of(p: &Parsed) -> Fields {
    let mut f = compare::flatten(&p.value);
    // `steps[Check out].name: Check out` repeats the key the list is keyed by.
    f.retain(|path, value| {
        !compare::ITEM_KEYS
            .iter()
            .any(|k| path.ends_with(&format!("[{value}].{k}")))
    });
    if p.kind == FileKind::Kubernetes {
        // Implied by the ConfigMap changes it summarises (as in `diff --against`).
        f.remove("spec.template.metadata.annotations.checksum/config");
    }
    f
}

/// Compares `before` (e.g. the committed `out/` of the base revision) with `after` (what
/// the stacks produce now). Paths are relative to the output folder; the emitter's
/// `.stackdsl-manifest` is ignored. See the [module documentation](self).
pub fn review(before: &Files, after: &Files) -> Review {
    let (gb, ga) = (grouped(before), grouped(after));
    let keys: BTreeSet<&GroupKey<'_>> = gb.keys().chain(ga.keys()).collect();
    let mut groups = Vec::new();
    let mut found: Vec<Risk> = Vec::new();
    // Every object each stack's staging has, in either revision.
    let mut staging: BTreeMap<&str, BTreeSet<(FileKind, String)>> = BTreeMap::new();
    for key in &keys {
        let (stack, _, scope) = **key;
        let (ob, oa) = (objects(scope, gb.get(*key)), objects(scope, ga.get(*key)));
        let fb: BTreeMap<ObjectKey, Fields> =
            ob.iter().map(|(k, p)| (k.clone(), fields_of(p))).collect();
        let fa: BTreeMap<ObjectKey, Fields> =
            oa.iter().map(|(k, p)| (k.clone(), fields_of(p))).collect();
        // A label two objects share (one name in two namespaces) names its namespace.
        let mut by_label: BTreeMap<&str, BTreeSet<&ObjectKey>> = BTreeMap::new();
        for (k, p) in ob.iter().chain(oa.iter()) {
            by_label.entry(p.label.as_str()).or_default().insert(k);
        }
        let label_of = |p: &Parsed| -> String {
            if by_label.get(p.label.as_str()).is_some_and(|s| s.len() > 1)
                && p.kind == FileKind::Kubernetes
            {
                let ns = p.id.split('/').nth(1).unwrap_or_default();
                format!("{} (namespace {ns})", p.label)
            } else {
                p.label.clone()
            }
        };
        let empty = Fields::new();
        let mut changes = Vec::new();
        for d in compare::diff_keyed(&fb, &fa) {
            let p = oa.get(&d.key).or_else(|| ob.get(&d.key));
            let Some(p) = p else { continue };
            let status = match d.presence {
                compare::Presence::Before => Status::Removed,
                compare::Presence::After => Status::Added,
                compare::Presence::Both => Status::Changed,
            };
            let label = label_of(p);
            let c = risk::Compared {
                kind: p.kind,
                label: &label,
                status,
                changes: &d.fields,
                before: fb.get(&d.key).unwrap_or(&empty),
                after: fa.get(&d.key).unwrap_or(&empty),
                before_value: ob.get(&d.key).map(|p| &p.value),
                after_value: oa.get(&d.key).map(|p| &p.value),
            };
            for (kind, detail) in risk::assess(&c) {
                found.push(Risk {
                    kind,
                    stack: stack.to_owned(),
                    detail,
                    places: vec![Place {
                        scope: scope.to_owned(),
                        object: label.clone(),
                    }],
                });
            }
            changes.push(ObjectChange {
                kind: p.kind,
                label,
                file: p.file.clone(),
                status,
                fields: d.fields,
            });
        }
        if scope == "staging" {
            staging.entry(stack).or_default().extend(
                ob.values()
                    .chain(oa.values())
                    .map(|p| (p.kind, p.label.clone())),
            );
        }
        if !changes.is_empty() {
            groups.push(Group {
                stack: stack.to_owned(),
                scope: scope.to_owned(),
                objects: changes,
            });
        }
    }
    found.extend(prod_only(&groups, &staging));
    Review {
        groups,
        risks: merge(found),
    }
}

/// Changes in prod that staging does not get: for each prod object staging also has (in
/// either revision), the fields that change in prod and not in staging, or its addition or
/// removal when staging's copy stays. Objects only prod has (an HPA, Compose where staging
/// runs Kubernetes) are environment differences, not findings.
fn prod_only(
    groups: &[Group],
    staging: &BTreeMap<&str, BTreeSet<(FileKind, String)>>,
) -> Vec<Risk> {
    let mut out = Vec::new();
    for prod in groups.iter().filter(|g| g.scope == "prod") {
        let Some(known) = staging.get(prod.stack.as_str()) else {
            continue;
        };
        let staged = groups
            .iter()
            .find(|g| g.scope == "staging" && g.stack == prod.stack);
        for o in &prod.objects {
            if !known.contains(&(o.kind, o.label.clone())) {
                continue;
            }
            let twin = staged.and_then(|s| {
                s.objects
                    .iter()
                    .find(|so| so.kind == o.kind && so.label == o.label)
            });
            let detail = match (o.status, twin) {
                (Status::Changed, _) => {
                    let staged: BTreeSet<&str> = twin
                        .map(|t| t.fields.iter().map(|f| f.path.as_str()).collect())
                        .unwrap_or_default();
                    let only: Vec<&str> = o
                        .fields
                        .iter()
                        .map(|f| f.path.as_str())
                        .filter(|p| !staged.contains(p))
                        .map(risk::short)
                        .collect();
                    if only.is_empty() {
                        continue;
                    }
                    let mut shown: Vec<&str> = only.iter().take(3).copied().collect();
                    if only.len() > 3 {
                        shown.push("…");
                    }
                    shown.join(", ")
                }
                (status, Some(t)) if t.status == status => continue,
                (Status::Added, _) => "added".to_owned(),
                (Status::Removed, _) => "removed".to_owned(),
            };
            out.push(Risk {
                kind: RiskKind::ProdOnly,
                stack: prod.stack.clone(),
                detail,
                places: vec![Place {
                    scope: "prod".to_owned(),
                    object: o.label.clone(),
                }],
            });
        }
    }
    out
}

/// One risk per (kind, stack, detail), with every place it holds in.
fn merge(found: Vec<Risk>) -> Vec<Risk> {
    let mut merged: Vec<Risk> = Vec::new();
    for r in found {
        match merged
            .iter_mut()
            .find(|m| m.kind == r.kind && m.stack == r.stack && m.detail == r.detail)
        {
            Some(m) => m.places.extend(r.places),
            None => merged.push(r),
        }
    }
    fn place_key(p: &Place) -> ((u8, &str), &str) {
        (scope_rank(&p.scope), &p.object)
    }
    for m in &mut merged {
        m.places.sort_by(|a, b| place_key(a).cmp(&place_key(b)));
        m.places.dedup();
    }
    merged.sort_by(|a, b| {
        (a.kind, &a.stack, a.places.first().map(place_key), &a.detail).cmp(&(
            b.kind,
            &b.stack,
            b.places.first().map(place_key),
            &b.detail,
        ))
    });
    merged
}

/// The first line of a review's Markdown, an HTML comment: what a workflow looks for to
/// update its pull-request comment instead of adding one. One per set of stacks, so the
/// per-stack pipelines of one repository each keep their own comment.
///
/// ```
/// use stackdsl::review::comment_marker;
/// assert_eq!(comment_marker(&[]), "<!-- stackdsl-review -->");
/// assert_eq!(comment_marker(&["shop".to_owned()]), "<!-- stackdsl-review: shop -->");
/// ```
pub fn comment_marker(stacks: &[String]) -> String {
    if stacks.is_empty() {
        "<!-- stackdsl-review -->".to_owned()
    } else {
        format!("<!-- stackdsl-review: {} -->", stacks.join(", "))
    }
}

/// `n object(s) …` for a group or a whole review: `1 object changed`,
/// `3 objects: 1 added, 2 changed`.
pub fn count_phrase(added: usize, changed: usize, removed: usize) -> String {
    let total = added + changed + removed;
    let parts: Vec<String> = [(added, "added"), (changed, "changed"), (removed, "removed")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
    let noun = if total == 1 { "object" } else { "objects" };
    match parts.as_slice() {
        [] => "no object changed".to_owned(),
        [one] => format!(
            "{total} {noun} {}",
            one.split_once(' ').map_or("", |(_, w)| w)
        ),
        _ => format!("{total} {noun}: {}", parts.join(", ")),
    }
}

/// Is `v` shown as lines (a line diff) rather than inline?
pub(crate) fn multiline(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.contains('\n'))
}

/// Lines added and removed between two texts, `(-/+, line)`, changed lines only.
pub(crate) fn line_changes(before: &str, after: &str) -> Vec<(char, String)> {
    similar::TextDiff::from_lines(before, after)
        .iter_all_changes()
        .filter_map(|c| {
            let sign = match c.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => return None,
            };
            Some((sign, c.value().trim_end_matches(['\n', '\r']).to_owned()))
        })
        .collect()
}

/// `v` cut to `max` characters, with `…` where it was cut.
pub(crate) fn clip(v: &str, max: usize) -> String {
    if v.chars().count() <= max {
        v.to_owned()
    } else {
        let mut s: String = v.chars().take(max).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
