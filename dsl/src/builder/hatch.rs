//! The typed escape hatches: patch a rendered Kubernetes object through its k8s-openapi
//! type, add objects the intent API lacks, patch a service's pods. (Raw Compose keys are
//! set in the Compose group, [`ServiceCompose`](super::ServiceCompose).)
//!
//! Each is checked like the rest of the stack: a patch that names no rendered object is a
//! validation error; patches run before the Kubernetes cross-reference check, so one that
//! breaks a selector, port or ConfigMap reference is reported with a path; extra objects
//! take part in that check; Compose keys are checked against the Compose Specification.
//! The [guide](crate::guide) says when to prefer the intent API.
//!
//! Patches are `Fn`, not `FnOnce`: a stack is rendered more than once (validation, each
//! run, the other environments a target spans), and each time the patch runs again on
//! freshly rendered objects.

use std::any::{Any, TypeId};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use serde::Serialize;

use super::ServiceKubernetes;
use crate::model::{
    ErasedPatch, ExtraObject, KubernetesPatch, ObjectScope, Origin, PodPatch, Stack,
};

/// Erases a typed patch: it runs only on a value of type `T`.
fn erase<T: Any>(f: impl Fn(&mut T) + Send + Sync + 'static) -> ErasedPatch {
    Arc::new(
        move |object: &mut dyn Any| match object.downcast_mut::<T>() {
            Some(t) => {
                f(t);
                true
            }
            None => false,
        },
    )
}

/// The scope of a k8s-openapi type (a subresource counts as namespaced).
fn scope_of<T: k8s_openapi::Resource + 'static>() -> ObjectScope {
    if TypeId::of::<T::Scope>() == TypeId::of::<k8s_openapi::ClusterResourceScope>() {
        ObjectScope::Cluster
    } else {
        ObjectScope::Namespaced
    }
}

impl Stack {
    /// Patches the rendered Kubernetes object of type `T` named `name`: any k8s-openapi
    /// type (`Deployment`, `Service`, `NetworkPolicy`, …) or
    /// [`ServiceMonitor`](crate::render::k8s::ServiceMonitor) /
    /// [`PrometheusRule`](crate::render::k8s::PrometheusRule). The closure gets the object
    /// as stackdsl built it, before the cross-reference check, which then checks the result.
    ///
    /// A patch that matches no rendered object (a typo, a service that a Helm release
    /// installs) is a validation error at `<stack>.kubernetes_patch[Kind/name]`, pointing
    /// at this call. Patches only run where the stack renders Kubernetes.
    ///
    /// ```
    /// use stackdsl::k8s_openapi::api::apps::v1::Deployment;
    /// use stackdsl::prelude::*;
    ///
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.targets([Target::Kubernetes]);
    /// s.add(Service::new("api").image(Image::new("acme/api").tag("1.0"))
    ///     .resources(Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256))));
    /// s.kubernetes_patch::<Deployment>("api", |d| {
    ///     d.spec.as_mut().unwrap().revision_history_limit = Some(3);
    /// });
    /// let docs = stackdsl::render(&stackdsl::validate(&s).unwrap()).unwrap();
    /// let api = docs.iter().find(|d| d.path.ends_with("20-api.yaml")).unwrap();
    /// assert!(api.contents.contains("revisionHistoryLimit: 3"));
    ///
    /// s.kubernetes_patch::<Deployment>("apii", |_| {});
    /// let errors = stackdsl::validate(&s).unwrap_err();
    /// assert_eq!(errors.iter().next().unwrap().path, "shop.kubernetes_patch[Deployment/apii]");
    /// ```
    #[track_caller]
    pub fn kubernetes_patch<T: k8s_openapi::Resource + 'static>(
        &mut self,
        name: impl Into<String>,
        patch: impl Fn(&mut T) + Send + Sync + 'static,
    ) -> &mut Self {
        self.hatches.kubernetes_patches.push(KubernetesPatch {
            kind: T::KIND,
            api_version: T::API_VERSION,
            name: name.into(),
            origin: Origin::caller(),
            apply: erase(patch),
        });
        self
    }

    /// Adds a Kubernetes object the intent API lacks to `k8s/80-extra.yaml` (listed in the
    /// kustomization): any k8s-openapi type, or a custom resource type of yours that
    /// implements [`k8s_openapi::Resource`] and `Serialize`. A namespaced object that names
    /// no namespace gets the stack's. The object takes part in the cross-reference check
    /// (a `Service` it declares must select pods, say); for a custom resource without a
    /// Rust type use [`kubernetes_custom`](Self::kubernetes_custom). For an object that
    /// belongs to one service, use the service's `.kubernetes(|k| k.object(…))`.
    ///
    /// ```
    /// use stackdsl::k8s_openapi::api::core::v1::{ResourceQuota, ResourceQuotaSpec};
    /// use stackdsl::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    /// use stackdsl::k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    /// use stackdsl::prelude::*;
    ///
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.targets([Target::Kubernetes]);
    /// # s.add(Service::new("api").image(Image::new("acme/api").tag("1.0"))
    /// #     .resources(Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256))));
    /// s.kubernetes_object(ResourceQuota {
    ///     metadata: ObjectMeta { name: Some("compute".into()), ..Default::default() },
    ///     spec: Some(ResourceQuotaSpec {
    ///         hard: Some([("limits.cpu".to_owned(), Quantity("8".into()))].into()),
    ///         ..Default::default()
    ///     }),
    ///     ..Default::default()
    /// });
    /// let docs = stackdsl::render(&stackdsl::validate(&s).unwrap()).unwrap();
    /// let extra = docs.iter().find(|d| d.path == "shop/prod/k8s/80-extra.yaml").unwrap();
    /// assert!(extra.contents.contains("kind: ResourceQuota\nmetadata:\n  name: compute\n  namespace: shop-prod\n"));
    /// ```
    #[track_caller]
    pub fn kubernetes_object<T: k8s_openapi::Resource + Serialize + 'static>(
        &mut self,
        object: T,
    ) -> &mut Self {
        let value = serde_json::to_value(&object);
        self.hatches.kubernetes_objects.push(ExtraObject::new(
            value,
            scope_of::<T>(),
            Origin::caller(),
        ));
        self
    }

    /// Adds a custom resource (or any object) given as data to `k8s/80-extra.yaml`: a
    /// `serde_json::Value` or any `Serialize` type with `apiVersion`, `kind` and
    /// `metadata.name`. Keys keep the order the value serializes them in. A kind that
    /// k8s-openapi types (`Deployment`, `Service`, …) is read into that type, so it is
    /// checked like ours and a field the type does not know is an error; any other kind is
    /// written as given, and a `scaleTargetRef`/`targetRef` in its `spec` must name a
    /// workload of the manifests.
    ///
    /// ```
    /// use stackdsl::model::ObjectScope;
    /// use stackdsl::prelude::*;
    /// use serde_json::json;
    ///
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.targets([Target::Kubernetes]);
    /// # s.add(Service::new("api").image(Image::new("acme/api").tag("1.0"))
    /// #     .resources(Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256))));
    /// s.kubernetes_custom(ObjectScope::Cluster, json!({
    ///     "apiVersion": "cert-manager.io/v1",
    ///     "kind": "ClusterIssuer",
    ///     "metadata": { "name": "letsencrypt" },
    ///     "spec": { "acme": { "server": "https://acme-v02.api.letsencrypt.org/directory" } },
    /// }));
    /// let docs = stackdsl::render(&stackdsl::validate(&s).unwrap()).unwrap();
    /// let extra = docs.iter().find(|d| d.path.ends_with("80-extra.yaml")).unwrap();
    /// assert!(extra.contents.contains("kind: ClusterIssuer\nmetadata:\n  name: letsencrypt\nspec:\n"));
    /// ```
    #[track_caller]
    pub fn kubernetes_custom(&mut self, scope: ObjectScope, object: impl Serialize) -> &mut Self {
        let value = serde_json::to_value(&object);
        self.hatches
            .kubernetes_objects
            .push(ExtraObject::new(value, scope, Origin::caller()));
        self
    }
}

impl ServiceKubernetes {
    /// Patches the pod spec of the service's workload (its Deployment or StatefulSet)
    /// before the cross-reference check: what the intent API does not say yet, e.g. a
    /// `nodeSelector` or `hostAliases`. A service with no pods in the manifests (a Helm
    /// release installs it) is a validation error.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1"))
    ///     .kubernetes(|k| k.pod(|p| {
    ///         p.node_selector = Some([("disktype".to_owned(), "ssd".to_owned())].into());
    ///     }));
    /// assert_eq!(b.peek().hatches.pod.len(), 1);
    /// ```
    #[track_caller]
    pub fn pod(&mut self, patch: impl Fn(&mut PodSpec) + Send + Sync + 'static) -> &mut Self {
        self.pod_template(move |t: &mut PodTemplateSpec| {
            patch(t.spec.get_or_insert_with(Default::default));
        })
    }

    /// Patches the service's whole pod template (its labels and annotations too); see
    /// [`pod`](Self::pod). Changing the pod labels the selector uses is reported by the
    /// cross-reference check.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1"))
    ///     .kubernetes(|k| k.pod_template(|t| {
    ///         let meta = t.metadata.get_or_insert_with(Default::default);
    ///         meta.labels.get_or_insert_with(Default::default).insert("team".into(), "shop".into());
    ///     }));
    /// assert_eq!(b.peek().hatches.pod.len(), 1);
    /// ```
    #[track_caller]
    pub fn pod_template(
        &mut self,
        patch: impl Fn(&mut PodTemplateSpec) + Send + Sync + 'static,
    ) -> &mut Self {
        self.service.hatches.pod.push(PodPatch {
            origin: Origin::caller(),
            apply: erase(patch),
        });
        self
    }

    /// Adds a Kubernetes object to the service's file (`20-<service>.yaml`, after the
    /// service's own objects), like [`Stack::kubernetes_object`].
    ///
    /// ```
    /// use stackdsl::k8s_openapi::api::core::v1::ServiceAccount;
    /// use stackdsl::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1"))
    ///     .kubernetes(|k| k.object(ServiceAccount {
    ///         metadata: ObjectMeta { name: Some("api-reader".into()), ..Default::default() },
    ///         automount_service_account_token: Some(false),
    ///         ..Default::default()
    ///     }));
    /// assert_eq!(b.peek().hatches.kubernetes_objects[0].kind(), "ServiceAccount");
    /// ```
    #[track_caller]
    pub fn object<T: k8s_openapi::Resource + Serialize + 'static>(
        &mut self,
        object: T,
    ) -> &mut Self {
        let value = serde_json::to_value(&object);
        self.service
            .hatches
            .kubernetes_objects
            .push(ExtraObject::new(value, scope_of::<T>(), Origin::caller()));
        self
    }

    /// Adds an object given as data to the service's file, like
    /// [`Stack::kubernetes_custom`].
    ///
    /// ```
    /// use stackdsl::model::ObjectScope;
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1"))
    ///     .kubernetes(|k| k.custom_object(ObjectScope::Namespaced, serde_json::json!({
    ///         "apiVersion": "keda.sh/v1alpha1",
    ///         "kind": "ScaledObject",
    ///         "metadata": { "name": "api" },
    ///         "spec": { "scaleTargetRef": { "name": "api" }, "triggers": [] },
    ///     })));
    /// assert_eq!(b.peek().hatches.kubernetes_objects[0].name(), "api");
    /// ```
    #[track_caller]
    pub fn custom_object(&mut self, scope: ObjectScope, object: impl Serialize) -> &mut Self {
        let value = serde_json::to_value(&object);
        self.service
            .hatches
            .kubernetes_objects
            .push(ExtraObject::new(value, scope, Origin::caller()));
        self
    }
}
