//! A finished plan: territories, every account's territory, and the summary numbers.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Territory {
    pub id: String,
    pub name: String,
    pub segment: String,
    /// Id of the hierarchy node above (a district, region or segment).
    pub parent: String,
    pub rep_id: String,
    /// `active` (staffed today), `tbh` (carved now for a hire) or `open` (no rep named).
    pub status: String,
    pub centre: [f64; 2],
    pub accounts: usize,
    /// Per balance metric: the territory's value and its target.
    pub values: Vec<f64>,
    pub targets: Vec<f64>,
    /// Open pipeline against the rep's quota, when accounts carry pipeline and quotas are set.
    pub coverage: Option<crate::coverage::Coverage>,
}

/// A node of the hierarchy above the territories (segment, region, district, …).
#[derive(Debug, Clone, Serialize)]
pub struct HierarchyNode {
    pub id: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
    pub children: Vec<String>,
    pub territories: usize,
    pub accounts: usize,
    /// Per balance metric: value, target (territories × per-territory target), band.
    pub values: Vec<f64>,
    pub targets: Vec<f64>,
    pub tolerances: Vec<f64>,
    pub coverage: Option<crate::coverage::Coverage>,
}

/// What the realignment changes, counted per account against its current owner.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Disruption {
    pub accounts_with_owner: usize,
    pub moved_accounts: usize,
    pub moved_accounts_share: f64,
    /// Moves forced by the scenario: the owner leaves, or sells into another segment.
    pub forced_moves: usize,
    /// Moves the plan chose; the budget limits these.
    pub chosen_moves: usize,
    pub chosen_moves_share: f64,
    pub moved_potential: f64,
    pub moved_potential_share: f64,
    pub moved_pipeline: f64,
    pub moved_pipeline_share: f64,
    pub chosen_pipeline_share: f64,
    pub max_moved_accounts: Option<f64>,
    pub max_moved_pipeline: Option<f64>,
    /// Locked and late-stage accounts kept with their owner (all of those pinned).
    pub pinned_accounts: usize,
    pub pinned_kept: usize,
    /// Locked or late-stage accounts whose owner leaves or sells elsewhere: planned freely.
    pub pins_released: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RulesSummary {
    pub stats: crate::rules::RuleStats,
    pub replay_accounts: usize,
    pub replay_accounts_matched: usize,
    pub replay_postal_codes: usize,
    pub replay_postal_codes_ok: usize,
    pub rules: usize,
    pub rule_items: usize,
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
    /// `plan --exact`: the MIP's objective and proven bound at the final centres, summed
    /// over partitions, and how far the heuristic is from that bound.
    pub exact: Option<crate::solve::ExactInfo>,
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
    /// Keys changed after reading the scenario (e.g. by `compare --sweep`), applied again
    /// by the checker.
    pub overrides: Vec<(String, f64)>,
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
    /// Present in realignment mode (accounts carry owners and reps are given).
    pub disruption: Option<Disruption>,
    /// Segments and the levels below them, with node counts.
    pub hierarchy: Vec<(String, usize)>,
    /// Most accounts any territory may hold, when capped.
    pub max_accounts: Option<usize>,
    /// Street quota, coverage of target, ramp gap and quota / potential spread.
    pub quota: Option<crate::quota::QuotaSummary>,
    /// Rule sizes and the replay: accounts and postal codes routed as planned.
    pub rules: Option<RulesSummary>,
    /// Pipeline / quota overall, by band, segment and industry.
    pub coverage: Option<crate::coverage::CoverageSummary>,
    /// Per overlay role: reps needed, assigned, open, nodes uncovered, load per rep.
    pub overlays: Vec<crate::overlay::OverlayRoleSummary>,
    pub warnings: Vec<String>,
    /// Seconds per phase. Left out of determinism comparisons.
    pub timings: Vec<(String, f64)>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// How positions are read (for the map and GeoJSON).
    pub coordinates: crate::geometry::Coordinates,
    pub territories: Vec<Territory>,
    /// Segments and levels above the territories, root of each segment first (pre-order).
    pub nodes: Vec<HierarchyNode>,
    /// One row per territory when the scenario sets a quota target.
    pub quotas: Vec<crate::quota::QuotaRow>,
    /// The CRM rules that reproduce the plan (replayed before the plan is returned).
    pub rules: Option<crate::rules::RuleSet>,
    /// The role that owns territories (members.csv, CRM user rows).
    pub owner_role: String,
    /// Overlay reps and the territories each covers.
    pub overlays: Vec<crate::overlay::OverlayMember>,
    /// Index into `territories` for every input account, in input order.
    pub account_territory: Vec<u32>,
    pub summary: Summary,
}
