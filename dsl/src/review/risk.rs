//! The rules that put a change at the top of a review: what a reviewer must not miss.
//!
//! Each rule reads one object's change (its fields before and after, and its data where a
//! field-by-field view is not enough, as for NetworkPolicy rules) and says what it found in
//! a short phrase. The review merges the findings per object and across environments.

use std::collections::BTreeSet;

use serde_json::Value;

use super::compare::{FieldChange, Fields};
use super::parse::FileKind;
use super::{RiskKind, Status};

/// One object's change, with what the rules read.
pub(crate) struct Compared<'a> {
    pub kind: FileKind,
    pub label: &'a str,
    pub status: Status,
    pub changes: &'a [FieldChange],
    pub before: &'a Fields,
    pub after: &'a Fields,
    pub before_value: Option<&'a Value>,
    pub after_value: Option<&'a Value>,
}

/// Every finding for one object, in rule order, each `(kind, phrase)`.
pub(crate) fn assess(c: &Compared<'_>) -> Vec<(RiskKind, String)> {
    if c.kind == FileKind::Text {
        return Vec::new();
    }
    let mut out = Vec::new();
    if c.status == Status::Removed {
        // The removal is the finding; its fields going away say nothing more.
        out.extend(removed(c).into_iter().map(|f| (RiskKind::Removed, f)));
        out.extend(
            network(c)
                .into_iter()
                .map(|f| (RiskKind::NetworkPolicyWidened, f)),
        );
        return out;
    }
    let mut add = |kind: RiskKind, found: Vec<String>| {
        out.extend(found.into_iter().map(|f| (kind, f)));
    };
    add(RiskKind::ImageChange, images(c));
    add(RiskKind::ReplicasDecreased, replicas(c));
    add(RiskKind::ResourcesDecreased, resources(c));
    add(RiskKind::Removed, removed(c));
    add(RiskKind::NetworkPolicyWidened, network(c));
    add(RiskKind::SecurityRelaxed, security(c));
    add(RiskKind::NewSecret, secrets(c));
    out
}

/// The path's last segment (`…containers[api].image` → `image`).
fn last(path: &str) -> &str {
    let mut depth = 0;
    for (i, ch) in path.char_indices().rev() {
        match ch {
            ']' => depth += 1,
            '[' => depth -= 1,
            '.' if depth == 0 => return &path[i + 1..],
            _ => {}
        }
    }
    path
}

/// The path without the pod-template prefixes every workload repeats.
pub(crate) fn short(path: &str) -> &str {
    for prefix in [
        "spec.jobTemplate.spec.template.spec.",
        "spec.template.spec.",
    ] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return rest;
        }
    }
    path
}

/// A before value: `(none)` where the field did not exist.
fn was(v: Option<&str>) -> &str {
    v.unwrap_or("(none)")
}

/// An after value: `(removed)` where the field no longer exists.
fn shown(v: Option<&str>) -> &str {
    v.unwrap_or("(removed)")
}

fn both(f: &FieldChange) -> Option<(&str, &str)> {
    Some((f.before.as_deref()?, f.after.as_deref()?))
}

/// `repo:tag` split at the tag's colon (not a registry port's).
fn split_image(image: &str) -> (&str, &str) {
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) => (&image[..slash + i], &image[slash + i + 1..]),
        None => (image, ""),
    }
}

fn images(c: &Compared<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for f in c.changes {
        let Some((a, b)) = both(f) else { continue };
        let is_image = last(&f.path) == "image"
            || f.path.ends_with("image.url")
            || (c.kind == FileKind::HelmValues
                && (f.path.ends_with("image.tag") || f.path.ends_with("image.repository")));
        if is_image {
            let (repo_a, tag_a) = split_image(a);
            let (repo_b, tag_b) = split_image(b);
            out.push(if c.kind == FileKind::HelmValues {
                format!("{}: {a} → {b}", f.path)
            } else if repo_a == repo_b && !tag_a.is_empty() && !tag_b.is_empty() {
                format!("{repo_a} {tag_a} → {tag_b}")
            } else {
                format!("{a} → {b}")
            });
        } else if c.kind == FileKind::Terraform
            && c.label.starts_with("terraform helm_release.")
            && f.path == "version"
        {
            out.push(format!("chart version {a} → {b}"));
        }
    }
    out
}

const REPLICA_FIELDS: &[&str] = &[
    "replicas",
    "minReplicas",
    "maxReplicas",
    "replicaCount",
    "min_machines_running",
    "numInstances",
    "numReplicas",
];

fn replicas(c: &Compared<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for f in c.changes {
        let field = last(&f.path);
        if !REPLICA_FIELDS.contains(&field) {
            continue;
        }
        let before = f.before.as_deref().and_then(|v| v.parse::<f64>().ok());
        // A Deployment without `replicas` runs one.
        let after = match f.after.as_deref() {
            Some(v) => v.parse::<f64>().ok(),
            None if field == "replicas" => Some(1.0),
            None => None,
        };
        if let (Some(b), Some(a)) = (before, after)
            && a < b
        {
            out.push(format!(
                "{}: {} → {}",
                short(&f.path),
                was(f.before.as_deref()),
                shown(f.after.as_deref())
            ));
        }
    }
    out
}

/// A quantity as a number: Kubernetes (`500m`, `1.5`, `512Mi`, `1G`), Compose (`512M`,
/// `0.5`) and fly.io (`512mb`). `m` is milli for CPU and mega for memory.
pub(crate) fn quantity(text: &str, memory: bool) -> Option<f64> {
    let t = text.trim().trim_matches('"');
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let number: f64 = t[..split].parse().ok()?;
    let unit = &t[split..];
    let factor = match unit {
        "" => 1.0,
        "m" if !memory => 1e-3,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        _ => match unit.to_ascii_lowercase().trim_end_matches('b') {
            "k" => 1e3,
            "m" => 1e6,
            "g" => 1e9,
            "t" => 1e12,
            _ => return None,
        },
    };
    Some(number * factor)
}

fn resources(c: &Compared<'_>) -> Vec<String> {
    if c.kind == FileKind::Workflow {
        return Vec::new();
    }
    let mut out = Vec::new();
    for f in c.changes {
        let field = last(&f.path);
        let memory = match field {
            "cpu" | "cpus" => false,
            "memory" | "storage" | "ephemeral-storage" => true,
            "size" if f.path.contains("persistence") => true,
            _ => continue,
        };
        let decreased = match (f.before.as_deref(), f.after.as_deref()) {
            (Some(b), Some(a)) => {
                matches!((quantity(b, memory), quantity(a, memory)), (Some(b), Some(a)) if a < b)
            }
            // A request or limit dropped: no guarantee (or bound) any more.
            (Some(_), None) => f.path.contains("resources"),
            _ => false,
        };
        if decreased {
            out.push(format!(
                "{}: {} → {}",
                short(&f.path),
                was(f.before.as_deref()),
                shown(f.after.as_deref())
            ));
        }
    }
    out
}

/// The values of every list under `parent` (`…capabilities.drop`), by list path.
fn list_items(fields: &Fields, list: impl Fn(&str) -> bool) -> BTreeSet<(String, String)> {
    fields
        .iter()
        .filter_map(|(path, value)| {
            let open = path.rfind('[')?;
            path.ends_with(']')
                .then_some(())
                .filter(|()| list(&path[..open]))
                .map(|()| (path[..open].to_owned(), value.clone()))
        })
        .collect()
}

fn removed(c: &Compared<'_>) -> Vec<String> {
    if c.status == Status::Removed {
        return vec!["object removed".to_owned()];
    }
    let mut out = Vec::new();
    // Kubernetes pod volumes and claim templates: every field under `volumes[name]` gone.
    let volumes = |fields: &Fields| -> BTreeSet<String> {
        fields
            .keys()
            .filter_map(|p| {
                ["volumes[", "volumeClaimTemplates["]
                    .iter()
                    .filter_map(|v| {
                        let i = p.find(v)?;
                        let end = p[i..].find(']')? + i + 1;
                        Some(p[..end].to_owned())
                    })
                    .next()
            })
            .collect()
    };
    if c.kind == FileKind::Kubernetes {
        let after = volumes(c.after);
        for v in volumes(c.before).difference(&after) {
            out.push(format!("volume {} removed", short(v)));
        }
    }
    // Compose mounts (`volumes: ["data:/var/lib/x"]`), compared as sets.
    if c.kind == FileKind::Compose {
        let is_mounts = |p: &str| p == "volumes";
        let after = list_items(c.after, is_mounts);
        for (_, v) in list_items(c.before, is_mounts).difference(&after) {
            out.push(format!("volume mount {v} removed"));
        }
    }
    for f in c.changes {
        if f.path.ends_with("persistence.enabled")
            && f.before.as_deref() == Some("true")
            && f.after.as_deref() != Some("true")
        {
            out.push(format!("{}: true → {}", f.path, shown(f.after.as_deref())));
        }
    }
    out
}

fn peer(p: &Value) -> String {
    let labels = |sel: &Value, all: &str, some: &str| -> String {
        match sel.as_object() {
            Some(m) if m.is_empty() => all.to_owned(),
            Some(_) => {
                let mut parts: Vec<String> = sel["matchLabels"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k}={}", super::compare::leaf(v)))
                    .collect();
                if let Some(e) = sel.get("matchExpressions") {
                    parts.push(e.to_string());
                }
                format!("{some} {}", parts.join(","))
            }
            None => String::new(),
        }
    };
    let mut out = Vec::new();
    if let Some(s) = p.get("podSelector") {
        out.push(labels(s, "all pods", "pods"));
    }
    if let Some(s) = p.get("namespaceSelector") {
        out.push(labels(s, "all namespaces", "namespaces"));
    }
    if let Some(b) = p.get("ipBlock") {
        let mut s = format!("cidr {}", super::compare::leaf(&b["cidr"]));
        if let Some(e) = b.get("except") {
            s.push_str(&format!(" except {e}"));
        }
        out.push(s);
    }
    if out.is_empty() {
        p.to_string()
    } else {
        out.join(" in ")
    }
}

/// What a NetworkPolicy allows: `(direction, peer, port)` phrases, one per combination;
/// a rule without peers allows any peer, one without ports any port. A direction the
/// policy does not isolate (missing from `policyTypes`) allows everything.
fn allowances(np: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let spec = &np["spec"];
    let types: Vec<&str> = spec["policyTypes"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_else(|| vec!["Ingress"]);
    for (dir, key, word, name) in [
        ("ingress", "from", "from", "Ingress"),
        ("egress", "to", "to", "Egress"),
    ] {
        if !types.contains(&name) {
            out.insert(format!("{dir} is not restricted"));
            continue;
        }
        for rule in spec[dir].as_array().into_iter().flatten() {
            let peers: Vec<String> = match rule[key].as_array() {
                Some(p) if !p.is_empty() => p.iter().map(peer).collect(),
                _ => vec!["anywhere".to_owned()],
            };
            let ports: Vec<String> = match rule["ports"].as_array() {
                Some(p) if !p.is_empty() => p
                    .iter()
                    .map(|p| {
                        let proto = p["protocol"].as_str().unwrap_or("TCP");
                        let mut s = match p.get("port") {
                            Some(port) => format!("{proto}/{}", super::compare::leaf(port)),
                            None => format!("any {proto} port"),
                        };
                        if let Some(end) = p.get("endPort") {
                            s.push_str(&format!("-{end}"));
                        }
                        s
                    })
                    .collect(),
                _ => vec!["any port".to_owned()],
            };
            for p in &peers {
                for port in &ports {
                    out.insert(format!("{dir} {word} {p} on {port}"));
                }
            }
        }
    }
    out
}

fn network(c: &Compared<'_>) -> Vec<String> {
    if c.kind != FileKind::Kubernetes || !c.label.starts_with("NetworkPolicy/") {
        return Vec::new();
    }
    match (c.status, c.before_value, c.after_value) {
        (Status::Removed, _, _) => vec!["policy removed: its pods lose its isolation".to_owned()],
        (Status::Changed, Some(b), Some(a)) => {
            let before = allowances(b);
            allowances(a)
                .difference(&before)
                .map(|allowed| format!("now allows {allowed}"))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Pod Security Standards levels, most to least restrictive.
fn pss_level(v: Option<&str>) -> u8 {
    match v {
        Some("restricted") => 2,
        Some("baseline") => 1,
        _ => 0,
    }
}

fn security(c: &Compared<'_>) -> Vec<String> {
    if !matches!(
        c.kind,
        FileKind::Kubernetes | FileKind::Compose | FileKind::Workflow
    ) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for f in c.changes {
        let (b, a) = (f.before.as_deref(), f.after.as_deref());
        let field = last(&f.path);
        let relaxed = match field {
            "runAsNonRoot" | "readOnlyRootFilesystem" | "read_only" => {
                b == Some("true") && a != Some("true")
            }
            "allowPrivilegeEscalation" | "automountServiceAccountToken" => {
                b == Some("false") && a != Some("false")
            }
            "privileged" | "hostNetwork" | "hostPID" | "hostIPC" => {
                a == Some("true") && b != Some("true")
            }
            "runAsUser" => a == Some("0") && b != Some("0"),
            "user" if c.kind == FileKind::Compose && f.path == "user" => {
                matches!(a, None | Some("0" | "root")) && !matches!(b, Some("0" | "root"))
            }
            "type" if f.path.ends_with("seccompProfile.type") => {
                matches!(b, Some("RuntimeDefault" | "Localhost"))
                    && !matches!(a, Some("RuntimeDefault" | "Localhost"))
            }
            _ if f.path.ends_with("pod-security.kubernetes.io/enforce") => {
                pss_level(a) < pss_level(b)
            }
            _ if c.kind == FileKind::Workflow && f.path.starts_with("permissions") => {
                a.is_some_and(|a| a.contains("write")) && !b.is_some_and(|b| b.contains("write"))
            }
            _ => false,
        };
        if relaxed {
            out.push(format!("{}: {} → {}", short(&f.path), was(b), shown(a)));
        }
    }
    // Lists compared as sets: a dropped capability or option removed, one added.
    let dropped =
        |p: &str| p.ends_with("capabilities.drop") || p == "cap_drop" || p == "security_opt";
    let after = list_items(c.after, dropped);
    for (list, v) in list_items(c.before, dropped).difference(&after) {
        out.push(format!("{}: {v} no longer set", short(list)));
    }
    let added = |p: &str| p.ends_with("capabilities.add") || p == "cap_add";
    let before = list_items(c.before, added);
    for (list, v) in list_items(c.after, added).difference(&before) {
        out.push(format!("{}: {v} added", short(list)));
    }
    if c.kind == FileKind::Workflow
        && c.after
            .keys()
            .any(|p| p.starts_with("on.pull_request_target"))
        && !c
            .before
            .keys()
            .any(|p| p.starts_with("on.pull_request_target"))
    {
        out.push("runs on pull_request_target (fork code with a write token)".to_owned());
    }
    out
}

/// Every secret an object refers to: Kubernetes `secretKeyRef`s (`name/key`), `envFrom`
/// secrets and secret volumes; required Compose variables (`${VAR:?…}`); workflow
/// `secrets.X`; Terraform sensitive variables and `set_sensitive` values.
pub(crate) fn secret_refs(kind: FileKind, label: &str, fields: &Fields) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (path, value) in fields {
        if let Some(base) = path.strip_suffix(".secretKeyRef.name") {
            let key = fields
                .get(&format!("{base}.secretKeyRef.key"))
                .map_or("", String::as_str);
            out.insert(format!("{value}/{key}"));
        } else if path.ends_with(".secretRef.name") || path.ends_with("secret.secretName") {
            out.insert(value.clone());
        }
        let mut rest = value.as_str();
        while let Some(i) = rest.find("${") {
            rest = &rest[i + 2..];
            if let Some(end) = rest.find(":?")
                && rest[..end]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                out.insert(format!("${{{}}}", &rest[..end]));
            }
        }
        let mut rest = value.as_str();
        while let Some(i) = rest.find("secrets.") {
            rest = &rest[i + 8..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(format!("secrets.{name}"));
            }
        }
        if kind == FileKind::Terraform && path.starts_with("set_sensitive") {
            let mut rest = value.as_str();
            while let Some(i) = rest.find("var.") {
                rest = &rest[i + 4..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.insert(format!("var.{name}"));
            }
        }
    }
    if kind == FileKind::Terraform
        && fields.get("sensitive").map(String::as_str) == Some("true")
        && let Some(var) = label.strip_prefix("terraform ")
    {
        out.insert(var.to_owned());
    }
    out
}

fn secrets(c: &Compared<'_>) -> Vec<String> {
    let before = secret_refs(c.kind, c.label, c.before);
    secret_refs(c.kind, c.label, c.after)
        .difference(&before)
        .map(|r| format!("refers to {r}"))
        .collect()
}

#[cfg(test)]
#[path = "risk_tests.rs"]
mod tests;
