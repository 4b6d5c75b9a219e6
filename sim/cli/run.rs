//! `certfleet run` and `certfleet check`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;

use certfleet::model::Scenario;
use certfleet::report;
use certfleet::scenario::{self, MemoryLimit};
use certfleet::simulation::{RunError, RunOptions, Simulation};

use super::{progress, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED};

#[derive(Args)]
pub struct RunArgs {
    /// The scenario file (TOML), e.g. scenarios/intune-mdm-office.toml; `-` reads it from standard input.
    pub scenario: PathBuf,
    /// Override the scenario's seed (same seed, same results).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output folder [default: outputs/<scenario file name>]. Replaced as a whole when the run completes.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run at F of the size (e.g. 0.01 for a quick look at 1 % of the fleet): every cohort's count
    /// and every stage's capacity (workers, else service rate) and queue limit are multiplied by F,
    /// so load ratios and expiry rates stay those of the full fleet.
    #[arg(long, value_name = "F")]
    pub scale: Option<f64>,
    /// Worker threads for the parallel phases [default: all cores]. Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar and no printed summary; errors are still printed.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print summary.json on stdout instead of the human summary (the report is still written).
    #[arg(long)]
    pub json: bool,
    /// Check runtime invariants (request conservation, time order, one certificate at a time, counts never negative) in a release build; always on in debug builds.
    #[arg(long)]
    pub check_invariants: bool,
    #[command(flatten)]
    pub memory: MemoryArgs,
}

#[derive(Args)]
pub struct MemoryArgs {
    /// Refuse runs estimated to need more memory than SIZE (e.g. 40GiB, 512MiB) [default: half of physical memory].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Run whatever the memory estimate says.
    #[arg(long, conflicts_with = "max_memory")]
    pub no_memory_limit: bool,
}

impl MemoryArgs {
    pub fn limit(&self) -> MemoryLimit {
        match (self.max_memory, self.no_memory_limit) {
            (_, true) => MemoryLimit::none(),
            (Some(bytes), false) => MemoryLimit::given(bytes),
            (None, false) => MemoryLimit::default_for_machine(),
        }
    }
}

fn parse_size(text: &str) -> Result<u64, String> {
    scenario::memory::parse_bytes(text)
}

#[derive(Args)]
pub struct CheckArgs {
    /// The scenario file (TOML); `-` reads it from standard input.
    pub scenario: PathBuf,
    /// Check the scenario as `run --scale F` would run it.
    #[arg(long, value_name = "F")]
    pub scale: Option<f64>,
    /// Include the memory of runtime invariant checks in the estimate.
    #[arg(long)]
    pub check_invariants: bool,
    #[command(flatten)]
    pub memory: MemoryArgs,
}

fn load(path: &Path) -> Result<Scenario, ExitCode> {
    scenario::load(path).map_err(bad_input)
}

fn bad_input(errors: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: invalid scenario\n{errors}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Applies `--scale`, refusing values that are not a positive number.
fn scaled(scenario: Scenario, scale: Option<f64>) -> Result<Scenario, ExitCode> {
    match scale {
        None => Ok(scenario),
        Some(f) if f.is_finite() && f > 0.0 => {
            let (scaled, notes) = scenario.scaled_with_notes(f);
            for note in notes {
                eprintln!("warning: --scale {f}: {note}");
            }
            Ok(scaled)
        }
        Some(f) => {
            eprintln!("error: --scale must be a number above 0, got {f}\n  hint: --scale 0.01 runs at 1 % of the fleet");
            Err(ExitCode::from(EXIT_BAD_INPUT))
        }
    }
}

pub fn check(args: &CheckArgs) -> ExitCode {
    let path = &args.scenario;
    let s = match load(path).and_then(|s| scaled(s, args.scale)) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let limit = args.memory.limit();
    let estimate = match scenario::check_memory(path, &s, args.check_invariants, &limit) {
        Ok(e) => e,
        Err(errors) => return bad_input(errors),
    };
    println!(
        "{}: ok — {} devices in {} cohorts over {}, seed {}",
        path.display(),
        s.total_devices(),
        s.cohorts.len(),
        s.horizon,
        s.seed
    );
    for c in &s.cohorts {
        let schedule = toml_name(&c.power);
        println!(
            "  cohort {:?}: {} devices, {schedule} schedule, lifetime {}",
            c.name, c.count, c.lifetime
        );
    }
    println!(
        "  start {}, CA {} workers, {} scheduled events",
        s.start,
        s.ca.workers,
        s.events.len()
    );
    println!("  memory: {estimate}; limit {limit}");
    ExitCode::SUCCESS
}

/// An output folder name from a scenario's name (for `run -`): letters,
/// digits, `.`, `_` and `-` kept, anything else made `-`.
fn folder_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    match cleaned.trim_matches(['-', '.']) {
        "" => "stdin".to_string(),
        name => name.to_string(),
    }
}

/// The schedule's name as written in scenarios.
fn toml_name(power: &certfleet::model::power::PowerSchedule) -> &'static str {
    use certfleet::model::power::PowerSchedule as P;
    match power {
        P::AlwaysOn => "always_on",
        P::Office(_) => "office",
        P::Laptop(_) => "laptop",
        P::OnOff(_) => "on_off",
        P::RandomSlots(_) => "random_slots",
    }
}

pub fn run(args: RunArgs) -> ExitCode {
    let mut scenario = match load(&args.scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    scenario = match scaled(scenario, args.scale) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let check_invariants = args.check_invariants || cfg!(debug_assertions);
    if let Err(errors) = scenario::check_memory(
        &args.scenario,
        &scenario,
        check_invariants,
        &args.memory.limit(),
    ) {
        return bad_input(errors);
    }
    if args.threads == Some(0) {
        eprintln!("error: --threads must be at least 1\n  hint: leave it out to use every core");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .scenario
            .file_stem()
            .filter(|_| args.scenario != Path::new(scenario::STDIN_PATH))
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| folder_name(&scenario.name));
        PathBuf::from("outputs").join(stem)
    });

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C while we are shutting down kills the process.
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(EXIT_INTERRUPTED as i32);
            }
        });
    }

    let (bar, report_progress) =
        progress::bar(args.quiet, scenario.calendar(), scenario.horizon.ms());
    let options = RunOptions {
        threads: args.threads,
        check_invariants: args.check_invariants,
        progress: Some(report_progress),
        ..Default::default()
    };
    let result = Simulation::run_until(&scenario, options, &|| stop.load(Ordering::Relaxed));
    bar.finish_and_clear();
    let result = match result {
        Ok(r) => r,
        Err(RunError::Interrupted { at }) => {
            eprintln!("interrupted at simulated {at}: no report written; earlier outputs in {} are untouched", out.display());
            return ExitCode::from(EXIT_INTERRUPTED);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    if stop.load(Ordering::Relaxed) {
        eprintln!(
            "interrupted: no report written; earlier outputs in {} are untouched",
            out.display()
        );
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    match report::write_run(&result, &out) {
        Ok((dir, summary)) => {
            let timing = format!(
                "{} events in {:.2} s ({:.1} M events/s) · report in {}",
                result.events,
                result.wall_time.as_secs_f64(),
                result.events as f64 / result.wall_time.as_secs_f64().max(1e-9) / 1e6,
                dir.display()
            );
            let mut stdout = std::io::stdout().lock();
            if args.json {
                // stdout carries the JSON alone, for scripts; people read stderr.
                if let Err(e) = report::write_summary_json(&summary, &mut stdout) {
                    eprintln!("error: could not print summary.json: {e}");
                    return ExitCode::from(EXIT_FAILED);
                }
                if !args.quiet {
                    eprintln!("{timing}");
                }
            } else if !args.quiet {
                let _ = report::print_summary(&summary, &mut stdout);
                let _ = writeln!(stdout, "\n  {timing}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: could not write the report to {}: {e}\n  hint: check that the folder is writable and the disk is not full", out.display());
            ExitCode::from(EXIT_FAILED)
        }
    }
}
