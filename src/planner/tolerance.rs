//! The smallest tolerance that would be feasible, when a plan misses its bands.
//!
//! Bracketed from both sides. Above: the plan found is itself feasible at the bands that
//! accept it; re-planning at tolerances between the scenario's and those (three bisection
//! steps) finds a tighter band terraplan can plan within. Below: bounds no plan can beat —
//! a single account heavier than a band allows, and whole accounts that cannot split a
//! segment's count evenly (97 accounts into 6 territories cannot all be within ±3%).

use super::constraints::Infeasibility;
use super::plan_once;
use crate::model::scenario::Balance;
use crate::model::{Accounts, Reps, Scenario};
use crate::{metrics, segment};

/// Bisection steps: each is one more planning run.
const STEPS: usize = 3;

pub(super) fn explain(
    scenario: &Scenario,
    accounts: &Accounts,
    reps: Option<&Reps>,
    why: &Infeasibility,
) -> String {
    let breached: Vec<usize> = (0..why.accepting.len())
        .filter(|&j| why.accepting[j] > 0.0)
        .collect();
    if breached.is_empty() || why.other {
        return why.message("");
    }
    let balance = metrics::balance_list(scenario);
    let tol_at = |j: usize, lambda: f64| -> f64 {
        let t = balance[j].1;
        (t + lambda * (why.accepting[j] - t)).min(0.99)
    };
    let widened = |lambda: f64| -> Scenario {
        let mut s = scenario.clone();
        s.balance = balance
            .iter()
            .enumerate()
            .map(|(j, (metric, _, location))| Balance {
                metric: metric.clone(),
                tolerance: tol_at(j, lambda),
                location: location.clone(),
            })
            .collect();
        s
    };
    let bounds = lower_bounds(scenario, accounts, &why.territories);
    let bound = |j: usize| bounds.get(j).and_then(|b| b.as_ref());
    // Where the plan found already meets a lower bound, it is optimal: no re-planning.
    let proven = breached
        .iter()
        .all(|&j| bound(j).is_some_and(|(b, _)| *b >= why.accepting[j] - 1e-9));
    // hi: a λ known feasible (a plan exists there); lo: the largest λ that failed. A
    // failed re-plan still proves its own accepting bands, which may beat hi.
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..if proven { 0 } else { STEPS } {
        let mid = (lo + hi) / 2.0;
        match plan_once(&widened(mid), accounts, reps) {
            Ok(Ok(_)) => hi = mid,
            Ok(Err(again)) => {
                lo = mid;
                let only_breached = !again.other
                    && (0..again.accepting.len())
                        .all(|j| again.accepting[j] == 0.0 || breached.contains(&j));
                if only_breached {
                    let equivalent = breached
                        .iter()
                        .map(|&j| {
                            let t = balance[j].1;
                            let span = why.accepting[j] - t;
                            let v = again.accepting[j].max(tol_at(j, mid));
                            if span > 0.0 { (v - t) / span } else { 1.0 }
                        })
                        .fold(0.0, f64::max);
                    hi = hi.min(equivalent);
                }
            }
            Err(_) => lo = mid,
        }
    }
    let mut lines = String::from("\n  smallest feasible tolerance:");
    for &j in &breached {
        let best = tol_at(j, hi);
        match bound(j) {
            Some((b, reason)) if *b >= best - 1e-9 => lines.push_str(&format!(
                "\n    {}: ±{:.2}%, exactly: this plan achieves it and no plan can do better ({reason})",
                balance[j].0,
                best * 100.0
            )),
            other => {
                let found = if hi >= 1.0 {
                    "this plan".to_string()
                } else {
                    format!("re-planned; ±{:.2}% still fails", tol_at(j, lo) * 100.0)
                };
                lines.push_str(&format!(
                    "\n    {}: ±{:.2}% ({found})",
                    balance[j].0,
                    best * 100.0
                ));
                if let Some((b, reason)) = other.filter(|(b, _)| *b > balance[j].1) {
                    lines.push_str(&format!(
                        "; no plan is feasible below ±{:.2}%: {reason}",
                        b * 100.0
                    ));
                }
            }
        }
    }
    why.message(&lines)
}

/// Per balance metric: a tolerance no plan can beat, and why.
fn lower_bounds(
    scenario: &Scenario,
    accounts: &Accounts,
    territories: &[(String, usize)],
) -> Vec<Option<(f64, String)>> {
    let (Ok(am), defs) = (
        metrics::evaluate(accounts, scenario),
        segment::definitions(scenario),
    ) else {
        return Vec::new();
    };
    let Ok(seg_of) = segment::classify(accounts, &defs) else {
        return Vec::new();
    };
    (0..am.names.len())
        .map(|j| {
            let mut best: Option<(f64, String)> = None;
            for (s, def) in defs.iter().enumerate() {
                let Some(&(_, k)) = territories.iter().find(|(n, _)| *n == def.name) else {
                    continue;
                };
                let members: Vec<usize> = (0..accounts.len())
                    .filter(|&i| seg_of[i] as usize == s)
                    .collect();
                let n = members.len();
                let total: f64 = members.iter().map(|&i| am.values[(i, j)]).sum();
                if n == 0 || total <= 0.0 {
                    continue;
                }
                let target = total / k as f64;
                let mut consider = |b: f64, reason: String| {
                    if b > best.as_ref().map_or(0.0, |x| x.0) {
                        best = Some((b, reason));
                    }
                };
                if let Some(&heavy) = members
                    .iter()
                    .max_by(|&&a, &&b| am.values[(a, j)].total_cmp(&am.values[(b, j)]))
                {
                    consider(
                        am.values[(heavy, j)] / target - 1.0,
                        format!(
                            "account '{}' alone holds {:.1}% of a territory's target{}",
                            accounts.id[heavy],
                            am.values[(heavy, j)] / target * 100.0,
                            in_segment(&defs, &def.name)
                        ),
                    );
                }
                let first = am.values[(members[0], j)];
                let equal = members
                    .iter()
                    .all(|&i| (am.values[(i, j)] - first).abs() <= 1e-12 * first.abs());
                if equal && !n.is_multiple_of(k) {
                    let avg = n as f64 / k as f64;
                    let b = ((n / k + 1) as f64 / avg - 1.0).max(1.0 - (n / k) as f64 / avg);
                    consider(
                        b,
                        format!(
                            "{n} accounts{} cannot split evenly into {k} territories: {} or {} each",
                            in_segment(&defs, &def.name),
                            n / k,
                            n / k + 1
                        ),
                    );
                }
            }
            best
        })
        .collect()
}

fn in_segment(defs: &[crate::model::scenario::SegmentDef], name: &str) -> String {
    if defs.len() > 1 {
        format!(" in segment {name}")
    } else {
        String::new()
    }
}
