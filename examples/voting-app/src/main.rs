//! Synthesizes the voting app into this crate's `out/`: dev (Compose), then prod
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
            .package("voting-app")
            .default_out(concat!(env!("CARGO_MANIFEST_DIR"), "/out"))
            .run(
                &[voting_app::voting_app],
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
