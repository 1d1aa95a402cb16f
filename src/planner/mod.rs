//! Drives one plan: metrics → segments → units → the hierarchy, partitioned top-down →
//! territories, reps and the summary. No I/O.

use std::time::Instant;

use ndarray::Array2;

mod assemble;
mod constraints;
mod setup;
mod team;
mod tolerance;

use constraints::{
    Infeasibility, caps, check_pins_fit, disruption, infeasibility, lopsided_pins, within_budget,
};
pub use constraints::{forced_move, territory_cap};

use crate::error::{Error, InputError};
use crate::geometry::Coordinates;
use crate::hierarchy::{self, SegmentBudget, SegmentInput, SegmentRealign};
use crate::metrics::{self, AccountMetrics};
use crate::model::plan::{
    Compactness, Inputs, MetricSummary, ObjectiveSummary, Summary, UnitSummary,
};
use crate::model::scenario::{LpSetting, SegmentDef, UnitKind};
use crate::model::{Accounts, Plan, Reps, Scenario, Territory};
use crate::solve::{self, LpMode, Options};
use crate::{quota, rules, segment};

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

/// Plans the scenario. When bands cannot all be met, the error says which bind and the
/// smallest tolerance that would be feasible (see `tolerance`).
pub fn plan(scenario: &Scenario, accounts: &Accounts, reps: Option<&Reps>) -> Result<Plan, Error> {
    match plan_once(scenario, accounts, reps)? {
        Ok(plan) => Ok(plan),
        Err(why) => Err(Error::Infeasible(tolerance::explain(
            scenario, accounts, reps, &why,
        ))),
    }
}

/// One planning run: the plan, or why it breaks a band, cap or budget.
fn plan_once(
    scenario: &Scenario,
    accounts: &Accounts,
    reps: Option<&Reps>,
) -> Result<Result<Plan, Infeasibility>, Error> {
    let started = Instant::now();
    team::validate(scenario, accounts)?;
    let am = metrics::evaluate(accounts, scenario)?;
    let potential = metrics::evaluate_one("potential", accounts, scenario)?;
    let m = am.names.len();
    let defs = segment::definitions(scenario);
    let seg_of = segment::classify(accounts, &defs)?;
    let staffed = setup::reps_by_segment(&defs, reps)?;
    let realigning = scenario.realign.enabled && accounts.has_column("owner_id") && reps.is_some();
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); defs.len()];
    for (i, &s) in seg_of.iter().enumerate() {
        members[s as usize].push(i as u32);
    }
    if defs.len() == 1 && reps.is_none() && scenario.territories.is_none() {
        territory_count(scenario, reps)?;
    }

    let t = Instant::now();
    let mut setups = Vec::new();
    for (s, def) in defs.iter().enumerate() {
        let leaves = setup::leaves_of(def, &staffed[s], members[s].len())?;
        if leaves.is_empty() {
            continue;
        }
        if members[s].is_empty() {
            return Err(Error::Infeasible(format!(
                "segment '{}' has {} territories but no accounts",
                def.name,
                leaves.len()
            )));
        }
        let mine = std::mem::take(&mut members[s]);
        setups.push((
            s,
            setup::setup(scenario, def, accounts, &am, reps, mine, leaves, realigning),
        ));
    }
    let units_time = t.elapsed().as_secs_f64();
    let k: usize = setups.iter().map(|(_, s)| s.leaves.len()).sum();

    let sv = &scenario.solver;
    let options = Options {
        seed: scenario.seed,
        candidates: sv.candidates,
        rounds: sv.rounds,
        restarts: sv.restarts,
        contiguity: sv.contiguity,
        lp: match sv.lp {
            LpSetting::Auto => LpMode::Auto,
            LpSetting::Always => LpMode::Always,
            LpSetting::Never => LpMode::Never,
        },
        bound_iterations: 400,
        dual_cycles: 6,
        block_groups: sv.block_size,
        exact: scenario.solver.exact,
    };

    let mut warnings: Vec<String> = am
        .blanks
        .iter()
        .map(|(c, n)| format!("column '{c}': {n} blank cells counted as 0"))
        .collect();
    // A disruption budget is a hard row inside one partition; across several (segments,
    // levels) it is priced instead: the move cost rises until the plan fits the budget.
    let hard_budget = setups.len() == 1 && scenario.levels.is_empty();
    let budgeted = realigning
        && (scenario.realign.max_moved_accounts.is_some()
            || scenario.realign.max_moved_pipeline.is_some());
    let mut cost_scale = 1.0;
    let (planned, built, disruption) = loop {
        let (planned, notes) = solve_segments(
            scenario,
            reps,
            &am,
            &setups,
            &options,
            cost_scale,
            hard_budget,
        )?;
        let built = assemble::assemble(
            scenario, accounts, &am, reps, &defs, &setups, &planned, realigning, &potential,
        );
        // Computed once here: the budget test and the summary read the same figures.
        let d = realigning.then(|| {
            disruption(
                scenario,
                accounts,
                &am,
                reps,
                &defs,
                &seg_of,
                &built.account_territory,
                &built.territories,
                &setups,
            )
        });
        let fits = d.as_ref().is_some_and(within_budget);
        if !budgeted || hard_budget || cost_scale >= 64.0 || fits {
            warnings.extend(notes);
            break (planned, built, d);
        }
        cost_scale *= 4.0;
    };
    if cost_scale > 1.0 {
        warnings.push(format!(
            "the disruption budget binds: moves were priced at {}× realign.move_cost to meet it",
            cost_scale
        ));
    }
    let territories = built.territories;
    let account_territory = built.account_territory;

    let values = Array2::from_shape_fn((k, m), |(g, j)| territories[g].values[j]);
    let targets = Array2::from_shape_fn((k, m), |(g, j)| territories[g].targets[j]);
    let report = solve::band_report(&values, &targets);
    let metric_summaries: Vec<MetricSummary> = (0..m)
        .map(|j| MetricSummary {
            name: am.names[j].clone(),
            formula: am.formulas[j].clone(),
            tolerance: am.tolerances[j],
            total: am.values.column(j).sum(),
            min_deviation: report[j].0,
            max_deviation: report[j].1,
            within_band: report[j].0 >= -am.tolerances[j] - BAND_SLACK
                && report[j].1 <= am.tolerances[j] + BAND_SLACK,
        })
        .collect();

    let solutions: Vec<&solve::Solution> = planned.iter().flat_map(|p| &p.solutions).collect();
    let contiguous: usize = solutions.iter().map(|s| s.contiguous_groups).sum::<usize>()
        + planned.iter().map(single_leaf_parents).sum::<usize>();
    let (weighted_distance, compactness) = distances(
        accounts,
        &am.weight,
        &account_territory,
        &territories,
        scenario.coordinates,
        contiguous,
    );
    let moved_accounts = accounts.has_column("owner_id").then(|| {
        (0..accounts.len())
            .filter(|&i| accounts.owner_id[i] != territories[account_territory[i] as usize].rep_id)
            .count()
    });
    let released: usize = setups.iter().map(|(_, s)| s.pins_released).sum();
    if released > 0 {
        warnings.push(format!(
            "{released} locked or late-stage accounts have an owner who leaves, is not a rep of their segment, or no realignment runs: planned like any other account"
        ));
    }
    let mut timings = vec![("units".to_string(), units_time)];
    for s in &solutions {
        for (name, secs) in &s.timings {
            match timings.iter_mut().find(|(n, _)| n == name) {
                Some(t) => t.1 += secs,
                None => timings.push((name.clone(), *secs)),
            }
        }
    }
    timings.push(("total".to_string(), started.elapsed().as_secs_f64()));

    let unit_objective: f64 = solutions.iter().map(|s| s.objective).sum();
    let lp_bound: Option<f64> = solutions
        .iter()
        .map(|s| s.lp_bound)
        .sum::<Option<f64>>()
        .filter(|_| !solutions.is_empty());
    let gap = lp_bound
        .filter(|b| *b > 0.0)
        .map(|b| (unit_objective - b) / b);
    let unit_count: usize = setups.iter().map(|(_, s)| s.units.len()).sum();
    let sum_units = |f: &dyn Fn(&crate::units::Units) -> usize| -> usize {
        setups.iter().map(|(_, s)| f(&s.units)).sum()
    };
    let summary = Summary {
        terraplan_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        inputs: Inputs {
            scenario: scenario.source.display().to_string(),
            accounts: scenario.accounts_path.display().to_string(),
            reps: scenario.reps_path.as_ref().map(|p| p.display().to_string()),
            overrides: scenario.overrides.clone(),
        },
        accounts: accounts.len(),
        territories: k,
        units: UnitSummary {
            kind: match scenario.unit {
                UnitKind::PostalCode => "postal_code".into(),
                UnitKind::Account => "account".into(),
            },
            count: unit_count,
            split_postal_codes: sum_units(&|u| u.split_units),
            split_parts: sum_units(&|u| u.split_parts),
            oversized_accounts: sum_units(&|u| u.oversized_accounts),
            accounts_without_postal_code: sum_units(&|u| u.without_postal_code),
            adjacency_edges: sum_units(&|u| u.adjacency.nbrs.len() / 2),
        },
        metrics: metric_summaries,
        objective: ObjectiveSummary {
            weight: am.weight_name.clone(),
            formula: am.weight_formula.clone(),
            weighted_distance,
            unit_objective,
            lp_bound,
            gap,
            lp_status: solutions
                .first()
                .map_or("not run".into(), |s| s.lp_status.clone()),
            lp_variables: solutions.iter().map(|s| s.lp_variables).sum(),
            fractional_units_rounded: solutions.iter().map(|s| s.fractional_units).sum(),
            exact: exact_summary(&solutions),
        },
        contiguous_territories: contiguous,
        compactness,
        moved_accounts,
        disruption,
        hierarchy: built.levels,
        max_accounts: scenario.max_accounts,
        quota: None,
        rules: None,
        coverage: None,
        overlays: Vec::new(),
        warnings,
        timings,
    };
    let (quotas, quota_summary) = match &scenario.quota {
        Some(q) => {
            let (rows, qs) = quotas_of(
                q,
                accounts,
                reps,
                &potential,
                &account_territory,
                &territories,
            );
            (rows, Some(qs))
        }
        None => (Vec::new(), None),
    };
    let mut summary = summary;
    summary.quota = quota_summary;
    let mut plan = Plan {
        coordinates: scenario.coordinates,
        territories,
        quotas,
        rules: None,
        owner_role: scenario.owner_role.clone(),
        overlays: Vec::new(),
        nodes: built.nodes,
        account_territory,
        summary,
    };
    if let Err(why) = infeasibility(&plan, scenario, reps) {
        return Ok(Err(why));
    }
    team::coverage(scenario, accounts, &potential, &mut plan)?;
    team::overlays(scenario, accounts, reps, &defs, &mut plan)?;
    let t = Instant::now();
    let (rules, rules_summary) = compile_rules(scenario, accounts, &plan, &defs, &seg_of)?;
    plan.rules = Some(rules);
    plan.summary.rules = Some(rules_summary);
    let total = plan.summary.timings.pop();
    plan.summary
        .timings
        .push(("rules".into(), t.elapsed().as_secs_f64()));
    if let Some((name, secs)) = total {
        plan.summary
            .timings
            .push((name, secs + t.elapsed().as_secs_f64()));
    }
    Ok(Ok(plan))
}

/// Compiles the plan's CRM rules and replays them on every account and postal code: the
/// plan is returned only when the rules reproduce it exactly.
fn compile_rules(
    scenario: &Scenario,
    accounts: &Accounts,
    plan: &Plan,
    defs: &[SegmentDef],
    seg_of: &[u16],
) -> Result<(rules::RuleSet, crate::model::plan::RulesSummary), Error> {
    let universe = rules::universe(scenario.coordinates);
    let input = rules::compile::Input {
        model: &scenario.name,
        accounts,
        plan,
        defs,
        seg_of,
        universe: &universe,
    };
    let set = rules::compile::compile(&input).map_err(|e| Error::CheckFailed(vec![e]))?;
    let replay = rules::replay_plan(&set, &input).map_err(|e| Error::CheckFailed(vec![e]))?;
    if !replay.ok() {
        return Err(Error::CheckFailed(replay.describe(20)));
    }
    let summary = crate::model::plan::RulesSummary {
        stats: set.stats.clone(),
        replay_accounts: replay.accounts,
        replay_accounts_matched: replay.matched,
        replay_postal_codes: replay.postal_codes,
        replay_postal_codes_ok: replay.postal_codes - replay.postal_problems.len(),
        rules: set.nodes.iter().map(|n| n.rules.len()).sum(),
        rule_items: set
            .nodes
            .iter()
            .flat_map(|n| &n.rules)
            .map(|r| r.items.len())
            .sum(),
    };
    Ok((set, summary))
}

/// Each territory's potential, today's owner's share of it (continuity), and the quota.
fn quotas_of(
    q: &crate::model::scenario::QuotaSettings,
    accounts: &Accounts,
    reps: Option<&Reps>,
    potential: &[f64],
    account_territory: &[u32],
    territories: &[Territory],
) -> (Vec<quota::QuotaRow>, quota::QuotaSummary) {
    let k = territories.len();
    let pipeline = accounts.numeric.get("pipeline").map(|c| &c.values);
    let mut pot = vec![0.0; k];
    let mut n = vec![0.0f64; k];
    let mut pipe = vec![0.0; k];
    let mut own = vec![quota::Continuity::default(); k];
    for (i, &t) in account_territory.iter().enumerate() {
        let t = t as usize;
        let p = pipeline.map_or(0.0, |c| c[i]);
        pot[t] += potential[i];
        n[t] += 1.0;
        pipe[t] += p;
        if accounts.owner_id[i] == territories[t].rep_id {
            own[t].accounts += 1.0;
            own[t].pipeline += p;
        }
    }
    let seats: Vec<quota::Seat> = territories
        .iter()
        .enumerate()
        .map(|(t, terr)| quota::Seat {
            territory_id: &terr.id,
            segment: &terr.segment,
            potential: pot[t],
            pipeline: pipe[t],
            rep: reps
                .filter(|_| terr.status != "open")
                .and_then(|r| r.find(&terr.rep_id)),
            rep_id: &terr.rep_id,
            continuity: quota::Continuity {
                accounts: own[t].accounts / n[t].max(1.0),
                pipeline: if pipe[t] > 0.0 {
                    own[t].pipeline / pipe[t]
                } else {
                    0.0
                },
            },
        })
        .collect();
    quota::quotas(q, &seats)
}

/// The exact MIP's verdicts over every partition, summed.
fn exact_summary(solutions: &[&solve::Solution]) -> Option<solve::ExactInfo> {
    let all: Vec<&solve::ExactInfo> = solutions.iter().filter_map(|s| s.exact.as_ref()).collect();
    let first = all.first()?;
    let sum = |f: &dyn Fn(&solve::ExactInfo) -> f64| all.iter().map(|e| f(e)).sum::<f64>();
    let heuristic = sum(&|e| e.heuristic_objective);
    // A bound for the whole plan only when every partition has one.
    let bound = all.iter().map(|e| e.mip_bound).sum::<Option<f64>>();
    let mut statuses: Vec<&str> = all.iter().map(|e| e.status.as_str()).collect();
    statuses.dedup();
    Some(solve::ExactInfo {
        status: if statuses.len() == 1 {
            first.status.clone()
        } else {
            statuses.join("+")
        },
        heuristic_objective: heuristic,
        mip_objective: sum(&|e| e.mip_objective),
        mip_bound: bound,
        heuristic_gap: solve::proven_gap(heuristic, bound),
        seconds: sum(&|e| e.seconds),
        variables: all.iter().map(|e| e.variables).sum(),
        adopted: all.iter().any(|e| e.adopted),
    })
}

/// Plans every segment down its hierarchy; move costs are scaled by `cost_scale`.
fn solve_segments(
    scenario: &Scenario,
    reps: Option<&Reps>,
    am: &AccountMetrics,
    setups: &[(usize, setup::SegmentSetup)],
    options: &Options,
    cost_scale: f64,
    hard_budget: bool,
) -> Result<(Vec<hierarchy::SegmentPlan>, Vec<String>), Error> {
    let mut planned = Vec::new();
    let mut warnings = Vec::new();
    for (_, st) in setups {
        let (pinned, pinned_count) = setup::pinned_loads(st, am);
        let caps = caps(scenario, reps, st, &pinned_count);
        check_pins_fit(st, am, &pinned, caps.as_deref())?;
        warnings.extend(lopsided_pins(st, am, &pinned, reps));
        let unit_accounts: Vec<f64> = (0..st.units.len())
            .map(|u| st.units.members(u).len() as f64)
            .collect();
        let move_cost: Vec<f64> = st
            .realign
            .as_ref()
            .map(|h| h.move_cost.iter().map(|c| c * cost_scale).collect())
            .unwrap_or_default();
        let budgets: Vec<SegmentBudget> = match (&st.realign, hard_budget) {
            (Some(h), true) => {
                let mut b = Vec::new();
                if let Some(share) = scenario.realign.max_moved_accounts {
                    b.push(SegmentBudget {
                        amount: &h.own_accounts,
                        base: &h.other_accounts,
                        total: &h.all_accounts,
                        share,
                    });
                }
                if let Some(share) = scenario.realign.max_moved_pipeline {
                    b.push(SegmentBudget {
                        amount: &h.own_pipeline,
                        base: &h.other_pipeline,
                        total: &h.all_pipeline,
                        share,
                    });
                }
                b
            }
            _ => Vec::new(),
        };
        let input = SegmentInput {
            coordinates: scenario.coordinates,
            coords: &st.units.coords,
            weight: &st.units.weight,
            values: &st.units.values,
            adjacency: &st.units.adjacency,
            leaf_target: st.leaf_target.clone(),
            tolerance: &am.tolerances,
            leaves: st.leaves.len(),
            levels: &scenario.levels,
            pinned,
            caps,
            unit_accounts: &unit_accounts,
            realign: st.realign.as_ref().map(|h| SegmentRealign {
                home: &h.home,
                move_cost: &move_cost,
                budgets,
                book_centre: h.book_centre.clone(),
            }),
        };
        // With seats and levels, territories first and the levels grouped from them, so
        // region lines do not force moves; top-down where that grouping misses a band.
        let bottom_up = if input.realign.is_some() && !scenario.levels.is_empty() {
            hierarchy::plan_segment_bottom_up(&input, options)?
        } else {
            None
        };
        let sp = match bottom_up {
            Some(sp) => sp,
            None => hierarchy::plan_segment(&input, options)?,
        };
        warnings.extend(sp.warnings.iter().map(|w| format!("{}: {w}", st.name)));
        planned.push(sp);
    }
    Ok((planned, warnings))
}

/// Parents of a single territory run no partition; their one territory is whole.
fn single_leaf_parents(p: &hierarchy::SegmentPlan) -> usize {
    let mut parents: Vec<usize> = p.leaf_node.clone();
    parents.sort_unstable();
    let mut count = 0;
    let mut i = 0;
    while i < parents.len() {
        let j = parents[i..]
            .iter()
            .take_while(|&&x| x == parents[i])
            .count();
        if j == 1 {
            count += 1;
        }
        i += j;
    }
    count
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
