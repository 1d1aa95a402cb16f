//! Regret-ordered capacitated assignment: units with most to lose choose first and take
//! the nearest candidate group that still has room under every upper band; a unit that
//! fits nowhere goes where it overfills least. Deterministic, O(n·L); used in the
//! location–allocation rounds before the LP and local search.

use ndarray::Array2;

use super::Norm;
use super::candidates::Candidates;

/// Candidate lists re-costed with band prices (cost + Σ_j price_gj · a_uj), cheapest first.
pub fn priced(norm: &Norm, cand: &Candidates, prices: &Array2<f64>) -> Candidates {
    cand.iter()
        .enumerate()
        .map(|(u, c)| {
            let row = norm.vn.row(u);
            let mut out: Vec<(u32, f64)> = c
                .iter()
                .map(|&(g, cost)| {
                    let p: f64 = (0..norm.m).map(|j| prices[(g as usize, j)] * row[j]).sum();
                    (g, cost + p)
                })
                .collect();
            out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            out
        })
        .collect()
}

pub fn assign(norm: &Norm, cand: &Candidates) -> Vec<u32> {
    let n = cand.len();
    let m = norm.m;
    let regret = |u: usize| -> f64 {
        let c = &cand[u];
        if c.len() > 1 {
            c[1].1 - c[0].1
        } else {
            f64::INFINITY
        }
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| regret(b).total_cmp(&regret(a)).then(a.cmp(&b)));
    let mut loads = Array2::<f64>::zeros((norm.k, m));
    let hi = &norm.bands.hi;
    let mut assign = vec![0u32; n];
    for u in order {
        let row = norm.vn.row(u);
        let fits =
            |g: usize, loads: &Array2<f64>| (0..m).all(|j| loads[(g, j)] + row[j] <= hi[(g, j)]);
        let chosen = cand[u]
            .iter()
            .map(|&(g, _)| g as usize)
            .find(|&g| fits(g, &loads))
            .unwrap_or_else(|| {
                cand[u]
                    .iter()
                    .map(|&(g, _)| g as usize)
                    .min_by(|&a, &b| {
                        let fill = |g: usize| {
                            (0..m)
                                .map(|j| (loads[(g, j)] + row[j]) / hi[(g, j)].max(1e-12))
                                .fold(0.0, f64::max)
                        };
                        fill(a).total_cmp(&fill(b)).then(a.cmp(&b))
                    })
                    .unwrap_or(0)
            });
        for j in 0..m {
            loads[(chosen, j)] += row[j];
        }
        assign[u] = chosen as u32;
    }
    assign
}
