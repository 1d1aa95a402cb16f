//! A finished plan: territories, every account's territory, and the summary numbers.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Territory {
    pub id: String,
    pub name: String,
    pub rep_id: String,
    pub centre: [f64; 2],
    pub accounts: usize,
    /// Per balance metric: the territory's value and its target.
    pub values: Vec<f64>,
    pub targets: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricSummary {
    pub name: String,
    pub formula: String,
    pub tolerance: f64,
    pub total: f64,
    pub min_deviation: f64,
    pub max_deviation: f64,
    pub within_band: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectiveSummary {
    pub weight: String,
    pub formula: String,
    /// Σ weight × distance from each account to its territory's centre (km, or xy units).
    pub weighted_distance: f64,
    /// The same over units, as the solver optimises it (equal when accounts sit at their unit's centroid).
    pub unit_objective: f64,
    pub lp_bound: Option<f64>,
    pub gap: Option<f64>,
    pub lp_status: String,
    pub lp_variables: usize,
    pub fractional_units_rounded: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitSummary {
    pub kind: String,
    pub count: usize,
    pub split_postal_codes: usize,
    pub split_parts: usize,
    pub oversized_accounts: usize,
    pub accounts_without_postal_code: usize,
    pub adjacency_edges: usize,
}

/// Shape of the territories, in km (lat/lon) or planar units (xy).
#[derive(Debug, Clone, Serialize)]
pub struct Compactness {
    /// Mean over territories of the mean account distance to the territory centre.
    pub mean_distance: f64,
    /// Largest mean account distance of any territory.
    pub worst_territory_mean_distance: f64,
    /// Farthest any account sits from its territory's centre.
    pub max_distance: f64,
    /// Territories connected on the unit adjacency graph, as a share.
    pub contiguous_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inputs {
    pub scenario: String,
    pub accounts: String,
    pub reps: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub terraplan_version: String,
    pub scenario: String,
    pub seed: u64,
    pub inputs: Inputs,
    pub accounts: usize,
    pub territories: usize,
    pub units: UnitSummary,
    pub metrics: Vec<MetricSummary>,
    pub objective: ObjectiveSummary,
    pub contiguous_territories: usize,
    pub compactness: Compactness,
    pub moved_accounts: Option<usize>,
    pub warnings: Vec<String>,
    /// Seconds per phase. Left out of determinism comparisons.
    pub timings: Vec<(String, f64)>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub territories: Vec<Territory>,
    /// Index into `territories` for every input account, in input order.
    pub account_territory: Vec<u32>,
    pub summary: Summary,
}
