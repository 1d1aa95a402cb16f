//! The balanced assignment at fixed centres as a MIP, through good_lp's HiGHS backend
//! (feature `highs`): a binary x_ug for every unit and territory, Σ_g x_ug = 1, every band
//! lo ≤ Σ_u v_uj x_ug ≤ hi, the disruption budgets, and the same costs the heuristic uses
//! (weighted distance plus move cost). Contiguity is not modelled, so its optimum bounds
//! any contiguous plan at these centres from below. Warm-started from the heuristic's plan,
//! with a time limit; HiGHS proves the gap.

use super::{ExactInfo, Norm};
use good_lp::solvers::highs::highs;
use good_lp::{Expression, ProblemVariables, SolverModel, Variable, variable};

pub struct Exact {
    pub info: ExactInfo,
    pub assignment: Vec<u32>,
}

pub fn solve(
    norm: &Norm,
    centres: &[[f64; 2]],
    start: &[u32],
    time_limit: f64,
) -> Result<Exact, String> {
    let t = std::time::Instant::now();
    let (n, k, m) = (start.len(), norm.k, norm.m);
    let sites = norm.sites_of(centres);
    let cost = |u: usize, g: usize| norm.cost_in(u, g, &sites[g]);
    let heuristic: f64 = (0..n).map(|u| cost(u, start[u] as usize)).sum();
    // Costs scaled to mean 1 keep HiGHS's tolerances meaningful.
    let scale = if heuristic > 0.0 {
        n as f64 / heuristic
    } else {
        1.0
    };

    let mut vars = ProblemVariables::new();
    let x: Vec<Vec<Variable>> = (0..n)
        .map(|_| (0..k).map(|_| vars.add(variable().binary())).collect())
        .collect();
    let mut objective = Expression::with_capacity(n * k);
    for (u, xs) in x.iter().enumerate() {
        for (g, &v) in xs.iter().enumerate() {
            objective.add_mul(cost(u, g) * scale, v);
        }
    }
    let mut model = vars.minimise(objective).using(highs);
    for xs in &x {
        let mut row = Expression::with_capacity(k);
        for &v in xs {
            row.add_mul(1.0, v);
        }
        model.add_constraint(row.eq(1.0));
    }
    let b = &norm.bands;
    for g in 0..k {
        for j in 0..m {
            let mut row = Expression::with_capacity(n);
            for (u, xs) in x.iter().enumerate() {
                let a = norm.vn[(u, j)];
                if a != 0.0 {
                    row.add_mul(a, xs[g]);
                }
            }
            if b.lo[(g, j)] > 0.0 {
                model.add_constraint(row.clone().geq(b.lo[(g, j)]));
            }
            if b.hi[(g, j)].is_finite() {
                model.add_constraint(row.leq(b.hi[(g, j)]));
            }
        }
    }
    // Budgets: Σ amount over units away from home ≤ limit, i.e.
    // Σ amount × x_u,home ≥ Σ amount − limit.
    for (bi, &limit) in norm.budget_limit.iter().enumerate() {
        let mut row = Expression::with_capacity(n);
        let mut total = 0.0;
        for (u, xs) in x.iter().enumerate() {
            let h = norm.home.get(u).copied().unwrap_or(super::NO_HOME);
            if h == super::NO_HOME {
                continue;
            }
            let a = norm.budget_amount[(u, bi)];
            total += a;
            row.add_mul(a, xs[h as usize]);
        }
        model.add_constraint(row.geq(total - limit));
    }

    let mut inner = model.into_inner();
    inner.make_quiet();
    inner.set_option("time_limit", time_limit.max(0.1));
    inner.set_option("mip_rel_gap", 1e-6);
    inner.set_option("random_seed", 0);
    inner.set_option("threads", 1);
    let mut warm = vec![0.0; n * k];
    for (u, &g) in start.iter().enumerate() {
        warm[u * k + g as usize] = 1.0;
    }
    inner.set_solution(Some(&warm), None, None, None);
    let solved = inner
        .try_solve()
        .map_err(|e| format!("HiGHS failed: {e:?}"))?;
    let status = format!("{:?}", solved.status());
    let columns = solved.get_solution().columns().to_vec();
    if columns.len() != n * k {
        return Err(format!("HiGHS returned no solution ({status})"));
    }
    let assignment: Vec<u32> = (0..n)
        .map(|u| {
            (0..k)
                .max_by(|&a, &c| {
                    columns[u * k + a]
                        .total_cmp(&columns[u * k + c])
                        .then(c.cmp(&a))
                })
                .unwrap_or(0) as u32
        })
        .collect();
    let mip_objective: f64 = (0..n).map(|u| cost(u, assignment[u] as usize)).sum();
    // HiGHS reports −∞ when the limit ran out before the root relaxation was solved.
    let bound = solved
        .double_info_value(c"mip_dual_bound")
        .ok()
        .filter(|b| b.is_finite())
        .map(|b| (b / scale).min(mip_objective));
    Ok(Exact {
        info: ExactInfo {
            status,
            heuristic_objective: heuristic,
            mip_objective,
            mip_bound: bound,
            heuristic_gap: super::proven_gap(heuristic, bound),
            seconds: t.elapsed().as_secs_f64(),
            variables: n * k,
            adopted: false,
        },
        assignment,
    })
}
