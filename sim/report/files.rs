//! Writing a run's files so that a report is either complete or absent.
//!
//! Files are written into a hidden staging folder next to the destination;
//! only when all of them are written is the staging folder swapped in place
//! of the destination (two renames). An interrupted or failed run leaves the
//! previous complete outputs untouched and never a half-written report.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct StagedDir {
    staging: PathBuf,
    destination: PathBuf,
    committed: bool,
}

impl StagedDir {
    pub fn create(destination: &Path) -> io::Result<Self> {
        let parent = destination
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent)?;
        let name = destination
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if staging.exists() {
            fs::remove_dir_all(&staging)?;
        }
        fs::create_dir_all(&staging)?;
        Ok(StagedDir {
            staging,
            destination: destination.to_path_buf(),
            committed: false,
        })
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.staging.join(file)
    }

    /// Creates a subfolder (e.g. `charts`) inside the staged folder.
    pub fn create_dir(&self, dir: &str) -> io::Result<()> {
        fs::create_dir_all(self.path(dir))
    }

    /// Writes one file through a buffered writer.
    pub fn write(
        &self,
        file: &str,
        body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut out = BufWriter::new(fs::File::create(self.path(file))?);
        body(&mut out)?;
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    }

    /// Swaps the staged folder in place of the destination.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        let old = self.staging.with_file_name(format!(
            ".{}.old-{}",
            self.destination
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        if self.destination.exists() {
            fs::rename(&self.destination, &old)?;
        }
        fs::rename(&self.staging, &self.destination)?;
        self.committed = true;
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        Ok(self.destination.clone())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}
