//! Kubernetes rules of a service's pods and Service: how the Service is exposed (type,
//! node ports, traffic policy, load balancer settings), scheduling (node selector,
//! tolerations, priority class), image pull secrets and the service account.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;

use crate::diagnostics::ErrorKind;
use crate::model::Service;
use crate::model::{Exposure, PodSettings, ServiceType, TaintEffect, Target, WorkloadIdentity};
use crate::validate::{Validator, names};

/// A Google service account's email: `NAME@PROJECT.iam.gserviceaccount.com` (both 6–30
/// lowercase letters, digits and dashes).
static GKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$",
    )
    .expect("a valid pattern")
});

/// An IAM role's ARN, in any AWS partition.
static EKS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
        .expect("a valid pattern")
});

/// The Kubernetes default `--service-node-port-range`.
pub(crate) const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;

/// Why `name` is not a DNS-1123 subdomain (Secret and PriorityClass names), or `None`.
fn subdomain_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is empty");
    }
    if name.len() > 253 {
        return Some("is longer than 253 characters");
    }
    name.split('.').find_map(names::dns1123_problem)
}

/// Is `s` an IPv4 or IPv6 network in CIDR notation?
fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    match (ip.parse::<IpAddr>(), bits.parse::<u8>()) {
        (Ok(IpAddr::V4(_)), Ok(b)) => b <= 32,
        (Ok(IpAddr::V6(_)), Ok(b)) => b <= 128,
        _ => false,
    }
}

impl Validator<'_> {
    /// Annotation keys are qualified names (`[prefix/]name`).
    fn annotation_rules<'k>(&mut self, keys: impl Iterator<Item = &'k str>, path: &str) {
        for key in keys {
            if let Some(problem) = names::label_key_problem(key) {
                self.err(
                    ErrorKind::InvalidName,
                    format!("{path}[{key}]"),
                    format!("annotation key `{key}` {problem}"),
                    "use `[prefix/]name`, the prefix a DNS subdomain, e.g. `cloud.google.com/neg`",
                );
            }
        }
    }

    /// How the Service of `svc` is exposed.
    pub(super) fn exposure_rules(&mut self, svc: &Service, path: &str) {
        let e: &Exposure = &svc.exposure;
        let epath = format!("{path}.exposure");
        let kind = e.kind.k8s();
        if *e == Exposure::default() {
            return;
        }
        if self.plan.is_helm_installed(svc) {
            self.err(
                ErrorKind::Unsupported,
                epath.clone(),
                format!(
                    "service `{}` is installed by its Helm chart, which renders its own Service",
                    svc.name
                ),
                "set the chart's Service values instead (or drop Terraform from the targets)",
            );
            return;
        }
        let client: Vec<&str> = self.plan.client_ports(svc).map(|p| p.name).collect();
        if e.is_external() && client.is_empty() {
            self.err(
                ErrorKind::InvalidValue,
                epath.clone(),
                format!(
                    "service `{}` is exposed as {kind} but has no port clients could reach",
                    svc.name
                ),
                "declare the port with `.port(…)`, or drop `.exposure(…)`",
            );
        }
        if !e.node_ports.is_empty() && !e.is_external() {
            self.err(
                ErrorKind::InvalidValue,
                format!("{epath}.node_ports"),
                "fixed node ports need a NodePort or LoadBalancer Service",
                "use `Exposure::node_port()` or `Exposure::load_balancer()`",
            );
        }
        let mut seen: Vec<&str> = Vec::new();
        for (port, number) in &e.node_ports {
            let ppath = format!("{epath}.node_ports[{}]", port.name);
            if !client.contains(&port.name) {
                self.err(
                    ErrorKind::UnknownPort,
                    ppath.clone(),
                    format!("node port {number} is pinned for port `{}`, which the Service of `{}` does not expose", port.name, svc.name),
                    format!("pin one of: {}", if client.is_empty() { "(none)".to_owned() } else { client.join(", ") }),
                );
            }
            if !NODE_PORTS.contains(number) {
                self.err(
                    ErrorKind::InvalidValue,
                    ppath.clone(),
                    format!(
                        "node port {number} is outside the cluster's node-port range 30000–32767"
                    ),
                    "pick a port from 30000 to 32767, or let the cluster allocate one",
                );
            }
            if seen.contains(&port.name) {
                self.err(
                    ErrorKind::DuplicateName,
                    ppath,
                    format!("port `{}` is pinned to a node port twice", port.name),
                    "pin each port once",
                );
            }
            seen.push(port.name);
        }
        if e.traffic_policy.is_some() && !e.is_external() {
            self.err(
                ErrorKind::InvalidValue,
                format!("{epath}.traffic_policy"),
                "externalTrafficPolicy applies to traffic from outside the cluster, which a ClusterIP Service does not receive",
                "use `Exposure::node_port()` or `Exposure::load_balancer()`, or drop `.traffic_policy(…)`",
            );
        }
        if (e.internal.is_some() || !e.source_ranges.is_empty())
            && e.kind != ServiceType::LoadBalancer
        {
            self.err(
                ErrorKind::InvalidValue,
                epath.clone(),
                format!("an internal load balancer and source ranges are load balancer settings, but the Service is {kind}"),
                "use `Exposure::load_balancer()`",
            );
        }
        for cidr in &e.source_ranges {
            if !is_cidr(cidr) {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{epath}.source_ranges[{cidr}]"),
                    format!("`{cidr}` is not a network in CIDR notation"),
                    "write an address and a prefix length, e.g. `203.0.113.0/24`",
                );
            }
        }
        let keys: Vec<&str> = e.annotations.iter().map(|(k, _)| k.as_str()).collect();
        self.annotation_rules(keys.into_iter(), &format!("{epath}.annotations"));
    }

    /// Scheduling, pull secrets and the service account of `svc`'s pods.
    pub(super) fn pod_settings_rules(&mut self, svc: &Service, path: &str) {
        let p: &PodSettings = &svc.pod;
        let lifecycle = svc.containers().next().is_some()
            || svc.grace_period.is_some()
            || svc.pre_stop.is_some();
        if lifecycle && self.plan.is_helm_installed(svc) {
            self.err(
                ErrorKind::Unsupported,
                path.to_owned(),
                format!("service `{}` is installed by its Helm chart, which renders its own pods: its init containers, sidecars, grace period and pre-stop hook would not reach them", svc.name),
                "set the chart's values instead (or drop Terraform from the targets)",
            );
        }
        if *p == PodSettings::default() {
            return;
        }
        if self.plan.is_helm_installed(svc) {
            self.err(
                ErrorKind::Unsupported,
                format!("{path}.pod"),
                format!(
                    "service `{}` is installed by its Helm chart, which renders its own pods",
                    svc.name
                ),
                "set the chart's values instead (or drop Terraform from the targets)",
            );
            return;
        }
        if p.service_links
            .as_ref()
            .is_some_and(|r| r.trim().is_empty())
        {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.pod.service_links"),
                "service links are kept without a reason",
                "say why the app needs them, e.g. `.service_links(\"finds its peers through <SERVICE>_SERVICE_HOST\")`",
            );
        }
        for (key, value) in &p.node_selector {
            let kpath = format!("{path}.node_selector[{key}]");
            if let Some(problem) = names::label_key_problem(key) {
                self.err(
                    ErrorKind::InvalidName,
                    kpath.clone(),
                    format!("node label key `{key}` {problem}"),
                    "select by a label key such as `kubernetes.io/arch` or `cloud.google.com/gke-nodepool`",
                );
            }
            if let Some(problem) = names::label_part_problem(value, false) {
                self.err(
                    ErrorKind::InvalidValue,
                    kpath,
                    format!("node label value `{value}` {problem}"),
                    "use a label value: at most 63 letters, digits, '-', '_' and '.'",
                );
            }
        }
        for t in &p.tolerations {
            let tpath = format!("{path}.tolerations[{}]", t.key);
            if let Some(problem) = names::label_key_problem(&t.key) {
                self.err(
                    ErrorKind::InvalidName,
                    tpath.clone(),
                    format!("taint key `{}` {problem}", t.key),
                    "tolerate a taint key such as `nvidia.com/gpu`",
                );
            }
            if let Some(problem) = t
                .value
                .as_deref()
                .and_then(|v| names::label_part_problem(v, false))
            {
                self.err(
                    ErrorKind::InvalidValue,
                    tpath.clone(),
                    format!("taint value {problem}"),
                    "use a label value: at most 63 letters, digits, '-', '_' and '.'",
                );
            }
            if t.seconds.is_some() && t.effect != Some(TaintEffect::NoExecute) {
                self.err(
                    ErrorKind::InvalidValue,
                    tpath,
                    "a toleration period applies to `NoExecute` taints only (they evict running pods)",
                    "add `.effect(TaintEffect::NoExecute)`, or drop `.for_seconds(…)`",
                );
            }
        }
        let mut pulls: Vec<&str> = Vec::new();
        for s in &p.image_pull_secrets {
            let spath = format!("{path}.image_pull_secrets[{}]", s.name);
            if let Some(problem) = subdomain_problem(&s.name) {
                self.err(
                    ErrorKind::InvalidName,
                    spath.clone(),
                    format!("pull secret name `{}` {problem}", s.name),
                    "name the Secret with a DNS-1123 subdomain, e.g. `ghcr-pull`",
                );
            }
            if s.description
                .as_deref()
                .is_some_and(|d| d.chars().any(char::is_control))
            {
                self.err(
                    ErrorKind::InvalidValue,
                    spath.clone(),
                    format!("the description of pull secret `{}` contains a line break or control character", s.name),
                    "descriptions are one line in the README",
                );
            }
            if pulls.contains(&s.name.as_str()) {
                self.err(
                    ErrorKind::DuplicateName,
                    spath,
                    format!("pull secret `{}` is listed twice", s.name),
                    "list each Secret once",
                );
            }
            pulls.push(&s.name);
        }
        if let Some(pc) = &p.priority_class
            && let Some(problem) = subdomain_problem(pc)
        {
            self.err(
                ErrorKind::InvalidName,
                format!("{path}.priority_class"),
                format!("priority class name `{pc}` {problem}"),
                "name a PriorityClass of the cluster, e.g. `business-critical`",
            );
        }
        if let Some(sa) = &p.service_account {
            let apath = format!("{path}.service_account");
            for id in &sa.identities {
                let (ok, hint) = match id {
                    WorkloadIdentity::Gke(email) => (
                        GKE.is_match(email),
                        "give the Google service account's email, `NAME@PROJECT.iam.gserviceaccount.com`",
                    ),
                    WorkloadIdentity::Eks(arn) => (
                        EKS.is_match(arn),
                        "give the IAM role's ARN, `arn:aws:iam::<12-digit account>:role/<name>`",
                    ),
                };
                let (key, value) = id.annotation();
                if !ok {
                    self.err(
                        ErrorKind::InvalidValue,
                        format!("{apath}.annotations[{key}]"),
                        format!("`{value}` is not a valid value for `{key}`"),
                        hint,
                    );
                }
            }
            let mut keys: BTreeMap<&str, ()> = BTreeMap::new();
            for (key, _) in sa.annotations() {
                if keys.insert(key, ()).is_some() {
                    self.err(
                        ErrorKind::DuplicateName,
                        format!("{apath}.annotations[{key}]"),
                        format!("the service account is annotated `{key}` twice"),
                        "bind one identity per cloud, and set each annotation once",
                    );
                }
            }
            let keys: Vec<&str> = sa
                .extra_annotations
                .iter()
                .map(|(k, _)| k.as_str())
                .collect();
            self.annotation_rules(keys.into_iter(), &format!("{apath}.annotations"));
        }
    }

    /// Two Services cannot claim one node port.
    pub(super) fn node_port_rules(&mut self) {
        let plan = self.plan;
        let mut claimed: BTreeMap<u16, String> = BTreeMap::new();
        for svc in plan.services(Target::Kubernetes) {
            for (port, number) in &svc.exposure.node_ports {
                let who = format!("port `{}` of service `{}`", port.name, svc.name);
                match claimed.get(number) {
                    Some(first) => self.err(
                        ErrorKind::HostPortClash,
                        format!("{}.exposure.node_ports[{}]", self.svc_path(svc), port.name),
                        format!("node port {number} is pinned for {who} and for {first}; every node has one port {number}"),
                        "pin another node port, or let the cluster allocate one",
                    ),
                    None => {
                        claimed.insert(*number, who);
                    }
                }
            }
        }
    }
}
