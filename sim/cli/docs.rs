//! What certfleet generates about itself for shells, manuals and editors:
//! `certfleet completions SHELL`, `certfleet man`, `certfleet schema`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, EXIT_BAD_INPUT, EXIT_FAILED};

/// The completion script for `shell` on stdout.
pub fn completions(shell: Shell) -> ExitCode {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "certfleet", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// The man page of certfleet (or of one command) on stdout, or every page
/// written into `out` (certfleet.1, certfleet-run.1, …).
pub fn man(command: Option<&str>, out: Option<&Path>) -> ExitCode {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    if let Some(dir) = out {
        return match write_pages(&root, dir) {
            Ok(n) => {
                eprintln!("wrote {n} man pages into {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => e,
        };
    }
    let page = match command {
        None => root,
        Some(name) => match root.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                eprintln!(
                    "error: certfleet has no command {name:?}\n  hint: commands: {}",
                    command_names(&root).join(", ")
                );
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        },
    };
    let mut stdout = std::io::stdout().lock();
    match clap_mangen::Man::new(page).render(&mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: could not print the man page: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn command_names(root: &clap::Command) -> Vec<String> {
    root.get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Writes one page per command. A file of the same name that is not a
/// certfleet man page is left alone and the command fails: certfleet
/// never replaces a file it did not write.
fn write_pages(root: &clap::Command, dir: &Path) -> Result<usize, ExitCode> {
    let failed = |what: String| {
        eprintln!("error: {what}\n  hint: check that the folder is writable");
        ExitCode::from(EXIT_FAILED)
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
    let pages: Vec<clap::Command> = std::iter::once(root.clone())
        .chain(root.get_subcommands().filter(|c| !c.is_hide_set()).cloned())
        .collect();
    let pages: Vec<clap_mangen::Man> = pages.into_iter().map(clap_mangen::Man::new).collect();
    // Check every target first, so a refusal leaves the folder as it was.
    for man in &pages {
        let path = dir.join(man.get_filename());
        if path.exists() && !is_our_page(&path) {
            eprintln!(
                "error: {} exists and is not a certfleet man page\n  hint: write the pages into another folder, or move that file away",
                path.display()
            );
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
    }
    for man in &pages {
        let path = dir.join(man.get_filename());
        let mut text = Vec::new();
        man.render(&mut text)
            .and_then(|()| std::fs::write(&path, &text))
            .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(pages.len())
}

/// A page clap_mangen wrote for certfleet: `.TH certfleet…` near the top.
fn is_our_page(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .is_ok_and(|text| text.lines().take(5).any(|l| l.starts_with(".TH certfleet")))
}

/// The JSON Schema of the scenario format on stdout.
pub fn schema() -> ExitCode {
    let schema = certfleet::scenario::schema::scenario_schema();
    let mut stdout = std::io::stdout().lock();
    let written = serde_json::to_writer_pretty(&mut stdout, &schema)
        .map_err(std::io::Error::other)
        .and_then(|()| writeln!(stdout));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: could not print the schema: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
