//! Parameter sweeps with replications (issue 6): vary one or more scenario
//! values over a grid, run R replications of each point in parallel, and
//! report each point's mean and 95 % confidence interval, charts and a
//! recommendation against targets.
//!
//! - [`spec`]: the `[sweep]` table and `--param` strings;
//! - [`grid`]: points, editing the scenario text at key paths, seeds, keys;
//! - [`record`]: one finished run's result, stored as its own file;
//! - [`stats`], [`recommend`], [`chart`]: statistics, the recommendation
//!   and the SVG charts;
//! - [`output`]: the files of a finished sweep, and merging shards.
//!
//! Results never depend on the thread count or on sharding: every run's
//! seed comes from (scenario seed, point, replication), runs are
//! independent, and statistics are computed in (point, replication) order.

pub mod chart;
pub mod grid;
pub mod output;
mod page;
pub mod recommend;
pub mod record;
pub mod spec;
pub mod stats;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::Scenario;
use crate::report::Summary;
use crate::simulation::{RunError, RunOptions, Simulation};
pub use grid::{Point, Task};
pub use output::{merge, write_outputs, SweepOutcome};
pub use record::RunRecord;
pub use spec::{Param, ParamValue, SweepSpec, Targets};

/// Why a sweep could not be planned, run or merged.
#[derive(Debug)]
pub enum SweepError {
    /// The sweep's description is wrong (in the `[sweep]` table or on the
    /// command line): where and why.
    Spec {
        file: PathBuf,
        position: Option<(usize, usize)>,
        key: String,
        message: String,
    },
    /// The scenario file itself is invalid (before any sweep value).
    Scenario(crate::scenario::ScenarioErrors),
    /// One point's values do not fit the scenario.
    Point { point: String, message: String },
    /// A run failed.
    Run {
        point: String,
        replication: u32,
        source: RunError,
    },
    /// Ctrl-C: the finished runs are stored and a rerun resumes.
    Interrupted { done: usize, total: usize },
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Shard folders that cannot be merged.
    Merge(String),
}

impl SweepError {
    pub fn spec(
        file: &Path,
        position: Option<(usize, usize)>,
        key: &str,
        message: impl Into<String>,
    ) -> Self {
        SweepError::Spec {
            file: file.to_path_buf(),
            position,
            key: key.to_string(),
            message: message.into(),
        }
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        SweepError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepError::Spec {
                file,
                position,
                key,
                message,
            } => {
                write!(f, "{}", file.display())?;
                if let Some((l, c)) = position {
                    write!(f, ":{l}:{c}")?;
                }
                f.write_str(": ")?;
                if !key.is_empty() {
                    write!(f, "`{key}`: ")?;
                }
                f.write_str(message)
            }
            SweepError::Scenario(e) => write!(f, "invalid scenario\n{e}"),
            SweepError::Point { point, message } => write!(f, "sweep point {point}: {message}"),
            SweepError::Run {
                point,
                replication,
                source,
            } => write!(f, "run {point}, replication {replication}: {source}"),
            SweepError::Interrupted { done, total } => write!(
                f,
                "interrupted with {done} of {total} runs stored; run the same command again to resume"
            ),
            SweepError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            SweepError::Merge(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SweepError {}

pub const MANIFEST_FORMAT: &str = "certfleet-sweep-plan/1";

/// Everything that determines a sweep's outputs, apart from the run
/// records: written into `sweep.json` and each shard's `shard.json`, so that
/// `merge` needs no scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub scenario: String,
    pub certfleet_version: String,
    /// The scenario's own seed, from which every run's seed is derived.
    pub seed: u64,
    /// `--scale`, if given.
    pub scale: Option<f64>,
    pub spec: SweepSpec,
    pub points: Vec<Point>,
    /// Point-major: every replication of point 0, then point 1, ...
    pub tasks: Vec<Task>,
}

/// A sweep ready to run: the manifest and each point's resolved scenario.
pub struct Plan {
    pub manifest: Manifest,
    /// Per point, before its replication's seed is set.
    pub scenarios: Vec<Scenario>,
}

impl Plan {
    /// Resolves every point (errors before anything runs) and derives every
    /// run's seed and key. `text` is the scenario file's text.
    pub fn new(
        text: &str,
        file: &Path,
        mut spec: SweepSpec,
        scale: Option<f64>,
    ) -> Result<Plan, SweepError> {
        spec::shorten_names(&mut spec.params);
        // A scaled fleet is held to the same question: absolute targets
        // (requests in the busiest hour) scale with it.
        if let Some(f) = scale {
            spec.targets.max_peak_per_hour = spec.targets.max_peak_per_hour.map(|p| p * f);
        }
        let base = crate::scenario::parse(text, file).map_err(SweepError::Scenario)?;
        if spec.params.is_empty() {
            return Err(SweepError::spec(
                file,
                None,
                "sweep.params",
                "nothing to sweep: add [[sweep.params]] to the scenario or give --param PATH=VALUES, e.g. --param 'cohorts.*.client.renewal.window=7d..90d/7d'",
            ));
        }
        if spec.replications == 0 {
            return Err(SweepError::spec(
                file,
                None,
                "sweep.replications",
                "at least one replication is needed",
            ));
        }
        let points =
            grid::points(&spec).map_err(|m| SweepError::spec(file, None, "sweep.params", m))?;
        let scenarios: Vec<Scenario> = points
            .iter()
            .map(|p| grid::resolve_point(text, file, &spec, p, scale))
            .collect::<Result<_, _>>()?;
        let mut tasks = Vec::with_capacity(points.len() * spec.replications as usize);
        for (i, (point, s)) in points.iter().zip(&scenarios).enumerate() {
            for r in 0..spec.replications {
                let mut run = s.clone();
                run.seed = grid::seed_for(s.seed, point, r);
                tasks.push(Task {
                    point: i,
                    replication: r,
                    seed: run.seed,
                    key: grid::run_key(&run),
                });
            }
        }
        Ok(Plan {
            manifest: Manifest {
                format: MANIFEST_FORMAT.to_string(),
                scenario: base.name.clone(),
                certfleet_version: crate::VERSION.to_string(),
                seed: base.seed,
                scale,
                spec,
                points,
                tasks,
            },
            scenarios,
        })
    }

    /// The scenario of one task, seed included.
    pub fn scenario_of(&self, task: &Task) -> Scenario {
        let mut s = self.scenarios[task.point].clone();
        s.seed = task.seed;
        s
    }
}

/// Shard `index` of `count` (0-based): the tasks whose position in the
/// point-major order is `index` modulo `count`, so every shard gets a share
/// of every part of the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/n` with 0 ≤ i < n.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || {
            format!("--shard {text:?}: expected I/N with 0 ≤ I < N, e.g. --shard 0/4 (shards are numbered from 0, like JOB_COMPLETION_INDEX)")
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn tasks(&self, total: usize) -> Vec<usize> {
        (self.index..total).step_by(self.count).collect()
    }
}

/// How the runs of a sweep went.
pub struct Executed {
    /// Records of the tasks run, in task order (same length as the list given).
    pub records: Vec<RunRecord>,
    /// Runs computed now.
    pub computed: usize,
    /// Runs found stored under `runs/` and not recomputed.
    pub reused: usize,
}

/// What `execute` reports as it goes.
pub trait Progress: Sync {
    /// `done` of `total` runs are stored (found or computed).
    fn runs_done(&self, done: usize, total: usize);
}

impl<F: Fn(usize, usize) + Sync> Progress for F {
    fn runs_done(&self, done: usize, total: usize) {
        self(done, total)
    }
}

/// Runs the given tasks (indices into `plan.manifest.tasks`) in parallel
/// on `pool`, storing each finished run's record under `runs`, and reusing
/// records stored there by an earlier, interrupted sweep.
pub fn execute(
    plan: &Plan,
    which: &[usize],
    runs: &Path,
    pool: &rayon::ThreadPool,
    progress: &dyn Progress,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Executed, SweepError> {
    std::fs::create_dir_all(runs).map_err(|e| SweepError::io(runs, e))?;
    let tasks = &plan.manifest.tasks;
    let found: Vec<Option<RunRecord>> = which
        .iter()
        .map(|&t| record::read_record(runs, &tasks[t].key))
        .collect();
    let reused = found.iter().filter(|r| r.is_some()).count();
    let total = which.len();
    let done = AtomicUsize::new(reused);
    progress.runs_done(reused, total);
    let todo: Vec<usize> = (0..total).filter(|&i| found[i].is_none()).collect();
    let run_one = |i: usize| -> Result<RunRecord, SweepError> {
        let task = &tasks[which[i]];
        let point = &plan.manifest.points[task.point];
        if stop() {
            return Err(SweepError::Interrupted {
                done: done.load(Ordering::SeqCst),
                total,
            });
        }
        let scenario = plan.scenario_of(task);
        let result =
            Simulation::run_until(&scenario, RunOptions::default(), stop).map_err(|source| {
                match source {
                    RunError::Interrupted { .. } => SweepError::Interrupted {
                        done: done.load(Ordering::SeqCst),
                        total,
                    },
                    source => SweepError::Run {
                        point: point.label.clone(),
                        replication: task.replication,
                        source,
                    },
                }
            })?;
        let summary = Summary::new(&result);
        let rec = RunRecord::new(&task.key, &point.label, task.replication, &summary);
        let path = record::record_path(runs, &task.key);
        record::write_atomic(&path, rec.to_json().as_bytes())
            .map_err(|e| SweepError::io(&path, e))?;
        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
        progress.runs_done(n, total);
        Ok(rec)
    };
    let computed: Vec<Result<RunRecord, SweepError>> =
        pool.install(|| todo.par_iter().map(|&i| run_one(i)).collect());
    let computed_n = computed.len();
    let mut computed = computed.into_iter();
    let mut records = Vec::with_capacity(total);
    let mut first_error = None;
    for slot in found {
        match slot {
            Some(r) => records.push(r),
            None => match computed.next().expect("one result per task to run") {
                Ok(r) => records.push(r),
                Err(e) => {
                    // Prefer a real failure over "interrupted".
                    if first_error.is_none()
                        || matches!(first_error, Some(SweepError::Interrupted { .. }))
                    {
                        first_error = Some(e);
                    }
                }
            },
        }
    }
    if let Some(mut e) = first_error {
        if let SweepError::Interrupted { done: d, .. } = &mut e {
            *d = done.load(Ordering::SeqCst);
        }
        return Err(e);
    }
    Ok(Executed {
        records,
        computed: computed_n,
        reused,
    })
}
