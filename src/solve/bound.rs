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
    /// Each unit's nearest groups with their costs, nearest first (candidate lists).
    pub near: Vec<Vec<(u32, f64)>>,
    /// Band prices (λ⁺ − λ⁻) at the best bound, groups × metrics.
    pub prices: Array2<f64>,
    pub assignment: Vec<u32>,
    pub violation: f64,
}

impl Dual {
    /// The `l` nearest groups of every unit: the candidate lists at the dual's centres.
    pub fn nearest(&self, l: usize) -> Vec<Vec<(u32, f64)>> {
        self.near
            .iter()
            .map(|c| c[..l.min(c.len())].to_vec())
            .collect()
    }
}

/// Groups per unit scanned first in every dual iteration.
const NEAR: usize = 24;
/// Lowest-priced groups per metric scanned for every unit.
const CHEAP: usize = 8;

pub fn lagrangian(
    norm: &Norm,
    centres: &[[f64; 2]],
    upper: f64,
    iters: usize,
    warm: Option<&Array2<f64>>,
) -> Dual {
    let (k, m) = (norm.k, norm.m);
    let n = norm.p.coords.len();
    let mut plus = Array2::<f64>::zeros((k, m));
    let mut minus = Array2::<f64>::zeros((k, m));
    // Dense unit × group cost matrix (every iteration may read a row of it), and each
    // unit's NEAR cheapest groups with the cost of the next one: a group outside the list
    // costs at least `tail + Σ_j a_uj · min_g price_gj`, so the list decides the unit's
    // minimum exactly unless that floor is lower; then the whole row is scanned.
    let sites = norm.sites_of(centres);
    let mut cost = Array2::<f64>::zeros((n, k));
    cost.axis_iter_mut(ndarray::Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(u, mut row)| {
            for (g, c) in sites.iter().enumerate() {
                row[g] = norm.cost_in(u, g, c);
            }
        });
    let near = NEAR.min(k);
    // Sorted by distance (then group), so units of zero weight still list their nearest.
    let lists: Vec<(Vec<(u32, f64)>, f64)> = (0..n)
        .into_par_iter()
        .map(|u| {
            let w = norm.p.weight[u];
            let dist = |g: usize| {
                if w > 0.0 {
                    cost[(u, g)] / w
                } else {
                    norm.p.coordinates.site_distance(&norm.sites[u], &sites[g])
                }
            };
            let mut all: Vec<(f64, u32)> = (0..k).map(|g| (dist(g), g as u32)).collect();
            let cmp = |a: &(f64, u32), b: &(f64, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
            if near < all.len() {
                all.select_nth_unstable_by(near, cmp);
            }
            let tail = if near < all.len() {
                w * all[near].0
            } else {
                f64::INFINITY
            };
            all.truncate(near);
            all.sort_by(cmp);
            (
                all.into_iter()
                    .map(|(_, g)| (g, cost[(u, g as usize)]))
                    .collect(),
                tail,
            )
        })
        .collect();
    if let Some(p) = warm {
        plus.zip_mut_with(p, |a, b| *a = b.max(0.0));
        minus.zip_mut_with(p, |a, b| *a = (-b).max(0.0));
    }
    let mut best = f64::NEG_INFINITY;
    let mut best_prices = Array2::<f64>::zeros((k, m));
    let mut best_assign: (f64, Vec<u32>) = (f64::INFINITY, Vec::new());
    let mut theta = 1.0;
    let mut since_improved = 0;
    for _ in 0..iters {
        let price = &plus - &minus;
        // The groups with the lowest price in some metric are scanned for every unit; the
        // floor for all others uses the next-lowest price per metric.
        let mut cheap: Vec<usize> = Vec::new();
        let mut pmin = vec![0.0; m];
        for j in 0..m {
            let mut col: Vec<(f64, usize)> = (0..k).map(|g| (price[(g, j)], g)).collect();
            col.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let take = CHEAP.min(k);
            cheap.extend(col[..take].iter().map(|x| x.1));
            pmin[j] = col.get(take).map_or(f64::INFINITY, |x| x.0);
        }
        cheap.sort_unstable();
        cheap.dedup();
        // Each unit's cheapest priced group, in parallel, summed in unit order.
        // Flat row-major slices: these loops are the whole cost of an iteration.
        let ps = price.as_slice().expect("prices are in standard layout");
        let vs = norm.vn.as_slice().expect("metrics are in standard layout");
        let cs = cost.as_slice().expect("costs are in standard layout");
        let priced = |g: usize, u: usize, c: f64| {
            let (p, row) = (&ps[g * m..(g + 1) * m], &vs[u * m..(u + 1) * m]);
            let mut v = c;
            for j in 0..m {
                v += p[j] * row[j];
            }
            v
        };
        // Lexicographic (value, group) minimum, the same whatever the scan order.
        let better = |v: f64, g: u32, best: (u32, f64)| v < best.1 || (v == best.1 && g < best.0);
        let mut picks: Vec<(u32, f64)> = vec![(0, f64::INFINITY); n];
        picks.par_iter_mut().enumerate().for_each(|(u, best)| {
            let (list, tail) = &lists[u];
            for &(g, c) in list {
                let v = priced(g as usize, u, c);
                if better(v, g, *best) {
                    *best = (g, v);
                }
            }
            let crow = &cs[u * k..(u + 1) * k];
            for &g in &cheap {
                let v = priced(g, u, crow[g]);
                if better(v, g as u32, *best) {
                    *best = (g as u32, v);
                }
            }
            let row = &vs[u * m..(u + 1) * m];
            let floor = tail + (0..m).map(|j| row[j] * pmin[j]).sum::<f64>();
            if floor < best.1 {
                for (g, &c) in crow.iter().enumerate() {
                    let v = priced(g, u, c);
                    if better(v, g as u32, *best) {
                        *best = (g as u32, v);
                    }
                }
            }
        });
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
            best_prices = price.clone();
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
        near: lists.into_iter().map(|(l, _)| l).collect(),
        bound: best,
        prices: best_prices,
        assignment: best_assign.1,
        violation: best_assign.0,
    }
}
