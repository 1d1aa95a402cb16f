//! Reading and validating inputs, writing outputs. Nothing here decides anything.

pub mod accounts;
pub mod csv_util;
pub mod members;
pub mod output;
pub mod reps;
pub mod scenario;

pub use accounts::read_accounts;
pub use reps::{load_reps, read_reps};
pub use scenario::read_scenario;
