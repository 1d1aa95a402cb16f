//! Drives one plan: metrics → units → partition → territories and reps. No I/O.

use std::collections::HashMap;
use std::time::Instant;

use ndarray::Array2;

use crate::error::{Error, InputError};
use crate::geometry::{Coordinates, weighted_centre};
use crate::metrics::{self, AccountMetrics};
use crate::model::plan::{
    Compactness, Inputs, MetricSummary, ObjectiveSummary, Summary, UnitSummary,
};
use crate::model::scenario::LpSetting;
use crate::model::scenario::UnitKind;
use crate::model::{Accounts, Plan, Reps, Scenario, Territory};
use crate::solve::{self, LpMode, Options, Problem};
use crate::units::build_units;

/// Slack when comparing a value with its band: floating-point sums, not tolerance.
pub const BAND_SLACK: f64 = 1e-9;

pub fn territory_count(scenario: &Scenario, reps: Option<&Reps>) -> Result<usize, Error> {
    let staffed = reps.map(|r| r.staffed().count());
    match (scenario.territories, staffed) {
        (Some(k), Some(s)) if s > k => Err(InputError::new(
            scenario.territories_location.clone(),
            format!("plan.territories = {k}, but reps.csv staffs {s} reps (active or tbh)"),
        )
        .hint("raise plan.territories or leave it out to plan one territory per rep")
        .into()),
        (Some(k), _) => Ok(k),
        (None, Some(s)) if s > 0 => Ok(s),
        _ => Err(InputError::new(
            scenario.territories_location.clone(),
            "the number of territories is not known",
        )
        .hint("set plan.territories or give a reps.csv with active reps")
        .into()),
    }
}

pub fn plan(scenario: &Scenario, accounts: &Accounts, reps: Option<&Reps>) -> Result<Plan, Error> {
    let started = Instant::now();
    let k = territory_count(scenario, reps)?;
    let am = metrics::evaluate(accounts, scenario)?;
    let m = am.names.len();
    let totals: Vec<f64> = (0..m).map(|j| am.values.column(j).sum()).collect();
    let targets = Array2::from_shape_fn((k, m), |(_, j)| totals[j] / k as f64);
    // A unit heavier than half a band could leave no way to meet it: split such units.
    let split_limit: Vec<f64> = (0..m)
        .map(|j| am.tolerances[j] * totals[j] / k as f64)
        .collect();

    let t = Instant::now();
    let units = build_units(
        accounts,
        &am,
        scenario.unit,
        scenario.coordinates,
        &split_limit,
    );
    let units_time = t.elapsed().as_secs_f64();

    let problem = Problem {
        coordinates: scenario.coordinates,
        coords: &units.coords,
        weight: &units.weight,
        values: &units.values,
        targets: targets.clone(),
        tolerance: &am.tolerances,
        adjacency: &units.adjacency,
    };
    let s = &scenario.solver;
    let options = Options {
        seed: scenario.seed,
        candidates: s.candidates,
        rounds: s.rounds,
        restarts: s.restarts,
        contiguity: s.contiguity,
        lp: match s.lp {
            LpSetting::Auto => LpMode::Auto,
            LpSetting::Always => LpMode::Always,
            LpSetting::Never => LpMode::Never,
        },
        bound_iterations: 400,
        dual_cycles: 6,
    };
    let solution = solve::partition(&problem, &options)?;

    // Territory ids run west to east (then south to north) so they read on a map.
    let mut order: Vec<usize> = (0..k).collect();
    let key = |g: usize| {
        let c = solution.centres[g];
        match scenario.coordinates {
            Coordinates::Latlon => (c[1], c[0]),
            Coordinates::Xy => (c[0], c[1]),
        }
    };
    order.sort_by(|&a, &b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    let mut rank = vec![0u32; k];
    for (i, &g) in order.iter().enumerate() {
        rank[g] = i as u32;
    }
    let mut account_territory = vec![0u32; accounts.len()];
    for u in 0..units.len() {
        for &a in units.members(u) {
            account_territory[a as usize] = rank[solution.assignment[u] as usize];
        }
    }

    let territories = build_territories(accounts, &am, &account_territory, k, &targets);
    let rep_of = match_reps(accounts, reps, &account_territory, k);
    let territories: Vec<Territory> = territories
        .into_iter()
        .zip(rep_of)
        .map(|(mut t, r)| {
            t.rep_id = r;
            t
        })
        .collect();

    let values = Array2::from_shape_fn((k, m), |(g, j)| territories[g].values[j]);
    let report = solve::band_report(&values, &targets);
    let metric_summaries: Vec<MetricSummary> = (0..m)
        .map(|j| MetricSummary {
            name: am.names[j].clone(),
            formula: am.formulas[j].clone(),
            tolerance: am.tolerances[j],
            total: totals[j],
            min_deviation: report[j].0,
            max_deviation: report[j].1,
            within_band: report[j].0 >= -am.tolerances[j] - BAND_SLACK
                && report[j].1 <= am.tolerances[j] + BAND_SLACK,
        })
        .collect();

    let (weighted_distance, compactness) = distances(
        accounts,
        &am.weight,
        &account_territory,
        &territories,
        scenario.coordinates,
        solution.contiguous_groups,
    );
    let moved_accounts = accounts.has_column("owner_id").then(|| {
        (0..accounts.len())
            .filter(|&i| accounts.owner_id[i] != territories[account_territory[i] as usize].rep_id)
            .count()
    });
    let mut warnings: Vec<String> = am
        .blanks
        .iter()
        .map(|(c, n)| format!("column '{c}': {n} blank cells counted as 0"))
        .collect();
    let locked = accounts.locked.iter().filter(|&&l| l).count();
    let late = accounts.late_stage.iter().filter(|&&l| l).count();
    if locked + late > 0 {
        warnings.push(format!(
            "{locked} locked and {late} late-stage accounts are not pinned to their owner in this version"
        ));
    }
    let mut timings = vec![("units".to_string(), units_time)];
    timings.extend(solution.timings.iter().cloned());
    timings.push(("total".to_string(), started.elapsed().as_secs_f64()));

    let summary = Summary {
        terraplan_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        inputs: Inputs {
            scenario: scenario.source.display().to_string(),
            accounts: scenario.accounts_path.display().to_string(),
            reps: scenario.reps_path.as_ref().map(|p| p.display().to_string()),
        },
        accounts: accounts.len(),
        territories: k,
        units: UnitSummary {
            kind: match scenario.unit {
                UnitKind::PostalCode => "postal_code".into(),
                UnitKind::Account => "account".into(),
            },
            count: units.len(),
            split_postal_codes: units.split_units,
            split_parts: units.split_parts,
            oversized_accounts: units.oversized_accounts,
            accounts_without_postal_code: units.without_postal_code,
            adjacency_edges: units.adjacency.nbrs.len() / 2,
        },
        metrics: metric_summaries,
        objective: ObjectiveSummary {
            weight: am.weight_name.clone(),
            formula: am.weight_formula.clone(),
            weighted_distance,
            unit_objective: solution.objective,
            lp_bound: solution.lp_bound,
            gap: solution.gap(),
            lp_status: solution.lp_status.clone(),
            lp_variables: solution.lp_variables,
            fractional_units_rounded: solution.fractional_units,
        },
        contiguous_territories: solution.contiguous_groups,
        compactness,
        moved_accounts,
        warnings,
        timings,
    };
    let plan = Plan {
        territories,
        account_territory,
        summary,
    };
    infeasibility(&plan)?;
    Ok(plan)
}

fn build_territories(
    accounts: &Accounts,
    am: &AccountMetrics,
    account_territory: &[u32],
    k: usize,
    targets: &Array2<f64>,
) -> Vec<Territory> {
    let m = am.names.len();
    let mut values = vec![vec![0.0; m]; k];
    let mut count = vec![0usize; k];
    let mut pts: Vec<Vec<([f64; 2], f64)>> = vec![Vec::new(); k];
    for (i, &t) in account_territory.iter().enumerate() {
        let t = t as usize;
        count[t] += 1;
        for j in 0..m {
            values[t][j] += am.values[(i, j)];
        }
        pts[t].push((accounts.pos[i], am.weight[i]));
    }
    (0..k)
        .map(|t| Territory {
            id: format!("T{:0width$}", t + 1, width = digits(k)),
            name: format!("Territory {}", t + 1),
            rep_id: String::new(),
            centre: weighted_centre(pts[t].iter().copied()).unwrap_or([0.0, 0.0]),
            accounts: count[t],
            values: values[t].clone(),
            targets: targets.row(t).to_vec(),
        })
        .collect()
}

fn digits(k: usize) -> usize {
    k.to_string().len().max(3)
}

/// Territories keep the rep who owns most of their accounts today (greedy on overlap);
/// the rest get the remaining staffed reps in order, then placeholders.
fn match_reps(
    accounts: &Accounts,
    reps: Option<&Reps>,
    account_territory: &[u32],
    k: usize,
) -> Vec<String> {
    let staffed: Vec<&str> = reps
        .map(|r| r.staffed().map(|x| x.id.as_str()).collect())
        .unwrap_or_default();
    let index: HashMap<&str, usize> = staffed.iter().enumerate().map(|(i, r)| (*r, i)).collect();
    let mut overlap: HashMap<(u32, usize), usize> = HashMap::new();
    for (i, &t) in account_territory.iter().enumerate() {
        if let Some(&r) = index.get(accounts.owner_id[i].as_str()) {
            *overlap.entry((t, r)).or_default() += 1;
        }
    }
    let mut pairs: Vec<(usize, u32, usize)> =
        overlap.into_iter().map(|((t, r), c)| (c, t, r)).collect();
    pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut rep_of: Vec<Option<usize>> = vec![None; k];
    let mut used = vec![false; staffed.len()];
    for (_, t, r) in pairs {
        if rep_of[t as usize].is_none() && !used[r] {
            rep_of[t as usize] = Some(r);
            used[r] = true;
        }
    }
    let mut free = (0..staffed.len()).filter(|&r| !used[r]);
    (0..k)
        .map(|t| {
            let r = rep_of[t].or_else(|| free.next());
            match r {
                Some(r) => staffed[r].to_string(),
                None => format!("OPEN-{:0width$}", t + 1, width = digits(k)),
            }
        })
        .collect()
}

/// One pass over the accounts: Σ weight × distance to the territory's weighted centre
/// (the objective as reported), and the compactness figures from the same distances.
fn distances(
    accounts: &Accounts,
    weight: &[f64],
    account_territory: &[u32],
    territories: &[Territory],
    coordinates: Coordinates,
    contiguous: usize,
) -> (f64, Compactness) {
    let k = territories.len();
    let mut weighted = 0.0;
    let mut sum = vec![0.0; k];
    let mut max_distance: f64 = 0.0;
    for (i, &t) in account_territory.iter().enumerate() {
        let d = coordinates.distance(accounts.pos[i], territories[t as usize].centre);
        weighted += weight[i] * d;
        sum[t as usize] += d;
        max_distance = max_distance.max(d);
    }
    let means: Vec<f64> = (0..k)
        .map(|t| sum[t] / territories[t].accounts.max(1) as f64)
        .collect();
    let compactness = Compactness {
        mean_distance: means.iter().sum::<f64>() / k.max(1) as f64,
        worst_territory_mean_distance: means.iter().cloned().fold(0.0, f64::max),
        max_distance,
        contiguous_share: contiguous as f64 / k.max(1) as f64,
    };
    (weighted, compactness)
}

/// A plan outside a band is not a plan: exit 1 naming the worst bands.
fn infeasibility(plan: &Plan) -> Result<(), Error> {
    let mut worst: Vec<(f64, String)> = Vec::new();
    for (j, ms) in plan.summary.metrics.iter().enumerate() {
        for t in &plan.territories {
            let dev = if t.targets[j] > 0.0 {
                t.values[j] / t.targets[j] - 1.0
            } else {
                0.0
            };
            let excess = dev.abs() - ms.tolerance;
            if excess > BAND_SLACK {
                worst.push((
                    excess,
                    format!(
                        "{} {}: {:+.2}% of target (band ±{:.2}%)",
                        t.id,
                        ms.name,
                        dev * 100.0,
                        ms.tolerance * 100.0
                    ),
                ));
            }
        }
    }
    if worst.is_empty() {
        return Ok(());
    }
    worst.sort_by(|a, b| b.0.total_cmp(&a.0));
    let n = worst.len();
    let lines: Vec<String> = worst.into_iter().take(10).map(|w| w.1).collect();
    Err(Error::Infeasible(format!(
        "{n} territory bands could not be met; the worst:\n  {}\n  hint: widen the tolerance of the metric named most, or plan fewer territories",
        lines.join("\n  ")
    )))
}
