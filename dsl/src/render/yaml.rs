//! YAML emission with `serde-saphyr`, configured once for every target.
//!
//! Strings that a YAML 1.1 reader (kubectl, Compose, PyYAML) would misread — `yes`, `on`,
//! `0755`, `2222:22`, `1e3` — are quoted by the serializer's default YAML 1.1-compatible
//! heuristics; sequences are indented under their key (yamllint's default style);
//! multi-line strings are literal blocks and single-line strings are never folded.

use serde::Serialize;

/// Serializer options shared by every YAML file we write.
pub fn options() -> serde_saphyr::SerializerOptions {
    let mut o = serde_saphyr::SerializerOptions::default();
    o.compact_list_indent = false;
    // Multi-line strings (generated files in ConfigMaps) as literal blocks; single-line
    // strings are never folded, however long.
    o.prefer_block_scalars = true;
    o.folded_wrap_chars = usize::MAX;
    o
}

/// Serializes one document (no leading `---`).
///
/// ```
/// let v = std::collections::BTreeMap::from([("answer", "yes"), ("mode", "0755")]);
/// assert_eq!(stackdsl::render::yaml::to_string(&v), "answer: \"yes\"\nmode: \"0755\"\n");
/// ```
pub fn to_string<T: Serialize>(value: &T) -> String {
    let mut out = String::new();
    write(&mut out, value);
    out
}

/// Appends one document to `out`.
pub fn write<T: Serialize>(out: &mut String, value: &T) {
    // Serializing our own plain data types (strings, integers, maps, sequences) to a
    // `String` has no failure mode; an error here is a bug in a renderer's types.
    if let Err(e) = serde_saphyr::to_fmt_writer_with_options(out, value, options()) {
        panic!("renderer produced a value serde-saphyr cannot serialize: {e}");
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
}
