//! Lower bound for the final centres: the Lagrangian dual of the balanced-assignment LP
//! with the band rows priced. For any prices λ⁺, λ⁻ ≥ 0,
//!   L(λ) = Σ_u min_g [c_ug + Σ_j (λ⁺_gj − λ⁻_gj)·a_uj] − Σ λ⁺·hi + Σ λ⁻·lo
//! is a valid lower bound on every plan with these centres (every group is a candidate, so
//! nothing is assumed about candidate lists); its maximum equals the LP optimum. Prices
//! follow Polyak subgradient steps towards the incumbent's objective.

use ndarray::Array2;
use rayon::prelude::*;

use super::Norm;

/// The dual's result: the best bound, and the priced assignment that came closest to
/// meeting every band (a near-LP-optimal start for local search).
pub struct Dual {
    pub bound: f64,
    pub assignment: Vec<u32>,
    pub violation: f64,
}

pub fn lagrangian(norm: &Norm, centres: &[[f64; 2]], upper: f64, iters: usize) -> Dual {
    let (k, m) = (norm.k, norm.m);
    let n = norm.p.coords.len();
    let mut plus = Array2::<f64>::zeros((k, m));
    let mut minus = Array2::<f64>::zeros((k, m));
    // Dense unit × group cost matrix: every iteration reads all of it.
    let mut cost = Array2::<f64>::zeros((n, k));
    cost.axis_iter_mut(ndarray::Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(u, mut row)| {
            for (g, c) in centres.iter().enumerate() {
                row[g] = norm.cost(u, *c);
            }
        });
    let mut best = f64::NEG_INFINITY;
    let mut best_assign: (f64, Vec<u32>) = (f64::INFINITY, Vec::new());
    let mut theta = 1.0;
    let mut since_improved = 0;
    for _ in 0..iters {
        let price = &plus - &minus;
        // Each unit's cheapest priced group, in parallel, summed in unit order.
        let picks: Vec<(u32, f64)> = (0..n)
            .into_par_iter()
            .map(|u| {
                let row = norm.vn.row(u);
                let mut bestg = (0u32, f64::INFINITY);
                for g in 0..k {
                    let mut v = cost[(u, g)];
                    for j in 0..m {
                        v += price[(g, j)] * row[j];
                    }
                    if v < bestg.1 {
                        bestg = (g as u32, v);
                    }
                }
                bestg
            })
            .collect();
        let mut value: f64 = picks.iter().map(|p| p.1).sum();
        let mut loads = Array2::<f64>::zeros((k, m));
        for (u, &(g, _)) in picks.iter().enumerate() {
            for j in 0..m {
                loads[(g as usize, j)] += norm.vn[(u, j)];
            }
        }
        let mut violation = 0.0;
        for g in 0..k {
            for j in 0..m {
                let (lo, hi) = (norm.bands.lo[(g, j)], norm.bands.hi[(g, j)]);
                value += -plus[(g, j)] * hi + minus[(g, j)] * lo;
                violation += super::state::band_violation(loads[(g, j)], lo, hi);
            }
        }
        if violation <= best_assign.0 {
            best_assign = (violation, picks.iter().map(|p| p.0).collect());
        }
        if best == f64::NEG_INFINITY || value > best + 1e-9 * best.abs() {
            best = value;
            since_improved = 0;
        } else {
            since_improved += 1;
            if since_improved >= 5 {
                theta *= 0.5;
                since_improved = 0;
            }
        }
        // Subgradients: load − hi for λ⁺, lo − load for λ⁻ (projected onto λ ≥ 0).
        let mut norm2 = 0.0;
        let mut sp = Array2::<f64>::zeros((k, m));
        let mut sm = Array2::<f64>::zeros((k, m));
        for g in 0..k {
            for j in 0..m {
                let a = loads[(g, j)] - norm.bands.hi[(g, j)];
                let b = norm.bands.lo[(g, j)] - loads[(g, j)];
                sp[(g, j)] = if plus[(g, j)] > 0.0 || a > 0.0 {
                    a
                } else {
                    0.0
                };
                sm[(g, j)] = if minus[(g, j)] > 0.0 || b > 0.0 {
                    b
                } else {
                    0.0
                };
                norm2 += sp[(g, j)].powi(2) + sm[(g, j)].powi(2);
            }
        }
        if norm2 < 1e-18 || theta < 1e-4 || (upper - best) <= 1e-6 * upper.abs() {
            break;
        }
        let step = theta * (upper - value).max(1e-9 * upper.abs()) / norm2;
        plus.zip_mut_with(&sp, |p, s| *p = (*p + step * s).max(0.0));
        minus.zip_mut_with(&sm, |p, s| *p = (*p + step * s).max(0.0));
    }
    Dual {
        bound: best,
        assignment: best_assign.1,
        violation: best_assign.0,
    }
}
