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
    /// Lay the time charts over each other on the calendar (`date`, each run at its own dates) or
    /// on time since each run's start (`start`: variants that start on different dates).
    #[arg(long, value_enum, default_value_t = AlignArg::Date)]
    pub align: AlignArg,
    /// Do not print the table.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum AlignArg {
    Date,
    Start,
}

pub fn compare(args: CompareArgs) -> ExitCode {
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("outputs").join("compare"));
    let align = match args.align {
        AlignArg::Date => compare::Align::Calendar,
        AlignArg::Start => compare::Align::Start,
    };
    let result = compare::load_all(&args.runs).and_then(|runs| {
        if !args.quiet {
            // A closed pipe (`| head`) is not an error worth a panic.
            let table = compare::table_text(&runs);
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), table.as_bytes());
        }
        compare::write_compare(&runs, &out, align)
    });
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
