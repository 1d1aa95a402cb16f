//! The balanced assignment LP at fixed centres, on sparse candidate lists (good_lp):
//! minimise Σ cost·x subject to Σ_g x_ug = 1 per unit and lo ≤ Σ_u v_um x_ug ≤ hi per
//! group and metric, bands elastic. Restricted to candidate lists it is no lower bound (the
//! reported bound is the Lagrangian dual in `bound.rs`); it is a start for local search:
//! each unit goes to its largest share of Clarabel's interior-point solution. Whole (every
//! group a candidate), its band duals are prices for that dual (`band_prices`).

use clarabel::solver::{IPSolver, SolverStatus};
use good_lp::constraint::ConstraintReference;
use good_lp::solvers::clarabel::ClarabelProblem;
use good_lp::solvers::{DualValues, SolutionWithDual};
use good_lp::{Expression, ProblemVariables, Solution, SolverModel, Variable, clarabel, variable};
use ndarray::Array2;

use super::Norm;
use super::candidates::nearest;
use super::race::{Stop, Stopped};

pub struct LpResult {
    /// Σ band slack in normalised units: 0 when every band can be met.
    #[allow(dead_code)] // read by the infeasibility report (hierarchy issue)
    pub slack: f64,
    /// (group, metric, signed slack) for every band that needed slack.
    #[allow(dead_code)] // read by the infeasibility report (hierarchy issue)
    pub binding: Vec<(usize, usize, f64)>,
    pub rounded: Vec<u32>,
    pub fractional_units: usize,
    pub variables: usize,
}

/// Interior-point slacks are never exactly zero: below this (a ten-thousandth of a target) a band is met.
const SLACK_EPS: f64 = 1e-4;

/// A Clarabel model minimising `objective` in which each unit's shares (`x`, one list per
/// unit) sum to one; an empty list is a unit outside the model.
pub(super) fn assignment_model(
    vars: ProblemVariables,
    objective: Expression,
    x: &[Vec<Variable>],
) -> ClarabelProblem {
    let mut model = vars.minimise(objective).using(clarabel);
    model
        .settings()
        .verbose(std::env::var_os("TERRAPLAN_LP_VERBOSE").is_some());
    for xs in x.iter().filter(|xs| !xs.is_empty()) {
        let mut row = Expression::with_capacity(xs.len());
        for &v in xs {
            row.add_mul(1.0, v);
        }
        model.add_constraint(row.eq(1.0));
    }
    model
}

/// Solves `model` as good_lp's Clarabel backend does (same settings, the same answers
/// taken as solved), unless `stop` is set before or during the interior-point steps.
/// Returns the primal values by variable index (the order the variables were added in),
/// or None where the solver found no solution.
pub(super) fn solve_stoppable(
    model: ClarabelProblem,
    stop: &Stop,
) -> Result<Option<Vec<f64>>, Stopped> {
    if stop.is_set() {
        return Err(Stopped);
    }
    let Ok(mut solver) = model.try_into_solver() else {
        return Ok(None);
    };
    let callback = stop.clone();
    solver.set_termination_callback(move |_| callback.is_set());
    solver.solve();
    Ok(match solver.solution.status {
        SolverStatus::Solved
        | SolverStatus::AlmostSolved
        | SolverStatus::AlmostDualInfeasible
        | SolverStatus::DualInfeasible => Some(std::mem::take(&mut solver.solution.x)),
        SolverStatus::CallbackTerminated => return Err(Stopped),
        _ => None,
    })
}

/// The elastic LP on candidate lists: the model and what reading it back needs.
struct Built {
    model: ClarabelProblem,
    x: Vec<Vec<Variable>>,
    /// (under, over) per group and metric.
    slack: Vec<[Variable; 2]>,
    /// The ≥ lo row (None where lo is 0) and the ≤ hi row per group and metric.
    rows: Vec<(Option<ConstraintReference>, ConstraintReference)>,
    /// Costs in the model are the problem's times `scale`.
    scale: f64,
    variables: usize,
}

fn build(norm: &Norm, cand: &[Vec<(u32, f64)>]) -> Built {
    let n = cand.len();
    // Costs scaled to mean 1 keep the interior-point method well conditioned.
    let total: f64 = cand.iter().flat_map(|c| c.iter().map(|x| x.1)).sum();
    let count: usize = cand.iter().map(|c| c.len()).sum();
    let scale = if total > 0.0 {
        count as f64 / total
    } else {
        1.0
    };

    // Elastic bands: slack costs more than any reassignment could save, so it is used only
    // where a band cannot be met, and then says which one binds.
    let penalty = 100.0 * (n as f64 / norm.k as f64).max(1.0) * 10.0;

    let mut vars = ProblemVariables::new();
    let x: Vec<Vec<Variable>> = cand
        .iter()
        .map(|c| c.iter().map(|_| vars.add(variable().min(0.0))).collect())
        .collect();
    let slack: Vec<[Variable; 2]> = (0..norm.k * norm.m)
        .map(|_| [vars.add(variable().min(0.0)), vars.add(variable().min(0.0))])
        .collect();
    let mut objective = Expression::with_capacity(count + 2 * slack.len());
    for s in &slack {
        objective.add_mul(penalty, s[0]);
        objective.add_mul(penalty, s[1]);
    }
    let mut by_group: Vec<Vec<(usize, Variable)>> = vec![Vec::new(); norm.k];
    for u in 0..n {
        for (i, &(g, c)) in cand[u].iter().enumerate() {
            objective.add_mul(c * scale, x[u][i]);
            by_group[g as usize].push((u, x[u][i]));
        }
    }
    let mut model = assignment_model(vars, objective, &x);
    let mut rows = Vec::with_capacity(norm.k * norm.m);
    for (g, list) in by_group.iter().enumerate() {
        for j in 0..norm.m {
            let mut row = Expression::with_capacity(list.len());
            for &(u, v) in list {
                let a = norm.vn[(u, j)];
                if a != 0.0 {
                    row.add_mul(a, v);
                }
            }
            let (lo, hi) = (norm.bands.lo[(g, j)], norm.bands.hi[(g, j)]);
            let [under, over] = slack[g * norm.m + j];
            let lo_row = (lo > 0.0).then(|| {
                let mut r = row.clone();
                r.add_mul(1.0, under);
                model.add_constraint(r.geq(lo))
            });
            let mut r = row;
            r.add_mul(-1.0, over);
            rows.push((lo_row, model.add_constraint(r.leq(hi))));
        }
    }
    Built {
        model,
        x,
        slack,
        rows,
        scale,
        variables: count,
    }
}

/// Band prices (λ⁺ − λ⁻ per group and metric, in the problem's cost units) from the duals
/// of the whole LP at `centres` (every group a candidate of every unit). Any prices give a
/// valid Lagrangian bound; by strong duality these give the LP optimum, which subgradient
/// steps approach slowly.
pub fn band_prices(norm: &Norm, centres: &[[f64; 2]]) -> Result<Array2<f64>, String> {
    let cand = nearest(norm, centres, norm.k);
    let Built {
        model, rows, scale, ..
    } = build(norm, &cand);
    let mut solution = model.solve().map_err(|e| e.to_string())?;
    let duals = solution.compute_dual();
    let mut prices = Array2::<f64>::zeros((norm.k, norm.m));
    for (i, (lo_row, hi_row)) in rows.iter().enumerate() {
        let over = duals.dual(hi_row.clone()).abs();
        let under = lo_row.as_ref().map_or(0.0, |r| duals.dual(r.clone()).abs());
        prices[(i / norm.m, i % norm.m)] = (over - under) / scale;
    }
    Ok(prices)
}

/// Solves at `centres` on the `l` nearest groups per unit. No widening: slack left at these
/// centres is what local search repairs, and a wider LP costs far more than it saves.
pub fn solve_fixed_centres(
    norm: &Norm,
    centres: &[[f64; 2]],
    l: usize,
) -> Result<LpResult, String> {
    let l = l.min(norm.k);
    let cand = nearest(norm, centres, l);
    let n = cand.len();
    let Built {
        model,
        x,
        slack,
        variables: count,
        ..
    } = build(norm, &cand);
    let t = std::time::Instant::now();
    let solution = model.solve().map_err(|e| e.to_string())?;
    super::debug(&format!("lp solve L={l} vars={count}: {:?}", t.elapsed()));
    let mut binding = Vec::new();
    let mut total_slack = 0.0;
    for g in 0..norm.k {
        for j in 0..norm.m {
            let [under, over] = slack[g * norm.m + j];
            let (a, b) = (
                solution.value(under).max(0.0),
                solution.value(over).max(0.0),
            );
            if a + b > SLACK_EPS {
                binding.push((g, j, b - a));
                total_slack += a + b;
            }
        }
    }

    let mut rounded = vec![0u32; n];
    let mut fractional_units = 0;
    for u in 0..n {
        let mut best = (f64::NEG_INFINITY, 0u32);
        for (i, &(g, _)) in cand[u].iter().enumerate() {
            let v = solution.value(x[u][i]).clamp(0.0, 1.0);
            if v > best.0 + 1e-9 {
                best = (v, g);
            }
        }
        if best.0 < 1.0 - 1e-4 {
            fractional_units += 1;
        }
        rounded[u] = best.1;
    }
    Ok(LpResult {
        slack: total_slack,
        binding,
        rounded,
        fractional_units,
        variables: count,
    })
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use crate::solve::state::State;
    use crate::solve::state::tests::Line;
    use crate::solve::{Norm, bound, local_search, state::Scope};

    /// By strong duality the Lagrangian at the LP's band duals is the LP optimum, so no
    /// subgradient run can end above it, and no plan that meets the bands below it.
    #[test]
    fn lp_duals_price_the_lagrangian_at_its_maximum() {
        let n = 30;
        let values = Array2::from_shape_fn((n, 2), |(u, j)| {
            1.0 + ((u * 7 + j * 3) % 11) as f64 + if j == 1 { (u % 4) as f64 } else { 0.0 }
        });
        let edges: Vec<(u32, u32)> = (0..n as u32 - 1).map(|u| (u, u + 1)).collect();
        let totals = values.sum_axis(ndarray::Axis(0));
        let targets = Array2::from_shape_fn((3, 2), |(_, j)| totals[j] / 3.0);
        let line = Line::new(values, &edges, targets.clone());
        let mut p = line.problem();
        p.lo = targets.mapv(|t| 0.9 * t);
        p.hi = targets.mapv(|t| 1.1 * t);
        let norm = Norm::new(&p);
        let centres = vec![[2.0, 0.0], [6.0, 0.0], [26.0, 0.0]];
        let mut plan = State::new(
            &norm,
            (0..n).map(|u| (u * 3 / n) as u32).collect(),
            centres.clone(),
        );
        local_search::repair(&mut plan, false, true, Scope::All);
        assert!(plan.meets_bands());
        let upper = plan.objective();

        let prices = super::band_prices(&norm, &centres).unwrap();
        let at_lp =
            bound::lagrangian(&norm, &centres, upper, true, 0, Some((&prices, 1.0)), true).bound;
        let cold = bound::lagrangian(&norm, &centres, upper, true, 400, None, true).bound;
        let unpriced = bound::lagrangian(&norm, &centres, upper, true, 0, None, true).bound;
        // Interior-point duals are optimal to about 1e-8.
        assert!(
            at_lp >= cold - 1e-6 * cold.abs(),
            "LP {at_lp} < subgradient {cold}"
        );
        assert!(at_lp <= upper * (1.0 + 1e-9), "LP {at_lp} > plan {upper}");
        // The bands bind: the nearest-centre assignment is no bound worth reporting.
        assert!(at_lp > unpriced * (1.0 + 1e-6), "{at_lp} vs {unpriced}");
    }
}
