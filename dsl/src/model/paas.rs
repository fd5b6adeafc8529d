//! Platform-as-a-service targets: Fly.io, Render, Railway, Vercel and the Serverless
//! Framework, and the settings only they need.
//!
//! The core model stays target-neutral: a PaaS file is derived from the same services,
//! ports, environment, probes and resources as Compose and Kubernetes. What a platform
//! needs beyond that (a region, a plan, a function handler, build and start commands) lives
//! in [`PaasOptions`] on the [`Stack`](super::Stack), set with
//! [`Stack::paas`](super::Stack::paas).

use super::{ServiceRef, Stack, Target};

/// A platform-as-a-service a stack can be rendered for, as [`Target::Paas`].
///
/// ```
/// use stackdsl::prelude::*;
/// assert_eq!(Platform::Fly.file(), "fly.toml");
/// assert_eq!(Target::Paas(Platform::Render).to_string(), "Render");
/// assert!(Platform::Render.multi_service() && !Platform::Vercel.multi_service());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Platform {
    /// Fly.io: `fly.toml`, one app (a pushed image on Fly Machines).
    Fly,
    /// Render: a `render.yaml` Blueprint with every service, Postgres databases and Key Value
    /// instances.
    Render,
    /// Railway: `railway.toml`, the build and deploy settings of one service.
    Railway,
    /// Vercel: `vercel.json`, one HTTP API as serverless functions.
    Vercel,
    /// The Serverless Framework (v3) on AWS Lambda: `serverless.yml`, one HTTP API.
    Serverless,
}

impl Platform {
    /// Every platform, in the order a stack usually lists them.
    pub const ALL: [Platform; 5] = [
        Platform::Fly,
        Platform::Render,
        Platform::Railway,
        Platform::Vercel,
        Platform::Serverless,
    ];

    /// Every platform as a target: `Stack::targets` takes it as is, or chained to others.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.targets([Target::Kubernetes].into_iter().chain(Platform::targets()));
    /// assert_eq!(s.targets.len(), 6);
    /// ```
    pub fn targets() -> [Target; 5] {
        Platform::ALL.map(Target::Paas)
    }

    /// Lowercase name, the folder under `out/<stack>/paas/`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Platform::Fly => "fly",
            Platform::Render => "render",
            Platform::Railway => "railway",
            Platform::Vercel => "vercel",
            Platform::Serverless => "serverless",
        }
    }

    /// The platform's name in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Platform::Fly => "Fly.io",
            Platform::Render => "Render",
            Platform::Railway => "Railway",
            Platform::Vercel => "Vercel",
            Platform::Serverless => "the Serverless Framework",
        }
    }

    /// The configuration file the platform reads.
    pub const fn file(self) -> &'static str {
        match self {
            Platform::Fly => "fly.toml",
            Platform::Render => "render.yaml",
            Platform::Railway => "railway.toml",
            Platform::Vercel => "vercel.json",
            Platform::Serverless => "serverless.yml",
        }
    }

    /// Does one file describe several services? Only Render's Blueprint does; every other
    /// file describes one app, chosen with [`PaasOptions::app`].
    pub const fn multi_service(self) -> bool {
        matches!(self, Platform::Render)
    }

    /// Does the platform run functions instead of long-running containers?
    pub const fn functions(self) -> bool {
        matches!(self, Platform::Vercel | Platform::Serverless)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Platform::Serverless => "Serverless Framework",
            p => p.name(),
        })
    }
}

/// A variable whose value the platform's operator sets there (dashboard or CLI), because
/// the model's value cannot travel: a URL to a service the platform does not run, or a
/// value that embeds a secret. See [`PaasOptions::set_in_platform`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlatformVar {
    /// Variable name.
    pub name: String,
    /// What to set it to; written into the platform's README and (Render) file.
    pub description: String,
}

/// Fly.io settings (`fly.toml`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlyOptions {
    /// App name (default: the stack's name).
    pub app: Option<String>,
    /// Primary region, e.g. `iad`.
    pub primary_region: Option<String>,
    /// Dedicated (`performance`) instead of shared CPUs.
    pub performance_cpus: bool,
}

impl FlyOptions {
    /// Names the Fly app (default: the stack's name).
    pub fn app(&mut self, name: impl Into<String>) -> &mut Self {
        self.app = Some(name.into());
        self
    }

    /// Sets the primary region, e.g. `iad`.
    pub fn primary_region(&mut self, region: impl Into<String>) -> &mut Self {
        self.primary_region = Some(region.into());
        self
    }

    /// Runs on dedicated (`performance`) CPUs instead of shared ones.
    pub fn performance_cpus(&mut self) -> &mut Self {
        self.performance_cpus = true;
        self
    }
}

/// Render settings (`render.yaml`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderOptions {
    /// Region of every service and database, e.g. `oregon`.
    pub region: Option<String>,
    /// Instance type of the services, e.g. `starter`, `standard`.
    pub plan: Option<String>,
    /// Plan of the Postgres databases, e.g. `basic-256mb`.
    pub database_plan: Option<String>,
    /// Plan of the Key Value (Redis) instances, e.g. `starter`.
    pub key_value_plan: Option<String>,
}

impl RenderOptions {
    /// Region of every service and database, e.g. `oregon`.
    pub fn region(&mut self, region: impl Into<String>) -> &mut Self {
        self.region = Some(region.into());
        self
    }

    /// Instance type of the services, e.g. `starter`.
    pub fn plan(&mut self, plan: impl Into<String>) -> &mut Self {
        self.plan = Some(plan.into());
        self
    }

    /// Plan of the Postgres databases, e.g. `basic-256mb`.
    pub fn database_plan(&mut self, plan: impl Into<String>) -> &mut Self {
        self.database_plan = Some(plan.into());
        self
    }

    /// Plan of the Key Value instances, e.g. `starter`.
    pub fn key_value_plan(&mut self, plan: impl Into<String>) -> &mut Self {
        self.key_value_plan = Some(plan.into());
        self
    }
}

/// How Railway builds the app from the repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RailwayBuilder {
    /// Railpack detects the language and builds (Railway's default).
    #[default]
    Railpack,
    /// A Dockerfile at this path, relative to the repository root.
    Dockerfile(String),
}

/// Railway settings (`railway.toml`). Railway builds from the repository, so the build and
/// start commands are the platform's, not the image's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RailwayOptions {
    /// The builder.
    pub builder: RailwayBuilder,
    /// Build command, e.g. `pnpm install && pnpm build`.
    pub build_command: Option<String>,
    /// Start command (default: the service's command and arguments, else the builder's
    /// detection).
    pub start_command: Option<String>,
    /// Region id, e.g. `us-east4-eqdc4a`; the replicas run there.
    pub region: Option<String>,
    /// Restarts after a failure before Railway gives up (`ON_FAILURE` policy only).
    pub max_restarts: Option<u32>,
}

impl RailwayOptions {
    /// Builds with the Dockerfile at `path` (relative to the repository root).
    pub fn dockerfile(&mut self, path: impl Into<String>) -> &mut Self {
        self.builder = RailwayBuilder::Dockerfile(path.into());
        self
    }

    /// Build command, e.g. `pnpm install && pnpm build`.
    pub fn build_command(&mut self, cmd: impl Into<String>) -> &mut Self {
        self.build_command = Some(cmd.into());
        self
    }

    /// Start command, e.g. `node dist/server.js`.
    pub fn start_command(&mut self, cmd: impl Into<String>) -> &mut Self {
        self.start_command = Some(cmd.into());
        self
    }

    /// Runs the replicas in this region, e.g. `us-east4-eqdc4a`.
    pub fn region(&mut self, region: impl Into<String>) -> &mut Self {
        self.region = Some(region.into());
        self
    }

    /// Restarts after a failure before Railway gives up.
    pub fn max_restarts(&mut self, n: u32) -> &mut Self {
        self.max_restarts = Some(n);
        self
    }
}

/// Vercel settings (`vercel.json`): the app runs as a serverless function built from the
/// repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VercelOptions {
    /// Source file of the function that serves the app, e.g. `api/index.ts` (required).
    pub function: Option<String>,
    /// Maximum seconds per request (Vercel's default when unset).
    pub max_duration: Option<u32>,
    /// Regions the function runs in, e.g. `iad1`.
    pub regions: Vec<String>,
    /// Install command, e.g. `pnpm install`.
    pub install_command: Option<String>,
    /// Build command, e.g. `pnpm build`.
    pub build_command: Option<String>,
}

impl VercelOptions {
    /// The function's source file, e.g. `api/index.ts`; every exposed path is rewritten to it.
    pub fn function(&mut self, path: impl Into<String>) -> &mut Self {
        self.function = Some(path.into());
        self
    }

    /// Maximum seconds per request.
    pub fn max_duration(&mut self, seconds: u32) -> &mut Self {
        self.max_duration = Some(seconds);
        self
    }

    /// Adds a region, e.g. `iad1`.
    pub fn region(&mut self, region: impl Into<String>) -> &mut Self {
        self.regions.push(region.into());
        self
    }

    /// Install command, e.g. `pnpm install`.
    pub fn install_command(&mut self, cmd: impl Into<String>) -> &mut Self {
        self.install_command = Some(cmd.into());
        self
    }

    /// Build command, e.g. `pnpm build`.
    pub fn build_command(&mut self, cmd: impl Into<String>) -> &mut Self {
        self.build_command = Some(cmd.into());
        self
    }
}

/// Serverless Framework settings (`serverless.yml`, AWS Lambda behind an HTTP API).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerlessOptions {
    /// The function's handler, e.g. `dist/lambda-handler.handler` (required).
    pub handler: Option<String>,
    /// Lambda runtime (default `nodejs20.x`).
    pub runtime: String,
    /// AWS region, e.g. `us-east-1`.
    pub region: Option<String>,
    /// Seconds per invocation (default 30, API Gateway's limit).
    pub timeout: u32,
    /// Files packaged into the function, e.g. `dist/**`, `!node_modules/.cache/**`.
    pub patterns: Vec<String>,
}

impl Default for ServerlessOptions {
    fn default() -> Self {
        ServerlessOptions {
            handler: None,
            runtime: "nodejs20.x".into(),
            region: None,
            timeout: 30,
            patterns: Vec::new(),
        }
    }
}

impl ServerlessOptions {
    /// The function's handler, e.g. `dist/lambda-handler.handler`.
    pub fn handler(&mut self, handler: impl Into<String>) -> &mut Self {
        self.handler = Some(handler.into());
        self
    }

    /// Lambda runtime, e.g. `nodejs22.x`.
    pub fn runtime(&mut self, runtime: impl Into<String>) -> &mut Self {
        self.runtime = runtime.into();
        self
    }

    /// AWS region, e.g. `us-east-1`.
    pub fn region(&mut self, region: impl Into<String>) -> &mut Self {
        self.region = Some(region.into());
        self
    }

    /// Seconds per invocation.
    pub fn timeout(&mut self, seconds: u32) -> &mut Self {
        self.timeout = seconds;
        self
    }

    /// Adds a package pattern (`!` excludes).
    pub fn pattern(&mut self, pattern: impl Into<String>) -> &mut Self {
        self.patterns.push(pattern.into());
        self
    }
}

/// What the PaaS targets need beyond the model. Set with [`Stack::paas`].
///
/// ```
/// use stackdsl::prelude::*;
/// let mut s = Stack::new("shop", Env::Prod);
/// s.targets([Target::Paas(Platform::Fly), Target::Paas(Platform::Vercel)]);
/// let http = Port::http("http", 3000);
/// let api = s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")).port(http));
/// s.paas(|p| {
///     p.app(&api)
///         .set_in_platform("OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP/HTTP endpoint of the tracing backend")
///         .fly(|f| f.primary_region("iad"))
///         .vercel(|v| v.function("api/index.ts").region("iad1"))
/// });
/// assert_eq!(s.paas.app.as_ref().map(|a| a.name()), Some("api"));
/// assert_eq!(s.paas.vercel.regions, ["iad1"]);
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct PaasOptions {
    /// The service a single-app platform (every one but Render) deploys. Without it, the
    /// stack must have exactly one service that renders on the platform.
    pub app: Option<ServiceRef>,
    /// Variables set in the platform instead of taken from the model.
    pub set_in_platform: Vec<PlatformVar>,
    /// Fly.io settings.
    pub fly: FlyOptions,
    /// Render settings.
    pub render: RenderOptions,
    /// Railway settings.
    pub railway: RailwayOptions,
    /// Vercel settings.
    pub vercel: VercelOptions,
    /// Serverless Framework settings.
    pub serverless: ServerlessOptions,
}

impl PaasOptions {
    /// The service single-app platforms (Fly.io, Railway, Vercel, Serverless) deploy.
    pub fn app(&mut self, service: &ServiceRef) -> &mut Self {
        self.app = Some(service.clone());
        self
    }

    /// On every PaaS target, `var` is set in the platform (its dashboard or CLI, or Render's
    /// sync prompt) instead of taken from the model; `description` says what to set it to.
    /// For URLs to services a platform does not run (a hosted tracing backend, another
    /// app), and for values that embed a secret where the platform's file holds plain
    /// values only.
    pub fn set_in_platform(
        &mut self,
        var: impl Into<String>,
        description: impl Into<String>,
    ) -> &mut Self {
        self.set_in_platform.push(PlatformVar {
            name: var.into(),
            description: description.into(),
        });
        self
    }

    /// Is `var` set in the platform?
    pub fn platform_var(&self, var: &str) -> Option<&PlatformVar> {
        self.set_in_platform.iter().find(|v| v.name == var)
    }

    /// Fly.io settings.
    pub fn fly(&mut self, f: impl FnOnce(&mut FlyOptions) -> &mut FlyOptions) -> &mut Self {
        f(&mut self.fly);
        self
    }

    /// Render settings.
    pub fn render(
        &mut self,
        f: impl FnOnce(&mut RenderOptions) -> &mut RenderOptions,
    ) -> &mut Self {
        f(&mut self.render);
        self
    }

    /// Railway settings.
    pub fn railway(
        &mut self,
        f: impl FnOnce(&mut RailwayOptions) -> &mut RailwayOptions,
    ) -> &mut Self {
        f(&mut self.railway);
        self
    }

    /// Vercel settings.
    pub fn vercel(
        &mut self,
        f: impl FnOnce(&mut VercelOptions) -> &mut VercelOptions,
    ) -> &mut Self {
        f(&mut self.vercel);
        self
    }

    /// Serverless Framework settings.
    pub fn serverless(
        &mut self,
        f: impl FnOnce(&mut ServerlessOptions) -> &mut ServerlessOptions,
    ) -> &mut Self {
        f(&mut self.serverless);
        self
    }
}

impl Stack {
    /// Sets what the PaaS targets need beyond the model (see [`PaasOptions`]). The app a
    /// single-app platform deploys is named by its handle, so this is called after the
    /// service is added.
    pub fn paas(&mut self, f: impl FnOnce(&mut PaasOptions) -> &mut PaasOptions) -> &mut Self {
        f(&mut self.paas);
        self
    }

    /// The path prefix of this stack's PaaS output: `<name>/paas/<platform>` (no environment
    /// segment: PaaS files are rendered from prod only).
    pub fn paas_dir(&self, platform: Platform) -> String {
        format!("{}/paas/{}", self.name, platform.as_str())
    }
}
