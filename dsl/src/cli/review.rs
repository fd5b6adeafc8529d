//! `diff --base <git-rev>` and `diff --base-dir DIR`: the review of a change. Reads the
//! base side (the committed output folder at a revision, through git, without a checkout;
//! or a folder), synthesizes every stack for every environment in memory, and prints the
//! semantic difference ([`crate::review`]) as text or Markdown. Writes nothing.

use std::ffi::OsStr;
use std::io::{self, Read as _, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use anstyle::AnsiColor;
use clap::ValueEnum;

use super::{Cli, EXIT_INVALID, EXIT_IO, EXIT_OK, Paint, report_errors};
use crate::emit::manifest::{FILE_NAME, Manifest};
use crate::model::{Env, StackFn};
use crate::review::{self, Files, MarkdownOptions, Tone};
use crate::synth;

/// The output format of a review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    /// Terminal text (coloured as the other commands).
    Text,
    /// GitHub-flavoured Markdown (a pull-request comment, a job summary).
    Md,
}

/// The `diff` flags of a review (`--against` is the other way to compare).
#[derive(Debug, clap::Args)]
#[group(skip)]
pub(super) struct ReviewArgs {
    /// Compare with the output folder committed at this git revision (read through git,
    /// no checkout): every stack, every environment, object by object, risks first.
    #[arg(long, value_name = "GIT-REV", group = "compare")]
    pub base: Option<String>,
    /// Compare with the files in this folder instead of a revision.
    #[arg(long, value_name = "DIR", group = "compare")]
    pub base_dir: Option<PathBuf>,
    /// Output format of `--base`/`--base-dir`.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub format: Format,
}

/// Why the base side could not be read.
#[derive(Debug)]
enum BaseError {
    /// `git` could not be started.
    GitMissing(io::Error),
    /// The revision does not name a commit.
    NoSuchRevision(String),
    /// git failed otherwise (not a repository, …): its message.
    Git(String),
    /// Reading a folder failed.
    Io(PathBuf, io::Error),
}

impl BaseError {
    fn report(&self, err: &mut dyn Write, paint: &Paint) -> io::Result<u8> {
        let (message, hint, code) = match self {
            BaseError::GitMissing(e) => (
                format!("cannot run `git` ({e}); `--base` reads the base revision through git"),
                "install git, or compare with a folder: `--base-dir DIR`".to_owned(),
                EXIT_IO,
            ),
            BaseError::NoSuchRevision(rev) => (
                format!("revision `{rev}` does not exist in this repository"),
                format!(
                    "check the name, or fetch it first (`git fetch origin {rev}`); a shallow clone may not have it"
                ),
                EXIT_INVALID,
            ),
            BaseError::Git(text) => (
                format!("git failed: {text}"),
                "run from inside the repository that holds the output folder, or use `--base-dir DIR`".to_owned(),
                EXIT_INVALID,
            ),
            BaseError::Io(path, e) => (
                format!("cannot read `{}`: {e}", path.display()),
                "give an existing folder of generated files".to_owned(),
                EXIT_INVALID,
            ),
        };
        writeln!(err, "{} {message}", paint.red("error:"))?;
        writeln!(err, "  {} {hint}", paint.cyan("hint:"))?;
        Ok(code)
    }
}

/// git run in `dir`.
struct Git<'a> {
    program: &'a OsStr,
    dir: &'a Path,
}

impl Git<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.program);
        cmd.arg("-C").arg(self.dir).args(args);
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Runs git; `Ok(None)` when it exits non-zero with `quiet_failure` (a lookup that
    /// found nothing).
    fn run(&self, args: &[&str], quiet_failure: bool) -> Result<Option<Vec<u8>>, BaseError> {
        let out = self.command(args).output().map_err(BaseError::GitMissing)?;
        if out.status.success() {
            return Ok(Some(out.stdout));
        }
        let text = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if quiet_failure && text.is_empty() {
            return Ok(None);
        }
        Err(BaseError::Git(text))
    }
}

/// The nearest existing folder at or above `out` (absolute), and the path from it to `out`.
fn anchor(out: &Path) -> (PathBuf, String) {
    let mut dir = out.to_path_buf();
    let mut rest: Vec<String> = Vec::new();
    while !dir.is_dir() {
        match (dir.file_name(), dir.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_string_lossy().into_owned());
                dir = parent.to_path_buf();
            }
            _ => break,
        }
    }
    rest.reverse();
    (dir, rest.join("/"))
}

/// The files of `out` committed at `rev`: `(short commit, files)`. A revision without the
/// folder has no files (everything is new).
fn git_files(program: &OsStr, out: &Path, rev: &str) -> Result<(String, Files), BaseError> {
    let (dir, rel) = anchor(out);
    let git = Git { program, dir: &dir };
    let commit = format!("{rev}^{{commit}}");
    let Some(sha) = git.run(
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &commit,
        ],
        true,
    )?
    else {
        return Err(BaseError::NoSuchRevision(rev.to_owned()));
    };
    let sha = String::from_utf8_lossy(&sha).trim().to_owned();
    let short = sha.chars().take(12).collect::<String>();
    let spec = format!("{sha}:./{rel}");
    let tree = match git.run(&["rev-parse", "--verify", "--quiet", &spec], true)? {
        Some(t) => String::from_utf8_lossy(&t).trim().to_owned(),
        None => return Ok((short, Files::new())),
    };
    let kind = git
        .run(&["cat-file", "-t", &tree], false)?
        .unwrap_or_default();
    if String::from_utf8_lossy(&kind).trim() != "tree" {
        return Ok((short, Files::new()));
    }
    let listing = git
        .run(&["ls-tree", "-r", "-z", "--full-tree", &tree], false)?
        .unwrap_or_default();
    // `<mode> blob <oid>\t<path>`; submodules and symlinks are not generated files.
    let mut entries: Vec<(String, String)> = Vec::new();
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let mut parts = meta.split(' ');
        if let (Some(mode), Some("blob"), Some(oid)) = (parts.next(), parts.next(), parts.next())
            && mode != "120000"
        {
            entries.push((oid.to_owned(), path.to_owned()));
        }
    }
    let blobs = cat_blobs(&git, entries.iter().map(|(oid, _)| oid.as_str()))?;
    let files = entries
        .into_iter()
        .map(|(_, path)| path)
        .zip(blobs)
        .collect();
    Ok((short, files))
}

/// The contents of `oids`, in order, through one `git cat-file --batch`.
fn cat_blobs<'a>(
    git: &Git<'_>,
    oids: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>, BaseError> {
    let input: String = oids.map(|o| format!("{o}\n")).collect();
    let mut child = git
        .command(&["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(BaseError::GitMissing)?;
    let mut stdin = child.stdin.take();
    // Feed the ids from another thread: git answers while it reads, and a full pipe on
    // either side would otherwise stall both.
    let raw = std::thread::scope(|scope| {
        scope.spawn(move || {
            if let Some(mut s) = stdin.take() {
                let _ = s.write_all(input.as_bytes());
            }
        });
        let mut raw = Vec::new();
        let read = child
            .stdout
            .take()
            .map(|mut o| o.read_to_end(&mut raw))
            .transpose();
        read.map(|_| raw)
    })
    .map_err(|e| BaseError::Git(e.to_string()))?;
    let status = child.wait().map_err(|e| BaseError::Git(e.to_string()))?;
    if !status.success() {
        return Err(BaseError::Git(format!(
            "`git cat-file --batch` exited with {status}"
        )));
    }
    // `<oid> <type> <size>\n<contents>\n` per object.
    let mut out = Vec::new();
    let mut rest = raw.as_slice();
    while !rest.is_empty() {
        let nl = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| BaseError::Git(format!("unexpected `git cat-file` output: {header}")))?;
        let start = nl + 1;
        let end = (start + size).min(rest.len());
        out.push(String::from_utf8_lossy(&rest[start..end]).into_owned());
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    Ok(out)
}

/// Every file under `dir` (relative `/`-separated paths), skipping the emitter's temp files.
fn dir_files(dir: &Path) -> Result<Files, BaseError> {
    fn walk(dir: &Path, rel: &str, out: &mut Files) -> Result<(), BaseError> {
        let entries = std::fs::read_dir(dir).map_err(|e| BaseError::Io(dir.to_path_buf(), e))?;
        let mut names: Vec<(String, PathBuf)> = Vec::new();
        for e in entries {
            let e = e.map_err(|e| BaseError::Io(dir.to_path_buf(), e))?;
            names.push((e.file_name().to_string_lossy().into_owned(), e.path()));
        }
        names.sort();
        for (name, path) in names {
            if name.starts_with(crate::emit::TEMP_PREFIX) {
                continue;
            }
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta =
                std::fs::symlink_metadata(&path).map_err(|e| BaseError::Io(path.clone(), e))?;
            if meta.is_dir() {
                walk(&path, &rel, out)?;
            } else if meta.is_file() {
                let bytes = std::fs::read(&path).map_err(|e| BaseError::Io(path.clone(), e))?;
                out.insert(rel, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Ok(())
    }
    let mut out = Files::new();
    walk(dir, "", &mut out)?;
    Ok(out)
}

/// The base's generated files: those its manifest lists (when it has one, so hand-written
/// files kept in the folder are not reported as removed), of the selected stacks.
fn generated(mut files: Files, filter: &[String]) -> Files {
    if let Some(text) = files.remove(FILE_NAME) {
        let manifest = Manifest::parse(&text);
        if !manifest.entries.is_empty() {
            files.retain(|path, _| manifest.entries.contains_key(path));
        }
    }
    files.retain(|path, _| {
        filter.is_empty() || filter.iter().any(|s| path.split('/').next() == Some(s))
    });
    files
}

/// What the CLI would write now, for every environment: all selected stacks, validated
/// and rendered as `stack-<env>` renders them. `Err(code)` after reporting invalid stacks.
fn synthesize(
    cli: &Cli,
    stacks: &[StackFn],
    filter: &[String],
    err: &mut dyn Write,
    paint: &Paint,
) -> io::Result<Result<Files, u8>> {
    let mut files = Files::new();
    for env in Env::ALL {
        let mut options = synth::Options::default().only(filter.iter().cloned());
        if cli.package.is_some() {
            options = options.regenerate(cli.regenerate());
        }
        match synth::synthesize(env, stacks, options) {
            Ok(run) => files.extend(
                run.outputs
                    .into_iter()
                    .map(|o| (o.doc.path, o.doc.contents)),
            ),
            Err(errors) => {
                report_errors(err, paint, &errors, env)?;
                return Ok(Err(EXIT_INVALID));
            }
        }
    }
    Ok(Ok(files))
}

/// What a review compares: the CLI's stacks (filtered by `--stack`), and where the base is.
pub(super) struct Request<'a> {
    pub cli: &'a Cli,
    pub stacks: &'a [StackFn],
    pub filter: &'a [String],
    /// The output folder (`--out`), whose committed copy `--base` reads.
    pub out_dir: &'a Path,
    pub args: &'a ReviewArgs,
}

/// `diff --base REV` / `diff --base-dir DIR`.
pub(super) fn run(
    req: &Request<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    paint: &Paint,
) -> io::Result<u8> {
    run_with_git(OsStr::new("git"), req, out, err, paint)
}

fn run_with_git(
    git: &OsStr,
    req: &Request<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    paint: &Paint,
) -> io::Result<u8> {
    let Request {
        cli,
        stacks,
        filter,
        out_dir,
        args,
    } = *req;
    let shown = out_dir.display().to_string();
    let (base, what, rev_flag) = match (&args.base, &args.base_dir) {
        (Some(rev), _) => {
            let abs = absolute(out_dir)?;
            match git_files(git, &abs, rev) {
                Ok((short, files)) => {
                    if files.is_empty() {
                        writeln!(
                            err,
                            "{} `{shown}` does not exist at `{rev}`: every file counts as added",
                            paint.cyan("note:")
                        )?;
                    }
                    let what = if short.starts_with(rev.as_str()) {
                        format!("`{shown}/` at `{short}`")
                    } else {
                        format!("`{shown}/` at `{rev}` (`{short}`)")
                    };
                    (files, what, format!("--base {rev}"))
                }
                Err(e) => return e.report(err, paint),
            }
        }
        (None, Some(dir)) => match dir_files(dir) {
            Ok(files) => (
                files,
                format!("`{}`", dir.display()),
                format!("--base-dir {}", dir.display()),
            ),
            Err(e) => return e.report(err, paint),
        },
        (None, None) => {
            writeln!(
                err,
                "{} `diff` needs `--against ENV`, `--base GIT-REV` or `--base-dir DIR`",
                paint.red("error:")
            )?;
            return Ok(EXIT_INVALID);
        }
    };
    let base = generated(base, filter);
    let current = match synthesize(cli, stacks, filter, err, paint)? {
        Ok(files) => files,
        Err(code) => return Ok(code),
    };
    let result = review::review(&base, &current);
    let text = match args.format {
        Format::Text => {
            let title = format!("Review: {what} → what the stacks produce now");
            review::text(&result, &title, &|tone, s| paint_tone(paint, tone, s))
        }
        Format::Md => {
            let mut rerun = format!("{} -- diff {rev_flag}", cli.regenerate());
            for s in filter {
                rerun.push_str(&format!(" --stack {s}"));
            }
            review::markdown(
                &result,
                &MarkdownOptions::new(format!(
                    "stackdsl: what this change does (compared with {what})"
                ))
                .marker(review::comment_marker(filter))
                .rerun(rerun),
            )
        }
    };
    out.write_all(text.as_bytes())?;
    Ok(EXIT_OK)
}

fn paint_tone(paint: &Paint, tone: Tone, s: &str) -> String {
    match tone {
        Tone::Heading => paint.bold(s),
        Tone::Added => paint.green(s),
        Tone::Removed => paint.red(s),
        Tone::Changed => paint.cyan(s),
        Tone::Risk => paint.paint(AnsiColor::Yellow.on_default().bold(), s),
    }
}

/// `path` made absolute against the current folder, `.` and `..` resolved lexically.
fn absolute(path: &Path) -> io::Result<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_git_is_named_with_the_way_around_it() {
        let paint = Paint { on: false };
        let args = ReviewArgs {
            base: Some("HEAD".into()),
            base_dir: None,
            format: Format::Text,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let req = Request {
            cli: &Cli::new(Env::Prod),
            stacks: &[],
            filter: &[],
            out_dir: Path::new("out"),
            args: &args,
        };
        let code = run_with_git(
            OsStr::new("stackdsl-no-such-git"),
            &req,
            &mut out,
            &mut err,
            &paint,
        )
        .unwrap();
        let err = String::from_utf8(err).unwrap();
        assert_eq!(code, EXIT_IO, "{err}");
        assert!(err.contains("cannot run `git`"), "{err}");
        assert!(err.contains("--base-dir DIR"), "{err}");
        assert!(out.is_empty());
    }

    #[test]
    fn the_anchor_is_the_nearest_existing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (a, rel) = anchor(&dir.path().join("x/y"));
        assert_eq!(a, dir.path());
        assert_eq!(rel, "x/y");
        let (a, rel) = anchor(dir.path());
        assert_eq!((a.as_path(), rel.as_str()), (dir.path(), ""));
    }

    #[test]
    fn only_the_manifests_files_of_the_selected_stacks_are_compared() {
        let hash = "0".repeat(64);
        let files = Files::from([
            (
                FILE_NAME.to_owned(),
                format!(
                    "# h\n{hash}  prod  shop  shop/prod/compose.yaml\n{hash}  prod  web  web/prod/compose.yaml\n"
                ),
            ),
            ("shop/prod/compose.yaml".to_owned(), "a".to_owned()),
            ("shop/notes.md".to_owned(), "mine".to_owned()),
            ("web/prod/compose.yaml".to_owned(), "b".to_owned()),
        ]);
        let kept: Vec<String> = generated(files.clone(), &[]).into_keys().collect();
        assert_eq!(kept, ["shop/prod/compose.yaml", "web/prod/compose.yaml"]);
        let kept: Vec<String> = generated(files, &["web".to_owned()]).into_keys().collect();
        assert_eq!(kept, ["web/prod/compose.yaml"]);
    }
}
