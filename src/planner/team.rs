//! The team on a finished plan: pipeline coverage per territory and node, and overlay
//! reps (SE, SDR, …) on groups of territories.

use std::collections::HashMap;

use crate::coverage::{self, AccountFacts, Coverage};
use crate::error::{Error, InputError, Location};
use crate::model::scenario::SegmentDef;
use crate::model::{Accounts, Plan, Rep, Reps, Scenario};
use crate::{metrics, overlay};

/// Inputs the team settings need, checked before planning starts.
pub(super) fn validate(scenario: &Scenario, accounts: &Accounts) -> Result<(), Error> {
    if let Some(q) = &scenario.quota
        && q.pipeline_weight > 0.0
        && !accounts.has_column("pipeline")
    {
        return Err(InputError::new(
            Location::file(&scenario.source).field("quota.pipeline_weight"),
            format!(
                "quota.pipeline_weight = {} shares quotas by open pipeline, but {} has no pipeline column",
                q.pipeline_weight,
                accounts.source.display()
            ),
        )
        .hint("add a pipeline column or remove pipeline_weight")
        .into());
    }
    for d in &scenario.overlays {
        metrics::evaluate_at(&d.load, accounts, scenario, &d.location)?;
    }
    Ok(())
}

/// Pipeline / recommended quota for every territory and node, when accounts carry
/// pipeline and the scenario sets quotas.
pub(super) fn coverage(
    scenario: &Scenario,
    accounts: &Accounts,
    potential: &[f64],
    plan: &mut Plan,
) -> Result<(), Error> {
    let Some(pipeline) = accounts.numeric.get("pipeline") else {
        return Ok(());
    };
    if plan.quotas.is_empty() {
        return Ok(());
    }
    let by_id: HashMap<&str, f64> = plan
        .quotas
        .iter()
        .map(|q| (q.territory_id.as_str(), q.recommended_quota))
        .collect();
    let quota: Vec<f64> = plan
        .territories
        .iter()
        .map(|t| by_id.get(t.id.as_str()).copied().unwrap_or(0.0))
        .collect();
    let segment: Vec<String> = plan.territories.iter().map(|t| t.segment.clone()).collect();
    let facts = AccountFacts {
        territory: &plan.account_territory,
        pipeline: &pipeline.values,
        potential,
        industry: &accounts.industry,
    };
    let bands = scenario.coverage;
    let (per, summary) = coverage::territories(&facts, &quota, &segment, &bands);
    // Nodes: sums over the territories below, walking up the parents.
    let index: HashMap<String, usize> = plan
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.clone(), i))
        .collect();
    let mut sums = vec![(0.0, 0.0); plan.nodes.len()];
    for (t, c) in plan.territories.iter().zip(&per) {
        let mut at = index.get(&t.parent).copied();
        while let Some(n) = at {
            sums[n].0 += c.pipeline;
            sums[n].1 += c.quota;
            at = plan.nodes[n]
                .parent
                .as_ref()
                .and_then(|p| index.get(p).copied());
        }
    }
    for (n, (p, q)) in plan.nodes.iter_mut().zip(sums) {
        n.coverage = Some(Coverage::new(p, q, &bands));
    }
    for (t, c) in plan.territories.iter_mut().zip(per) {
        t.coverage = Some(c);
    }
    if summary.territories_red > 0 {
        plan.summary.warnings.push(format!(
            "{} of {} territories hold less than {}× their quota in open pipeline",
            summary.territories_red,
            plan.territories.len(),
            bands.red_below
        ));
    }
    plan.summary.coverage = Some(summary);
    Ok(())
}

/// Overlay reps per role, on the nodes of the role's level.
pub(super) fn overlays(
    scenario: &Scenario,
    accounts: &Accounts,
    reps: Option<&Reps>,
    defs: &[SegmentDef],
    plan: &mut Plan,
) -> Result<(), Error> {
    let Some(reps) = reps else {
        if !scenario.overlays.is_empty() {
            plan.summary.warnings.push(
                "the scenario plans overlay roles but gives no reps.csv: no overlay assigned"
                    .into(),
            );
        }
        return Ok(());
    };
    let segments: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
    for d in &scenario.overlays {
        let mine: Vec<&Rep> = reps
            .overlay
            .iter()
            .filter(|r| r.role.eq_ignore_ascii_case(&d.role))
            .collect();
        let seg: Vec<usize> = mine
            .iter()
            .map(|r| super::setup::segment_of_rep(defs, reps, r))
            .collect::<Result<_, _>>()?;
        let per_account = metrics::evaluate_at(&d.load, accounts, scenario, &d.location)?;
        let mut load = vec![0.0; plan.territories.len()];
        for (i, &t) in plan.account_territory.iter().enumerate() {
            load[t as usize] += per_account[i];
        }
        let (members, summary) = overlay::plan_role(&overlay::Input {
            def: d,
            reps: &mine,
            rep_segment: &seg,
            segments: &segments,
            territories: &plan.territories,
            nodes: &plan.nodes,
            load: &load,
            coordinates: scenario.coordinates,
        });
        let w = &mut plan.summary.warnings;
        if summary.open_positions > 0 {
            w.push(format!(
                "{}: {} reps needed, {} available: {} open positions",
                d.role, summary.needed, summary.available, summary.open_positions
            ));
        }
        if !summary.uncovered_nodes.is_empty() {
            w.push(format!(
                "{}: {} {} node(s) without coverage ({} territories): {}",
                d.role,
                summary.uncovered_nodes.len(),
                d.within,
                summary.uncovered_territories,
                summary.uncovered_nodes.join(", ")
            ));
        }
        if !summary.over_capacity.is_empty() {
            w.push(format!(
                "{}: {} rep(s) over the cap of {} {}: {}",
                d.role,
                summary.over_capacity.len(),
                d.max_load.unwrap_or(0.0),
                d.load,
                summary.over_capacity.join(", ")
            ));
        }
        if summary.beyond_ratio > 0 {
            w.push(format!(
                "{}: {} rep(s) beyond the ratio went to the nodes with most {} per rep",
                d.role, summary.beyond_ratio, d.load
            ));
        }
        if !summary.unassigned_reps.is_empty() {
            w.push(format!(
                "{}: {} rep(s) left unassigned (every node has one per territory): {}",
                d.role,
                summary.unassigned_reps.len(),
                summary.unassigned_reps.join(", ")
            ));
        }
        plan.overlays.extend(members);
        plan.summary.overlays.push(summary);
    }
    let mut unplanned: Vec<&str> = reps
        .overlay
        .iter()
        .filter(|r| {
            !scenario
                .overlays
                .iter()
                .any(|d| d.role.eq_ignore_ascii_case(&r.role))
        })
        .map(|r| r.role.as_str())
        .collect();
    unplanned.sort_unstable();
    unplanned.dedup();
    for role in unplanned {
        plan.summary.warnings.push(format!(
            "reps.csv lists {role} reps, but the scenario plans no {role} overlay: they are not assigned"
        ));
    }
    Ok(())
}
