//! The `weft` binary; everything lives in the library (`weft_cli::cli`).

fn main() -> std::process::ExitCode {
    weft_cli::cli::main()
}
