//! What a run leaves behind: `summary.json`, `timeseries.csv`,
//! `daily.csv`, `waits.csv`, `cohorts.csv`, `invalid_daily.csv`, charts (`charts/*.png`, `*.svg`),
//! `report.html`, and the summary printed for people; and the side-by-side
//! report of several runs (`compare`).

pub mod after_events;
pub mod charts;
pub mod compare;
mod files;
pub mod headline;
pub mod html;
pub mod summary;
pub mod tables;
mod text;
pub mod units;

use std::io;
use std::path::{Path, PathBuf};

pub use files::StagedDir;
pub use summary::{Summary, FORMAT};
pub use text::print_summary;

use crate::simulation::RunResult;

/// The folder, inside an output folder, that holds the charts.
pub const CHARTS_DIR: &str = "charts";

/// Writes the rendered charts into `charts/` of a staged folder.
fn write_charts(staged: &StagedDir, charts: &[charts::Rendered]) -> io::Result<()> {
    staged.create_dir(CHARTS_DIR)?;
    for chart in charts {
        staged.write(&format!("{CHARTS_DIR}/{}.png", chart.name), |w| {
            w.write_all(&chart.png)
        })?;
        staged.write(&format!("{CHARTS_DIR}/{}.svg", chart.name), |w| {
            w.write_all(chart.svg.as_bytes())
        })?;
    }
    Ok(())
}

/// Writes every output file of a run into `dir`, atomically. summary.json
/// comes last: its presence marks a complete folder (`compare` relies on it).
pub fn write_run(result: &RunResult, dir: &Path) -> io::Result<(PathBuf, Summary)> {
    let summary = Summary::new(result);
    let staged = StagedDir::create(dir)?;
    staged.write("timeseries.csv", |w| tables::write_timeseries(result, w))?;
    staged.write("cohorts.csv", |w| tables::write_cohorts(&summary, w))?;
    staged.write("daily.csv", |w| tables::write_daily(result, w))?;
    staged.write("waits.csv", |w| tables::write_waits(result, w))?;
    staged.write("invalid_daily.csv", |w| {
        tables::write_invalid_daily(result, w)
    })?;
    let rendered = charts::render_all(&charts::run_charts(result, &summary))?;
    write_charts(&staged, &rendered)?;
    let page = html::run_report(&summary, &rendered);
    staged.write("report.html", |w| w.write_all(page.as_bytes()))?;
    staged.write("summary.json", |w| write_summary_json(&summary, w))?;
    Ok((staged.commit()?, summary))
}

/// `summary.json` as written into the output folder (`run --json` prints
/// the same bytes on stdout).
pub fn write_summary_json(summary: &Summary, w: &mut dyn io::Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, summary).map_err(io::Error::other)?;
    w.write_all(b"\n")
}
