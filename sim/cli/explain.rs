//! `certfleet presets` and `certfleet explain`.

use std::path::Path;
use std::process::ExitCode;

use certfleet::presets::{self, PRESETS};

use super::EXIT_BAD_INPUT;

pub fn presets(name: Option<&str>) -> ExitCode {
    match name {
        None => {
            println!("Presets (use as `client = \"NAME\"` in a cohort; `certfleet presets NAME` shows one in full):\n");
            for p in PRESETS {
                println!("  {:<16} {}", p.name, p.summary);
            }
            println!(
                "\nOverride any value: client = {{ preset = \"intune-mdm\", retry_interval = \"5d\" }}; \
a variant: client = {{ preset = \"intune-scep\", variant = \"ios\" }}."
            );
            ExitCode::SUCCESS
        }
        Some(name) => match presets::find(name) {
            Some(p) => {
                println!("{}", p.text.trim_end());
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "error: no preset named {name:?}\n  hint: presets are: {}",
                    presets::names().join(", ")
                );
                ExitCode::from(EXIT_BAD_INPUT)
            }
        },
    }
}

pub fn explain(path: &Path) -> ExitCode {
    let scenario = match certfleet::scenario::load(path) {
        Ok(s) => s,
        Err(errors) => {
            eprintln!("error: invalid scenario\n{errors}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    match toml::to_string_pretty(&scenario) {
        Ok(text) => {
            println!(
                "# {} resolved: presets expanded, defaults filled in.\n",
                path.display()
            );
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: could not print the resolved scenario: {e}");
            ExitCode::from(super::EXIT_FAILED)
        }
    }
}
