//! Image references checked against the OCI distribution reference grammar.
//!
//! The grammar (distribution/reference, which the OCI distribution spec and every registry
//! and container runtime follow):
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [ domain "/" ] path-component [ "/" path-component ]*
//! domain           := host [ ":" port ]           (host: DNS name, IPv4, or "[" IPv6 "]")
//! domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//! path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*
//! separator        := "." | "_" | "__" | "-"+
//! tag              := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! digest           := algorithm ":" hex            (sha256: 64, sha512: 128 lowercase hex)
//! ```
//!
//! and a name of at most 255 characters. The first component is the registry when it has
//! a `.` or a `:` or is `localhost` (so `redis` and `acme/api` are Docker Hub names).
//!
//! Why not a crate: `oci-spec`'s `distribution::Reference` validates with one regex that
//! says only "invalid reference format" (no part named), accepts a `sha256` digest of any
//! length from 32 hex digits, and brings proc-macro dependencies (derive_builder/darling,
//! getset, strum_macros, const_format: about 15 s of a clean build here); `oci-client`'s
//! `Reference` comes with an HTTP client stack; `container_image_dist_ref` is
//! dependency-free and close to the grammar, but has one maintainer, no release since
//! March 2024, and reports error kinds with byte offsets rather than which part of the
//! reference is wrong. Our [`Image`] is already split into registry, repository, tag and
//! digest, so the ambiguous part of a reference parser (`host:port/x` vs `name:tag`)
//! mostly disappears and what is left is the per-part grammar above, checked here by hand
//! so each problem names the part and says how to fix it.

use std::net::Ipv6Addr;

use crate::model::Image;

/// What is wrong with an image reference, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReferenceProblem {
    /// What is wrong, naming the part, e.g. ``the tag of `acme/x:` is empty``.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// Longest name (registry and repository) a registry accepts.
const NAME_MAX: usize = 255;
/// Longest tag.
const TAG_MAX: usize = 128;

const INTERPOLATION_HINT: &str = "`${…}` is not interpolated the same way by every target \
    (Kubernetes manifests and Terraform write it as is); pass the version as a Rust value — \
    a declared parameter of the stack function — to `.tag(version)`";

fn problem(message: String, hint: impl Into<String>) -> ReferenceProblem {
    ReferenceProblem {
        message,
        hint: hint.into(),
    }
}

/// Why `image` is not a valid reference, or `None`. Checks the name (registry and
/// repository), the tag and the digest; several problems are joined into one message.
pub(crate) fn image_problem(image: &Image) -> Option<ReferenceProblem> {
    let shown = image.to_string();
    let mut problems: Vec<ReferenceProblem> = Vec::new();
    problems.extend(name_problem(&image.name(), &shown));
    if let Some(tag) = &image.tag {
        problems.extend(tag_problem(tag, &shown));
    }
    if let Some(digest) = &image.digest {
        problems.extend(digest_problem(digest, &shown));
    }
    let mut it = problems.into_iter();
    let first = it.next()?;
    Some(it.fold(first, |mut acc, p| {
        acc.message.push_str("; ");
        acc.message.push_str(&p.message);
        if !acc.hint.contains(&p.hint) {
            acc.hint.push_str("; ");
            acc.hint.push_str(&p.hint);
        }
        acc
    }))
}

/// Whether `image` pins what runs: a valid digest, or a valid tag other than `latest`.
/// (A tag is mutable, but a version tag is what staging and prod require; an empty or
/// invalid tag pins nothing.)
pub(crate) fn is_pinned(image: &Image) -> bool {
    let digest_ok = image
        .digest
        .as_deref()
        .is_some_and(|d| digest_problem(d, d).is_none());
    let tag_ok = image
        .tag
        .as_deref()
        .is_some_and(|t| t != "latest" && tag_problem(t, t).is_none());
    digest_ok || tag_ok
}

#[cfg(test)]
/// Parses a whole reference string (`redis:7`, `localhost:5000/x:1`,
/// `ghcr.io/acme/api@sha256:…`) into an [`Image`], or says why it is not one.
pub(crate) fn parse(reference: &str) -> Result<Image, ReferenceProblem> {
    let (rest, digest) = match reference.split_once('@') {
        Some((r, d)) => (r, Some(d.to_owned())),
        None => (reference, None),
    };
    // A tag follows the last `:` after the last `/` (`localhost:5000/x` has none).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (
            &rest[..last_slash + i],
            Some(rest[last_slash + i + 1..].to_owned()),
        ),
        None => (rest, None),
    };
    let (registry, repository) = match name.split_once('/') {
        Some((first, path)) if is_domain(first) => (Some(first.to_owned()), path.to_owned()),
        _ => (None, name.to_owned()),
    };
    let image = Image {
        registry,
        repository,
        tag,
        digest,
    };
    match image_problem(&image) {
        Some(p) => Err(p),
        None => Ok(image),
    }
}

/// Whether the first component of a name is a registry host (Docker's rule).
fn is_domain(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost"
}

fn first_bad_char(s: &str, ok: impl Fn(char) -> bool) -> Option<char> {
    s.chars().find(|&c| !ok(c))
}

fn describe(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        c if c.is_whitespace() => "whitespace".to_owned(),
        c if c.is_control() => "a control character".to_owned(),
        c => format!("`{c}`"),
    }
}

/// Why `name` (`[registry/]repository`) breaks the grammar; `shown` is the whole
/// reference for the message.
fn name_problem(name: &str, shown: &str) -> Option<ReferenceProblem> {
    if name.contains("${") {
        return Some(problem(
            format!("image `{shown}` has a `${{…}}` in its name"),
            INTERPOLATION_HINT,
        ));
    }
    if name.trim().is_empty() {
        return Some(problem(
            format!("image `{shown}` has an empty repository"),
            "name the image, e.g. `Image::new(\"redis\")`",
        ));
    }
    if name.len() > NAME_MAX {
        return Some(problem(
            format!(
                "image name `{name}` is {} characters long; registries accept at most {NAME_MAX}",
                name.len()
            ),
            "shorten the registry namespace or the repository name",
        ));
    }
    let components: Vec<&str> = name.split('/').collect();
    if components.iter().any(|c| c.is_empty()) {
        return Some(problem(
            format!(
                "image name `{name}` has an empty path component (a leading, trailing or doubled `/`)"
            ),
            "write `registry/namespace/name`, e.g. `ghcr.io/acme/api`",
        ));
    }
    let (domain, path) = match components.split_first() {
        Some((first, rest)) if !rest.is_empty() && is_domain(first) => (Some(*first), rest),
        _ => (None, components.as_slice()),
    };
    if let Some(domain) = domain
        && let Some(why) = domain_problem(domain)
    {
        return Some(problem(
            format!("registry `{domain}` of image `{shown}` {why}"),
            "write the registry as `host[:port]`, e.g. `ghcr.io` or `localhost:5000`",
        ));
    }
    for (i, c) in path.iter().enumerate() {
        if let Some(why) = path_component_problem(c) {
            let last = i + 1 == path.len();
            let hint = if last && c.contains('@') {
                "set the digest with `.digest(\"sha256:…\")` rather than in the repository"
                    .to_owned()
            } else if last && c.contains(':') {
                "set the tag with `.tag(\"…\")` rather than in the repository".to_owned()
            } else {
                "repository names are lowercase letters and digits, separated by `.`, `_`, `__` or `-`, e.g. `acme/api-server`".to_owned()
            };
            return Some(problem(
                format!("repository `{c}` of image `{shown}` {why}"),
                hint,
            ));
        }
    }
    None
}

/// Why `domain` (`host[:port]`) is not a registry host.
fn domain_problem(domain: &str) -> Option<String> {
    let (host, port) = if let Some(v6) = domain.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Some("has a `[` without `]`".to_owned());
        };
        if addr.parse::<Ipv6Addr>().is_err() {
            return Some(format!("has `[{addr}]`, which is not an IPv6 address"));
        }
        match after {
            "" => return None,
            p => match p.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return Some("has characters after its IPv6 address".to_owned()),
            },
        }
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (domain, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty()
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().is_err())
    {
        return Some(format!(
            "has port `{port}`, which is not a number from 0 to 65535"
        ));
    }
    if domain.starts_with('[') {
        return None;
    }
    for part in host.split('.') {
        if part.is_empty() {
            return Some("has an empty host label (a leading, trailing or doubled `.`)".to_owned());
        }
        if let Some(c) = first_bad_char(part, |c| c.is_ascii_alphanumeric() || c == '-') {
            return Some(format!("contains {}", describe(c)));
        }
        if part.starts_with('-') || part.ends_with('-') {
            return Some(format!(
                "has host label `{part}` starting or ending with `-`"
            ));
        }
    }
    None
}

/// Why one path component breaks `[a-z0-9]+ (separator [a-z0-9]+)*`.
fn path_component_problem(c: &str) -> Option<String> {
    if c.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some("has uppercase letters; repository names are lowercase".to_owned());
    }
    if let Some(bad) = first_bad_char(c, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
    }) {
        return Some(format!("contains {}", describe(bad)));
    }
    let sep = |b: u8| matches!(b, b'.' | b'_' | b'-');
    let bytes = c.as_bytes();
    if bytes.first().copied().is_some_and(sep) || bytes.last().copied().is_some_and(sep) {
        return Some("must start and end with a letter or digit".to_owned());
    }
    // Separators between alphanumeric runs: `.`, `_`, `__` or any number of `-`.
    for run in c
        .split(|ch: char| ch.is_ascii_alphanumeric())
        .filter(|r| !r.is_empty())
    {
        let ok = matches!(run, "." | "_" | "__") || run.bytes().all(|b| b == b'-');
        if !ok {
            return Some(format!(
                "has the separator `{run}`; only `.`, `_`, `__` or dashes may separate letters and digits"
            ));
        }
    }
    None
}

/// Why `tag` breaks `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn tag_problem(tag: &str, shown: &str) -> Option<ReferenceProblem> {
    let fix = "use a version tag such as `1.2.3` or `7.4-alpine`: letters, digits, `_`, `.` and `-`, at most 128 characters, not starting with `.` or `-`";
    if tag.is_empty() {
        return Some(problem(
            format!("the tag of image `{shown}` is empty"),
            "set a version with `.tag(\"1.2.3\")`, or leave `.tag(…)` out where an unpinned image is allowed",
        ));
    }
    if tag.contains("${") {
        return Some(problem(
            format!("the tag of image `{shown}` is a `${{…}}` placeholder"),
            INTERPOLATION_HINT,
        ));
    }
    if let Some(c) = first_bad_char(tag, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
    }) {
        return Some(problem(
            format!(
                "the tag `{tag}` of image `{shown}` contains {}",
                describe(c)
            ),
            fix,
        ));
    }
    if tag.starts_with(['.', '-']) {
        return Some(problem(
            format!(
                "the tag `{tag}` of image `{shown}` starts with `{}`",
                &tag[..1]
            ),
            fix,
        ));
    }
    if tag.len() > TAG_MAX {
        return Some(problem(
            format!(
                "the tag of image `{shown}` is {} characters long; tags have at most {TAG_MAX}",
                tag.len()
            ),
            fix,
        ));
    }
    None
}

/// Why `digest` is not `sha256:<64 hex>` or `sha512:<128 hex>`.
fn digest_problem(digest: &str, shown: &str) -> Option<ReferenceProblem> {
    let fix = "pin with the digest the registry reports, e.g. `.digest(\"sha256:<64 lowercase hex digits>\")` (`docker buildx imagetools inspect IMAGE`)";
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Some(problem(
            format!("the digest `{digest}` of image `{shown}` is not `algorithm:hex`"),
            fix,
        ));
    };
    let want = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        other => {
            return Some(problem(
                format!(
                    "the digest of image `{shown}` uses the algorithm `{other}`; registries address content by `sha256` (or `sha512`)"
                ),
                fix,
            ));
        }
    };
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Some(problem(
            format!(
                "the digest of image `{shown}` is not lowercase hexadecimal after `{algorithm}:`"
            ),
            fix,
        ));
    }
    if hex.len() != want {
        return Some(problem(
            format!(
                "the digest of image `{shown}` has {} hex digits; `{algorithm}` has {want}",
                hex.len()
            ),
            fix,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Registry;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn img(reference: &str) -> Image {
        match parse(reference) {
            Ok(i) => i,
            Err(p) => panic!("{reference}: {}", p.message),
        }
    }

    /// A registry's port is digits alone, 0 to 65535: `u16`'s parser alone would take a
    /// leading `+`.
    #[test]
    fn a_registry_port_is_digits_from_0_to_65535() {
        assert_eq!(domain_problem("localhost:5000"), None);
        assert_eq!(domain_problem("[::1]:5000"), None);
        for domain in [
            "localhost:+80",
            "localhost:",
            "localhost:65536",
            "localhost:8o",
            "[::1]:+80",
        ] {
            assert!(
                domain_problem(domain).is_some_and(|p| p.contains("not a number from 0 to 65535")),
                "{domain}: {:?}",
                domain_problem(domain)
            );
        }
    }

    #[test]
    fn valid_references_parse_into_their_parts() {
        /// reference, registry, repository, tag, has a digest
        type Row = (
            &'static str,
            Option<&'static str>,
            &'static str,
            Option<&'static str>,
            bool,
        );
        let table: &[Row] = &[
            ("redis:7", None, "redis", Some("7"), false),
            ("redis", None, "redis", None, false),
            (
                "library/redis:7.4-alpine",
                None,
                "library/redis",
                Some("7.4-alpine"),
                false,
            ),
            (
                "localhost:5000/x:1",
                Some("localhost:5000"),
                "x",
                Some("1"),
                false,
            ),
            ("localhost/x", Some("localhost"), "x", None, false),
            (
                "ghcr.io/acme/api:1.2.3",
                Some("ghcr.io"),
                "acme/api",
                Some("1.2.3"),
                false,
            ),
            (
                "registry.example.com:8443/team/sub/api:v1_2",
                Some("registry.example.com:8443"),
                "team/sub/api",
                Some("v1_2"),
                false,
            ),
            ("[::1]:5000/x:1", Some("[::1]:5000"), "x", Some("1"), false),
            (
                "edoburu/pgbouncer:v1.23.1-p3",
                None,
                "edoburu/pgbouncer",
                Some("v1.23.1-p3"),
                false,
            ),
            (
                "a__b/c.d/e---f:_x",
                None,
                "a__b/c.d/e---f",
                Some("_x"),
                false,
            ),
            (
                "Registry.Example.COM/x:1",
                Some("Registry.Example.COM"),
                "x",
                Some("1"),
                false,
            ),
        ];
        for &(reference, registry, repository, tag, digest) in table {
            let i = img(reference);
            assert_eq!(i.registry.as_deref(), registry, "{reference}");
            assert_eq!(i.repository, repository, "{reference}");
            assert_eq!(i.tag.as_deref(), tag, "{reference}");
            assert_eq!(i.digest.is_some(), digest, "{reference}");
            assert_eq!(i.to_string(), reference, "round trip");
        }
        let pinned = img(&format!("ghcr.io/acme/api@{SHA}"));
        assert_eq!(pinned.digest.as_deref(), Some(SHA));
        assert_eq!(pinned.tag, None);
        let both = img(&format!("redis:7@{SHA}"));
        assert_eq!(both.tag.as_deref(), Some("7"));
        let sha512 = format!("x@sha512:{}", "ab".repeat(64));
        assert!(parse(&sha512).is_ok());
        assert!(parse(&format!("x:{}", "t".repeat(TAG_MAX))).is_ok());
    }

    #[test]
    fn invalid_references_name_the_part() {
        let table: &[(String, &str)] = &[
            ("acme/x:".into(), "the tag of image `acme/x:` is empty"),
            (
                "Acme/X:1.0".into(),
                "repository `Acme` of image `Acme/X:1.0` has uppercase letters",
            ),
            (
                "acme/x y:1 0".into(),
                "repository `x y` of image `acme/x y:1 0` contains a space",
            ),
            ("acme/x@not-a-digest".into(), "is not `algorithm:hex`"),
            (
                "acme/x@sha256:abc".into(),
                "has 3 hex digits; `sha256` has 64",
            ),
            (
                format!("acme/x@sha256:{}", "A".repeat(64)),
                "not lowercase hexadecimal",
            ),
            (
                format!("acme/x@md5:{}", "a".repeat(32)),
                "uses the algorithm `md5`",
            ),
            (
                format!("acme/x:{}", "1".repeat(129)),
                "is 129 characters long; tags have at most 128",
            ),
            ("acme/x:-rc1".into(), "starts with `-`"),
            ("acme/x:${TAG}".into(), "is a `${…}` placeholder"),
            ("${REGISTRY}/x:1".into(), "has a `${…}` in its name"),
            ("acme//x:1".into(), "empty path component"),
            (
                "acme/x-:1".into(),
                "must start and end with a letter or digit",
            ),
            ("acme/x..y:1".into(), "separator `..`"),
            ("acme/x___y:1".into(), "separator `___`"),
            ("acme/x_-y:1".into(), "separator `_-`"),
            ("ghcr.io/Acme/api:1".into(), "repository `Acme`"),
            (
                "-bad.io/x:1".into(),
                "host label `-bad` starting or ending with `-`",
            ),
            (
                "reg_istry.io/x:1".into(),
                "registry `reg_istry.io` of image `reg_istry.io/x:1` contains `_`",
            ),
            ("localhost:99999/x:1".into(), "port `99999`"),
            ("[::g]:5000/x:1".into(), "not an IPv6 address"),
            (
                format!("ghcr.io/{}:1", "a".repeat(250)),
                "registries accept at most 255",
            ),
            ("".into(), "empty repository"),
        ];
        for (reference, want) in table {
            let p = parse(reference).expect_err(reference);
            assert!(
                p.message.contains(want),
                "{reference}: `{}` lacks `{want}`",
                p.message
            );
            assert!(!p.hint.is_empty());
        }
    }

    #[test]
    fn typed_images_are_checked_part_by_part() {
        assert_eq!(image_problem(&Image::new("redis").tag("7")), None);
        assert_eq!(
            image_problem(&Registry::new("localhost:5000").image("x").tag("1")),
            None
        );
        assert_eq!(
            image_problem(&Registry::new("ghcr.io/acme").image("api").digest(SHA)),
            None
        );
        // Every problem is reported, in one message.
        let p = image_problem(&Image::new("Acme/X").tag("").digest("nope")).unwrap();
        assert!(p.message.contains("uppercase"), "{}", p.message);
        assert!(p.message.contains("tag of image"), "{}", p.message);
        assert!(p.message.contains("`nope`"), "{}", p.message);
        // A tag spelled into the repository points at `.tag(…)`.
        let p = image_problem(&Image::new("redis:7")).unwrap();
        assert!(p.hint.contains(".tag("), "{}", p.hint);
        let p = image_problem(&Image::new(format!("redis@{SHA}"))).unwrap();
        assert!(p.hint.contains(".digest("), "{}", p.hint);
        let p = image_problem(&Image::new("acme/x").tag("${VERSION}")).unwrap();
        assert!(p.hint.contains("parameter"), "{}", p.hint);
    }

    #[test]
    fn pinning_needs_a_real_tag_or_digest() {
        assert!(is_pinned(&Image::new("acme/x").tag("1.0")));
        assert!(is_pinned(&Image::new("acme/x").digest(SHA)));
        assert!(is_pinned(&Image::new("acme/x").tag("latest").digest(SHA)));
        assert!(!is_pinned(&Image::new("acme/x")));
        assert!(!is_pinned(&Image::new("acme/x").tag("")));
        assert!(!is_pinned(&Image::new("acme/x").tag("latest")));
        assert!(!is_pinned(&Image::new("acme/x").tag("${TAG}")));
        assert!(!is_pinned(&Image::new("acme/x").digest("sha256:abc")));
        assert!(!is_pinned(
            &Image::new("acme/x").tag("").digest("not-a-digest")
        ));
    }
}
