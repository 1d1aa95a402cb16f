//! Weighted k-means++ seeding on the balance mass of each unit (seeded, deterministic).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Norm;

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
        for u in 0..n {
            let d = dist(u, c).powi(2);
            if d < d2[u] {
                d2[u] = d;
            }
        }
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
    let mass: Vec<f64> = (0..n).map(|u| norm.vn.row(u).sum() + 1e-9).collect();
    for g in 0..norm.k {
        if centres[g].is_some() {
            continue;
        }
        let placed: Vec<_> = centres
            .iter()
            .flatten()
            .map(|c| p.coordinates.site(*c))
            .collect();
        let far = (0..n)
            .map(|u| {
                let d = placed
                    .iter()
                    .map(|s| p.coordinates.site_distance(&norm.sites[u], s))
                    .fold(f64::INFINITY, f64::min);
                let d = if d.is_finite() { d } else { 1.0 };
                (mass[u] * d * d, u)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
            .map_or(0, |x| x.1);
        centres[g] = Some(p.coords[far]);
    }
    centres
        .into_iter()
        .map(|c| c.unwrap_or([0.0, 0.0]))
        .collect()
}

/// Realignment start: every unit in its current group, the others in their cheapest
/// candidate; a group left empty takes the unit nearest its centre, so that it has a
/// border along which local search can grow it.
pub fn books_start(
    norm: &Norm,
    cand: &super::candidates::Candidates,
    centres: &[[f64; 2]],
) -> Vec<u32> {
    let n = norm.p.coords.len();
    let mut assign: Vec<u32> = (0..n)
        .map(|u| {
            let h = norm.home[u];
            if h != super::NO_HOME {
                h
            } else {
                cand[u].first().map_or(0, |c| c.0)
            }
        })
        .collect();
    let mut size = vec![0usize; norm.k];
    for &g in &assign {
        size[g as usize] += 1;
    }
    let p = norm.p;
    for g in 0..norm.k {
        if size[g] > 0 {
            continue;
        }
        let site = p.coordinates.site(centres[g]);
        let pick = (0..n)
            .filter(|&u| size[assign[u] as usize] > 1)
            .min_by(|&a, &b| {
                let da = p.coordinates.site_distance(&norm.sites[a], &site);
                let db = p.coordinates.site_distance(&norm.sites[b], &site);
                da.total_cmp(&db).then(a.cmp(&b))
            });
        if let Some(u) = pick {
            size[assign[u] as usize] -= 1;
            assign[u] = g as u32;
            size[g] += 1;
        }
    }
    assign
}
