//! The files of a finished sweep, written from the manifest and the run
//! records only — so a sweep on one machine and the merge of its shards
//! write the same bytes:
//!
//! - `sweep.csv`: one row per point, the parameter values, then mean and
//!   95 % CI of each metric, and whether the point meets the targets;
//! - `runs.csv`: one row per run (point × replication);
//! - `sweep.json`: the plan, every point's statistics, the recommendation;
//! - `recommendation.txt`: the recommendation as printed;
//! - `expiry_rate`, `peak_load`, `tradeoff` (`.svg` and `.png`): the charts;
//! - `sweep.html`: a self-contained page with the recommendation, the
//!   table and the charts;
//! - `runs/<key>.json`: every run's record (what a later sweep resumes from).

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::chart::{Chart, Series};
use super::recommend::{self, Candidate, Recommendation};
use super::record::{self, Metric, RunRecord};
use super::spec::ParamValue;
use super::stats::MetricStats;
use super::{Manifest, Shard, SweepError};
use crate::report::{units, StagedDir};

pub const SWEEP_FORMAT: &str = "certfleet-sweep/1";
pub const SHARD_FORMAT: &str = "certfleet-sweep-shard/1";

/// The statistics of one point over its replications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointStats {
    pub point: String,
    pub values: IndexMap<String, ParamValue>,
    pub replications: u32,
    /// Whether the point meets every target (absent without targets).
    pub meets_targets: Option<bool>,
    pub metrics: IndexMap<String, MetricStats>,
    /// Each cohort's expiry rate.
    pub cohort_expiry_rate: IndexMap<String, MetricStats>,
}

/// What a finished sweep wrote and concluded.
pub struct SweepOutcome {
    pub dir: PathBuf,
    pub points: Vec<PointStats>,
    pub recommendation: Recommendation,
}

#[derive(Serialize)]
struct SweepJson<'a> {
    format: &'static str,
    scenario: &'a str,
    certfleet_version: &'a str,
    replications: u32,
    targets: &'a super::Targets,
    recommendation: &'a Recommendation,
    points: &'a [PointStats],
    plan: &'a Manifest,
}

/// A shard's folder: which shard, and the plan it belongs to.
#[derive(Serialize, Deserialize)]
pub struct ShardFile {
    pub format: String,
    pub shard: Shard,
    pub plan: Manifest,
}

fn stats_of(manifest: &Manifest, records: &[RunRecord]) -> Vec<PointStats> {
    let mut by_point: Vec<Vec<&RunRecord>> = vec![Vec::new(); manifest.points.len()];
    for (task, rec) in manifest.tasks.iter().zip(records) {
        by_point[task.point].push(rec);
    }
    let targets = &manifest.spec.targets;
    manifest
        .points
        .iter()
        .zip(by_point)
        .map(|(point, recs)| {
            // Expired devices, pooled over the replications (a share times
            // its count of devices is the count it came from).
            let pooled = |pairs: &mut dyn Iterator<Item = (f64, u64)>| {
                pairs.fold((0u64, 0u64), |(x, n), (rate, devices)| {
                    (x + (rate * devices as f64).round() as u64, n + devices)
                })
            };
            let metrics: IndexMap<String, MetricStats> = Metric::ALL
                .iter()
                .map(|m| {
                    let v: Vec<f64> = recs.iter().map(|r| m.of(r)).collect();
                    let mut stats = MetricStats::of(&v);
                    if *m == Metric::ExpiryRate {
                        let (x, n) = pooled(&mut recs.iter().map(|r| (r.expiry_rate, r.devices)));
                        stats = stats.with_pooled_binomial(x, n);
                    }
                    (m.id().to_string(), stats)
                })
                .collect();
            let mut cohort_expiry_rate = IndexMap::new();
            if let Some(first) = recs.first() {
                for name in first.cohorts.keys() {
                    let cohort = |r: &RunRecord| {
                        r.cohorts
                            .get(name)
                            .map_or((0.0, 0), |c| (c.expiry_rate, c.devices))
                    };
                    let v: Vec<f64> = recs.iter().map(|r| cohort(r).0).collect();
                    let (x, n) = pooled(&mut recs.iter().map(|r| cohort(r)));
                    cohort_expiry_rate
                        .insert(name.clone(), MetricStats::of(&v).with_pooled_binomial(x, n));
                }
            }
            let candidate = candidate(&point.label, &metrics);
            PointStats {
                point: point.label.clone(),
                values: manifest
                    .spec
                    .params
                    .iter()
                    .zip(&point.values)
                    .map(|(p, v)| (p.name.clone(), v.clone()))
                    .collect(),
                replications: recs.len() as u32,
                meets_targets: recommend::meets(&candidate, targets),
                metrics,
                cohort_expiry_rate,
            }
        })
        .collect()
}

fn candidate(label: &str, metrics: &IndexMap<String, MetricStats>) -> Candidate {
    Candidate {
        label: label.to_string(),
        expiry_rate: metrics[Metric::ExpiryRate.id()],
        peak_hour: metrics[Metric::PeakHour.id()],
    }
}

fn num(x: f64) -> String {
    format!("{x}")
}

fn write_sweep_csv(m: &Manifest, points: &[PointStats], w: &mut dyn Write) -> io::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    let mut header: Vec<String> = m.spec.params.iter().map(|p| p.name.clone()).collect();
    header.push("replications".into());
    for metric in Metric::ALL {
        for suffix in ["mean", "ci95_low", "ci95_high"] {
            header.push(format!("{}_{suffix}", metric.id()));
        }
    }
    header.push("meets_targets".into());
    csv.write_record(&header)?;
    for p in points {
        let mut row: Vec<String> = p.values.values().map(|v| v.to_string()).collect();
        row.push(p.replications.to_string());
        for metric in Metric::ALL {
            let s = &p.metrics[metric.id()];
            row.push(num(s.mean));
            match s.ci95 {
                Some([lo, hi]) => {
                    row.push(num(lo));
                    row.push(num(hi));
                }
                None => row.extend([String::new(), String::new()]),
            }
        }
        row.push(match p.meets_targets {
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
            None => String::new(),
        });
        csv.write_record(&row)?;
    }
    csv.flush()
}

fn write_runs_csv(m: &Manifest, records: &[RunRecord], w: &mut dyn Write) -> io::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    let mut header: Vec<String> = m.spec.params.iter().map(|p| p.name.clone()).collect();
    header.extend(
        [
            "replication",
            "seed",
            "devices",
            "expiry_rate",
            "stranded",
            "peak_minute_arrivals",
            "peak_hour_arrivals",
            "wait_p99_s",
            "refused",
            "events",
            "key",
        ]
        .map(String::from),
    );
    csv.write_record(&header)?;
    for (task, r) in m.tasks.iter().zip(records) {
        let mut row: Vec<String> = m.points[task.point]
            .values
            .iter()
            .map(|v| v.to_string())
            .collect();
        row.extend([
            r.replication.to_string(),
            r.seed.to_string(),
            r.devices.to_string(),
            num(r.expiry_rate),
            r.stranded.to_string(),
            r.peak_minute_arrivals.to_string(),
            r.peak_hour_arrivals.to_string(),
            num(r.wait_p99_s),
            r.refused.to_string(),
            r.events.to_string(),
            r.key.clone(),
        ]);
        csv.write_record(&row)?;
    }
    csv.flush()
}

/// The x axis: the first parameter's values as numbers (durations in days),
/// or their positions in the list when they are not numbers.
fn x_axis(m: &Manifest) -> (String, Vec<f64>) {
    let first = &m.spec.params[0];
    let numeric = first.values.iter().all(|v| v.as_number().is_some());
    let days = first.values.iter().all(ParamValue::is_duration);
    let xs = m
        .points
        .iter()
        .map(|p| {
            let v = &p.values[0];
            if numeric {
                v.as_number().unwrap_or(0.0)
            } else {
                first.values.iter().position(|x| x == v).unwrap_or(0) as f64
            }
        })
        .collect();
    let label = if days {
        format!("{} (days)", first.name)
    } else if numeric {
        first.name.clone()
    } else {
        let list: Vec<String> = first
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{i}: {v}"))
            .collect();
        format!("{} ({})", first.name, list.join(", "))
    };
    (label, xs)
}

/// Points grouped by the values of the parameters after the first: one
/// series per group, in order of first appearance.
fn groups(m: &Manifest) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, p) in m.points.iter().enumerate() {
        let rest = m.spec.params[1..]
            .iter()
            .zip(&p.values[1..])
            .map(|(param, v)| format!("{}={v}", param.name))
            .collect::<Vec<_>>()
            .join(", ");
        match out.iter_mut().find(|(l, _)| *l == rest) {
            Some((_, members)) => members.push(i),
            None => out.push((rest, vec![i])),
        }
    }
    out
}

/// A metric against the first parameter: `(metric, scale)` (the factor
/// shown values are multiplied by), `(title, y label)`.
fn metric_chart(
    m: &Manifest,
    points: &[PointStats],
    (metric, scale): (Metric, f64),
    (title, y_label): (&str, &str),
    target: Option<(f64, String)>,
    best: Option<usize>,
) -> Chart {
    let (x_label, xs) = x_axis(m);
    let series = groups(m)
        .into_iter()
        .map(|(label, members)| {
            let stat = |i: usize| points[i].metrics[metric.id()];
            let band = members.iter().all(|&i| stat(i).ci95.is_some()).then(|| {
                (
                    members
                        .iter()
                        .map(|&i| stat(i).ci95.map_or(0.0, |c| c[0]) * scale)
                        .collect(),
                    members
                        .iter()
                        .map(|&i| stat(i).ci95.map_or(0.0, |c| c[1]) * scale)
                        .collect(),
                )
            });
            Series {
                label,
                xs: members.iter().map(|&i| xs[i]).collect(),
                ys: members.iter().map(|&i| stat(i).mean * scale).collect(),
                band,
                joined: true,
                ..Series::default()
            }
        })
        .collect();
    Chart {
        title: title.to_string(),
        x_label,
        y_label: y_label.to_string(),
        series,
        hlines: target.into_iter().collect(),
        vlines: Vec::new(),
        highlight: best.map(|i| {
            (
                xs[i],
                points[i].metrics[metric.id()].mean * scale,
                format!("recommended: {}", m.points[i].label),
            )
        }),
    }
}

fn charts(m: &Manifest, points: &[PointStats], best: Option<usize>) -> [(String, Chart); 3] {
    let r = m.spec.replications;
    let t = &m.spec.targets;
    let expiry = metric_chart(
        m,
        points,
        (Metric::ExpiryRate, 100.0),
        (
            &format!(
                "{}: expiry rate (mean and 95 % CI of {r} replications)",
                m.scenario
            ),
            "devices whose certificate expired (%)",
        ),
        t.max_expiry_rate
            .map(|e| (e * 100.0, format!("target {}", units::share(e)))),
        best,
    );
    let peak = metric_chart(
        m,
        points,
        (Metric::PeakHour, 1.0),
        (
            &format!(
                "{}: CA requests in the busiest hour (mean and 95 % CI)",
                m.scenario
            ),
            "CA arrivals in the busiest hour",
        ),
        t.max_peak_per_hour
            .map(|p| (p, format!("target {}/h", units::number(p)))),
        best,
    );
    let first = &m.spec.params[0];
    let tradeoff = Chart {
        title: format!(
            "{}: expiry rate against peak CA load, one dot per {}",
            m.scenario, first.name
        ),
        x_label: "CA arrivals in the busiest hour (mean, 95 % CI bars)".into(),
        y_label: "expiry rate (%, mean, 95 % CI bars)".into(),
        series: groups(m)
            .into_iter()
            .map(|(label, members)| {
                let e = |i: usize| points[i].metrics[Metric::ExpiryRate.id()];
                let p = |i: usize| points[i].metrics[Metric::PeakHour.id()];
                let ci = |s: MetricStats| s.ci95.unwrap_or([s.mean, s.mean]);
                Series {
                    label,
                    xs: members.iter().map(|&i| p(i).mean).collect(),
                    ys: members.iter().map(|&i| e(i).mean * 100.0).collect(),
                    band: None,
                    errors: Some(
                        members
                            .iter()
                            .map(|&i| {
                                let (pc, ec) = (ci(p(i)), ci(e(i)));
                                [pc[0], pc[1], ec[0] * 100.0, ec[1] * 100.0]
                            })
                            .collect(),
                    ),
                    point_labels: Some(
                        members
                            .iter()
                            .map(|&i| m.points[i].values[0].to_string())
                            .collect(),
                    ),
                    joined: true,
                }
            })
            .collect(),
        hlines: t
            .max_expiry_rate
            .map(|e| (e * 100.0, format!("target {}", units::share(e))))
            .into_iter()
            .collect(),
        vlines: t
            .max_peak_per_hour
            .map(|p| (p, format!("target {}/h", units::number(p))))
            .into_iter()
            .collect(),
        highlight: best.map(|i| {
            (
                points[i].metrics[Metric::PeakHour.id()].mean,
                points[i].metrics[Metric::ExpiryRate.id()].mean * 100.0,
                format!("recommended: {}", m.points[i].label),
            )
        }),
    };
    [
        ("expiry_rate.svg".into(), expiry),
        ("peak_load.svg".into(), peak),
        ("tradeoff.svg".into(), tradeoff),
    ]
}

/// The recommendation with a header naming the sweep, as written to
/// `recommendation.txt` and printed.
pub fn recommendation_text(m: &Manifest, rec: &Recommendation) -> String {
    format!(
        "certfleet {} sweep of {} — {} points × {} replications\nCriterion: {}.\n{}\n",
        m.certfleet_version,
        m.scenario,
        m.points.len(),
        m.spec.replications,
        rec.criterion,
        rec.text
    )
}

/// Writes every output of a finished sweep into `out`, atomically (the
/// folder is replaced as a whole). `records` follow `manifest.tasks`.
pub fn write_outputs(
    manifest: &Manifest,
    records: &[RunRecord],
    out: &Path,
) -> Result<SweepOutcome, SweepError> {
    assert_eq!(records.len(), manifest.tasks.len(), "one record per task");
    let points = stats_of(manifest, records);
    let candidates: Vec<Candidate> = points
        .iter()
        .map(|p| candidate(&p.point, &p.metrics))
        .collect();
    let recommendation = recommend::recommend(&candidates, &manifest.spec.targets);
    let io = |e| SweepError::io(out, e);
    let staged = StagedDir::create(out).map_err(io)?;
    staged
        .write("sweep.csv", |w| write_sweep_csv(manifest, &points, w))
        .map_err(io)?;
    staged
        .write("runs.csv", |w| write_runs_csv(manifest, records, w))
        .map_err(io)?;
    let json = SweepJson {
        format: SWEEP_FORMAT,
        scenario: &manifest.scenario,
        certfleet_version: &manifest.certfleet_version,
        replications: manifest.spec.replications,
        targets: &manifest.spec.targets,
        recommendation: &recommendation,
        points: &points,
        plan: manifest,
    };
    staged
        .write("sweep.json", |w| {
            serde_json::to_writer_pretty(&mut *w, &json).map_err(io::Error::other)?;
            w.write_all(b"\n")
        })
        .map_err(io)?;
    staged
        .write("recommendation.txt", |w| {
            w.write_all(recommendation_text(manifest, &recommendation).as_bytes())
        })
        .map_err(io)?;
    let mut rendered = Vec::new();
    for (name, chart) in charts(manifest, &points, recommendation.best) {
        let (svg, png) = chart.render().map_err(|e| io(e.into()))?;
        staged
            .write(&name, |w| w.write_all(svg.as_bytes()))
            .map_err(io)?;
        let png_name = name.replace(".svg", ".png");
        staged.write(&png_name, |w| w.write_all(&png)).map_err(io)?;
        rendered.push((name, chart.title.clone(), svg));
    }
    let page = super::page::sweep_page(manifest, &points, &recommendation, &rendered);
    staged
        .write("sweep.html", |w| w.write_all(page.as_bytes()))
        .map_err(io)?;
    std::fs::create_dir_all(staged.path("runs")).map_err(io)?;
    for r in records {
        staged
            .write(&format!("runs/{}.json", r.key), |w| {
                w.write_all(r.to_json().as_bytes())
            })
            .map_err(io)?;
    }
    let dir = staged.commit().map_err(io)?;
    Ok(SweepOutcome {
        dir,
        points,
        recommendation,
    })
}

/// Writes a shard folder's `shard.json` (atomically).
pub fn write_shard_file(dir: &Path, shard: Shard, manifest: &Manifest) -> Result<(), SweepError> {
    let file = ShardFile {
        format: SHARD_FORMAT.to_string(),
        shard,
        plan: manifest.clone(),
    };
    let mut text = serde_json::to_string_pretty(&file).expect("manifests serialize");
    text.push('\n');
    let path = dir.join("shard.json");
    record::write_atomic(&path, text.as_bytes()).map_err(|e| SweepError::io(&path, e))
}

/// The plan stored in a shard or sweep folder, and the shard it ran.
fn read_plan(dir: &Path) -> Result<(Manifest, Shard), SweepError> {
    let shard_path = dir.join("shard.json");
    if let Ok(text) = std::fs::read_to_string(&shard_path) {
        let f: ShardFile = serde_json::from_str(&text).map_err(|e| {
            SweepError::Merge(format!(
                "{}: not a certfleet shard file: {e}",
                shard_path.display()
            ))
        })?;
        return Ok((f.plan, f.shard));
    }
    let sweep_path = dir.join("sweep.json");
    let text = std::fs::read_to_string(&sweep_path).map_err(|_| {
        SweepError::Merge(format!(
            "{}: no shard.json or sweep.json; give the folders written by `certfleet sweep --shard I/N`",
            dir.display()
        ))
    })?;
    let mut v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| SweepError::Merge(format!("{}: {e}", sweep_path.display())))?;
    let plan = serde_json::from_value(v["plan"].take())
        .map_err(|e| SweepError::Merge(format!("{}: no sweep plan: {e}", sweep_path.display())))?;
    Ok((plan, Shard::WHOLE))
}

/// Combines the folders of a sharded sweep into the outputs a sweep on one
/// machine writes. Every folder must hold the same plan, and together they
/// must hold a record of every run.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<SweepOutcome, SweepError> {
    let Some(first) = inputs.first() else {
        return Err(SweepError::Merge(
            "nothing to merge: give the shard folders".into(),
        ));
    };
    let (manifest, _) = read_plan(first)?;
    let mut shards = Vec::new();
    for dir in inputs {
        let (plan, shard) = read_plan(dir)?;
        if plan != manifest {
            return Err(SweepError::Merge(format!(
                "{} belongs to another sweep than {} (different scenario, parameters, scale, replications, targets or certfleet version); merge only the shards of one sweep",
                dir.display(),
                first.display()
            )));
        }
        shards.push(shard);
    }
    let mut found: HashMap<&str, RunRecord> = HashMap::new();
    let mut missing = Vec::new();
    for (i, task) in manifest.tasks.iter().enumerate() {
        let rec = inputs.iter().find_map(|dir| {
            record::read_record_of_version(
                &dir.join("runs"),
                &task.key,
                &manifest.certfleet_version,
            )
        });
        match rec {
            Some(r) => {
                found.insert(task.key.as_str(), r);
            }
            None => missing.push(i),
        }
    }
    if !missing.is_empty() {
        let count = shards.iter().map(|s| s.count).max().unwrap_or(1);
        let examples: Vec<String> = missing
            .iter()
            .take(5)
            .map(|&i| {
                let t = &manifest.tasks[i];
                format!(
                    "{} replication {} (shard {}/{count})",
                    manifest.points[t.point].label,
                    t.replication,
                    i % count
                )
            })
            .collect();
        return Err(SweepError::Merge(format!(
            "{} of {} runs are missing, e.g. {}; run (or resume) the shards that hold them and merge again",
            missing.len(),
            manifest.tasks.len(),
            examples.join("; ")
        )));
    }
    let records: Vec<RunRecord> = manifest
        .tasks
        .iter()
        .map(|t| found.remove(t.key.as_str()).expect("checked above"))
        .collect();
    write_outputs(&manifest, &records, out)
}
