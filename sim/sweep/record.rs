//! The small result record of one finished run, stored as its own file
//! `runs/<key>.json` (written to a temporary name, then renamed), so an
//! interrupted sweep keeps every run it finished and a later one finds it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::report::Summary;

pub const RECORD_FORMAT: &str = "certfleet-sweep-run/1";

/// The headline numbers of one run (docs/model.md, "What a run reports") that a sweep compares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub format: String,
    /// The run's key: certfleet version + resolved scenario (see `grid::run_key`).
    pub key: String,
    pub certfleet_version: String,
    pub point: String,
    pub replication: u32,
    pub seed: u64,
    pub devices: u64,
    pub expiry_rate: f64,
    pub stranded: u64,
    pub peak_minute_arrivals: u64,
    pub peak_hour_arrivals: u64,
    pub wait_p99_s: f64,
    pub refused: u64,
    pub events: u64,
    /// Per cohort: expiry rate and devices stranded at the end.
    pub cohorts: IndexMap<String, CohortRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CohortRecord {
    pub devices: u64,
    pub expiry_rate: f64,
    pub stranded: u64,
}

/// The metrics a sweep reports per point, in output order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    ExpiryRate,
    Stranded,
    PeakMinute,
    PeakHour,
    WaitP99,
    Refused,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::ExpiryRate,
        Metric::Stranded,
        Metric::PeakMinute,
        Metric::PeakHour,
        Metric::WaitP99,
        Metric::Refused,
    ];

    /// Column stem in sweep.csv and key in sweep.json.
    pub fn id(self) -> &'static str {
        match self {
            Metric::ExpiryRate => "expiry_rate",
            Metric::Stranded => "stranded",
            Metric::PeakMinute => "peak_minute_arrivals",
            Metric::PeakHour => "peak_hour_arrivals",
            Metric::WaitP99 => "wait_p99_s",
            Metric::Refused => "refused",
        }
    }

    pub fn of(self, r: &RunRecord) -> f64 {
        match self {
            Metric::ExpiryRate => r.expiry_rate,
            Metric::Stranded => r.stranded as f64,
            Metric::PeakMinute => r.peak_minute_arrivals as f64,
            Metric::PeakHour => r.peak_hour_arrivals as f64,
            Metric::WaitP99 => r.wait_p99_s,
            Metric::Refused => r.refused as f64,
        }
    }
}

impl RunRecord {
    pub fn new(key: &str, point: &str, replication: u32, s: &Summary) -> Self {
        RunRecord {
            format: RECORD_FORMAT.to_string(),
            key: key.to_string(),
            certfleet_version: crate::VERSION.to_string(),
            point: point.to_string(),
            replication,
            seed: s.seed,
            devices: s.totals.devices,
            expiry_rate: s.totals.expiry_rate,
            stranded: s.totals.stranded_at_end,
            peak_minute_arrivals: s.ca.peak_minute.arrivals,
            peak_hour_arrivals: s.ca.peak_hour.arrivals,
            wait_p99_s: s.ca.wait_p99_s,
            refused: s.ca.refused,
            events: s.events,
            cohorts: s
                .cohorts
                .iter()
                .map(|(name, c)| {
                    (
                        name.clone(),
                        CohortRecord {
                            devices: c.devices,
                            expiry_rate: c.expiry_rate,
                            stranded: c.stranded_at_end,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The record's file text (the same bytes wherever it is written).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("records serialize");
        s.push('\n');
        s
    }
}

/// Where the record with `key` lives under a `runs/` folder.
pub fn record_path(runs: &Path, key: &str) -> PathBuf {
    runs.join(format!("{key}.json"))
}

/// Reads a stored record; `None` when it is absent, unreadable, or was made
/// for another key or version (it is then recomputed and overwritten).
pub fn read_record(runs: &Path, key: &str) -> Option<RunRecord> {
    read_record_of_version(runs, key, crate::VERSION)
}

/// As [`read_record`], for records made by certfleet `version`.
pub fn read_record_of_version(runs: &Path, key: &str, version: &str) -> Option<RunRecord> {
    let text = fs::read_to_string(record_path(runs, key)).ok()?;
    let r: RunRecord = serde_json::from_str(&text).ok()?;
    (r.format == RECORD_FORMAT && r.key == key && r.certfleet_version == version).then_some(r)
}

/// Writes a file atomically: a temporary name in the same folder, synced,
/// then renamed over the final name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
