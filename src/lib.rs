//! terraplan: balanced sales territories, CRM assignment rules, quotas and scenarios.
//!
//! Data flows one way: [`io`] reads and validates, [`units`] groups accounts, [`solve`]
//! partitions (no I/O), [`planner`] drives it and builds the [`model::Plan`], [`io::output`]
//! writes it, and [`check`] re-verifies written plans independently of the solver.

// Numeric kernels index several parallel arrays by the same unit, group or metric index.
#![allow(clippy::needless_range_loop)]

pub mod check;
pub mod compare;
pub mod coverage;
pub mod error;
pub mod export;
pub mod expr;
pub mod generate;
pub mod geometry;
pub mod hierarchy;
pub mod io;
pub mod metrics;
pub mod model;
pub mod overlay;
pub mod planner;
pub mod quota;
pub mod report;
pub mod rules;
pub mod segment;
pub mod solve;
pub mod units;

pub use error::{Error, InputError, Result};
