//! Tools the tests take from the machine ([`machine_tool`]), each checked against the versions the tests were
//! written for before its first use, so a different machine fails with a message naming the
//! tool and the version it needs instead of a confusing assertion later.
//!
//! | tool | needed | why |
//! |---|---|---|
//! | `kubectl` | client ≥ 1.30 | `kubectl kustomize` (kustomize v5) |
//! | `terraform` | 1.11.x | `terraform fmt`'s layout; the generated pipeline pins 1.11.4 |
//! | `openssl` | ≥ 3.0 | throwaway certificates for `nginx -t` |
//! | `node` | ≥ 20 | mermaid, micromark, the PaaS and CRD schema helpers |
//! | `npm` | ≥ 10 | `npm pack` of the pinned validator packages |
//! | `git` | ≥ 2.30 | the throwaway repositories of the review tests |
//!
//! Everything else (docker-compose, kubernetes-validate, checkov, actionlint, promtool,
//! nginx, …) is installed pinned into `target/validators` by the bootstraps in this crate.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// A machine tool's version requirement: the arguments that print its version, and the
/// accepted range `[min, below)` of `(major, minor)`.
struct Need {
    args: &'static [&'static str],
    min: (u32, u32),
    below: Option<(u32, u32)>,
    why: &'static str,
}

fn need(tool: &str) -> Need {
    let n = |args, min, below, why| Need {
        args,
        min,
        below,
        why,
    };
    match tool {
        "kubectl" => n(
            &["version", "--client"],
            (1, 30),
            None,
            "`kubectl kustomize` with kustomize v5",
        ),
        "terraform" => n(
            &["version"],
            (1, 11),
            Some((1, 12)),
            "`terraform fmt` as the generated pipeline runs it (1.11.4)",
        ),
        "openssl" => n(
            &["version"],
            (3, 0),
            None,
            "the nginx test's throwaway certificates",
        ),
        "node" => n(
            &["--version"],
            (20, 0),
            None,
            "the npm-packaged validators (mermaid, micromark, schemas)",
        ),
        "npm" => n(
            &["--version"],
            (10, 0),
            None,
            "`npm pack` of the pinned validator packages",
        ),
        "git" => n(
            &["--version"],
            (2, 30),
            None,
            "the review tests' throwaway repositories",
        ),
        other => panic!("no version requirement for `{other}`: add it to tests/src/tools.rs"),
    }
}

/// The first `major.minor` in `text` (`v1.32.4-dispatcher`, `Terraform v1.11.4`,
/// `OpenSSL 3.0.19 …`, `v20.20.2`).
pub fn first_version(text: &str) -> Option<(u32, u32)> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find_map(|i| {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            return None;
        }
        let rest = &text[i..];
        let mut parts = rest.split(|c: char| !c.is_ascii_digit());
        let major: u32 = parts.next()?.parse().ok()?;
        let after_major = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        let minor_text = after_major.strip_prefix('.')?;
        let minor: u32 = minor_text
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()?;
        Some((major, minor))
    })
}

/// `tool`, after checking once per test run that the machine's version is one the tests
/// support; panics naming the tool, the version found and the version needed otherwise.
pub fn machine_tool(name: &'static str) -> &'static str {
    static CHECKED: OnceLock<Mutex<BTreeMap<&'static str, Result<(), String>>>> = OnceLock::new();
    let checked = CHECKED.get_or_init(Default::default);
    let mut map = checked.lock().unwrap_or_else(|e| e.into_inner());
    let verdict = map.entry(name).or_insert_with(|| check(name)).clone();
    drop(map);
    if let Err(e) = verdict {
        panic!("{e}");
    }
    name
}

fn check(name: &str) -> Result<(), String> {
    let need = need(name);
    let range = match need.below {
        Some((a, b)) => format!("{}.{} or later, below {a}.{b}", need.min.0, need.min.1),
        None => format!("{}.{} or later", need.min.0, need.min.1),
    };
    let out = Command::new(name).args(need.args).output().map_err(|e| {
        format!(
            "`{name}` is not on PATH ({e}); the tests need {name} {range} for {}",
            need.why
        )
    })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let found = first_version(&text).ok_or_else(|| {
        format!(
            "cannot read the version of `{name}` from `{name} {}`:\n{text}",
            need.args.join(" ")
        )
    })?;
    let ok = found >= need.min && need.below.is_none_or(|b| found < b);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` {}.{} is on PATH, but the tests need {name} {range} for {}",
            found.0, found.1, need.why
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::first_version;

    #[test]
    fn versions_are_read_from_each_tools_own_format() {
        assert_eq!(
            first_version("Client Version: v1.32.4-dispatcher\nKustomize Version: v5.5.0"),
            Some((1, 32))
        );
        assert_eq!(
            first_version("Terraform v1.11.4\non linux_amd64"),
            Some((1, 11))
        );
        assert_eq!(first_version("OpenSSL 3.0.19 27 Jan 2026"), Some((3, 0)));
        assert_eq!(first_version("v20.20.2"), Some((20, 20)));
        assert_eq!(first_version("git version 2.47.3"), Some((2, 47)));
        assert_eq!(first_version("no version here"), None);
    }
}
