//! `certfleet sweep` and `certfleet merge`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use certfleet::sweep::{self, output, spec, Plan, Shard, SweepError, SweepOutcome};

use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED};

#[derive(Args)]
pub struct SweepArgs {
    /// The scenario file (TOML); its [sweep] table says what to vary unless --param does.
    pub scenario: PathBuf,
    /// A swept parameter: PATH[,PATH...]=FROM..TO/STEP or PATH=V1,V2,... (repeatable; replaces the
    /// [sweep] table's parameters). `*` stands for every element of an array,
    /// e.g. 'cohorts.*.client.renewal.window,server.renewal.window=7d..90d/7d'.
    #[arg(long = "param", value_name = "PATH=VALUES")]
    pub params: Vec<String>,
    /// Replications per point, each with its own seed [default: [sweep] replications, else 10].
    #[arg(long, short = 'R', value_name = "R")]
    pub replications: Option<u32>,
    /// Target: largest acceptable expiry rate, as a share or a percentage (0.001 or 0.1%).
    #[arg(long, value_name = "RATE")]
    pub max_expiry_rate: Option<String>,
    /// Target: largest acceptable number of CA requests in the busiest hour.
    #[arg(long, value_name = "N")]
    pub max_peak_per_hour: Option<f64>,
    /// Output folder [default: outputs/<scenario file name>-sweep, or
    /// outputs/<name>-sweep-shard-I-of-N with --shard]. Holds runs/ for resuming.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run at F of the size: cohort counts, stage capacities and the --max-peak-per-hour target
    /// are multiplied by F (see `certfleet run --help`).
    #[arg(long, value_name = "F")]
    pub scale: Option<f64>,
    /// Parallel runs [default: all cores]. Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Run only shard I of N (0-based) of the point × replication runs; combine the shard
    /// folders with `certfleet merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// No progress bar and no printed table; the recommendation and errors are still printed.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub memory: super::run::MemoryArgs,
}

#[derive(Args)]
pub struct MergeArgs {
    /// The shard folders written by `certfleet sweep --shard I/N`.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged outputs (the same files a sweep on one machine writes).
    #[arg(long, required = true)]
    pub out: PathBuf,
    /// Print only the recommendation.
    #[arg(long, short)]
    pub quiet: bool,
}

fn bad(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// The sweep description: the file's [sweep] table, overridden by flags.
fn spec_of(args: &SweepArgs, text: &str) -> Result<spec::SweepSpec, ExitCode> {
    let mut s = spec::from_scenario_text(text, &args.scenario)
        .map_err(bad)?
        .unwrap_or_else(|| spec::SweepSpec {
            replications: spec::DEFAULT_REPLICATIONS,
            ..Default::default()
        });
    if !args.params.is_empty() {
        s.params = args
            .params
            .iter()
            .map(|p| spec::param_from_arg(p))
            .collect::<Result<_, _>>()
            .map_err(bad)?;
    }
    if let Some(r) = args.replications {
        if r == 0 {
            return Err(bad(
                "--replications must be at least 1 (2 or more for a confidence interval)",
            ));
        }
        s.replications = r;
    }
    if let Some(e) = &args.max_expiry_rate {
        s.targets.max_expiry_rate =
            Some(spec::parse_rate(e).map_err(|m| bad(format!("--max-expiry-rate: {m}")))?);
    }
    if let Some(p) = args.max_peak_per_hour {
        if !(p.is_finite() && p >= 0.0) {
            return Err(bad(
                "--max-peak-per-hour must be a number of requests, 0 or more",
            ));
        }
        s.targets.max_peak_per_hour = Some(p);
    }
    Ok(s)
}

fn progress_bar(quiet: bool, total: usize) -> ProgressBar {
    let target = if !quiet && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr_with_hz(4)
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total as u64), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} sweeping [{bar:32}] {pos}/{len} runs · {elapsed} · ETA {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

fn print_table(outcome: &SweepOutcome) {
    println!(
        "\n  {:<44} {:>26} {:>24} {:>8}",
        "point", "expiry rate (95% CI)", "busiest hour (95% CI)", "targets"
    );
    for p in &outcome.points {
        let e = &p.metrics["expiry_rate"];
        let h = &p.metrics["peak_hour_arrivals"];
        let ci = |s: &certfleet::sweep::stats::MetricStats, f: &dyn Fn(f64) -> String| match s.ci95
        {
            Some([lo, hi]) => format!("{} [{}–{}]", f(s.mean), f(lo), f(hi)),
            None => f(s.mean),
        };
        println!(
            "  {:<44} {:>26} {:>24} {:>8}",
            p.point,
            ci(e, &|x| format!("{:.3}%", x * 100.0)),
            ci(h, &|x| format!("{x:.0}")),
            match p.meets_targets {
                Some(true) => "met",
                Some(false) => "missed",
                None => "",
            }
        );
    }
    println!();
}

/// Up to `parallel` runs are in memory at once: each gets that share of the
/// limit. The estimate is the base scenario's (a point that sweeps device
/// counts or the horizon upwards may need more).
fn check_memory(args: &SweepArgs, text: &str, parallel: usize) -> Result<(), ExitCode> {
    let Ok(mut base) = certfleet::scenario::parse(text, &args.scenario) else {
        return Ok(()); // Plan::new has reported any error in the scenario itself
    };
    if let Some(f) = args.scale {
        base = base.scaled(f);
    }
    let limit = args.memory.limit();
    let per_run = match limit.bytes {
        Some(bytes) => certfleet::scenario::MemoryLimit::given(bytes / parallel as u64),
        None => certfleet::scenario::MemoryLimit::none(),
    };
    certfleet::scenario::check_memory(&args.scenario, &base, false, &per_run).map(|_| ()).map_err(|errors| {
        eprintln!(
            "error: invalid scenario\n{errors}\n  note: {parallel} runs share the memory limit ({limit}); --threads runs fewer at once"
        );
        ExitCode::from(super::EXIT_BAD_INPUT)
    })
}

pub fn sweep(args: SweepArgs) -> ExitCode {
    let text = match std::fs::read_to_string(&args.scenario) {
        Ok(t) => t,
        Err(e) => {
            return bad(format!(
                "{}: cannot read the scenario: {e}\n  hint: the scenarios shipped with certfleet are in scenarios/",
                args.scenario.display()
            ))
        }
    };
    let spec = match spec_of(&args, &text) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(f) = args.scale {
        if !(f.is_finite() && f > 0.0) {
            return bad(format!("--scale must be a number above 0, got {f}"));
        }
    }
    let shard = match args.shard.as_deref().map(Shard::parse).transpose() {
        Ok(s) => s,
        Err(m) => return bad(m),
    };
    let threads = match args.threads {
        Some(0) => {
            return bad("--threads must be at least 1\n  hint: leave it out to use every core")
        }
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    if let (Some(f), Ok(base)) = (
        args.scale,
        certfleet::scenario::parse(&text, &args.scenario),
    ) {
        for note in base.scaled_with_notes(f).1 {
            eprintln!("warning: --scale {f}: {note}");
        }
        if let Some(p) = spec.targets.max_peak_per_hour {
            eprintln!(
                "note: --scale {f}: the busiest-hour target {p} becomes {} for the scaled fleet",
                p * f
            );
        }
    }
    let plan = match Plan::new(&text, &args.scenario, spec, args.scale) {
        Ok(p) => p,
        Err(e) => return bad(e),
    };
    if let Err(code) = check_memory(&args, &text, threads.min(plan.manifest.tasks.len().max(1))) {
        return code;
    }
    let stem = args
        .scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| plan.manifest.scenario.clone());
    let out = args.out.clone().unwrap_or_else(|| match shard {
        Some(s) => {
            PathBuf::from("outputs").join(format!("{stem}-sweep-shard-{}-of-{}", s.index, s.count))
        }
        None => PathBuf::from("outputs").join(format!("{stem}-sweep")),
    });
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: could not start {threads} worker threads: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let which = shard
        .unwrap_or(Shard::WHOLE)
        .tasks(plan.manifest.tasks.len());
    if let Some(s) = shard {
        if let Err(e) = output::write_shard_file(&out, s, &plan.manifest) {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(EXIT_INTERRUPTED as i32);
            }
        });
    }
    if !args.quiet {
        eprintln!(
            "{}: {} points × {} replications = {} runs{} on {threads} thread(s) → {}",
            plan.manifest.scenario,
            plan.manifest.points.len(),
            plan.manifest.spec.replications,
            plan.manifest.tasks.len(),
            shard.map_or(String::new(), |s| format!(
                " (shard {}/{}: {} runs)",
                s.index,
                s.count,
                which.len()
            )),
            out.display()
        );
    }
    let bar = progress_bar(args.quiet, which.len());
    let started = Instant::now();
    let report = |done: usize, _total: usize| bar.set_position(done as u64);
    let executed = sweep::execute(&plan, &which, &out.join("runs"), &pool, &report, &|| {
        stop.load(Ordering::Relaxed)
    });
    bar.finish_and_clear();
    let executed = match executed {
        Ok(x) => x,
        Err(e @ SweepError::Interrupted { .. }) => {
            eprintln!("{e} (stored in {})", out.join("runs").display());
            return ExitCode::from(EXIT_INTERRUPTED);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let wall = started.elapsed().as_secs_f64();
    if !args.quiet {
        eprintln!(
            "{} runs computed, {} found stored, in {wall:.1} s",
            executed.computed, executed.reused
        );
    }
    if let Some(s) = shard {
        println!(
            "shard {}/{}: {} runs stored in {}\n  combine the shards with: certfleet merge <shard folders> --out <folder>",
            s.index,
            s.count,
            which.len(),
            out.join("runs").display()
        );
        return ExitCode::SUCCESS;
    }
    finish(
        output::write_outputs(&plan.manifest, &executed.records, &out),
        args.quiet,
        &out,
    )
}

fn finish(outcome: Result<SweepOutcome, SweepError>, quiet: bool, out: &Path) -> ExitCode {
    match outcome {
        Ok(o) => {
            if !quiet {
                print_table(&o);
            }
            println!("{}", o.recommendation.text);
            if !quiet {
                println!("\n  outputs in {}", o.dir.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: could not write the sweep outputs to {}: {e}",
                out.display()
            );
            ExitCode::from(EXIT_FAILED)
        }
    }
}

pub fn merge(args: MergeArgs) -> ExitCode {
    match sweep::merge(&args.dirs, &args.out) {
        Err(e @ SweepError::Merge(_)) => bad(e),
        outcome => finish(outcome, args.quiet, &args.out),
    }
}
