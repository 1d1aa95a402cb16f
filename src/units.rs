//! Accounts → basic units (one per postal code, or one per account), with summed metrics,
//! weighted centroid and member list; the unit adjacency graph from a Delaunay triangulation.

use std::collections::HashMap;

use ndarray::Array2;
use rustc_hash::FxHashMap;
use spade::{DelaunayTriangulation, HasPosition, Point2, Triangulation};

use crate::geometry::{Coordinates, weighted_centre};
use crate::metrics::AccountMetrics;
use crate::model::Accounts;
use crate::model::scenario::UnitKind;

/// Compressed sparse rows: the neighbours of unit `u` are `nbrs[offsets[u]..offsets[u + 1]]`.
#[derive(Debug, Clone, Default)]
pub struct Adjacency {
    pub offsets: Vec<usize>,
    pub nbrs: Vec<u32>,
}

impl Adjacency {
    pub fn from_edges(n: usize, edges: &[(u32, u32)]) -> Adjacency {
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); n];
        for &(a, b) in edges {
            if a != b {
                lists[a as usize].push(b);
                lists[b as usize].push(a);
            }
        }
        let mut offsets = Vec::with_capacity(n + 1);
        let mut nbrs = Vec::new();
        offsets.push(0);
        for mut l in lists {
            l.sort_unstable();
            l.dedup();
            nbrs.extend(l);
            offsets.push(nbrs.len());
        }
        Adjacency { offsets, nbrs }
    }

    #[inline]
    pub fn of(&self, u: usize) -> &[u32] {
        &self.nbrs[self.offsets[u]..self.offsets[u + 1]]
    }

    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone)]
pub struct Units {
    /// Routing key: the postal code, or the account id for account units and for
    /// accounts without a postal code.
    pub key: Vec<String>,
    /// 0 for a whole unit; 1, 2, … for the parts of a split postal code.
    pub part: Vec<u32>,
    pub offsets: Vec<usize>,
    pub members: Vec<u32>,
    pub coords: Vec<[f64; 2]>,
    pub weight: Vec<f64>,
    /// units × balance metrics.
    pub values: Array2<f64>,
    pub adjacency: Adjacency,
    /// Postal codes split because one of them outweighed a band.
    pub split_units: usize,
    pub split_parts: usize,
    /// Single accounts heavier than the split limit (cannot be split further).
    pub oversized_accounts: usize,
    pub without_postal_code: usize,
}

impl Units {
    pub fn len(&self) -> usize {
        self.key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.key.is_empty()
    }

    pub fn members(&self, u: usize) -> &[u32] {
        &self.members[self.offsets[u]..self.offsets[u + 1]]
    }
}

/// Groups the accounts `subset` (in input order) into units. `split_limit[m]` is the most
/// of metric `m` one unit may carry; heavier postal codes are split into parts (down to
/// single accounts) so bands stay reachable.
pub fn build_units(
    accounts: &Accounts,
    metrics: &AccountMetrics,
    kind: UnitKind,
    coordinates: Coordinates,
    split_limit: &[f64],
    subset: &[u32],
) -> Units {
    let n = subset.len();
    let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
    let mut without_postal_code = 0;
    match kind {
        UnitKind::Account => {
            groups = subset
                .iter()
                .map(|&i| (accounts.id[i as usize].clone(), vec![i]))
                .collect();
        }
        UnitKind::PostalCode => {
            let mut by_code: FxHashMap<&str, usize> = FxHashMap::default();
            for &i in subset {
                let i = i as usize;
                let code = accounts.postal_code[i].as_str();
                if code.is_empty() {
                    without_postal_code += 1;
                    groups.push((accounts.id[i].clone(), vec![i as u32]));
                    continue;
                }
                let g = *by_code.entry(code).or_insert_with(|| {
                    groups.push((code.to_string(), Vec::new()));
                    groups.len() - 1
                });
                groups[g].1.push(i as u32);
            }
            groups.sort_by(|a, b| a.0.cmp(&b.0));
        }
    }

    let m = metrics.names.len();
    let load = |members: &[u32]| -> Vec<f64> {
        let mut v = vec![0.0; m];
        for &a in members {
            for (j, x) in v.iter_mut().enumerate() {
                *x += metrics.values[(a as usize, j)];
            }
        }
        v
    };
    let over = |v: &[f64]| v.iter().zip(split_limit).any(|(x, l)| x > l);

    let mut key = Vec::new();
    let mut part = Vec::new();
    let mut offsets = vec![0];
    let mut members = Vec::with_capacity(n);
    let (mut split_units, mut split_parts, mut oversized_accounts) = (0, 0, 0);
    for (k, accs) in groups {
        let parts = if accs.len() > 1 && over(&load(&accs)) {
            split_units += 1;
            split_heavy(&accs, metrics, split_limit)
        } else {
            vec![accs]
        };
        let numbered = parts.len() > 1;
        for (p, accs) in parts.into_iter().enumerate() {
            if accs.len() == 1 && over(&load(&accs)) {
                oversized_accounts += 1;
            }
            if numbered {
                split_parts += 1;
            }
            key.push(k.clone());
            part.push(if numbered { p as u32 + 1 } else { 0 });
            members.extend_from_slice(&accs);
            offsets.push(members.len());
        }
    }

    let nu = key.len();
    let mut values = Array2::zeros((nu, m));
    let mut weight = vec![0.0; nu];
    let mut coords = vec![[0.0; 2]; nu];
    for u in 0..nu {
        let ms = &members[offsets[u]..offsets[u + 1]];
        for &a in ms {
            let a = a as usize;
            for j in 0..m {
                values[(u, j)] += metrics.values[(a, j)];
            }
            weight[u] += metrics.weight[a];
        }
        coords[u] = weighted_centre(
            ms.iter()
                .map(|&a| (accounts.pos[a as usize], metrics.weight[a as usize])),
        )
        .unwrap_or([0.0, 0.0]);
    }
    let adjacency = delaunay_adjacency(&coords, coordinates);
    Units {
        key,
        part,
        offsets,
        members,
        coords,
        weight,
        values,
        adjacency,
        split_units,
        split_parts,
        oversized_accounts,
        without_postal_code,
    }
}

/// Longest-processing-time packing into as few parts as keep each under the limit.
fn split_heavy(accs: &[u32], metrics: &AccountMetrics, limit: &[f64]) -> Vec<Vec<u32>> {
    let m = limit.len();
    let norm = |a: u32, j: usize| metrics.values[(a as usize, j)] / limit[j].max(f64::MIN_POSITIVE);
    let size = |a: u32| (0..m).map(|j| norm(a, j)).fold(0.0, f64::max);
    let mut order: Vec<u32> = accs.to_vec();
    order.sort_by(|&a, &b| size(b).total_cmp(&size(a)).then(a.cmp(&b)));
    let total: Vec<f64> = (0..m)
        .map(|j| accs.iter().map(|&a| norm(a, j)).sum())
        .collect();
    let mut p = total.iter().cloned().fold(1.0, f64::max).ceil() as usize;
    loop {
        let mut parts: Vec<(Vec<f64>, Vec<u32>)> = vec![(vec![0.0; m], Vec::new()); p];
        for &a in &order {
            let best = (0..p)
                .min_by(|&x, &y| {
                    let sx = (0..m)
                        .map(|j| parts[x].0[j] + norm(a, j))
                        .fold(0.0, f64::max);
                    let sy = (0..m)
                        .map(|j| parts[y].0[j] + norm(a, j))
                        .fold(0.0, f64::max);
                    sx.total_cmp(&sy).then(x.cmp(&y))
                })
                .unwrap_or(0);
            for j in 0..m {
                parts[best].0[j] += norm(a, j);
            }
            parts[best].1.push(a);
        }
        let bad = parts
            .iter()
            .any(|(l, a)| a.len() > 1 && l.iter().any(|&x| x > 1.0));
        if !bad || p >= accs.len() {
            let mut out: Vec<Vec<u32>> = parts
                .into_iter()
                .map(|(_, a)| a)
                .filter(|a| !a.is_empty())
                .collect();
            for a in &mut out {
                a.sort_unstable();
            }
            out.sort();
            return out;
        }
        p += 1;
    }
}

struct Site {
    pos: Point2<f64>,
    idx: u32,
}

impl HasPosition for Site {
    type Scalar = f64;
    fn position(&self) -> Point2<f64> {
        self.pos
    }
}

/// Delaunay graph of unit centroids with long edges pruned (coasts, lakes, the hull).
/// Units at the same spot (parts of one postal code) are linked to each other and share
/// their spot's Delaunay neighbours.
pub fn delaunay_adjacency(coords: &[[f64; 2]], coordinates: Coordinates) -> Adjacency {
    let n = coords.len();
    let project = coordinates.projector(coords);
    let mut spot_of: HashMap<(u64, u64), usize> = HashMap::new();
    let mut spots: Vec<Vec<u32>> = Vec::new();
    let mut spot_pos: Vec<[f64; 2]> = Vec::new();
    for (u, c) in coords.iter().enumerate() {
        let p = project(*c);
        let s = *spot_of
            .entry((p[0].to_bits(), p[1].to_bits()))
            .or_insert_with(|| {
                spots.push(Vec::new());
                spot_pos.push(p);
                spots.len() - 1
            });
        spots[s].push(u as u32);
    }
    let mut spot_edges: Vec<(usize, usize, f64)> = Vec::new();
    if spots.len() <= 3 {
        for a in 0..spots.len() {
            for b in a + 1..spots.len() {
                spot_edges.push((a, b, 0.0));
            }
        }
    } else {
        let sites: Vec<Site> = spot_pos
            .iter()
            .enumerate()
            .map(|(i, p)| Site {
                pos: Point2::new(p[0], p[1]),
                idx: i as u32,
            })
            .collect();
        match DelaunayTriangulation::<Site>::bulk_load(sites) {
            Ok(t) => {
                for e in t.undirected_edges() {
                    let [a, b] = e.vertices();
                    let (a, b) = (a.data().idx as usize, b.data().idx as usize);
                    let (pa, pb) = (spot_pos[a], spot_pos[b]);
                    let len = ((pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2)).sqrt();
                    spot_edges.push((a.min(b), a.max(b), len));
                }
            }
            Err(_) => {
                // Degenerate input (e.g. all points on a line): chain the spots in order.
                let mut order: Vec<usize> = (0..spots.len()).collect();
                order.sort_by(|&a, &b| {
                    spot_pos[a][0]
                        .total_cmp(&spot_pos[b][0])
                        .then(spot_pos[a][1].total_cmp(&spot_pos[b][1]))
                });
                for w in order.windows(2) {
                    spot_edges.push((w[0], w[1], 0.0));
                }
            }
        }
    }
    let kept = prune_long_edges(spots.len(), &spot_edges);

    let mut edges: Vec<(u32, u32)> = Vec::new();
    for units in &spots {
        // Co-located units: a ring plus chords keeps them connected without a large clique.
        if units.len() <= 8 {
            for a in 0..units.len() {
                for b in a + 1..units.len() {
                    edges.push((units[a], units[b]));
                }
            }
        } else {
            for a in 0..units.len() {
                for step in [1, 2, 4] {
                    edges.push((units[a], units[(a + step) % units.len()]));
                }
            }
        }
    }
    for &(a, b) in &kept {
        let (ua, ub) = (&spots[a], &spots[b]);
        if ua.len() * ub.len() <= 64 {
            for &x in ua {
                for &y in ub {
                    edges.push((x, y));
                }
            }
        } else {
            let k = ua.len().max(ub.len());
            for i in 0..k {
                edges.push((ua[i % ua.len()], ub[i % ub.len()]));
            }
        }
    }
    Adjacency::from_edges(n, &edges)
}

/// Drops an edge longer than three times the median edge at both of its ends, but never
/// a spot's shortest edge, so no spot is cut off by pruning alone.
fn prune_long_edges(n: usize, edges: &[(usize, usize, f64)]) -> Vec<(usize, usize)> {
    let mut incident: Vec<Vec<f64>> = vec![Vec::new(); n];
    for &(a, b, l) in edges {
        incident[a].push(l);
        incident[b].push(l);
    }
    let mut median = vec![0.0; n];
    let mut shortest = vec![f64::INFINITY; n];
    for (v, ls) in incident.iter_mut().enumerate() {
        if ls.is_empty() {
            continue;
        }
        ls.sort_by(f64::total_cmp);
        median[v] = ls[(ls.len() - 1) / 2];
        shortest[v] = ls[0];
    }
    edges
        .iter()
        .filter(|&&(a, b, l)| {
            l <= 3.0 * median[a].max(median[b]) || l <= shortest[a] || l <= shortest[b]
        })
        .map(|&(a, b, _)| (a, b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_adjacency_is_connected_and_local() {
        let coords: Vec<[f64; 2]> = (0..100)
            .map(|i| [(i % 10) as f64, (i / 10) as f64])
            .collect();
        let adj = delaunay_adjacency(&coords, Coordinates::Xy);
        for u in 0..100 {
            assert!(!adj.of(u).is_empty());
            for &v in adj.of(u) {
                let d = Coordinates::Xy.distance(coords[u], coords[v as usize]);
                assert!(d < 1.5, "edge {u}-{v} of length {d}");
            }
        }
    }

    #[test]
    fn long_edges_between_dense_clusters_are_pruned() {
        let mut coords: Vec<[f64; 2]> = (0..25).map(|i| [(i % 5) as f64, (i / 5) as f64]).collect();
        coords.extend((0..25).map(|i| [(i % 5) as f64 + 100.0, (i / 5) as f64]));
        let adj = delaunay_adjacency(&coords, Coordinates::Xy);
        for u in 0..50 {
            assert!(!adj.of(u).is_empty());
            assert!(
                adj.of(u).iter().all(|&v| (v < 25) == (u < 25)),
                "unit {u} crosses the gap"
            );
        }
    }
}
