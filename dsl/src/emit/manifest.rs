//! `out/.stackdsl-manifest`: which files stackdsl wrote, for which stack and environment,
//! with a content hash. Sorted by path, so it diffs cleanly.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::marker::MARKER;
use crate::model::Env;

/// File name of the manifest inside the output folder.
pub const FILE_NAME: &str = ".stackdsl-manifest";

/// One generated file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// SHA-256 of the content we wrote, lowercase hex.
    pub hash: String,
    /// Environment whose run owns the file.
    pub env: Env,
    /// Stack that produced it.
    pub stack: String,
}

/// The parsed manifest: path → entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Entries by path (relative to the output root).
    pub entries: BTreeMap<String, Entry>,
    /// Lines that could not be parsed (a hand-edited or truncated manifest).
    pub bad_lines: usize,
}

impl Manifest {
    /// Parses manifest text; unparsable lines are counted, not fatal.
    pub fn parse(text: &str) -> Manifest {
        let mut m = Manifest::default();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [hash, env, stack, path]
                    if hash.len() == 64
                        && hash.bytes().all(|b| b.is_ascii_hexdigit())
                        && safe_rel_path(path) =>
                {
                    match Env::parse(env) {
                        Some(env) => {
                            m.entries.insert(
                                (*path).to_owned(),
                                Entry {
                                    hash: (*hash).to_owned(),
                                    env,
                                    stack: (*stack).to_owned(),
                                },
                            );
                        }
                        None => m.bad_lines += 1,
                    }
                }
                _ => m.bad_lines += 1,
            }
        }
        m
    }

    /// Serializes, sorted by path.
    pub fn render(&self) -> String {
        let mut out = format!(
            "# {MARKER}: every file it wrote into this folder, for safe clean-up. Do not edit.\n\
             # sha256  env  stack  path\n"
        );
        for (path, e) in &self.entries {
            let _ = writeln!(out, "{}  {}  {}  {}", e.hash, e.env, e.stack, path);
        }
        out
    }
}

/// A relative path that stays inside the output folder: `/`-separated, no empty, `.` or
/// `..` components, not absolute.
pub fn safe_rel_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut m = Manifest::default();
        m.entries.insert(
            "a/prod/compose.yaml".into(),
            Entry {
                hash: crate::hash::sha256_hex(b"x"),
                env: Env::Prod,
                stack: "a".into(),
            },
        );
        let text = m.render();
        assert_eq!(Manifest::parse(&text), m);
    }

    #[test]
    fn corrupt_lines_are_counted() {
        let hash = crate::hash::sha256_hex(b"x");
        let text = format!(
            "garbage\nabc prod a ../../etc/passwd\n{hash}  qa  a  a/qa/x.yaml\n\
             {hash}  prod  a  ../x.yaml\n{hash}  prod  a  a/prod/x.yaml\n"
        );
        let m = Manifest::parse(&text);
        assert_eq!(
            m.bad_lines, 4,
            "an unknown env and an unsafe path count too"
        );
        assert_eq!(m.entries.keys().collect::<Vec<_>>(), ["a/prod/x.yaml"]);
    }

    #[test]
    fn safe_paths_stay_inside_the_folder() {
        assert!(safe_rel_path("a/prod/compose.yaml"));
        for bad in [
            "", "/etc/x", "../x", "a/../x", "a/./x", "a//x", "a/", "a\\x", ".",
        ] {
            assert!(!safe_rel_path(bad), "{bad:?} was accepted");
        }
    }
}
