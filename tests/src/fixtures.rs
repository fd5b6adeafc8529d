//! Fixture stacks that exercise edge cases the real stacks do not.

use stackdsl::cli::StackFn;
use stackdsl::prelude::*;

/// Every fixture stack (synthesized into the validator corpus beside the real stacks).
pub const ALL: &[StackFn] = &[yaml11_hazards];

/// Strings a YAML 1.1 reader turns into booleans, numbers, nulls or dates unless they are
/// quoted. Every one must read back as the same string.
pub const YAML11_HAZARDS: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Yes",
    "ON",
    "true",
    "~",
    "null",
    "0755",
    "0o17",
    "0x1F",
    "1e3",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
    "2222:22",
    "12:30:00",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "-",
    "",
    "3.10",
    "+1",
    "=",
    "<<",
    "@x",
    "`x",
    "%x",
    "!x",
    "&x",
    "*x",
    "#x",
    "a: b",
    "a #b",
    "[x]",
    "{x}",
    "'x'",
    "\"x\"",
    " x",
    "x ",
    "line1\nline2",
    "tab\there",
    "ünï",
];

/// A stack whose environment values and ports are YAML 1.1 hazards.
pub fn yaml11_hazards(env: Env) -> Stack {
    let mut s = Stack::new("fixture-yaml11", env);
    let ssh = Port::tcp("ssh", 22);
    let mut svc = Service::new("hazards")
        .image(Image::new("busybox").tag("1.37.0"))
        .port(ssh)
        .publish(ssh, 2222)
        .command(["sleep", "infinity"])
        .readiness(Probe::exec(["true"]))
        .resources(
            Resources::requests(Cpu::m(10), Memory::mi(16)).limits(Cpu::m(100), Memory::mi(32)),
        );
    for (i, v) in YAML11_HAZARDS.iter().enumerate() {
        svc = svc.env(format!("HAZARD_{i}"), *v);
    }
    s.add(svc);
    s
}
