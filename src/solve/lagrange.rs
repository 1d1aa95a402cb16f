//! Price-coordinated assignment: each unit joins the candidate group with the lowest
//! cost plus band prices; prices rise on groups above their band and fall below it
//! (subgradient steps on the Lagrangian dual of the band constraints). Fast and
//! scalable; used for the location–allocation rounds.

use ndarray::Array2;
use rayon::prelude::*;

use super::Norm;
use super::candidates::Candidates;
use super::state::loads_of;

pub fn assign(norm: &Norm, cand: &Candidates, prices: &mut Array2<f64>, iters: usize) -> Vec<u32> {
    let n = cand.len();
    let m = norm.m;
    // Price scale: what it takes to move an average unit to its second choice, per unit of mass.
    let (mut regret, mut mass) = (0.0, 0.0);
    for (u, c) in cand.iter().enumerate() {
        if c.len() > 1 {
            regret += c[1].1 - c[0].1;
        }
        mass += norm.vn.row(u).sum() / m as f64;
    }
    let scale = if mass > 0.0 { (regret / mass).max(1e-12) } else { 1.0 };

    let mut best: Option<(f64, Vec<u32>)> = None;
    for t in 0..iters {
        let assign: Vec<u32> = (0..n)
            .into_par_iter()
            .map(|u| {
                let row = norm.vn.row(u);
                let mut bg = cand[u][0].0;
                let mut bc = f64::INFINITY;
                for &(g, c) in &cand[u] {
                    let mut total = c;
                    for j in 0..m {
                        total += prices[(g as usize, j)] * row[j];
                    }
                    if total < bc {
                        bc = total;
                        bg = g;
                    }
                }
                bg
            })
            .collect();
        let loads = loads_of(norm, &assign);
        let mut violation = 0.0;
        let step = scale * 2.0 / (1.0 + t as f64).sqrt();
        for g in 0..norm.k {
            for j in 0..m {
                let (lo, hi, x) = (norm.bands.lo[(g, j)], norm.bands.hi[(g, j)], loads[(g, j)]);
                let width = (hi - lo).max(1e-9);
                let v = if x > hi {
                    x - hi
                } else if x < lo {
                    x - lo
                } else {
                    0.0
                };
                violation += v.abs();
                prices[(g, j)] += step * v / width;
            }
        }
        let better = best.as_ref().is_none_or(|(bv, _)| violation < *bv);
        if better {
            best = Some((violation, assign));
        }
        if violation == 0.0 {
            break;
        }
    }
    best.map(|(_, a)| a).unwrap_or_default()
}
