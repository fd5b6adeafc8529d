//! The stacks of the systems we deploy, one module per system. Each module exposes stack
//! functions (`fn(Env) -> Stack`) and the components they are made of, so other crates can
//! import whole stacks or single parts.
//!
//! The binaries `stack-dev`, `stack-staging` and `stack-prod` synthesize every stack in
//! [`ALL`] for their environment into `out/`.

use stackdsl::cli::StackFn;

pub mod components;
pub mod easyflow;
pub mod noex;
pub mod potter;
pub mod srvthreds;
pub mod tsdev;

/// Every stack, in the order they are synthesized and reported.
pub const ALL: &[StackFn] = &[
    tsdev::monolith,
    tsdev::microservices,
    srvthreds::srvthreds,
    noex::noex,
    easyflow::easyflow,
    potter::potter,
];
