//! Composing stacks: bring another stack's services into this one.

use crate::model::{EnvValue, Part, Service, ServiceRef, Stack, Template, VolumeSource};

/// The services [`Stack::include`] brought in, by their name in the included stack.
///
/// Overrides are explicit calls in the importer's source:
///
/// ```
/// use stackdsl::prelude::*;
///
/// fn billing(env: Env) -> Stack {
///     let mut s = Stack::new("billing", env);
///     s.add(Service::new("ledger").image(Image::new("acme/ledger").tag("3.1.0")));
///     s
/// }
///
/// let mut s = Stack::new("platform", Env::Dev);
/// let billing = s.include(billing(Env::Dev), Some("billing"));
/// let ledger = billing.service("ledger").expect("billing has a ledger");
/// assert_eq!(ledger.name(), "billing-ledger");
/// s.update(ledger, |b| b.replicas(2).replace_env("LOG_LEVEL", "debug"));
/// assert_eq!(s.service("billing-ledger").unwrap().replicas, 2);
/// ```
#[derive(Clone, Debug)]
pub struct Included {
    from: String,
    services: Vec<(String, ServiceRef)>,
}

impl Included {
    /// The handle of the service named `name` in the included stack.
    pub fn service(&self, name: &str) -> Option<&ServiceRef> {
        self.services
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r)
    }

    /// Every included service: `(name in the included stack, handle in this stack)`.
    pub fn services(&self) -> impl Iterator<Item = (&str, &ServiceRef)> {
        self.services.iter().map(|(n, r)| (n.as_str(), r))
    }

    /// The name of the stack they came from.
    pub fn from(&self) -> &str {
        &self.from
    }
}

fn renamed(name: &str, prefix: Option<&str>) -> String {
    match prefix {
        Some(p) => format!("{p}-{name}"),
        None => name.to_owned(),
    }
}

impl Stack {
    /// Brings every service of `other` into this stack, with names prefixed `<prefix>-`
    /// when a prefix is given (recommended: it keeps imported names from clashing). Handles
    /// inside the imported services (dependencies, URLs, generated files) are rewired to
    /// the new names, and so are persistent volume and config file names; secret
    /// references are kept as they are. `other`'s stack-level settings (targets, namespace,
    /// Kubernetes options, CI) are not imported: this stack's apply.
    ///
    /// Each service keeps the origin of its declaration, so a name clash between imported
    /// parts is reported naming both source locations; an [`update`](Self::update) of
    /// `other` that named none of its services is reported in this stack too.
    pub fn include(&mut self, other: Stack, prefix: Option<&str>) -> Included {
        let from = other.name.clone();
        let to = self.name.clone();
        self.stray_updates.extend(other.stray_updates);
        let mut services = Vec::new();
        for mut svc in other.services {
            let original = svc.name.clone();
            svc.name = renamed(&svc.name, prefix);
            for m in &mut svc.mounts {
                match &mut m.source {
                    VolumeSource::Persistent { name, .. } => *name = renamed(name, prefix),
                    VolumeSource::File(f) => f.name = renamed(&f.name, prefix),
                    _ => {}
                }
            }
            services.push((original, self.adopt(svc)));
        }
        // Every handle to the included stack, in its own services and in ours (a component
        // may have handed some out before the include), now names the adopted service.
        let originals: std::collections::BTreeSet<String> = services
            .iter()
            .map(|(n, _): &(String, ServiceRef)| n.clone())
            .collect();
        let rewire = |r: &mut ServiceRef| {
            if r.stack == from && originals.contains(&r.name) {
                r.name = renamed(&r.name, prefix);
                r.stack = to.clone();
            }
        };
        let rewire_template = |t: &mut Template| {
            for p in t.parts_mut() {
                match p {
                    Part::Host(r) => rewire(r),
                    Part::Port(e) => rewire(&mut e.service),
                    _ => {}
                }
            }
        };
        for svc in &mut self.services {
            svc.depends_on
                .iter_mut()
                .for_each(|d| rewire(&mut d.service));
            for var in &mut svc.env {
                if let EnvValue::Template(t) = &mut var.value {
                    rewire_template(t);
                }
            }
            for m in &mut svc.mounts {
                if let VolumeSource::File(f) = &mut m.source {
                    rewire_template(&mut f.content);
                }
            }
        }
        Included { from, services }
    }

    /// Adds an already-built service, keeping its origin; returns its handle.
    fn adopt(&mut self, svc: Service) -> ServiceRef {
        let handle = ServiceRef {
            name: svc.name.clone(),
            stack: self.name.clone(),
            origin: svc.origin,
        };
        self.services.push(svc);
        handle
    }
}
