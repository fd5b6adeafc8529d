//! Synthesizes Plausible Community Edition (dev) into this crate's `out/`.
fn main() -> std::process::ExitCode {
    stackdsl::cli::Cli::new(stackdsl::model::Env::Dev)
        .package("plausible")
        .default_out(concat!(env!("CARGO_MANIFEST_DIR"), "/out"))
        .main(&[plausible::plausible])
}
