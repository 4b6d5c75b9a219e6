//! `certfleet compare`: the side-by-side report of several runs. The
//! reading and drawing live in the library (`report::compare`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use certfleet::report::compare;

use super::{EXIT_BAD_INPUT, EXIT_FAILED};

#[derive(Args)]
pub struct CompareArgs {
    /// Output folders of `certfleet run` (two or more), e.g. outputs/A outputs/B.
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<PathBuf>,
    /// Where to write compare.html, compare.csv and charts/ [default: outputs/compare].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn compare(args: CompareArgs) -> ExitCode {
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("outputs").join("compare"));
    let result = compare::load_all(&args.runs).and_then(|runs| compare::write_compare(&runs, &out));
    match result {
        Ok(dir) => {
            println!(
                "comparison of {} runs in {}",
                args.runs.len(),
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_bad_input() {
                EXIT_BAD_INPUT
            } else {
                EXIT_FAILED
            })
        }
    }
}
