//! The resolved scenario: validated, paths absolute, ready for the planner.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Location;
use crate::expr::Expr;
use crate::geometry::Coordinates;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// One unit per (postal code); CRM rules route by postal code.
    #[default]
    PostalCode,
    /// One unit per account.
    Account,
}

#[derive(Debug, Clone)]
pub struct Balance {
    pub metric: String,
    pub tolerance: f64,
    pub location: Location,
}

/// Solver knobs a scenario may set; defaults suit plans of any size.
#[derive(Debug, Clone, PartialEq)]
pub struct SolverSettings {
    /// Candidate territories per unit in the LP (widened where infeasible).
    pub candidates: usize,
    /// Location–allocation rounds (assignment, then re-centring).
    pub rounds: usize,
    /// Independent restarts, run in parallel; the best is kept.
    pub restarts: usize,
    /// Keep territories connected on the unit adjacency graph.
    pub contiguity: bool,
    /// Seed the local search from the candidate-list LP: auto (when small), always, never.
    pub lp: LpSetting,
}

impl Default for SolverSettings {
    fn default() -> Self {
        SolverSettings {
            candidates: 8,
            rounds: 8,
            restarts: 1,
            contiguity: true,
            lp: LpSetting::Auto,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LpSetting {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub struct QuotaSettings {
    pub target: f64,
    pub over_assignment: f64,
    pub ramp: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub source: PathBuf,
    pub name: String,
    pub seed: u64,
    pub accounts_path: PathBuf,
    pub reps_path: Option<PathBuf>,
    pub coordinates: Coordinates,
    pub unit: UnitKind,
    pub territories: Option<usize>,
    pub territories_location: Location,
    pub balance: Vec<Balance>,
    /// Metric that weights each unit's distance in the objective.
    pub weight: String,
    pub weight_location: Location,
    /// Formulas from `[metrics]`, overriding the built-in definitions.
    pub metrics: BTreeMap<String, (Expr, Location)>,
    pub solver: SolverSettings,
    pub quota: Option<QuotaSettings>,
}
