//! The stack's own setters: [`Stack::new`], the settings, [`Stack::update`] and
//! [`Stack::add`] (see the [builder docs](super) for the one setter convention).

use std::marker::PhantomData;

use super::{HasImage, IntoService, ServiceBuilder};
use crate::model::{
    Env, KubernetesOptions, Origin, Service, ServiceRef, Stack, StrayUpdate, Target,
};

impl Stack {
    /// Starts an empty stack named `name` for `env`. The calling file is recorded as the
    /// stack's source and named in every generated file's marker line.
    ///
    /// Targets default to Compose; choose others with [`targets`](Self::targets).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let s = Stack::new("shop", Env::Staging);
    /// assert_eq!(s.out_dir(), "shop/staging");
    /// ```
    #[track_caller]
    pub fn new(name: impl Into<String>, env: Env) -> Stack {
        let origin = Origin::caller();
        Stack {
            name: name.into(),
            env,
            source: origin.file,
            origin,
            services: Vec::new(),
            targets: vec![Target::Compose],
            kubernetes: KubernetesOptions::default(),
            ci: None,
            regenerate: None,
            paas: crate::model::PaasOptions::default(),
            edge: None,
            monitoring: crate::model::Monitoring::default(),
            hatches: crate::model::Hatches::default(),
            origin_override: None,
            stray_updates: Vec::new(),
            not_secrets: Vec::new(),
        }
    }

    /// Sets the Kubernetes namespace (default `<stack>-<env>`).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.in_namespace("shop");
    /// assert_eq!(s.namespace(), "shop");
    /// ```
    pub fn in_namespace(&mut self, namespace: impl Into<String>) -> &mut Self {
        self.kubernetes.namespace = Some(namespace.into());
        self
    }

    /// Sets how the Kubernetes target renders this stack.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("bench", Env::Prod);
    /// s.kubernetes(|k| k.plain());
    /// assert!(!s.kubernetes.hardened);
    /// ```
    pub fn kubernetes(
        &mut self,
        f: impl FnOnce(&mut KubernetesOptions) -> &mut KubernetesOptions,
    ) -> &mut Self {
        f(&mut self.kubernetes);
        self
    }

    /// How CI tests, builds and deploys the stack (for [`Target::GitHubActions`]).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.targets([Target::Kubernetes, Target::GitHubActions])
    ///     .ci(Ci::node("20", PackageManager::Pnpm));
    /// assert!(s.ci.is_some());
    /// ```
    pub fn ci(&mut self, ci: crate::model::Ci) -> &mut Self {
        self.ci = Some(ci);
        self
    }

    /// Declares that `value`, wherever it appears in the stack's own settings (the edge's
    /// headers, the CI commands, monitoring labels), is not a secret although it looks like
    /// one; `reason` says why (see [`ServiceBuilder::not_a_secret`] for a service's values).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.not_a_secret("sk_test_public_fixture", "the test fixture key of the docs");
    /// assert_eq!(s.not_secrets.len(), 1);
    /// ```
    pub fn not_a_secret(
        &mut self,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> &mut Self {
        self.not_secrets.push((value.into(), reason.into()));
        self
    }

    /// The edge in front of the services' routes ([`Route`](crate::model::Route)): an nginx service in Compose,
    /// and the defaults (timeouts, body size, headers, compression, TLS settings) the
    /// Kubernetes routes carry as far as their API expresses them (see
    /// [`Edge`](crate::model::Edge)).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.edge(Edge::nginx().client_body_mb(10));
    /// assert_eq!(s.edge.unwrap().client_body_mb, Some(10));
    /// ```
    pub fn edge(&mut self, edge: crate::model::Edge) -> &mut Self {
        self.edge = Some(edge);
        self
    }

    /// Chooses the targets rendered for this environment, in order.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Staging);
    /// s.targets([Target::Kubernetes, Target::Terraform]);
    /// assert_eq!(s.targets, [Target::Kubernetes, Target::Terraform]);
    /// ```
    pub fn targets(&mut self, targets: impl IntoIterator<Item = Target>) -> &mut Self {
        self.targets = targets.into_iter().collect();
        self
    }

    /// Changes a service already in the stack, e.g. one a component added or one
    /// [`include`](Self::include) brought in: the override is an explicit call, visible in
    /// the stack's source.
    ///
    /// A handle that names no service of this stack (one of another stack, say) changes
    /// nothing and is a validation error naming both the handle's declaration and this
    /// call, so a misdirected override cannot pass unnoticed.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// let api = s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")));
    /// s.update(&api, |b| b.replicas(5));
    /// assert_eq!(s.service("api").unwrap().replicas, 5);
    ///
    /// let mut billing = Stack::new("billing", Env::Prod);
    /// let ledger = billing.add(Service::new("ledger").image(Image::new("acme/ledger").tag("3.1")));
    /// s.update(&ledger, |b| b.replicas(2)); // not a service of `shop`
    /// let errors = stackdsl::validate(&s).unwrap_err();
    /// assert!(errors.iter().any(|e| e.path == "shop.update[ledger]"));
    /// ```
    #[track_caller]
    pub fn update(
        &mut self,
        handle: &ServiceRef,
        f: impl FnOnce(ServiceBuilder<HasImage>) -> ServiceBuilder<HasImage>,
    ) -> &mut Self {
        let slot = if handle.stack == self.name {
            self.services.iter_mut().find(|s| s.name == handle.name)
        } else {
            None
        };
        match slot {
            Some(slot) => {
                let placeholder = *Service::new(String::new()).inner;
                let current = std::mem::replace(slot, placeholder);
                *slot = *f(ServiceBuilder {
                    inner: Box::new(current),
                    state: PhantomData,
                })
                .inner;
            }
            None => self.stray_updates.push(StrayUpdate {
                handle: handle.clone(),
                at: Origin::caller(),
            }),
        }
        self
    }

    /// Adds a service and returns its handle.
    pub fn add(&mut self, service: impl IntoService) -> ServiceRef {
        let mut service = service.into_service();
        // Inside `Stack::backing`, name the user's call, not the catalog's code.
        if let Some(origin) = self.origin_override {
            service.origin = origin;
        }
        let handle = ServiceRef {
            name: service.name.clone(),
            stack: self.name.clone(),
            origin: service.origin,
        };
        self.services.push(service);
        handle
    }
}
