//! For each unit, its L nearest centres with the weighted assignment cost, found through an
//! R-tree of the centres: O(n · L · log k) instead of scanning every centre, which is what
//! makes thousands of territories affordable.

use rayon::prelude::*;
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::Norm;
use crate::geometry::Site;

/// Up to this many centres, a unit's nearest are found by scanning them all: cheaper than
/// the R-tree's heap walk.
const SCAN_MAX_CENTRES: usize = 512;

/// `cand[u]` = up to L (group, cost) pairs, nearest first (ties by group index).
pub type Candidates = Vec<Vec<(u32, f64)>>;

/// The centres as points of the 3-D space their sites live in (unit vectors for lat/lon,
/// `z = 0` for planar data); straight-line (chord) order there is distance order.
pub struct CentreIndex {
    tree: RTree<GeomWithData<[f64; 3], u32>>,
    sites: Vec<Site>,
}

impl CentreIndex {
    pub fn new(norm: &Norm, centres: &[[f64; 2]]) -> CentreIndex {
        let sites = norm.sites_of(centres);
        let points = sites
            .iter()
            .enumerate()
            .map(|(g, s)| GeomWithData::new(s.v, g as u32))
            .collect();
        CentreIndex {
            tree: RTree::bulk_load(points),
            sites,
        }
    }

    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// Every unit's `l` best groups with their costs, cheapest first: sorted by cost
    /// (distance where the unit weighs nothing), so a unit's home group stays among its
    /// candidates when leaving it costs more than the detour.
    pub fn lists(&self, norm: &Norm, l: usize) -> Candidates {
        let l = l.min(self.sites.len());
        (0..norm.p.coords.len())
            .into_par_iter()
            .map_init(<(Vec<u64>, Vec<u64>)>::default, |scratch, u| {
                self.best(norm, u, l, scratch)
                    .into_iter()
                    .map(|(key, g)| (g, cost_of_key(norm, u, g, key)))
                    .collect()
            })
            .collect()
    }

    /// Unit `u`'s `l` best groups by (distance + disruption / weight, group), with their
    /// keys. Leaving home costs every other group the same, so the `l + 1` nearest by
    /// distance plus the home group hold the answer; centres tied with the last one taken
    /// are included so that ties fall to the lower group index as in a full scan.
    fn best(
        &self,
        norm: &Norm,
        u: usize,
        l: usize,
        (scratch, sorted): &mut (Vec<u64>, Vec<u64>),
    ) -> Vec<(f64, u32)> {
        let p = norm.p;
        let here = norm.sites[u];
        let w = p.weight[u];
        let key = |g: u32| {
            let d = p.coordinates.site_distance(&here, &self.sites[g as usize]);
            if w > 0.0 {
                d + norm.penalty(u, g as usize) / w
            } else {
                d
            }
        };
        let want = (l + 1).min(self.sites.len());
        let mut all: Vec<(f64, u32)> = Vec::with_capacity(want + 2);
        if self.sites.len() <= SCAN_MAX_CENTRES {
            // Every centre within the want-th smallest distance: the set the tree walk
            // below finds (its order is by the same squared chord), in a few microseconds
            // instead of a heap walk per unit (100k: 11% of the run's CPU).
            // A squared chord is a sum of squares, never negative or NaN: its bits order
            // as its value does, and integers select faster than `total_cmp` does.
            scratch.clear();
            scratch.extend(self.sites.iter().map(|s| here.chord2(s).to_bits()));
            let last = if want < scratch.len() {
                sorted.clear();
                sorted.extend_from_slice(scratch);
                *sorted.select_nth_unstable(want - 1).1
            } else {
                u64::MAX
            };
            all.extend(
                scratch
                    .iter()
                    .enumerate()
                    .filter(|&(_, &d2)| d2 <= last)
                    .map(|(g, _)| (key(g as u32), g as u32)),
            );
        } else {
            let mut last = f64::NAN;
            for item in self.tree.nearest_neighbor_iter(here.v) {
                let d2 = here.chord2(&Site { v: *item.geom() });
                if all.len() >= want && d2 > last {
                    break;
                }
                all.push((key(item.data), item.data));
                last = d2;
            }
        }
        if let Some(&h) = norm.home.get(u)
            && h != super::NO_HOME
            && !all.iter().any(|&(_, g)| g == h)
        {
            all.push((key(h), h));
        }
        // Groups are distinct: the order is total, a stable sort would give the same.
        all.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.truncate(l);
        all
    }
}

/// The weighted cost of unit `u` in a group at key `key` (see [`CentreIndex::best`]).
#[inline]
fn cost_of_key(norm: &Norm, u: usize, g: u32, key: f64) -> f64 {
    let w = norm.p.weight[u];
    if w > 0.0 {
        w * key
    } else {
        norm.penalty(u, g as usize)
    }
}

pub fn nearest(norm: &Norm, centres: &[[f64; 2]], l: usize) -> Candidates {
    CentreIndex::new(norm, centres).lists(norm, l)
}
