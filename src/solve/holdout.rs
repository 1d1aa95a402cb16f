//! Hold-outs: a location–allocation cycle searches the plan without its hard territories.
//!
//! A territory is hard where moves, exchanges, chains and relays could not meet its bands
//! and a re-split was needed: typically a rep whose locked accounts carry most of a
//! territory's potential, so that the rest must be a rare mix of small accounts. Fresh
//! prices miss that mix again in every cycle (at 1M the same dozen territories were
//! re-split in each of six cycles, ~50 s in all). So once a plan has them in band, a cycle
//! keeps them and their units as that plan has them and solves the rest as a problem of
//! its own: its own dual, priced start and search, with the held units and their loads
//! out of the problem and out of the disruption budgets. A held territory's band is then
//! exactly as the plan left it, and the rest of the plan still moves towards shorter
//! cycles around it. Contiguity is unaffected: a territory's units never pass through
//! another territory's.

use ndarray::Array2;

use super::{Budget, NO_HOME, Norm, Problem, Realign};
use crate::units::Adjacency;

/// The problem without the held territories and their units (or, for [`Holdout::of`], of
/// any units among any groups), with the maps between its units and groups and the whole
/// plan's.
pub(super) struct Holdout {
    /// The whole plan's index of each free unit and each free group.
    units: Vec<u32>,
    groups: Vec<usize>,
    coords: Vec<[f64; 2]>,
    weight: Vec<f64>,
    values: Array2<f64>,
    targets: Array2<f64>,
    lo: Array2<f64>,
    hi: Array2<f64>,
    adjacency: Adjacency,
    home: Vec<u32>,
    move_cost: Vec<f64>,
    budget_amount: Vec<Vec<f64>>,
    budget_limit: Vec<f64>,
    /// Per metric, the mean free group's target over the whole plan's mean target: the
    /// ratio between a price in the free problem's scale and in the whole plan's.
    scale: Vec<f64>,
}

impl Holdout {
    /// The free part of `norm` with `hard` groups held as `assign` has them; None where
    /// nothing is held or the held units alone exceed a disruption budget.
    pub fn new(norm: &Norm, assign: &[u32], hard: &[bool]) -> Option<Holdout> {
        let p = norm.p;
        if !hard.iter().any(|&h| h) || hard.iter().all(|&h| h) {
            return None;
        }
        let groups: Vec<usize> = (0..norm.k).filter(|&g| !hard[g]).collect();
        let units: Vec<u32> = (0..assign.len() as u32)
            .filter(|&u| !hard[assign[u as usize] as usize])
            .collect();
        let mut limits = Vec::new();
        if let Some(r) = &p.realign {
            // A free unit at home in a held group moves whatever the search does; a held
            // unit away from home has moved already: both are spent budget.
            let away = |u: usize| r.home[u] != NO_HOME && r.home[u] != assign[u];
            for b in &r.budgets {
                let spent: f64 = (0..assign.len())
                    .filter(|&u| {
                        let held = hard[assign[u] as usize];
                        (held && away(u))
                            || (!held && r.home[u] != NO_HOME && hard[r.home[u] as usize])
                    })
                    .map(|u| b.amount[u])
                    .sum();
                if spent > b.limit {
                    return None;
                }
                limits.push(b.limit - spent);
            }
        }
        Some(Holdout::of(norm, units, groups, limits))
    }

    /// The problem of `units` among `groups` (both ascending, in the whole plan's
    /// numbering): the adjacency among those units, homes outside `groups` dropped (such
    /// units move whichever group they join), and per disruption budget of the whole, its
    /// limit in `limits` (none: no budgets).
    pub fn of(norm: &Norm, units: Vec<u32>, groups: Vec<usize>, limits: Vec<f64>) -> Holdout {
        let p = norm.p;
        let (k, m) = p.targets.dim();
        let n = p.coords.len();
        let mut slot = vec![NO_HOME; k];
        for (c, &g) in groups.iter().enumerate() {
            slot[g] = c as u32;
        }
        let mut local = vec![u32::MAX; n];
        for (i, &u) in units.iter().enumerate() {
            local[u as usize] = i as u32;
        }
        let mut edges = Vec::new();
        for (i, &u) in units.iter().enumerate() {
            for &v in p.adjacency.of(u as usize) {
                let j = local[v as usize];
                if j != u32::MAX && (i as u32) < j {
                    edges.push((i as u32, j));
                }
            }
        }
        let rows =
            |a: &Array2<f64>| Array2::from_shape_fn((groups.len(), m), |(c, j)| a[(groups[c], j)]);
        let targets = rows(&p.targets);
        let scale = (0..m)
            .map(|j| {
                let whole = p.targets.column(j).sum() / k as f64;
                let free = targets.column(j).sum() / groups.len() as f64;
                if whole > 0.0 { free / whole } else { 1.0 }
            })
            .collect();
        let (mut home, mut move_cost, mut budget_amount) = (Vec::new(), Vec::new(), Vec::new());
        if let Some(r) = &p.realign {
            home = units
                .iter()
                .map(|&u| match r.home[u as usize] {
                    NO_HOME => NO_HOME,
                    h => slot[h as usize],
                })
                .collect();
            move_cost = units.iter().map(|&u| r.move_cost[u as usize]).collect();
            budget_amount = r
                .budgets
                .iter()
                .take(limits.len())
                .map(|b| units.iter().map(|&u| b.amount[u as usize]).collect())
                .collect();
        }
        Holdout {
            coords: units.iter().map(|&u| p.coords[u as usize]).collect(),
            weight: units.iter().map(|&u| p.weight[u as usize]).collect(),
            values: Array2::from_shape_fn((units.len(), m), |(i, j)| {
                p.values[(units[i] as usize, j)]
            }),
            targets,
            lo: rows(&p.lo),
            hi: rows(&p.hi),
            adjacency: Adjacency::from_edges(units.len(), &edges),
            units,
            groups,
            home,
            move_cost,
            budget_amount,
            budget_limit: limits,
            scale,
        }
    }

    /// The free part as a problem of its own (a realignment where the whole is one).
    pub fn problem<'a>(&'a self, whole: &Problem<'a>) -> Problem<'a> {
        Problem {
            coordinates: whole.coordinates,
            coords: &self.coords,
            weight: &self.weight,
            values: &self.values,
            targets: self.targets.clone(),
            lo: self.lo.clone(),
            hi: self.hi.clone(),
            adjacency: &self.adjacency,
            realign: whole.realign.as_ref().map(|_| Realign {
                home: &self.home,
                move_cost: &self.move_cost,
                budgets: self
                    .budget_amount
                    .iter()
                    .zip(&self.budget_limit)
                    .map(|(amount, &limit)| Budget { amount, limit })
                    .collect(),
            }),
        }
    }

    /// The free units' groups in the free problem's numbering.
    pub fn assign_in(&self, assign: &[u32]) -> Vec<u32> {
        let k = self.groups.last().map_or(0, |&g| g + 1);
        let mut slot = vec![NO_HOME; k.max(1)];
        for (c, &g) in self.groups.iter().enumerate() {
            slot[g] = c as u32;
        }
        self.units
            .iter()
            .map(|&u| slot[assign[u as usize] as usize])
            .collect()
    }

    /// The whole plan: the held units where `assign` has them, the free ones where the free
    /// problem's `free` puts them.
    pub fn assign_out(&self, assign: &[u32], free: &[u32]) -> Vec<u32> {
        let mut out = assign.to_vec();
        for (&u, &c) in self.units.iter().zip(free) {
            out[u as usize] = self.groups[c as usize] as u32;
        }
        out
    }

    pub fn centres_in(&self, centres: &[[f64; 2]]) -> Vec<[f64; 2]> {
        self.groups.iter().map(|&g| centres[g]).collect()
    }

    pub fn centres_out(&self, centres: &[[f64; 2]], free: &[[f64; 2]]) -> Vec<[f64; 2]> {
        let mut out = centres.to_vec();
        for (&g, &c) in self.groups.iter().zip(free) {
            out[g] = c;
        }
        out
    }

    /// The whole plan's band prices in the free problem's scale.
    pub fn prices_in(&self, prices: &Array2<f64>) -> Array2<f64> {
        Array2::from_shape_fn((self.groups.len(), prices.ncols()), |(c, j)| {
            prices[(self.groups[c], j)] * self.scale[j]
        })
    }

    /// The free problem's prices written back into the whole plan's (held groups keep
    /// theirs).
    pub fn prices_out(&self, free: &Array2<f64>, prices: &mut Array2<f64>) {
        for (c, &g) in self.groups.iter().enumerate() {
            for j in 0..prices.ncols() {
                if self.scale[j] > 0.0 {
                    prices[(g, j)] = free[(c, j)] / self.scale[j];
                }
            }
        }
    }

    /// Marks in `hard` the whole plan's groups of the free problem's `free_hard` ones.
    pub fn hard_out(&self, free_hard: &[bool], hard: &mut [bool]) {
        for (&g, &h) in self.groups.iter().zip(free_hard) {
            hard[g] |= h;
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::super::state::{State, tests::Line};
    use super::super::{Norm, local_search};
    use super::Holdout;

    /// Four groups on a line, the last held: the free problem has the other three and
    /// their units, its search meets their bands, the held group comes back unchanged, and
    /// prices make the round trip.
    #[test]
    fn a_held_group_keeps_its_units_and_the_rest_is_searched_alone() {
        let values = Array2::from_elem((12, 1), 1.0);
        let edges: Vec<(u32, u32)> = (0..11).map(|u| (u, u + 1)).collect();
        let targets = Array2::from_elem((4, 1), 3.0);
        let line = Line::new(values, &edges, targets);
        let p = line.problem();
        let norm = Norm::new(&p);
        let assign = vec![0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3];
        let centres = vec![[0.5, 0.0], [3.5, 0.0], [7.0, 0.0], [10.0, 0.0]];
        let hard = [false, false, false, true];
        let h = Holdout::new(&norm, &assign, &hard).expect("one group held");
        let free = h.problem(&p);
        assert_eq!(free.coords.len(), 9);
        assert_eq!(free.targets.nrows(), 3);
        let free_norm = Norm::new(&free);
        let mut st = State::new(&free_norm, h.assign_in(&assign), h.centres_in(&centres));
        assert_eq!(st.assign, vec![0, 0, 1, 1, 1, 1, 2, 2, 2]);
        assert!(!st.meets_bands());
        local_search::run(&mut st, true);
        assert!(st.meets_bands(), "{:?}", st.assign);
        let joined = h.assign_out(&assign, &st.assign);
        assert_eq!(joined, vec![0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
        let whole = State::new(&norm, joined, h.centres_out(&centres, &st.centres));
        assert!(whole.meets_bands());
        assert_eq!(whole.centres[3], [10.0, 0.0]);
        let mut prices = Array2::from_shape_fn((4, 1), |(g, _)| g as f64);
        let back = h.prices_in(&prices);
        prices[(3, 0)] = 7.0;
        h.prices_out(&back, &mut prices);
        assert_eq!(prices.column(0).to_vec(), vec![0.0, 1.0, 2.0, 7.0]);
        // Nothing held, or everything: no hold-out.
        assert!(Holdout::new(&norm, &assign, &[false; 4]).is_none());
        assert!(Holdout::new(&norm, &assign, &[true; 4]).is_none());
    }
}
