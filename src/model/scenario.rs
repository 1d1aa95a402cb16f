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
    /// Territories per block when a partition is large enough to be solved in blocks
    /// (0, the default: always whole — blocks are faster at a million accounts but their
    /// plans cost more).
    pub block_size: usize,
    /// Also solve the exact MIP at the final centres, with this time limit in seconds
    /// (`plan --exact`, feature `highs`).
    pub exact: Option<f64>,
}

impl Default for SolverSettings {
    fn default() -> Self {
        SolverSettings {
            candidates: 8,
            rounds: 8,
            restarts: 1,
            contiguity: true,
            lp: LpSetting::Auto,
            block_size: 0,
            exact: None,
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

/// How a segment criterion compares an account field with its values (Salesforce's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Op {
    /// Equal to any of the values (text, case-insensitive).
    Equals,
    /// Equal to none of the values.
    NotEqual,
    LessThan,
    GreaterThan,
    LessOrEqual,
    GreaterOrEqual,
    /// Starts with any of the values (case-insensitive).
    StartsWith,
}

impl Op {
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Op::LessThan | Op::GreaterThan | Op::LessOrEqual | Op::GreaterOrEqual
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Criterion {
    pub field: String,
    pub op: Op,
    pub values: Vec<String>,
    #[serde(skip)]
    pub location: Location,
}

/// A named segment: accounts matching every criterion (first segment in file order wins;
/// one without criteria takes the rest). Reps sell into the segment named in reps.csv.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentDef {
    pub name: String,
    pub criteria: Vec<Criterion>,
    /// Territories to plan here when reps.csv does not give the count.
    pub territories: Option<usize>,
    #[serde(skip)]
    pub location: Location,
}

/// A level of the hierarchy between the segment and the territory.
#[derive(Debug, Clone, Serialize)]
pub struct LevelDef {
    pub name: String,
    /// Children per node of this level (e.g. 6 to 10 territories per district).
    pub span: (usize, usize),
    /// This level's bands as a share of the territory tolerance: by default ½ for the
    /// level above the territories, ¼ above that, …, so a parent at the edge of its band
    /// still leaves its children room.
    pub tolerance_factor: f64,
}

/// Realignment: territories start from the current owners' books.
#[derive(Debug, Clone, PartialEq)]
pub struct RealignSettings {
    /// Off only when the scenario says so; needs `owner_id` and reps.csv.
    pub enabled: bool,
    /// Moving an account costs as much as placing it this far (km, or xy units) from its
    /// territory's centre, weighted the same way.
    pub move_cost: f64,
    /// Hard budgets: share of accounts / of pipeline that may change owner by choice.
    pub max_moved_accounts: Option<f64>,
    pub max_moved_pipeline: Option<f64>,
    /// Accounts with late-stage pipeline stay with their owner.
    pub keep_late_stage: bool,
}

impl Default for RealignSettings {
    fn default() -> Self {
        RealignSettings {
            enabled: true,
            move_cost: 50.0,
            max_moved_accounts: None,
            max_moved_pipeline: None,
            keep_late_stage: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct QuotaSettings {
    /// Company target for the plan period.
    pub target: f64,
    /// Targets of named segments; the rest of the target is split by potential.
    pub segment_targets: BTreeMap<String, f64>,
    /// Street quota = target × (1 + over_assignment).
    pub over_assignment: f64,
    /// Productivity by month since hire (month 1 first); 1.0 after the list.
    pub ramp: Vec<f64>,
    /// Quota factor by rep level (lower-case); 1.0 for a level not listed.
    pub experience: BTreeMap<String, f64>,
    pub period_start: Option<String>,
    pub period_months: usize,
    /// Plan month (0 = first) in which a to-be-hired rep starts.
    pub tbh_hire_month: usize,
    /// Share of each territory's quota set by its open pipeline instead of its potential
    /// (0 = potential only, the default; reported whenever it is not 0).
    pub pipeline_weight: f64,
}

/// An overlay role (SE, SDR, CSM, …): its reps cover groups of territories under one node
/// of a level instead of owning territories.
#[derive(Debug, Clone, Serialize)]
pub struct OverlayDef {
    pub role: String,
    /// Level whose nodes bound each overlay rep's territories: a level name or "segment".
    pub within: String,
    /// One overlay rep per this many territories of a node (rounded up)…
    pub territories_per_rep: Option<f64>,
    /// …or this many per node.
    pub reps_per_node: Option<usize>,
    /// What an overlay rep's load is measured in: accounts or any metric or column.
    pub load: String,
    /// Most load one overlay rep may carry; more reps are planned on a node to stay below it.
    pub max_load: Option<f64>,
    #[serde(skip)]
    pub location: Location,
}

/// Pipeline coverage = open pipeline / quota, judged red below `red_below`, green at or
/// above `green_from`, yellow between.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CoverageSettings {
    pub red_below: f64,
    pub green_from: f64,
}

impl Default for CoverageSettings {
    fn default() -> Self {
        CoverageSettings {
            red_below: 2.0,
            green_from: 3.0,
        }
    }
}

impl CoverageSettings {
    pub fn band(&self, ratio: f64) -> &'static str {
        if ratio < self.red_below {
            "red"
        } else if ratio < self.green_from {
            "yellow"
        } else {
            "green"
        }
    }
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
    pub segments: Vec<SegmentDef>,
    pub levels: Vec<LevelDef>,
    pub realign: RealignSettings,
    /// Most accounts any territory may hold (a rep's `max_accounts` may lower it).
    pub max_accounts: Option<usize>,
    /// The role that owns territories (reps.csv `role`; blank counts as this role).
    pub owner_role: String,
    pub overlays: Vec<OverlayDef>,
    pub coverage: CoverageSettings,
    /// Keys changed after reading (see `apply_override`), in order.
    pub overrides: Vec<(String, f64)>,
}

impl Scenario {
    /// Changes one key after reading: `tolerance` (every band), `max_moved_accounts`,
    /// `max_moved_pipeline` (0..1) or `move_cost` (≥ 0). Recorded in `overrides`.
    pub fn apply_override(&mut self, key: &str, x: f64) -> Result<(), String> {
        match key {
            "tolerance" if x > 0.0 && x < 1.0 => {
                self.balance.iter_mut().for_each(|b| b.tolerance = x)
            }
            "max_moved_accounts" if (0.0..=1.0).contains(&x) => {
                self.realign.max_moved_accounts = Some(x)
            }
            "max_moved_pipeline" if (0.0..=1.0).contains(&x) => {
                self.realign.max_moved_pipeline = Some(x)
            }
            "move_cost" if x >= 0.0 => self.realign.move_cost = x,
            other => {
                return Err(format!(
                    "{other}={x}: the keys that can be changed are tolerance (0..1), max_moved_accounts, max_moved_pipeline (0..1) and move_cost (≥ 0)"
                ));
            }
        }
        self.overrides.push((key.to_string(), x));
        Ok(())
    }
}
