//! Synthesizes Bank of Anthos into this crate's `out/`: dev (Compose), then prod
//! (Kubernetes). Arguments go to both runs (`--check`, `--quiet`, …); the first run that
//! fails decides the exit code.
use std::io::{self, IsTerminal as _};
use std::process::ExitCode;

use stackdsl::cli::Cli;
use stackdsl::model::Env;

fn main() -> ExitCode {
    let tty = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for env in [Env::Dev, Env::Prod] {
        let code = Cli::new(env)
            .package("bank-of-anthos")
            .default_out(concat!(env!("CARGO_MANIFEST_DIR"), "/out"))
            .run(
                &[bank_of_anthos::bank_of_anthos],
                std::env::args_os(),
                &mut io::stdout().lock(),
                &mut io::stderr().lock(),
                tty,
            );
        if code != stackdsl::cli::EXIT_OK {
            return ExitCode::from(code);
        }
    }
    ExitCode::SUCCESS
}
