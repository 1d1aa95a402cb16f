//! For each unit, its L nearest centres with the weighted assignment cost.

use rayon::prelude::*;

use super::Norm;

/// `cand[u]` = up to L (group, cost) pairs, nearest first (ties by group index).
pub type Candidates = Vec<Vec<(u32, f64)>>;

pub fn nearest(norm: &Norm, centres: &[[f64; 2]], l: usize) -> Candidates {
    let p = norm.p;
    let l = l.min(centres.len());
    let sites = norm.sites_of(centres);
    (0..p.coords.len())
        .into_par_iter()
        .map(|u| {
            // Sorted by cost (distance where the unit weighs nothing), so a unit's home
            // group stays among its candidates when leaving it costs more than the detour.
            let w = p.weight[u];
            let mut all: Vec<(f64, u32)> = sites
                .iter()
                .enumerate()
                .map(|(g, c)| {
                    let d = p.coordinates.site_distance(&norm.sites[u], c);
                    let key = if w > 0.0 {
                        d + norm.penalty(u, g) / w
                    } else {
                        d
                    };
                    (key, g as u32)
                })
                .collect();
            if l < all.len() {
                all.select_nth_unstable_by(l - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                all.truncate(l);
            }
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            all.into_iter()
                .map(|(d, g)| {
                    (
                        g,
                        if w > 0.0 {
                            w * d
                        } else {
                            norm.penalty(u, g as usize)
                        },
                    )
                })
                .collect()
        })
        .collect()
}
