//! The benchmark's workload (`bench/`, built through the builder API) is the peer workload
//! of `shared/bench/README.md`: `compare.py` finds 0 differences from the reference
//! generator's output. Not timed; `just bench` times it.

use std::path::Path;
use std::process::Command;

use stackdsl_tests::{run, tool, workspace_root};

fn python_script(script: &Path) -> Command {
    let mut c = tool("python");
    c.arg(script);
    c
}

#[test]
fn the_bench_workload_equals_the_reference_for_1_and_10_services() {
    // The workload's reference generator and comparer, vendored from shared/bench.
    let shared = workspace_root().join("bench/reference");
    assert!(
        shared.join("compare.py").is_file() && shared.join("gen-reference/gen.py").is_file(),
        "{} lacks compare.py or gen-reference/gen.py",
        shared.display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    for n in [1usize, 10] {
        let (reference, ours) = (
            dir.path().join(format!("reference-{n}")),
            dir.path().join(format!("ours-{n}")),
        );
        let (ok, text) = run(python_script(&shared.join("gen-reference/gen.py"))
            .arg(n.to_string())
            .arg(&reference));
        assert!(ok, "gen.py {n} failed:\n{text}");
        stackdsl_bench::synthesize(n, &ours, |_| {}).expect("the workload synthesizes");
        let (ok, text) = run(python_script(&shared.join("compare.py"))
            .arg(&reference)
            .arg(&ours));
        let objects = 4 * n + 2;
        assert!(
            ok && text.contains(&format!(
                "reference {objects} objects, candidate {objects} objects, 0 differences"
            )),
            "N = {n}: compare.py found differences:\n{text}"
        );
    }
    // compare.py does tell outputs apart: one service against ten is not equivalent.
    let (ok, text) = run(python_script(&shared.join("compare.py"))
        .arg(dir.path().join("reference-10"))
        .arg(dir.path().join("ours-1")));
    assert!(
        !ok && text.contains("missing object"),
        "compare.py accepted 1 service for 10:\n{text}"
    );
}
