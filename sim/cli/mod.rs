//! Commands, their arguments and exit codes.

mod compare;
mod explain;
mod progress;
mod run;
mod sweep;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes: 0 success, 1 the run failed, 2 bad input, 130 interrupted.
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Parser)]
#[command(
    name = "certfleet",
    version,
    about = "Deterministic simulator of certificate fleets: expiry rates and CA load spikes",
    long_about = "certfleet simulates fleets of devices (office PCs, laptops, servers, phones) that must renew \
their certificates before they expire, with their power schedules, renewal clients, the enrollment service's \
policy and a CA of finite capacity. It reports, per cohort, the share of devices whose certificate expired \
and the load the renewals put on the CA.\n\nSame scenario and seed give byte-identical outputs at any thread count.",
    after_help = "Start with:\n  certfleet run scenarios/intune-mdm-office.toml\nthen read outputs/intune-mdm-office/summary.json."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its report (summary.json, CSV tables, charts, report.html).
    Run(run::RunArgs),
    /// Compare the output folders of several runs: a table, overlaid charts and compare.html.
    Compare(compare::CompareArgs),
    /// Vary parameters over a grid with replications; CSV, JSON, SVG charts and a recommendation.
    Sweep(sweep::SweepArgs),
    /// Combine the folders of a sharded sweep into the outputs of a sweep on one machine.
    Merge(sweep::MergeArgs),
    /// Check a scenario file without running it: errors with line and column, or its size and memory estimate.
    Check(run::CheckArgs),
    /// List the presets for real renewal systems, or show one in full (what it sets and why).
    Presets {
        /// A preset's name, e.g. intune-mdm, to print everything it sets with sources.
        name: Option<String>,
    },
    /// Print the fully resolved scenario: presets expanded, defaults filled in (TOML).
    Explain {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Merge(args) => sweep::merge(args),
        Command::Check(args) => run::check(&args),
        Command::Presets { name } => explain::presets(name.as_deref()),
        Command::Explain { scenario } => explain::explain(&scenario),
        Command::Compare(args) => compare::compare(args),
    }
}
