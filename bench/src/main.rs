//! `stackdsl-bench`: synthesis speed and memory on the peer workload
//! (`shared/bench/README.md`), side by side with jrsonnet and Python + libyaml (no registry this machine reaches ships a
//! helm binary; see `BENCHMARKS.md`).
//!
//! ```text
//! stackdsl-bench synth N DIR      # the timed process: build, validate, render, write DIR
//! stackdsl-bench synth N DIR --staged   # the same with the Kubernetes phases apart
//! stackdsl-bench synth N DIR --rss      # and the peak RSS after each phase
//! stackdsl-bench check N DIR      # compare.py against gen.py's output for N (exit 1 on a difference)
//! stackdsl-bench [run] [--runs R] [--n 1,10,100] [--peers jrsonnet,python] [--work DIR]
//! ```
//!
//! `run` (the default, what `just bench` calls after `bench/setup-peers.sh`) first checks every
//! tool's output for every N with `compare.py`, then times R whole-process runs of each tool
//! per N, interleaved so machine load hits every tool alike, and prints the table.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use stackdsl_bench::{PHASES, STAGED_PHASES};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("synth") => synth_cmd(&args[1..]),
        Some("check") => check_cmd(&args[1..]),
        Some("run") => run(&args[1..]),
        Some("-h" | "--help") => {
            println!("{}", USAGE);
            Ok(())
        }
        _ => run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stackdsl-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: stackdsl-bench synth N DIR [--staged] [--rss] | check N DIR | [run] [--runs R] [--n 1,10,100,1000,10000] [--peers jrsonnet,python] [--work DIR]";

fn parse_n(s: Option<&String>) -> Result<usize, String> {
    s.and_then(|s| s.parse().ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| USAGE.to_owned())
}

/// `synth N DIR [--staged] [--rss]`: [`stackdsl_bench::synthesize`] (or
/// [`stackdsl_bench::synthesize_staged`]), then the phase times (µs) and, with `--rss`
/// (unstaged), the peak RSS after each phase (KiB) on stderr.
fn synth_cmd(args: &[String]) -> Result<(), String> {
    let n = parse_n(args.first())?;
    let dir = PathBuf::from(args.get(1).ok_or(USAGE)?);
    let (mut staged, mut rss) = (false, false);
    for flag in &args[2..] {
        match flag.as_str() {
            "--staged" => staged = true,
            "--rss" => rss = true,
            _ => return Err(USAGE.to_owned()),
        }
    }
    let mut hwm = vec![0u64; PHASES.len()];
    let times = if staged {
        stackdsl_bench::synthesize_staged(n, &dir)?
    } else {
        // Reading /proc costs time: only when asked (the timed runs do not).
        stackdsl_bench::synthesize(n, &dir, |phase| {
            if rss {
                hwm[phase] = peak_rss_self();
            }
        })?
    };
    let micros: Vec<String> = times.iter().map(|d| d.as_micros().to_string()).collect();
    eprintln!("phases-us {}", micros.join(" "));
    if rss && !staged {
        let kib: Vec<String> = hwm.iter().map(u64::to_string).collect();
        eprintln!("peak-rss-kib-after-phase {}", kib.join(" "));
    }
    Ok(())
}

/// This process's peak RSS so far (KiB), from `/proc/self/status` (0 where unavailable).
fn peak_rss_self() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Where the checked-in peer programs and the workload's reference (`bench/reference`, vendored from
/// `shared/bench`) are.
struct Paths {
    root: PathBuf,
    shared: PathBuf,
    work: PathBuf,
    target: PathBuf,
    exe: PathBuf,
}

impl Paths {
    fn find() -> Result<Paths, String> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("no workspace root")?
            .to_path_buf();
        let shared = match std::env::var_os("STACKDSL_BENCH_SHARED") {
            Some(p) => PathBuf::from(p),
            None => root.join("bench/reference"),
        };
        if !shared.join("compare.py").is_file() {
            return Err(format!(
                "{} has no compare.py: set STACKDSL_BENCH_SHARED to a folder with compare.py and gen-reference/gen.py",
                shared.display()
            ));
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        Ok(Paths {
            shared,
            work: target.join("bench"),
            target,
            exe: std::env::current_exe().map_err(|e| e.to_string())?,
            root,
        })
    }
}

/// Runs `compare.py REFERENCE CANDIDATE`; `Ok` with its summary line when it reports 0
/// differences.
fn compare(paths: &Paths, reference: &Path, candidate: &Path) -> Result<String, String> {
    let out = Command::new("python3")
        .arg(paths.shared.join("compare.py"))
        .arg(reference)
        .arg(candidate)
        .output()
        .map_err(|e| format!("running compare.py: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = text.lines().next().unwrap_or_default().to_owned();
    if out.status.success() && summary.ends_with(" 0 differences") {
        Ok(summary)
    } else {
        Err(format!(
            "compare.py {} {}:\n{text}{}",
            reference.display(),
            candidate.display(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn fresh(dir: &Path) -> Result<(), String> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("removing {}: {e}", dir.display()));
        }
        _ => {}
    }
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))
}

/// `check N DIR`: our output for N under DIR/ours, gen.py's under DIR/reference, compared.
fn check_cmd(args: &[String]) -> Result<(), String> {
    let n = parse_n(args.first())?;
    let dir = PathBuf::from(args.get(1).ok_or(USAGE)?);
    let paths = Paths::find()?;
    let tools = [Tool::Ours, Tool::Python];
    let (ours, reference) = (dir.join("ours"), dir.join("reference"));
    for (tool, d) in tools.iter().zip([&ours, &reference]) {
        fresh(d)?;
        let st = tool
            .command(&paths, n, d)
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("{}: {e}", tool.name()))?;
        if !st.success() {
            return Err(format!("{} failed for N = {n}", tool.name()));
        }
    }
    println!("N = {n}: {}", compare(&paths, &reference, &ours)?);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool {
    Ours,
    Jrsonnet,
    Python,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Ours => "stackdsl",
            Tool::Jrsonnet => "jrsonnet",
            Tool::Python => "python+libyaml",
        }
    }

    fn peer_bin(paths: &Paths, name: &str) -> PathBuf {
        paths.target.join("peers/bin").join(name)
    }

    fn available(self, paths: &Paths) -> Result<(), String> {
        match self {
            Tool::Ours | Tool::Python => Ok(()),
            Tool::Jrsonnet => {
                let bin = Self::peer_bin(paths, "jrsonnet");
                if bin.is_file() {
                    Ok(())
                } else {
                    Err(format!(
                        "{} is missing: run `bash bench/setup-peers.sh` (what `just bench` does)",
                        bin.display()
                    ))
                }
            }
        }
    }

    /// The whole-process command that writes the workload for `n` into `dir`.
    fn command(self, paths: &Paths, n: usize, dir: &Path) -> Command {
        match self {
            Tool::Ours => {
                let mut c = Command::new(&paths.exe);
                c.arg("synth").arg(n.to_string()).arg(dir);
                c
            }
            Tool::Python => {
                let mut c = Command::new("python3");
                c.arg(paths.shared.join("gen-reference/gen.py"))
                    .arg(n.to_string())
                    .arg(dir)
                    .arg("--c");
                c
            }
            Tool::Jrsonnet => {
                let mut c = Command::new(Self::peer_bin(paths, "jrsonnet"));
                c.arg("-S")
                    .arg("-m")
                    .arg(dir)
                    .arg("--tla-code")
                    .arg(format!("n={n}"))
                    .arg(paths.root.join("bench/peers/workload.jsonnet"));
                c
            }
        }
    }
}

/// Total bytes of the files under `dir`.
fn bytes(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => total += bytes(&e.path()),
                Ok(_) => total += e.metadata().map_or(0, |m| m.len()),
                Err(_) => {}
            }
        }
    }
    total
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.is_empty() {
        f64::NAN
    } else if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Empties `dir` and flushes the file system, so no run pays for the previous run's
/// unwritten pages (at N = 10 000 that doubled a run's time, whoever ran next). The timed
/// runs get folders of their own ([`RunDirs`]), so nothing is deleted right before one
/// either: ext4 then scans past the recently deleted inodes to create files (a quarter of
/// a run's time at N = 1 000 in `perf`).
fn settle(dir: &Path) -> Result<(), String> {
    fresh(dir)?;
    let _ = Command::new("sync").status();
    Ok(())
}

/// One timed run: wall milliseconds, and our phase times (µs) parsed from stderr.
fn timed(tool: Tool, paths: &Paths, n: usize, dir: &Path) -> Result<(f64, Vec<f64>), String> {
    settle(dir)?;
    let start = Instant::now();
    let out = tool
        .command(paths, n, dir)
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", tool.name()))?;
    let wall = start.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() {
        return Err(format!(
            "{} failed for N = {n}:\n{}",
            tool.name(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((wall, phases_us(&out.stderr).unwrap_or_default()))
}

/// The phase times (µs) `synth` prints on stderr (`phases-us …`), if it printed them.
fn phases_us(stderr: &[u8]) -> Option<Vec<f64>> {
    String::from_utf8_lossy(stderr)
        .lines()
        .find_map(|l| l.strip_prefix("phases-us "))
        .map(|l| l.split(' ').filter_map(|v| v.parse().ok()).collect())
}

/// Adds one run's phase times (µs) to the per-phase samples (ms).
fn add_phases(samples: &mut [Vec<f64>], us: &[f64]) {
    for (sample, v) in samples.iter_mut().zip(us) {
        sample.push(v / 1000.0);
    }
}

/// Peak RSS (KiB) of one run, from `/usr/bin/time -f %M`.
fn peak_rss(tool: Tool, paths: &Paths, n: usize, dir: &Path) -> Result<u64, String> {
    settle(dir)?;
    let c = tool.command(paths, n, dir);
    let rss_file = dir.with_extension("rss");
    let st = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(c.get_program())
        .args(c.get_args())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("/usr/bin/time (apt-get install time): {e}"))?;
    if !st.success() {
        return Err(format!("{} failed under /usr/bin/time", tool.name()));
    }
    let text = fs::read_to_string(&rss_file).map_err(|e| e.to_string())?;
    text.trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("unreadable /usr/bin/time output: {text}"))
}

struct Row {
    n: usize,
    tool: Tool,
    wall_ms: f64,
    min_ms: f64,
    rss_kib: u64,
    bytes: u64,
    phases_ms: Vec<f64>,
    /// Phases of the staged runs ([`STAGED_PHASES`]), ours only.
    staged_ms: Vec<f64>,
    compare: String,
}

fn run(args: &[String]) -> Result<(), String> {
    let mut runs = 5usize;
    let mut ns = vec![1usize, 10, 100, 1000, 10000];
    let mut tools = vec![Tool::Ours, Tool::Jrsonnet, Tool::Python];
    // Where the outputs go (default `target/bench`): `--work /dev/shm/x` takes the disk's
    // inode allocation and writeback out of the picture.
    let mut work: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = parse_n(it.next())?,
            "--n" => {
                ns = it
                    .next()
                    .ok_or(USAGE)?
                    .split(',')
                    .map(|s| s.parse().map_err(|_| USAGE.to_owned()))
                    .collect::<Result<_, _>>()?
            }
            "--work" => work = Some(PathBuf::from(it.next().ok_or(USAGE)?)),
            "--peers" => {
                let list = it.next().ok_or(USAGE)?;
                tools = vec![Tool::Ours];
                for p in list.split(',').filter(|p| !p.is_empty()) {
                    tools.push(match p {
                        "jrsonnet" => Tool::Jrsonnet,
                        "python" => Tool::Python,
                        _ => return Err(format!("unknown peer `{p}`")),
                    });
                }
            }
            _ => return Err(USAGE.to_owned()),
        }
    }
    let mut paths = Paths::find()?;
    if let Some(w) = work {
        paths.work = w;
    }
    let mut active = Vec::new();
    for t in tools {
        match t.available(&paths) {
            Ok(()) => active.push(t),
            Err(e) => eprintln!("skipping {}: {e}", t.name()),
        }
    }
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "{} runs per tool and N in {}; load average before: {}",
        runs,
        paths.work.display(),
        load.split(' ').take(3).collect::<Vec<_>>().join(" ")
    );

    let mut rows = Vec::new();
    let mut dirs = RunDirs {
        root: paths.work.join("runs"),
        count: 0,
    };
    let _ = fs::remove_dir_all(&dirs.root);
    for &n in &ns {
        let base = paths.work.join(format!("n{n}"));
        let reference = base.join("reference");
        fresh(&reference)?;
        let st = Tool::Python
            .command(&paths, n, &reference)
            .status()
            .map_err(|e| e.to_string())?;
        if !st.success() {
            return Err("gen.py failed".into());
        }
        // Correctness first: every tool's output equals gen.py's as data.
        let mut checked = Vec::new();
        for &t in &active {
            let dir = base.join(format!("check-{}", t as u8));
            timed(t, &paths, n, &dir)?;
            checked.push(compare(&paths, &reference, &dir)?);
        }
        let mut walls: Vec<Vec<f64>> = vec![Vec::new(); active.len()];
        let mut phases: Vec<Vec<f64>> = vec![Vec::new(); PHASES.len()];
        for _ in 0..runs {
            for (i, &t) in active.iter().enumerate() {
                let (wall, ph) = timed(t, &paths, n, &dirs.next())?;
                walls[i].push(wall);
                add_phases(&mut phases, &ph);
            }
        }
        // Where the time goes: the Kubernetes phases apart, in runs of their own.
        let mut staged: Vec<Vec<f64>> = vec![Vec::new(); STAGED_PHASES.len()];
        for _ in 0..runs {
            let run_dir = dirs.next();
            settle(&run_dir)?;
            let out = Command::new(&paths.exe)
                .args(["synth", &n.to_string()])
                .arg(&run_dir)
                .arg("--staged")
                .output()
                .map_err(|e| format!("staged run: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "the staged run failed for N = {n}:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let us = phases_us(&out.stderr).ok_or("the staged run printed no phases")?;
            add_phases(&mut staged, &us);
        }
        let staged_ms: Vec<f64> = staged.into_iter().map(median).collect();
        for (i, &t) in active.iter().enumerate() {
            let run_dir = dirs.next();
            let rss = peak_rss(t, &paths, n, &run_dir)?;
            let out_bytes = bytes(&run_dir);
            rows.push(Row {
                n,
                tool: t,
                wall_ms: median(walls[i].clone()),
                min_ms: walls[i].iter().copied().fold(f64::INFINITY, f64::min),
                rss_kib: rss,
                bytes: out_bytes,
                phases_ms: if t == Tool::Ours {
                    phases.iter().map(|p| median(p.clone())).collect()
                } else {
                    Vec::new()
                },
                staged_ms: if t == Tool::Ours {
                    staged_ms.clone()
                } else {
                    Vec::new()
                },
                compare: checked[i].clone(),
            });
        }
        eprintln!("N = {n} done");
    }
    print_table(&rows, runs);
    // Deleted only now, so no timed run creates files right after a deletion (the next
    // benchmark then starts with an empty work folder too).
    let _ = fs::remove_dir_all(&dirs.root);
    for &n in &ns {
        let _ = fs::remove_dir_all(paths.work.join(format!("n{n}")));
    }
    Ok(())
}

/// A new, empty folder for every run (under `root`), removed when the benchmark ends.
struct RunDirs {
    root: PathBuf,
    count: usize,
}

impl RunDirs {
    fn next(&mut self) -> PathBuf {
        self.count += 1;
        self.root.join(format!("{:05}", self.count))
    }
}

fn print_table(rows: &[Row], runs: usize) {
    println!(
        "\n| N | tool | wall ms (median of {runs}) | min ms | vs stackdsl (median) | peak RSS MiB | output bytes | compare.py |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let ours = rows
            .iter()
            .find(|o| o.n == r.n && o.tool == Tool::Ours)
            .map_or(f64::NAN, |o| o.wall_ms);
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1}x | {:.1} | {} | {} |",
            r.n,
            r.tool.name(),
            r.wall_ms,
            r.min_ms,
            r.wall_ms / ours,
            r.rss_kib as f64 / 1024.0,
            r.bytes,
            r.compare.split(", ").last().unwrap_or_default()
        );
    }
    let ours: Vec<&Row> = rows.iter().filter(|r| r.tool == Tool::Ours).collect();
    print_split(
        "stackdsl time split (median ms)",
        &PHASES,
        &ours,
        |r| &r.phases_ms,
        true,
    );
    print_split(
        "stackdsl staged runs, the Kubernetes phases apart (median ms)",
        &STAGED_PHASES,
        &ours,
        |r| &r.staged_ms,
        false,
    );
    print_targets(rows);
}

/// The issue's targets, judged on this run (where it measured what they need).
fn print_targets(rows: &[Row]) {
    let row = |n: usize, tool: Tool| rows.iter().find(|r| r.n == n && r.tool == tool);
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let mut lines = Vec::new();
    if let (Some(ours), Some(peer)) = (row(1000, Tool::Ours), row(1000, Tool::Jrsonnet)) {
        let x = peer.wall_ms / ours.wall_ms;
        lines.push(format!(
            "N = 1000 at least 5x faster than jrsonnet (median): {x:.2}x, {}",
            verdict(x >= 5.0)
        ));
    }
    if let Some(ours) = row(1000, Tool::Ours) {
        let mib = ours.rss_kib as f64 / 1024.0;
        lines.push(format!(
            "N = 1000 peak RSS at most 20 MiB: {mib:.1} MiB, {}",
            verdict(mib <= 20.0)
        ));
    }
    if let (Some(a), Some(b)) = (row(1000, Tool::Ours), row(10000, Tool::Ours)) {
        let (median, min) = (b.wall_ms / a.wall_ms, b.min_ms / a.min_ms);
        lines.push(format!(
            "N = 10000 at most 11x N = 1000: {median:.2}x by median ({}), {min:.2}x by minimum ({})",
            verdict(median <= 11.0),
            verdict(min <= 11.0)
        ));
    }
    if !lines.is_empty() {
        println!("\ntargets (issue 10):\n");
        for l in lines {
            println!("- {l}");
        }
    }
}

/// A table of phase times per N, with their sum (and the whole-process wall time).
fn print_split(
    title: &str,
    phases: &[&str],
    rows: &[&Row],
    times: impl Fn(&Row) -> &Vec<f64>,
    with_wall: bool,
) {
    let wall_head = if with_wall { " whole process |" } else { "" };
    println!(
        "\n{title}:\n\n| N | {} | sum |{wall_head}",
        phases.join(" | ")
    );
    let extra = if with_wall { "---:|" } else { "" };
    println!("|---:|{}---:|{extra}", "---:|".repeat(phases.len()));
    for r in rows {
        let sum: f64 = times(r).iter().sum();
        let cells: Vec<String> = times(r).iter().map(|p| format!("{p:.2}")).collect();
        let wall = if with_wall {
            format!(" {:.1} |", r.wall_ms)
        } else {
            String::new()
        };
        println!("| {} | {} | {sum:.2} |{wall}", r.n, cells.join(" | "));
    }
}
