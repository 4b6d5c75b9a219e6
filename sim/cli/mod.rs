//! Commands, their arguments and exit codes.

mod compare;
mod docs;
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
    bin_name = "certfleet",
    name = "certfleet",
    version,
    about = "Deterministic simulator of certificate fleets: expiry rates and CA load spikes",
    long_about = "certfleet simulates fleets of devices (office PCs, laptops, servers, phones) that must renew \
their certificates before they expire, with their power schedules, renewal clients, the enrollment service's \
policy and a CA of finite capacity. It reports, per cohort, the share of devices whose certificate expired \
and the load the renewals put on the CA.\n\nSame scenario and seed give byte-identical outputs at any thread count.",
    after_help = "Start with:\n  certfleet run scenarios/intune-mdm-office.toml\nthen read outputs/intune-mdm-office/summary.json."
)]
pub struct Cli {
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
        /// The scenario file (TOML); `-` reads it from standard input.
        scenario: PathBuf,
    },
    /// Print the JSON Schema of the scenario format, for editors (taplo, Even Better TOML) and CI checks.
    Schema,
    /// Print a shell completion script, e.g. `certfleet completions bash > ~/.local/share/bash-completion/completions/certfleet`.
    Completions {
        /// The shell: bash, zsh, fish, powershell or elvish.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of certfleet or of one command, or write every page into a folder.
    Man {
        /// A command, e.g. run, for its own page.
        command: Option<String>,
        /// Write certfleet.1 and one page per command (certfleet-run.1, …) into this folder instead.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        out: Option<PathBuf>,
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
        Command::Schema => docs::schema(),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { command, out } => docs::man(command.as_deref(), out.as_deref()),
    }
}
