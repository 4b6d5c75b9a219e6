//! The `certfleet` command. All real work lives in the library; this binary
//! parses arguments, shows progress and chooses output folders.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
