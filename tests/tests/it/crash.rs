//! Crash safety: synthesis killed (SIGKILL) at random points while it writes a large stack
//! leaves every file complete — its old or its new content, manifest included — and the
//! next run cleans up its temp files and converges to exactly a fresh synthesis.
//!
//! `crash-synth` (tests/src/bin) synthesizes `stackdsl_tests::big`; it says when rendering
//! is done, so the kills land while files are being written. The runs that are not killed
//! (the old state, the fresh reference, the reruns) make the same `emit::synthesize` call
//! in this process, on outputs rendered once. The seed of the random delays
//! is printed on failure; set `STACKDSL_CRASH_SEED` to replay it, `STACKDSL_CRASH_RUNS` to
//! change the number of kills (default 3).

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use stackdsl::emit::manifest::{self, Manifest};
use stackdsl::emit::{self, Output, Scope, TEMP_PREFIX};
use stackdsl::model::Env;
use stackdsl_tests::{big, tree};

/// Services in the big stack: about this many files are written per run.
const SERVICES: usize = 2000;

/// Synthesizes `outputs` (rendered once, in this process) into `out` with the same call
/// `crash-synth` makes; returns how long writing took.
fn synth(out: &Path, outputs: &[Output]) -> Duration {
    let t = Instant::now();
    let scope = Scope {
        env: Env::Prod,
        stacks: None,
    };
    emit::synthesize(out, outputs, &scope).expect("synthesis");
    t.elapsed()
}

/// A tiny deterministic generator (xorshift64*), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

fn copy_tree(files: &BTreeMap<String, Vec<u8>>, into: &Path) {
    for (rel, bytes) in files {
        let path = into.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("create folder");
        fs::write(path, bytes).expect("copy file");
    }
}

/// A temp file, or a file in a temp folder (a new folder being written before its rename).
fn is_temp(rel: &str) -> bool {
    rel.split('/').any(|n| n.starts_with(TEMP_PREFIX))
}

/// The random generator (seeded from `STACKDSL_CRASH_SEED`, else the clock), the number of
/// kills (`STACKDSL_CRASH_RUNS`, default 3) and the replay hint for failure messages.
fn random_kills() -> (Rng, u32, String) {
    let seed = std::env::var("STACKDSL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    let runs: u32 = std::env::var("STACKDSL_CRASH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let ctx = format!("(seed {seed}; replay with STACKDSL_CRASH_SEED={seed})");
    (Rng(seed), runs, ctx)
}

/// The tests that kill `crash-synth` take turns: two of them at once on a small machine
/// slow each other's child processes down so much that the kills all land before writing.
static KILLS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Starts `crash-synth` on `out`, waits until it has rendered, lets it write for `delay`
/// and kills it (SIGKILL). Returns whether it had finished by itself.
fn kill_while_writing(out: &Path, variant: u32, delay: Duration, ctx: &str) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash-synth"))
        .arg(out)
        .args([&SERVICES.to_string(), &variant.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn crash-synth");
    // Wait until rendering is done and synthesis starts, then kill at a random point.
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read crash-synth");
    assert!(line.starts_with("rendered "), "{line:?} {ctx}");
    // Sleep in small steps, so a run that finishes early is not waited for.
    let started = Instant::now();
    while started.elapsed() < delay && child.try_wait().expect("poll").is_none() {
        std::thread::sleep(Duration::from_millis(2).min(delay - started.elapsed().min(delay)));
    }
    let _ = child.kill(); // SIGKILL; an error means it had already exited
    child.wait().expect("wait").success()
}

#[cfg(unix)]
#[test]
fn killed_synthesis_leaves_old_or_new_files_and_the_next_run_converges() {
    let _turn = KILLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (mut rng, runs, ctx) = random_kills();

    // The old state (variant 0), and what a clean synthesis of variant 1 writes.
    let old_dir = tempfile::tempdir().expect("temp dir");
    synth(old_dir.path(), &big::outputs(SERVICES, 0));
    let old = tree(old_dir.path());
    let fresh_dir = tempfile::tempdir().expect("temp dir");
    let variant_1 = big::outputs(SERVICES, 1);
    let writing = synth(fresh_dir.path(), &variant_1);
    let new = tree(fresh_dir.path());
    assert!(
        old.len() > 1000 && new.len() > 1000,
        "expected a big corpus"
    );
    assert!(
        old.keys().any(|k| !new.contains_key(k)) && new.keys().any(|k| !old.contains_key(k)),
        "the variants must remove and add files"
    );
    // Kills land at a random delay after rendering, inside a window that adapts to how
    // fast this machine is right now: a kill that found nothing written yet raises its
    // lower end, a run that finished before the kill lowers its upper end.
    let (mut lo, mut hi) = (Duration::ZERO, writing * 2);
    let (mut mixed, mut attempts) = (0, 0);
    let mut log: Vec<String> = Vec::new();
    while mixed < runs && attempts < runs * 3 {
        let run = attempts;
        attempts += 1;
        let work = tempfile::tempdir().expect("temp dir");
        copy_tree(&old, work.path());
        let span = hi.saturating_sub(lo).as_micros() as u64;
        let delay = lo + Duration::from_micros(rng.below(span));
        let finished = kill_while_writing(work.path(), 1, delay, &ctx);

        // Every file is complete: its old or its new content. Temp files may remain.
        let after = tree(work.path());
        let mut temps = 0;
        let (mut as_old, mut as_new) = (0, 0);
        for (rel, bytes) in &after {
            if is_temp(rel) {
                temps += 1;
                continue;
            }
            let is_old = old.get(rel) == Some(bytes);
            let is_new = new.get(rel) == Some(bytes);
            assert!(
                is_old || is_new,
                "run {run}, killed after {delay:?}: `{rel}` is neither its old nor its new content {ctx}"
            );
            as_old += usize::from(is_old && !is_new);
            as_new += usize::from(is_new && !is_old);
        }
        let m = after
            .get(manifest::FILE_NAME)
            .unwrap_or_else(|| panic!("run {run}: the manifest is missing {ctx}"));
        let parsed = Manifest::parse(&String::from_utf8_lossy(m));
        assert_eq!(
            parsed.bad_lines, 0,
            "run {run}: half-written manifest {ctx}"
        );
        // Nothing written yet: every old file still there with its old content (files the
        // two variants share count as neither old nor new above).
        let untouched = as_new == 0 && old.iter().all(|(k, v)| after.get(k) == Some(v));
        match (finished, !untouched, as_old > 0 && as_new > 0) {
            (true, _, _) => hi = delay,
            (false, false, _) => lo = delay,
            (false, true, true) => mixed += 1,
            (false, true, false) => {}
        }
        log.push(format!(
            "run {run}: killed {delay:?} after rendering (finished: {finished}): {as_old} old, {as_new} new, {temps} temp files"
        ));

        if temps == 0 && (after == old || after == new) {
            // Killed before the first write or after the last: nothing to recover from.
            continue;
        }
        // The next run cleans up and converges to exactly the fresh output.
        synth(work.path(), &variant_1);
        let rerun = tree(work.path());
        let left: Vec<&String> = rerun.keys().filter(|k| is_temp(k)).collect();
        assert!(
            left.is_empty(),
            "run {run}: temp files remain after a rerun: {left:?} {ctx}"
        );
        if rerun != new {
            let differ: Vec<&String> = rerun
                .keys()
                .chain(new.keys())
                .filter(|k| rerun.get(*k) != new.get(*k))
                .take(10)
                .collect();
            panic!("run {run}: the rerun differs from a fresh synthesis in {differ:?} {ctx}");
        }
    }
    assert!(
        mixed > 0,
        "no run was killed while writing, so no state mixed old and new files \
         ({attempts} attempts, last window {lo:?}..{hi:?}); the test proved nothing {ctx}\n{}",
        log.join("\n")
    );
}

/// A first synthesis writes its folder into a temp folder and renames it into place: killed
/// at any point, the output folder holds none of the stack's files or all of them (never
/// some), and the next run converges to exactly a fresh synthesis.
#[cfg(unix)]
#[test]
fn a_first_synthesis_killed_at_any_point_leaves_all_files_or_none() {
    let _turn = KILLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (mut rng, runs, ctx) = random_kills();
    let fresh_dir = tempfile::tempdir().expect("temp dir");
    let outputs = big::outputs(SERVICES, 1);
    let writing = synth(fresh_dir.path(), &outputs);
    let new = tree(fresh_dir.path());
    let mut files = new.clone();
    let manifest_bytes = files.remove(manifest::FILE_NAME).expect("a manifest");
    assert!(files.len() > 1000, "expected a big corpus");
    let (mut lo, mut hi) = (Duration::ZERO, writing * 2);
    let (mut during, mut attempts) = (0, 0);
    let mut log: Vec<String> = Vec::new();
    while during < runs && attempts < runs * 3 {
        let run = attempts;
        attempts += 1;
        let work = tempfile::tempdir().expect("temp dir");
        let span = hi.saturating_sub(lo).as_micros() as u64;
        let delay = lo + Duration::from_micros(rng.below(span));
        let finished = kill_while_writing(work.path(), 1, delay, &ctx);
        let mut after = tree(work.path());
        let temps = after.keys().filter(|k| is_temp(k)).count();
        after.retain(|k, _| !is_temp(k));
        if let Some(m) = after.remove(manifest::FILE_NAME) {
            assert_eq!(m, manifest_bytes, "run {run}: half-written manifest {ctx}");
        }
        assert!(
            after.is_empty() || after == files,
            "run {run}, killed after {delay:?}: {} of {} files appeared {ctx}",
            after.len(),
            files.len()
        );
        match (finished, temps > 0, after.is_empty()) {
            (true, _, _) => hi = delay,
            (false, true, _) => during += 1,
            (false, false, true) => lo = delay,
            (false, false, false) => hi = delay,
        }
        log.push(format!(
            "run {run}: killed {delay:?} after rendering (finished: {finished}): {} files, {temps} temp files",
            after.len()
        ));
        synth(work.path(), &outputs);
        assert_eq!(
            tree(work.path()),
            new,
            "run {run}: the rerun differs from a fresh synthesis {ctx}"
        );
    }
    assert!(
        during > 0,
        "no run was killed while the new folder was being written; the test proved nothing \
         ({attempts} attempts, last window {lo:?}..{hi:?}) {ctx}\n{}",
        log.join("\n")
    );
}

/// The states a kill can leave that the random kills rarely hit: a temp file beside the
/// manifest (killed while writing it, after every other file) and one in a folder whose
/// files are all up to date by the next run.
#[test]
fn temp_files_an_interrupted_run_left_are_removed_by_the_next_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outs = big::outputs(5, 0);
    let scope = Scope {
        env: Env::Prod,
        stacks: None,
    };
    emit::synthesize(dir.path(), &outs, &scope).expect("synthesis");
    let clean = tree(dir.path());
    let text = fs::read_to_string(dir.path().join(manifest::FILE_NAME)).expect("manifest");
    let beside_manifest = dir.path().join(format!("{TEMP_PREFIX}a1b2c3"));
    fs::write(&beside_manifest, &text[..text.len() / 2]).expect("write");
    let in_k8s = dir.path().join(format!("big/prod/k8s/{TEMP_PREFIX}d4e5f6"));
    fs::write(&in_k8s, "half a manifest").expect("write");
    // Hand-written files that merely contain the prefix are not ours.
    let mine = dir.path().join("big/prod/notes.stackdsl-tmp-keep");
    fs::write(&mine, "mine\n").expect("write");

    let report = emit::synthesize(dir.path(), &outs, &scope).expect("rerun");
    assert!(report.written.is_empty(), "{:?}", report.written);
    assert!(
        !beside_manifest.exists(),
        "the manifest's temp file remains"
    );
    assert!(
        !in_k8s.exists(),
        "a temp file in an up-to-date folder remains"
    );
    assert_eq!(fs::read_to_string(&mine).expect("read"), "mine\n");
    let mut after = tree(dir.path());
    after.remove("big/prod/notes.stackdsl-tmp-keep");
    assert_eq!(after, clean);
}

/// A folder that does not exist yet is written into a temp folder and renamed into place,
/// so a kill leaves a temp folder, never part of a folder: the next run removes temp
/// folders (in the output folder and in the parents of the folders it writes), and never
/// follows a symlink that merely has the prefix.
#[test]
fn new_folders_appear_whole_and_leftover_temp_folders_are_removed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outs = big::outputs(5, 0);
    let scope = Scope {
        env: Env::Prod,
        stacks: None,
    };
    let report = emit::synthesize(dir.path(), &outs, &scope).expect("synthesis");
    let clean = tree(dir.path());
    assert_eq!(report.written.values().sum::<usize>(), outs.len());
    assert!(clean.keys().all(|k| !is_temp(k)), "{:?}", clean.keys());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for rel in clean.keys() {
            let mode = fs::metadata(dir.path().join(rel))
                .expect("stat")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644, "{rel}");
        }
    }
    // What a run killed while writing the new folders `big/` (temp folder in the output
    // folder) and `big/prod/k8s` (temp folder in `big/prod`) leaves behind.
    let at_root = dir.path().join(format!("{TEMP_PREFIX}0a1b/prod/k8s"));
    fs::create_dir_all(&at_root).expect("mkdir");
    fs::write(at_root.join("20-a.yaml"), "half").expect("write");
    let in_prod = dir.path().join(format!("big/prod/{TEMP_PREFIX}2c3d"));
    fs::create_dir_all(&in_prod).expect("mkdir");
    fs::write(in_prod.join("20-a.yaml"), "half").expect("write");
    // Not ours: a folder whose name merely contains the prefix, and a prefixed symlink to
    // a folder outside (removing through it would delete someone else's files).
    let mine = dir.path().join("big/notes.stackdsl-tmp-keep");
    fs::create_dir_all(&mine).expect("mkdir");
    fs::write(mine.join("n.txt"), "mine\n").expect("write");
    let outside = tempfile::tempdir().expect("temp dir");
    fs::write(outside.path().join("keep.txt"), "keep\n").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path(),
        dir.path().join(format!("{TEMP_PREFIX}link")),
    )
    .expect("symlink");

    let report = emit::synthesize(dir.path(), &outs, &scope).expect("rerun");
    assert!(report.written.is_empty(), "{:?}", report.written);
    assert!(
        !at_root.exists() && !in_prod.exists(),
        "a temp folder remains"
    );
    assert_eq!(
        fs::read_to_string(outside.path().join("keep.txt")).expect("read"),
        "keep\n"
    );
    let mut after = tree(dir.path());
    assert_eq!(
        after.remove("big/notes.stackdsl-tmp-keep/n.txt").as_deref(),
        Some(&b"mine\n"[..])
    );
    after.retain(|k, _| !k.starts_with(TEMP_PREFIX));
    assert_eq!(after, clean);
}
