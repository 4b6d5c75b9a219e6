//! The integration tests, in one binary (see STYLE.md).

mod errors;
mod fuzz;
mod outputs;
