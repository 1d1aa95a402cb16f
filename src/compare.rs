//! What-if comparison: one row of figures per planned scenario, and the diff between two
//! plans (who gains and loses which accounts and pipeline). No I/O.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::{Accounts, Plan};

pub const COLUMNS: &[&str] = &[
    "scenario",
    "territories",
    "worst_deviation",
    "weighted_distance",
    "gap",
    "moved_accounts",
    "moved_share",
    "moved_pipeline_share",
    "rule_items",
    "street_quota",
    "quota_spread",
    "pipeline_coverage",
    "red_territories",
    "overlay_open_positions",
    "seconds",
];

#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub territories: usize,
    /// Largest |deviation| of any territory on any metric.
    pub worst_deviation: f64,
    pub weighted_distance: f64,
    pub gap: Option<f64>,
    pub moved_accounts: usize,
    pub moved_share: f64,
    pub moved_pipeline_share: f64,
    pub rule_items: usize,
    pub street_quota: Option<f64>,
    /// max / min of fully ramped quota per potential.
    pub quota_spread: Option<f64>,
    /// Open pipeline / quota overall, and territories below the red threshold.
    pub coverage: Option<f64>,
    pub red_territories: Option<usize>,
    /// Overlay reps the ratios and caps call for but reps.csv cannot staff.
    pub overlay_open_positions: usize,
    pub seconds: f64,
}

impl Row {
    pub fn of(plan: &Plan) -> Row {
        let s = &plan.summary;
        let worst = s
            .metrics
            .iter()
            .map(|m| m.min_deviation.abs().max(m.max_deviation.abs()))
            .fold(0.0, f64::max);
        let (moved, share, pipe) = match &s.disruption {
            Some(d) => (
                d.moved_accounts,
                d.moved_accounts_share,
                d.moved_pipeline_share,
            ),
            None => {
                let m = s.moved_accounts.unwrap_or(0);
                (m, m as f64 / s.accounts.max(1) as f64, 0.0)
            }
        };
        Row {
            scenario: s.scenario.clone(),
            territories: s.territories,
            worst_deviation: worst,
            weighted_distance: s.objective.weighted_distance,
            gap: s.objective.gap,
            moved_accounts: moved,
            moved_share: share,
            moved_pipeline_share: pipe,
            rule_items: s.rules.as_ref().map_or(0, |r| r.rule_items),
            street_quota: s.quota.as_ref().map(|q| q.street_quota),
            quota_spread: s.quota.as_ref().and_then(|q| {
                (q.quota_per_potential_min > 0.0 && q.quota_per_potential_min.is_finite())
                    .then(|| q.quota_per_potential_max / q.quota_per_potential_min)
            }),
            coverage: s.coverage.as_ref().and_then(|c| c.overall.ratio),
            red_territories: s.coverage.as_ref().map(|c| c.territories_red),
            overlay_open_positions: s.overlays.iter().map(|o| o.open_positions).sum(),
            seconds: s
                .timings
                .iter()
                .find(|t| t.0 == "total")
                .map_or(0.0, |t| t.1),
        }
    }

    pub fn cells(&self) -> Vec<String> {
        let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or(String::new(), f);
        vec![
            self.scenario.clone(),
            self.territories.to_string(),
            format!("{:.2}%", self.worst_deviation * 100.0),
            format!("{:.4e}", self.weighted_distance),
            opt(self.gap, &|g| format!("{:.2}%", g * 100.0)),
            self.moved_accounts.to_string(),
            format!("{:.1}%", self.moved_share * 100.0),
            format!("{:.1}%", self.moved_pipeline_share * 100.0),
            self.rule_items.to_string(),
            opt(self.street_quota, &|q| format!("{q:.0}")),
            opt(self.quota_spread, &|q| format!("{q:.3}")),
            opt(self.coverage, &|c| format!("{c:.2}")),
            self.red_territories
                .map_or(String::new(), |r| r.to_string()),
            self.overlay_open_positions.to_string(),
            format!("{:.1}", self.seconds),
        ]
    }
}

pub fn markdown(rows: &[Row]) -> String {
    let mut s = format!("| {} |\n|", COLUMNS.join(" | "));
    for _ in COLUMNS {
        s.push_str("---|");
    }
    s.push('\n');
    for r in rows {
        let cells: Vec<String> = r.cells().iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(s, "| {} |", cells.join(" | "));
    }
    s
}

/// One account that changes hands between plan `a` and plan `b`.
pub struct Move {
    pub account: usize,
    pub from_territory: String,
    pub from_rep: String,
    pub to_territory: String,
    pub to_rep: String,
}

/// Per rep: accounts and pipeline gained and lost from `a` to `b`.
#[derive(Default, Clone)]
pub struct RepChange {
    pub gained: usize,
    pub lost: usize,
    pub pipeline_gained: f64,
    pub pipeline_lost: f64,
}

/// Accounts whose rep differs between the plans (by rep, since territory ids are per plan).
/// With `a` = None the comparison is against today's owners.
pub fn diff(
    a: Option<&Plan>,
    b: &Plan,
    accounts: &Accounts,
) -> (Vec<Move>, BTreeMap<String, RepChange>) {
    let pipeline = accounts.numeric.get("pipeline").map(|c| &c.values);
    let mut moves = Vec::new();
    let mut reps: BTreeMap<String, RepChange> = BTreeMap::new();
    for i in 0..accounts.len() {
        let (ft, fr) = match a {
            Some(p) => {
                let t = &p.territories[p.account_territory[i] as usize];
                (t.id.clone(), t.rep_id.clone())
            }
            None => (String::new(), accounts.owner_id[i].clone()),
        };
        let t = &b.territories[b.account_territory[i] as usize];
        if fr == t.rep_id {
            continue;
        }
        let pipe = pipeline.map_or(0.0, |c| c[i]);
        let from = reps.entry(fr.clone()).or_default();
        from.lost += 1;
        from.pipeline_lost += pipe;
        let to = reps.entry(t.rep_id.clone()).or_default();
        to.gained += 1;
        to.pipeline_gained += pipe;
        moves.push(Move {
            account: i,
            from_territory: ft,
            from_rep: fr,
            to_territory: t.id.clone(),
            to_rep: t.rep_id.clone(),
        });
    }
    (moves, reps)
}
