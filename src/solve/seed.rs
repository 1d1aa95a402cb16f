//! Weighted k-means++ seeding on the balance mass of each unit (seeded, deterministic).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{Norm, debug};

pub fn kmeans_pp(norm: &Norm, seed: u64) -> Vec<[f64; 2]> {
    let p = norm.p;
    let n = p.coords.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Mass = the unit's share of what is balanced, so centres sit where the work is.
    let mass: Vec<f64> = (0..n).map(|u| norm.vn.row(u).sum() + 1e-9).collect();
    let pick = |rng: &mut ChaCha8Rng, w: &[f64]| -> usize {
        let total: f64 = w.iter().sum();
        let mut r = rng.random::<f64>() * total;
        for (i, x) in w.iter().enumerate() {
            r -= x;
            if r <= 0.0 {
                return i;
            }
        }
        w.len() - 1
    };
    let first = pick(&mut rng, &mass);
    let mut centres = vec![p.coords[first]];
    let dist = |a: usize, b: usize| p.coordinates.site_distance(&norm.sites[a], &norm.sites[b]);
    let mut d2: Vec<f64> = (0..n).map(|u| dist(u, first).powi(2)).collect();
    let mut w = vec![0.0; n];
    while centres.len() < norm.k {
        for u in 0..n {
            w[u] = mass[u] * d2[u];
        }
        let c = if w.iter().sum::<f64>() > 0.0 {
            pick(&mut rng, &w)
        } else {
            rng.random_range(0..n)
        };
        centres.push(p.coords[c]);
        d2.par_iter_mut().enumerate().for_each(|(u, du)| {
            let d = dist(u, c).powi(2);
            if d < *du {
                *du = d;
            }
        });
    }
    centres
}

/// Realignment: each group starts at the weighted centre of its current book; a group
/// with no book (a new territory) starts at the unit farthest, by mass × distance², from
/// every centre placed so far, so new territories open where coverage is thinnest.
pub fn from_books(norm: &Norm) -> Vec<[f64; 2]> {
    let p = norm.p;
    let n = p.coords.len();
    let mut acc = vec![(0.0, 0.0, 0.0, 0usize); norm.k];
    for u in 0..n {
        let h = norm.home[u];
        if h == super::NO_HOME {
            continue;
        }
        let (c, w) = (p.coords[u], p.weight[u].max(1e-12));
        let a = &mut acc[h as usize];
        a.0 += c[0] * w;
        a.1 += c[1] * w;
        a.2 += w;
        a.3 += 1;
    }
    let mut centres: Vec<Option<[f64; 2]>> = acc
        .iter()
        .map(|a| (a.3 > 0).then(|| [a.0 / a.2, a.1 / a.2]))
        .collect();
    if centres.iter().all(Option::is_some) {
        return centres.into_iter().flatten().collect();
    }
    let mass: Vec<f64> = (0..n).map(|u| norm.vn.row(u).sum() + 1e-9).collect();
    // Each unit's distance to the nearest centre placed so far, updated one centre at a
    // time: O(n × k) in all, however many territories are new.
    let dist_to = |c: &[f64; 2], d: &mut [f64]| {
        let s = p.coordinates.site(*c);
        d.par_iter_mut().enumerate().for_each(|(u, du)| {
            *du = du.min(p.coordinates.site_distance(&norm.sites[u], &s));
        });
    };
    // Distances to the books' centres from an R-tree of them (the nearest by chord is the
    // nearest by distance): O(n log k) rather than O(n × k), 0.8 s at 1M accounts.
    let books: Vec<crate::geometry::Site> = centres
        .iter()
        .flatten()
        .map(|c| p.coordinates.site(*c))
        .collect();
    let tree = rstar::RTree::bulk_load(
        books
            .iter()
            .enumerate()
            .map(|(i, s)| rstar::primitives::GeomWithData::new(s.v, i))
            .collect(),
    );
    let mut near: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|u| {
            tree.nearest_neighbor(norm.sites[u].v)
                .map_or(f64::INFINITY, |b| {
                    p.coordinates.site_distance(&norm.sites[u], &books[b.data])
                })
        })
        .collect();
    for g in 0..norm.k {
        if centres[g].is_some() {
            continue;
        }
        let far = (0..n)
            .map(|u| {
                let d = if near[u].is_finite() { near[u] } else { 1.0 };
                (mass[u] * d * d, u)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
            .map_or(0, |x| x.1);
        centres[g] = Some(p.coords[far]);
        dist_to(&p.coords[far], &mut near);
    }
    centres
        .into_iter()
        .map(|c| c.unwrap_or([0.0, 0.0]))
        .collect()
}

/// Realignment start: every unit in its current group, the others in their cheapest
/// candidate. A group left empty is seated by local search like any start's.
pub fn books_start(norm: &Norm, cand: &super::candidates::Candidates) -> Vec<u32> {
    (0..norm.p.coords.len())
        .map(|u| {
            let h = norm.home[u];
            if h != super::NO_HOME {
                h
            } else {
                cand[u].first().map_or(0, |c| c.0)
            }
        })
        .collect()
}

/// Share of its band's lower edge below which a group counts as starved.
const STARVED: f64 = 0.25;

/// Location–allocation leaves a group starved where its centre sits among too little work
/// (a remote book, an island): growing it along the border cannot reach the band. Each
/// starved group's centre moves into the most overfull group, at that group's member
/// farthest (by mass × distance²) from its centre, so the two split the surplus. Returns
/// how many moved.
pub fn relocate_starved(norm: &Norm, assign: &[u32], centres: &mut [[f64; 2]]) -> usize {
    let (k, m) = (norm.k, norm.m);
    let loads = super::state::loads_of(norm, assign);
    // Fill: the smallest load ÷ lower edge over metrics, and the largest load ÷ upper edge.
    let ratio = |g: usize, edge: &ndarray::Array2<f64>, worst: fn(f64, f64) -> f64, init: f64| {
        (0..m)
            .filter(|&j| edge[(g, j)] > 0.0)
            .map(|j| loads[(g, j)] / edge[(g, j)])
            .fold(init, worst)
    };
    let mut starved: Vec<(f64, usize)> = (0..k)
        .map(|g| (ratio(g, &norm.bands.lo, f64::min, f64::INFINITY), g))
        .filter(|x| x.0 < STARVED)
        .collect();
    if starved.is_empty() {
        return 0;
    }
    starved.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut over: Vec<(f64, usize)> = (0..k)
        .map(|g| (ratio(g, &norm.bands.hi, f64::max, 0.0), g))
        .filter(|x| x.0 > 1.0)
        .collect();
    over.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let p = norm.p;
    let mut moved = 0;
    for (&(_, g), &(_, h)) in starved.iter().zip(&over) {
        let centre = p.coordinates.site(centres[h]);
        let far = (0..assign.len())
            .filter(|&u| assign[u] as usize == h)
            .map(|u| {
                let d = p.coordinates.site_distance(&norm.sites[u], &centre);
                (norm.vn.row(u).sum() * d * d, u)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        if let Some((_, u)) = far {
            centres[g] = p.coords[u];
            moved += 1;
        }
    }
    debug(&format!("relocated {moved} starved centres"));
    moved
}
