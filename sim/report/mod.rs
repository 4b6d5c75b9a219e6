//! What a run leaves behind: `summary.json`, `timeseries.csv`,
//! `cohorts.csv`, `invalid_daily.csv`, and the summary printed for people.

mod files;
pub mod summary;
mod tables;
mod text;

use std::io;
use std::path::{Path, PathBuf};

pub use files::StagedDir;
pub use summary::{Summary, FORMAT};
pub use text::print_summary;

use crate::simulation::RunResult;

/// Writes every output file of a run into `dir`, atomically.
pub fn write_run(result: &RunResult, dir: &Path) -> io::Result<(PathBuf, Summary)> {
    let summary = Summary::new(result);
    let staged = StagedDir::create(dir)?;
    staged.write("timeseries.csv", |w| tables::write_timeseries(result, w))?;
    staged.write("cohorts.csv", |w| tables::write_cohorts(&summary, w))?;
    staged.write("invalid_daily.csv", |w| {
        tables::write_invalid_daily(result, w)
    })?;
    staged.write("summary.json", |w| {
        serde_json::to_writer_pretty(&mut *w, &summary).map_err(io::Error::other)?;
        w.write_all(b"\n")
    })?;
    Ok((staged.commit()?, summary))
}
