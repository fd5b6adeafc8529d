//! Redis-protocol cache and store, served by Valkey by default: a container, or Valkey's own
//! Helm chart where the stack renders Terraform; and its connection URLs.
//!
//! # Sources
//!
//! - **Compose** (and Kubernetes without Terraform): `valkey/valkey:9.1.1-alpine` (the
//!   Valkey project's image, user `valkey`, uid 999), started with `valkey-server` and the
//!   stack's settings on the command line.
//! - **Terraform**: Valkey's chart `valkey` 0.11.0 from `https://valkey.io/valkey-helm/`
//!   (app 9.1.1), a release named after the service in the stack's namespace: a Deployment
//!   with a volume, or a StatefulSet with replicas whose Service reaches the primary. The
//!   chart reads the password from the stack's own Secret (`auth.usersExistingSecret`, the
//!   key through `auth.aclUsers.default.passwordKey`, which Terraform sets beside the values
//!   files), so no Terraform variable carries it.
//! - **Why Valkey**: Redis's own server changed its license (AGPLv3/RSALv2/SSPL since 8.0);
//!   Valkey is the BSD-licensed, wire-compatible continuation under the Linux Foundation,
//!   with its own image and chart. Clients keep `redis://` URLs.
//!
//! [`Redis::image`] runs another Valkey-compatible image; [`Redis::redis_image`] one with
//! Redis's binaries (`redis-server`, `redis-cli`), which Valkey's chart cannot run (it starts
//! `valkey-server`): with Terraform, such a stack names `.bitnami_chart()` or is told so.
//! [`Redis::without_password`] drops the password, with the stack's reason: the service is
//! then fenced by the network alone, which validation requires to exist.

use serde_json::json;

use super::{BackingService, chart_image, pod_labels, resources_json, sized, values};
use crate::model::{
    Auth, BackingKind, BackingSpec, Backup, CiService, HelmChart, Image, Install, Memory, Mount,
    Port, Probe, Release, Resources, SecretRef, Security, Service, ServiceRef, Stack, Url,
};

/// Docker image of the Valkey project, and the uid of its `valkey` user.
const IMAGE: (&str, &str) = ("valkey/valkey", "9.1.1-alpine");
const UID: u32 = 999;

/// Which server binaries an image has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Binaries {
    Valkey,
    Redis,
}

impl Binaries {
    fn server(self) -> &'static str {
        match self {
            Binaries::Valkey => "valkey-server",
            Binaries::Redis => "redis-server",
        }
    }

    fn cli(self) -> &'static str {
        match self {
            Binaries::Valkey => "valkey-cli",
            Binaries::Redis => "redis-cli",
        }
    }
}

/// A Redis-protocol server (Valkey by default) with a password, append-only persistence,
/// optional replicas (Terraform) and keyspace notifications. See the [module docs](self).
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct Redis {
    name: String,
    auth: Auth,
    image: Option<(Image, Binaries)>,
    uid: u32,
    storage: Memory,
    replicas: u32,
    append_only: bool,
    notify_keyspace_events: Option<String>,
    resources: Resources,
    backup: Option<Backup>,
    bitnami: bool,
}

impl Redis {
    /// A server requiring `password` from every client.
    pub fn new(password: SecretRef) -> Self {
        Redis::with(Auth::Password(password))
    }

    /// A server without a password, because `reason` (e.g. "only the app's pods reach it,
    /// and it caches public data"). Nothing but the network then fences it: in Kubernetes
    /// the stack's NetworkPolicies, which validation requires.
    pub fn without_password(reason: impl Into<String>) -> Self {
        Redis::with(Auth::NoPassword {
            reason: reason.into(),
        })
    }

    fn with(auth: Auth) -> Self {
        Redis {
            name: "redis".into(),
            auth,
            image: None,
            uid: UID,
            storage: Memory::gi(5),
            replicas: 0,
            append_only: true,
            notify_keyspace_events: None,
            resources: sized((100, 500), (128, 512)),
            backup: None,
            bitnami: false,
        }
    }

    /// Runs another image with Valkey's binaries (`valkey-server`, `valkey-cli`), e.g.
    /// `valkey/valkey:9.1-trixie`: in Compose, and in Valkey's chart under Terraform.
    pub fn image(mut self, image: Image) -> Self {
        self.image = Some((image, Binaries::Valkey));
        self
    }

    /// Runs an image with Redis's binaries (`redis-server`, `redis-cli`), e.g. `redis:8.10.1`.
    /// Valkey's chart cannot run it: a stack that renders Terraform also names
    /// [`Redis::bitnami_chart`].
    pub fn redis_image(mut self, image: Image) -> Self {
        self.image = Some((image, Binaries::Redis));
        self
    }

    /// The uid the image's server user has (default 999, as in Valkey's and Redis's images).
    pub fn run_as_user(mut self, uid: u32) -> Self {
        self.uid = uid;
        self
    }

    /// Backs the dataset up on a schedule with `--rdb` (a CronJob in Kubernetes).
    pub fn backup(mut self, policy: Backup) -> Self {
        self.backup = Some(policy);
        self
    }

    /// Service name (default `redis`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Volume size (default 5 GiB).
    pub fn storage(mut self, size: Memory) -> Self {
        self.storage = size;
        self
    }

    /// Read replicas beside the primary (Terraform only).
    pub fn replicas(mut self, n: u32) -> Self {
        self.replicas = n;
        self
    }

    /// Append-only-file persistence (default on).
    pub fn append_only(mut self, on: bool) -> Self {
        self.append_only = on;
        self
    }

    /// Keyspace notifications, e.g. `KA` (`notify-keyspace-events`).
    pub fn notify_keyspace_events(mut self, classes: impl Into<String>) -> Self {
        self.notify_keyspace_events = Some(classes.into());
        self
    }

    /// CPU and memory of each instance.
    pub fn resources(mut self, r: Resources) -> Self {
        self.resources = r;
        self
    }

    /// Installs it with Bitnami's `redis` chart instead of Valkey's. Bitnami's versioned
    /// images stopped getting fixes on 2025-08-28; validation warns about it.
    pub fn bitnami_chart(mut self) -> Self {
        self.bitnami = true;
        self
    }

    fn config_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "appendonly {}",
            if self.append_only { "yes" } else { "no" }
        )];
        if let Some(n) = &self.notify_keyspace_events {
            lines.push(format!("notify-keyspace-events {n}"));
        }
        lines
    }

    /// Valkey's chart: values by concern; the password read from the stack's Secret.
    fn valkey_release(&self, custom: Option<&Image>) -> Release {
        let auth = match &self.auth {
            Auth::Password(_) => json!({
                "enabled": true,
                "aclUsers": { "default": { "permissions": "~* &* +@all" } },
            }),
            Auth::NoPassword { .. } => json!({ "enabled": false }),
        };
        let storage = self.storage.to_string();
        let mut topology = json!({
            "fullnameOverride": self.name,
            "auth": auth,
            "valkeyConfig": self.config_lines().join("\n"),
            "dataStorage": { "enabled": self.replicas == 0, "requestedSize": storage },
            "replica": {
                "enabled": self.replicas > 0,
                "replicas": self.replicas,
                "persistence": { "size": storage },
            },
        });
        if let Some(image) = custom {
            topology["image"] = chart_image(image);
        }
        let release = Release::new(
            HelmChart::new("https://valkey.io/valkey-helm/", "valkey", "0.11.0"),
            vec![
                values("topology", topology),
                values(
                    "resources",
                    json!({ "resources": resources_json(&self.resources) }),
                ),
            ],
        );
        match &self.auth {
            // The chart reads the default user's password from the stack's own Secret.
            Auth::Password(p) => release
                .secret_name("auth.usersExistingSecret", p.name())
                .secret_name("auth.aclUsers.default.passwordKey", p.key()),
            Auth::NoPassword { .. } => release,
        }
    }
}

/// A Redis in a stack.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisRef {
    /// The service.
    pub service: ServiceRef,
    /// Its port.
    pub port: Port,
    /// The password, if the server requires one.
    pub password: Option<SecretRef>,
}

impl RedisRef {
    /// `redis://:<password>@<host>:6379/<db>` (`redis://<host>:6379/<db>` without a
    /// password).
    pub fn url(&self, db: u32) -> Url {
        let url = self.service.endpoint(self.port).url().scheme("redis");
        match &self.password {
            Some(p) => url.password(p),
            None => url,
        }
        .path(format!("/{db}"))
    }
}

impl BackingService for Redis {
    type Handle = RedisRef;
    fn install(self, s: &mut Stack) -> RedisRef {
        let port = Port::tcp("redis", 6379);
        let (image, binaries) = self
            .image
            .clone()
            .unwrap_or_else(|| (Image::new(IMAGE.0).tag(IMAGE.1), Binaries::Valkey));
        let custom = self.image.as_ref().map(|(i, _)| i);
        let password = self.auth.password().cloned();
        let mut cmd = format!("exec {} --port {}", binaries.server(), port.number);
        for line in self.config_lines() {
            cmd.push_str(&format!(" --{line}"));
        }
        cmd.push_str(if password.is_some() {
            " --requirepass \"$REDIS_PASSWORD\""
        } else {
            // Without a password the server would refuse every client but localhost.
            " --protected-mode no"
        });
        let kind = BackingKind::Redis {
            auth: self.auth.clone(),
        };
        // A service container cannot be given `--requirepass`: CI's server has none.
        let ci = Some(CiService {
            env: Vec::new(),
            health_cmd: Some(format!("{} ping", binaries.cli())),
            password: false,
        });
        let spec = if self.bitnami {
            let release = super::bitnami::redis(
                &self.name,
                password.as_ref(),
                self.replicas,
                &self.config_lines(),
                &self.resources,
                self.storage,
            );
            super::bitnami::spec(&self.name, "redis", release, "-master", kind, ci)
        } else {
            BackingSpec {
                kind,
                install: Install::Chart(self.valkey_release(custom)),
                host: self.name.clone(),
                pod_labels: pod_labels(&self.name, "valkey"),
                reads: password.iter().cloned().collect(),
                shaped_secrets: Vec::new(),
                ci,
                not_installable: (binaries == Binaries::Redis).then(|| {
                    format!(
                        "Valkey's chart starts `valkey-server`, which `{image}` (an image with Redis's binaries) does not have"
                    )
                }),
            }
        };
        let mut svc = Service::new(self.name.clone())
            .image(image.clone())
            .port(port);
        if let Some(p) = &password {
            // The CLI reads its password from REDISCLI_AUTH, so the probe needs no argument.
            svc = svc.env("REDIS_PASSWORD", p).env("REDISCLI_AUTH", p);
        }
        let ping = Probe::exec([binaries.cli(), "ping"]);
        let service = s.add(
            svc.command(["sh", "-c"])
                .args([cmd])
                .readiness(ping.clone().period(5))
                .liveness(ping.timeout(5))
                .mount(Mount::persistent(format!("{}-data", self.name), "/data").size(self.storage))
                // The image's server user.
                .security(
                    Security::restricted()
                        .run_as_user(self.uid)
                        .fs_group(self.uid),
                )
                .resources(self.resources)
                .backing(spec),
        );
        super::backup::attach(s, &service, self.backup, || {
            super::backup::redis(
                &service,
                port,
                (image, binaries.cli()),
                password.as_ref(),
                self.uid,
            )
        });
        RedisRef {
            service,
            port,
            password,
        }
    }
}
