//! Synthesizes the platform stack (prod) into this crate's `out/`.
fn main() -> std::process::ExitCode {
    stackdsl::cli::Cli::new(stackdsl::model::Env::Prod)
        .package("platform-consumer")
        .default_out(concat!(env!("CARGO_MANIFEST_DIR"), "/out"))
        .main(&[platform_consumer::platform])
}
