//! `terraplan plan`: read, plan, check independently, write atomically.

use std::path::PathBuf;

use anyhow::Context;
use terraplan::io::{load_reps, output, read_accounts, read_scenario};
use terraplan::{Error, check, planner};

use super::PlanArgs;

pub fn run(a: PlanArgs) -> anyhow::Result<u8> {
    super::set_threads(a.threads)?;
    let phases = super::progress::Phases::new(a.quiet);
    phases.phase("reading inputs");
    let mut scenario = read_scenario(&a.scenario).map_err(Error::from)?;
    if let Some(seed) = a.seed {
        scenario.seed = seed;
    }
    if let Some(limit) = a.exact {
        if !terraplan::solve::EXACT_AVAILABLE {
            return Err(Error::Usage(
                "--exact needs HiGHS: build with `cargo build --release --features highs` (apt: cmake, libclang-dev)".into(),
            )
            .into());
        }
        if !(limit.is_finite() && limit > 0.0) {
            return Err(Error::Usage(format!(
                "--exact {limit}: the time limit must be above 0 seconds"
            ))
            .into());
        }
        scenario.solver.exact = Some(limit);
    }
    let accounts = read_accounts(&scenario.accounts_path, scenario.coordinates)?;
    let reps = match &scenario.reps_path {
        Some(p) => Some(load_reps(p, &accounts, &scenario)?),
        None => None,
    };
    phases.phase("planning territories, hierarchy, rules and quotas");
    let plan = planner::plan(&scenario, &accounts, reps.as_ref())?;
    phases.phase("writing the plan, the CRM bundle and the report");
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from("out").join(&scenario.name));
    let files = output::plan_files(&plan, &accounts)?;
    output::write_atomically(&out, &files)?;

    // The plan is re-verified from the written files by code that did not produce it,
    // against the inputs as read above (`terraplan check` reads them again).
    phases.phase("re-checking the written plan");
    let report = check::check_written(&out, &scenario, &accounts, reps.as_ref())
        .context("re-checking the written plan")?;
    phases.done();
    if !report.ok() {
        return Err(Error::CheckFailed(report.failures).into());
    }
    if !a.quiet {
        let s = &plan.summary;
        println!(
            "planned {} accounts into {} territories ({} units) → {}",
            s.accounts,
            s.territories,
            s.units.count,
            out.display()
        );
        for m in &s.metrics {
            println!(
                "  {:<12} deviation {:+.2}% .. {:+.2}%  (band ±{:.1}%)",
                m.name,
                m.min_deviation * 100.0,
                m.max_deviation * 100.0,
                m.tolerance * 100.0
            );
        }
        let o = &s.objective;
        let gap = o
            .gap
            .map_or("n/a".to_string(), |g| format!("{:.2}%", g * 100.0));
        let bound = o.lp_bound.map_or("n/a".into(), |b| format!("{b:.4e}"));
        if let Some(e) = &o.exact {
            let proven = match (e.mip_bound, e.heuristic_gap) {
                (Some(b), Some(g)) => format!(
                    "proven bound {b:.4e}; the heuristic's {:.4e} is {:.2}% above the bound",
                    e.heuristic_objective,
                    g * 100.0
                ),
                _ => format!(
                    "no bound proven within the time limit (heuristic {:.4e})",
                    e.heuristic_objective
                ),
            };
            println!(
                "  exact MIP at the final centres ({}, {:.1} s, {} binaries): best {:.4e}, {proven}{}",
                e.status,
                e.seconds,
                e.variables,
                e.mip_objective,
                if e.adopted {
                    "; the MIP's shorter plan was adopted"
                } else {
                    ""
                }
            );
        }
        if s.disruption.is_some() {
            println!(
                "  weighted distance {:.4e} ({}); with move costs {:.4e}, lower bound {bound}, gap {gap}",
                o.weighted_distance, o.weight, o.unit_objective
            );
        } else {
            println!(
                "  weighted distance {:.4e} ({}), lower bound {bound}, gap {gap}",
                o.weighted_distance, o.weight
            );
        }
        println!(
            "  contiguous territories {}/{}; mean distance to centre {:.1}{unit}, worst territory {:.1}{unit}",
            s.contiguous_territories,
            s.territories,
            s.compactness.mean_distance,
            s.compactness.worst_territory_mean_distance,
            unit = if scenario.coordinates == terraplan::geometry::Coordinates::Latlon {
                " km"
            } else {
                ""
            }
        );
        if s.hierarchy.len() > 2 || s.hierarchy.first().is_some_and(|h| h.1 > 1) {
            let levels: Vec<String> = s
                .hierarchy
                .iter()
                .map(|(l, n)| format!("{n} {l}"))
                .collect();
            println!("  hierarchy: {}", levels.join(" → "));
        }
        if let Some(d) = &s.disruption {
            println!(
                "  realignment: {} accounts change owner ({:.1}%: {} by choice, {} forced by leaving or re-segmented owners); {:.1}% of pipeline; {}/{} locked and late-stage accounts kept",
                d.moved_accounts,
                d.moved_accounts_share * 100.0,
                d.chosen_moves,
                d.forced_moves,
                d.moved_pipeline_share * 100.0,
                d.pinned_kept,
                d.pinned_accounts
            );
        }
        if let Some(c) = &s.coverage
            && let Some(r) = c.overall.ratio
        {
            println!(
                "  pipeline coverage {r:.2}× of quota: {} territories red (< {}×), {} yellow, {} green (≥ {}×)",
                c.territories_red,
                c.red_below,
                c.territories_yellow,
                c.territories_green,
                c.green_from
            );
        }
        for o in &s.overlays {
            println!(
                "  {}: {} reps cover {} {} nodes ({} needed by ratio and cap, {} open), load {} .. {} {}",
                o.role,
                o.assigned,
                o.nodes,
                o.within,
                o.needed,
                o.open_positions,
                short(o.load_min),
                short(o.load_max),
                o.load
            );
        }
        println!(
            "  checker: every account exactly once, every band, nesting, cap, pin, budget, overlay and coverage holds"
        );
        for w in &s.warnings {
            println!("  warning: {w}");
        }
    }
    Ok(0)
}

/// 2104600000 → "2.10B", 361 → "361".
fn short(x: f64) -> String {
    match x.abs() {
        a if a >= 1e9 => format!("{:.2}B", x / 1e9),
        a if a >= 1e6 => format!("{:.2}M", x / 1e6),
        a if a >= 1e4 => format!("{:.1}k", x / 1e3),
        _ => format!("{x:.0}"),
    }
}
