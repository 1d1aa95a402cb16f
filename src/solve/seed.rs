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
