//! Test helper for `tests/tests/crash.rs`: synthesizes the big generated stack
//! (`stackdsl_tests::big`) into a folder, so the test can kill it mid-write.
//!
//! Usage: `crash-synth <out dir> <services> <variant>`. Prints `rendered <files>` once
//! rendering is done and synthesis starts, then `written <ms>` when the folder is complete.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use stackdsl::emit::{self, Scope};
use stackdsl::model::Env;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, n, variant] = args.as_slice() else {
        let _ = writeln!(
            std::io::stderr(),
            "usage: crash-synth <out dir> <services> <variant>"
        );
        return ExitCode::from(2);
    };
    let (Ok(n), Ok(variant)) = (n.parse::<usize>(), variant.parse::<u32>()) else {
        let _ = writeln!(std::io::stderr(), "services and variant must be numbers");
        return ExitCode::from(2);
    };
    let outputs = stackdsl_tests::big::outputs(n, variant);
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "rendered {}", outputs.len());
    let _ = stdout.flush();
    let t = Instant::now();
    let scope = Scope {
        env: Env::Prod,
        stacks: None,
    };
    match emit::synthesize(&PathBuf::from(out), &outputs, &scope) {
        Ok(_) => {
            let _ = writeln!(stdout, "written {}", t.elapsed().as_millis());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(3)
        }
    }
}
