//! The incumbent assignment with its group loads, members and centres.

use std::collections::VecDeque;

use ndarray::Array2;

use super::Norm;
use crate::geometry::Site;

/// Row `r` of a solver array as a slice (every solver array is built in standard layout).
#[inline]
pub(super) fn row_of(a: &Array2<f64>, r: usize) -> &[f64] {
    a.row(r)
        .to_slice()
        .expect("solver arrays are in standard layout")
}

/// Per group and metric, the band in normalised units.
#[derive(Debug, Clone)]
pub struct Bands {
    pub lo: Array2<f64>,
    pub hi: Array2<f64>,
}

/// Total band violation (in shares of the target) below which every band counts as met:
/// floating-point sums, not tolerance.
pub const BAND_EPS: f64 = 1e-12;

#[inline]
pub fn band_violation(x: f64, lo: f64, hi: f64) -> f64 {
    if x > hi {
        x - hi
    } else if x < lo {
        lo - x
    } else {
        0.0
    }
}

/// Per metric: (min, max) relative deviation of the group values from their targets.
pub fn band_report(values: &Array2<f64>, targets: &Array2<f64>) -> Vec<(f64, f64)> {
    let (k, m) = values.dim();
    (0..m)
        .map(|j| {
            (0..k)
                .map(|g| {
                    let t = targets[(g, j)];
                    if t > 0.0 {
                        values[(g, j)] / t - 1.0
                    } else {
                        0.0
                    }
                })
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), d| {
                    (lo.min(d), hi.max(d))
                })
        })
        .collect()
}

pub fn loads_of(norm: &Norm, assign: &[u32]) -> Array2<f64> {
    let mut loads = Array2::zeros((norm.k, norm.m));
    for (u, &g) in assign.iter().enumerate() {
        for j in 0..norm.m {
            loads[(g as usize, j)] += norm.vn[(u, j)];
        }
    }
    loads
}

/// Weighted centroid of each group's units; an empty group keeps its old centre.
pub fn centres_of(norm: &Norm, assign: &[u32], old: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let p = norm.p;
    let mut acc = vec![(0.0, 0.0, 0.0, 0.0, 0.0, 0usize); norm.k];
    for (u, &g) in assign.iter().enumerate() {
        let a = &mut acc[g as usize];
        let (c, w) = (p.coords[u], p.weight[u]);
        a.0 += c[0] * w;
        a.1 += c[1] * w;
        a.2 += w;
        a.3 += c[0];
        a.4 += c[1];
        a.5 += 1;
    }
    acc.iter()
        .zip(old)
        .map(|(a, o)| {
            if a.5 == 0 {
                *o
            } else if a.2 > 0.0 {
                [a.0 / a.2, a.1 / a.2]
            } else {
                [a.3 / a.5 as f64, a.4 / a.5 as f64]
            }
        })
        .collect()
}

/// Loads and budgets saved by [`State::mark`].
pub struct Mark {
    loads: Vec<(usize, Vec<f64>)>,
    moved: Vec<f64>,
    versions: Vec<u64>,
}

/// The groups a band repair works on: every group, or, inside a re-split, the groups of
/// its area and any group elsewhere it left more violated than `before` (groups that
/// repair had already failed on are not searched again for every area).
#[derive(Clone, Copy)]
pub enum Scope<'s> {
    All,
    Area { area: &'s [bool], before: &'s [f64] },
}

pub struct State<'a> {
    pub norm: &'a Norm<'a>,
    pub assign: Vec<u32>,
    pub loads: Array2<f64>,
    pub centres: Vec<[f64; 2]>,
    /// The centres as sites, for fast distances.
    pub sites: Vec<Site>,
    pub members: Vec<Vec<u32>>,
    /// Per disruption budget: the normalised amount now away from home.
    pub moved: Vec<f64>,
    /// Position of each unit in its group's member list.
    pos: Vec<u32>,
    /// BFS scratch: visit stamps.
    stamp: Vec<u32>,
    epoch: u32,
    /// Per group, the tick of its last change (members or loads; an undo gives back the
    /// marked groups' versions with their contents): what a search found for a group
    /// stays right while the versions it read are the same. The clock only grows, so a
    /// version never names two different contents of a group in one state (clones go
    /// their own way and are never compared with each other).
    version: Vec<u64>,
    clock: u64,
}

/// `clone_from` reuses the target's buffers: a chain round copies the plan for each
/// thread's searches, and at 1M a fresh clone (2,000 member lists) cost 0.36 s of CPU in
/// the first cycle's join alone.
impl Clone for State<'_> {
    fn clone(&self) -> Self {
        State {
            norm: self.norm,
            assign: self.assign.clone(),
            loads: self.loads.clone(),
            centres: self.centres.clone(),
            sites: self.sites.clone(),
            members: self.members.clone(),
            moved: self.moved.clone(),
            pos: self.pos.clone(),
            stamp: self.stamp.clone(),
            epoch: self.epoch,
            version: self.version.clone(),
            clock: self.clock,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        // Every field named: a new one cannot be forgotten here.
        let State {
            norm,
            assign,
            loads,
            centres,
            sites,
            members,
            moved,
            pos,
            stamp,
            epoch,
            version,
            clock,
        } = source;
        self.norm = norm;
        self.assign.clone_from(assign);
        self.loads.clone_from(loads);
        self.centres.clone_from(centres);
        self.sites.clone_from(sites);
        self.members.clone_from(members);
        self.moved.clone_from(moved);
        self.pos.clone_from(pos);
        self.stamp.clone_from(stamp);
        self.epoch = *epoch;
        self.version.clone_from(version);
        self.clock = *clock;
    }
}

impl<'a> State<'a> {
    pub fn new(norm: &'a Norm<'a>, assign: Vec<u32>, centres: Vec<[f64; 2]>) -> State<'a> {
        let loads = loads_of(norm, &assign);
        let mut members = vec![Vec::new(); norm.k];
        let mut pos = vec![0; assign.len()];
        for (u, &g) in assign.iter().enumerate() {
            pos[u] = members[g as usize].len() as u32;
            members[g as usize].push(u as u32);
        }
        let n = assign.len();
        let mut moved = vec![0.0; norm.budget_limit.len()];
        if norm.realigning() {
            for (u, &g) in assign.iter().enumerate() {
                let h = norm.home[u];
                if h != super::NO_HOME && h != g {
                    for (b, m) in moved.iter_mut().enumerate() {
                        *m += norm.budget_amount[(u, b)];
                    }
                }
            }
        }
        State {
            norm,
            assign,
            loads,
            moved,
            sites: norm.sites_of(&centres),
            centres,
            members,
            pos,
            stamp: vec![0; n],
            epoch: 0,
            version: vec![0; norm.k],
            clock: 0,
        }
    }

    pub fn group_violation(&self, g: usize) -> f64 {
        (0..self.norm.m)
            .map(|j| {
                band_violation(
                    self.loads[(g, j)],
                    self.norm.bands.lo[(g, j)],
                    self.norm.bands.hi[(g, j)],
                )
            })
            .sum()
    }

    /// Band violation of every group plus the excess over each disruption budget.
    pub fn total_violation(&self) -> f64 {
        let bands: f64 = (0..self.norm.k).map(|g| self.group_violation(g)).sum();
        bands + self.budget_excess(&self.moved)
    }

    /// Excess over the disruption budgets now.
    pub fn budget_violation(&self) -> f64 {
        self.budget_excess(&self.moved)
    }

    fn budget_excess(&self, moved: &[f64]) -> f64 {
        moved
            .iter()
            .zip(&self.norm.budget_limit)
            .map(|(m, l)| (m - l).max(0.0))
            .sum()
    }

    /// Change in budget excess if each `(unit, group)` of `moves` went to that group.
    pub fn budget_delta(&self, moves: &[(usize, usize)]) -> f64 {
        // Called for every move and exchange looked at: no allocation, and nothing summed
        // where no unit leaves or regains its home.
        let sign = |&(u, to): &(usize, usize)| {
            let home = self.norm.home[u];
            if home == super::NO_HOME {
                return 0.0;
            }
            match (self.assign[u] == home, to as u32 == home) {
                (true, false) => 1.0,
                (false, true) => -1.0,
                _ => 0.0,
            }
        };
        if self.moved.is_empty() || moves.iter().all(|mv| sign(mv) == 0.0) {
            return 0.0;
        }
        // The same sums, in the same order, as `budget_excess` of the moved amounts after
        // the moves, less that of the amounts before.
        let mut after_excess = 0.0;
        for (b, (&m, &l)) in self.moved.iter().zip(&self.norm.budget_limit).enumerate() {
            let mut m = m;
            for mv in moves {
                let s = sign(mv);
                if s != 0.0 {
                    m += s * self.norm.budget_amount[(mv.0, b)];
                }
            }
            after_excess += (m - l).max(0.0);
        }
        after_excess - self.budget_excess(&self.moved)
    }

    pub fn meets_bands(&self) -> bool {
        self.total_violation() <= BAND_EPS
    }

    /// Whether `g` is out of its band and in `scope`: a group repair works on.
    #[inline]
    pub fn is_target(&self, g: usize, scope: Scope) -> bool {
        let v = self.group_violation(g);
        v > BAND_EPS
            && match scope {
                Scope::All => true,
                Scope::Area { area, before } => area[g] || v > before[g] + BAND_EPS,
            }
    }

    /// The groups repair works on, ascending.
    pub fn targets(&self, scope: Scope) -> Vec<usize> {
        (0..self.norm.k)
            .filter(|&g| self.is_target(g, scope))
            .collect()
    }

    /// Every band in `scope` and every budget holds.
    pub fn scope_met(&self, scope: Scope) -> bool {
        match scope {
            Scope::All => self.meets_bands(),
            Scope::Area { .. } => {
                self.budget_violation() <= BAND_EPS
                    && !(0..self.norm.k).any(|g| self.is_target(g, scope))
            }
        }
    }

    /// Order of preference between plans: bands met first, then less violation, then shorter.
    pub fn rank(&self) -> (bool, f64, f64) {
        let v = self.total_violation();
        (v > BAND_EPS, v, self.objective())
    }

    pub fn objective(&self) -> f64 {
        self.assign
            .iter()
            .enumerate()
            .map(|(u, &g)| self.cost(u, g as usize))
            .sum()
    }

    /// Change in total violation if unit `u` moved from its group to `h`.
    pub fn move_delta_violation(&self, u: usize, h: usize) -> f64 {
        let g = self.assign[u] as usize;
        // Row slices, not 2-D indexing: this runs for every move repair looks at.
        let b = &self.norm.bands;
        let x = row_of(&self.norm.vn, u);
        let (lg, log, hig) = (row_of(&self.loads, g), row_of(&b.lo, g), row_of(&b.hi, g));
        let (lh, loh, hih) = (row_of(&self.loads, h), row_of(&b.lo, h), row_of(&b.hi, h));
        let mut d = 0.0;
        for (j, &v) in x.iter().enumerate() {
            if v == 0.0 {
                continue;
            }
            d += band_violation(lg[j] - v, log[j], hig[j]) - band_violation(lg[j], log[j], hig[j]);
            d += band_violation(lh[j] + v, loh[j], hih[j]) - band_violation(lh[j], loh[j], hih[j]);
        }
        d + self.budget_delta(&[(u, h)])
    }

    /// Group `g`'s version: see [`State::version`].
    #[inline]
    pub fn version(&self, g: usize) -> u64 {
        self.version[g]
    }

    fn touch(&mut self, g: usize, h: usize) {
        self.clock += 1;
        self.version[g] = self.clock;
        self.version[h] = self.clock;
    }

    pub fn move_unit(&mut self, u: usize, h: usize) {
        let g = self.assign[u] as usize;
        if g == h {
            return;
        }
        self.touch(g, h);
        if !self.moved.is_empty() {
            let home = self.norm.home[u];
            let sign = if home == g as u32 {
                1.0
            } else if home == h as u32 {
                -1.0
            } else {
                0.0
            };
            for (b, m) in self.moved.iter_mut().enumerate() {
                *m += sign * self.norm.budget_amount[(u, b)];
            }
        }
        for j in 0..self.norm.m {
            let v = self.norm.vn[(u, j)];
            self.loads[(g, j)] -= v;
            self.loads[(h, j)] += v;
        }
        let i = self.pos[u] as usize;
        let last = *self.members[g].last().unwrap_or(&(u as u32));
        self.members[g].swap_remove(i);
        if last as usize != u {
            self.pos[last as usize] = i as u32;
        }
        self.pos[u] = self.members[h].len() as u32;
        self.members[h].push(u as u32);
        self.assign[u] = h as u32;
    }

    /// What `undo` needs to take back moves among `groups` exactly: their loads and the
    /// budgets as they are now (adding a unit's values and taking them off again can
    /// leave the last bit changed).
    pub fn mark(&self, groups: &[usize]) -> Mark {
        Mark {
            loads: groups
                .iter()
                .map(|&g| (g, self.loads.row(g).to_vec()))
                .collect(),
            moved: self.moved.clone(),
            versions: groups.iter().map(|&g| self.version[g]).collect(),
        }
    }

    /// Moves `u` to `h` as `move_unit` does; returns what `undo` needs.
    pub fn move_marked(&mut self, u: usize, h: usize) -> (usize, usize, u32) {
        let from = (u, self.assign[u] as usize, self.pos[u]);
        self.move_unit(u, h);
        from
    }

    /// Takes back `moves` (from `move_marked`, in the order made) and restores the state
    /// of `mark` bit for bit, member order included: a tried and abandoned change leaves
    /// no trace.
    pub fn undo(&mut self, moves: &[(usize, usize, u32)], mark: Mark) {
        for &(u, g, i) in moves.iter().rev() {
            let h = self.assign[u] as usize;
            self.touch(g, h);
            // `u` went to the end of h's list and what came after it has been taken back.
            self.members[h].pop();
            let i = i as usize;
            if i < self.members[g].len() {
                let x = self.members[g][i];
                self.pos[x as usize] = self.members[g].len() as u32;
                self.members[g].push(x);
                self.members[g][i] = u as u32;
            } else {
                self.members[g].push(u as u32);
            }
            self.pos[u] = i as u32;
            self.assign[u] = g as u32;
        }
        // The marked groups are as they were, bit for bit: so are their versions (a group
        // moved but not marked keeps its new one). The clock is not taken back, so no
        // version is ever given to two contents.
        for ((g, row), v) in mark.loads.into_iter().zip(mark.versions) {
            for (j, x) in row.into_iter().enumerate() {
                self.loads[(g, j)] = x;
            }
            self.version[g] = v;
        }
        self.moved = mark.moved;
    }

    pub fn recentre(&mut self) {
        self.centres = centres_of(self.norm, &self.assign, &self.centres);
        self.sites = self.norm.sites_of(&self.centres);
    }

    /// Weighted distance of unit `u` to group `g`'s centre.
    #[inline]
    pub fn cost(&self, u: usize, g: usize) -> f64 {
        self.norm.cost_in(u, g, &self.sites[g])
    }

    /// `count` consecutive fresh epochs; the first is returned.
    fn next_epochs(&mut self, count: u32) -> u32 {
        if self.epoch.checked_add(count).is_none() {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.epoch = 0;
        }
        let first = self.epoch + 1;
        self.epoch += count;
        first
    }

    fn next_epoch(&mut self) -> u32 {
        self.next_epochs(1)
    }

    /// Would taking `u` out of its group disconnect the rest of that group's component?
    /// BFS from one group neighbour of `u` until every other group neighbour is reached.
    pub fn removal_keeps_connected(&mut self, u: usize) -> bool {
        let g = self.assign[u];
        let adj = self.norm.p.adjacency;
        // On the stack for the usual degrees: this runs for every move tried.
        let (mut buf, mut heap) = ([0u32; 32], Vec::new());
        let same: &[u32] = if adj.of(u).len() <= buf.len() {
            let mut c = 0;
            for &v in adj.of(u) {
                if self.assign[v as usize] == g {
                    buf[c] = v;
                    c += 1;
                }
            }
            &buf[..c]
        } else {
            heap.extend(
                adj.of(u)
                    .iter()
                    .copied()
                    .filter(|&v| self.assign[v as usize] == g),
            );
            &heap
        };
        if same.len() <= 1 {
            return true;
        }
        // Usually those neighbours touch each other around `u` (a border unit): then the
        // group stays connected without a search through it.
        if same.len() <= 64 {
            let all = u64::MAX >> (64 - same.len());
            let mut joined = 1u64;
            loop {
                let before = joined;
                for (i, &x) in same.iter().enumerate() {
                    if joined >> i & 1 == 1 {
                        for &y in adj.of(x as usize) {
                            if let Some(j) = same.iter().position(|&s| s == y) {
                                joined |= 1 << j;
                            }
                        }
                    }
                }
                if joined == all {
                    return true;
                }
                if joined == before {
                    break;
                }
            }
        }
        // Not settled around `u`: a search from every one of those neighbours at once,
        // a unit from each in turn, merging where two meet. A search that runs dry
        // before all have merged proves the group split. Where `u` is a cut this costs
        // the smaller side, where a search from one neighbour alone could cross the
        // whole territory (fragmented plans: a sixth of a cycle's repair).
        let s = same.len();
        let first = self.next_epochs(s as u32 + 1);
        let blocked = first + s as u32;
        self.stamp[u] = blocked;
        let mut queues: Vec<VecDeque<u32>> = Vec::with_capacity(s);
        for (i, &v) in same.iter().enumerate() {
            self.stamp[v as usize] = first + i as u32;
            queues.push(VecDeque::from([v]));
        }
        let mut parent: Vec<usize> = (0..s).collect();
        let root = |parent: &mut Vec<usize>, mut i: usize| {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        };
        let mut sets = s;
        let mut live = vec![false; s];
        loop {
            let mut ran_dry = false;
            for i in 0..s {
                let Some(x) = queues[i].pop_front() else {
                    continue;
                };
                for &y in adj.of(x as usize) {
                    let y = y as usize;
                    if self.assign[y] != g {
                        continue;
                    }
                    let stamp = self.stamp[y];
                    if (first..blocked).contains(&stamp) {
                        let (a, b) = (
                            root(&mut parent, i),
                            root(&mut parent, (stamp - first) as usize),
                        );
                        if a != b {
                            parent[a] = b;
                            sets -= 1;
                            if sets == 1 {
                                return true;
                            }
                        }
                    } else if stamp != blocked {
                        self.stamp[y] = first + i as u32;
                        queues[i].push_back(y as u32);
                    }
                }
                ran_dry |= queues[i].is_empty();
            }
            // A set of merged searches that all ran dry holds a whole piece without the
            // rest. Only a search that just ran dry can leave its set without a live one.
            if !ran_dry {
                continue;
            }
            live.fill(false);
            for i in 0..s {
                if !queues[i].is_empty() {
                    let r = root(&mut parent, i);
                    live[r] = true;
                }
            }
            if (0..s).any(|i| root(&mut parent, i) == i && !live[i]) {
                return false;
            }
        }
    }

    /// How many connected pieces group `g` is in on the adjacency graph.
    pub fn pieces(&mut self, g: usize) -> usize {
        let adj = self.norm.p.adjacency;
        let e = self.next_epoch();
        let mut pieces = 0;
        let mut queue: Vec<u32> = Vec::new();
        for i in 0..self.members[g].len() {
            let s = self.members[g][i];
            if self.stamp[s as usize] == e {
                continue;
            }
            pieces += 1;
            self.stamp[s as usize] = e;
            queue.push(s);
            while let Some(x) = queue.pop() {
                for &y in adj.of(x as usize) {
                    if self.assign[y as usize] as usize == g && self.stamp[y as usize] != e {
                        self.stamp[y as usize] = e;
                        queue.push(y);
                    }
                }
            }
        }
        pieces
    }

    /// Connected components of group `g` on the adjacency graph, largest mass first.
    pub fn components(&mut self, g: usize) -> Vec<Vec<u32>> {
        let adj = self.norm.p.adjacency;
        let e = self.next_epoch();
        let mut comps: Vec<Vec<u32>> = Vec::new();
        let mut members = self.members[g].clone();
        members.sort_unstable();
        for &s in &members {
            if self.stamp[s as usize] == e {
                continue;
            }
            self.stamp[s as usize] = e;
            let mut comp = vec![s];
            let mut i = 0;
            while i < comp.len() {
                let x = comp[i] as usize;
                i += 1;
                for &y in adj.of(x) {
                    if self.assign[y as usize] as usize == g && self.stamp[y as usize] != e {
                        self.stamp[y as usize] = e;
                        comp.push(y);
                    }
                }
            }
            comps.push(comp);
        }
        let mass = |c: &Vec<u32>| {
            c.iter()
                .map(|&u| self.norm.vn.row(u as usize).sum())
                .sum::<f64>()
        };
        comps.sort_by(|a, b| mass(b).total_cmp(&mass(a)).then(a[0].cmp(&b[0])));
        comps
    }

    /// Whether unit `u` has a neighbour in group `h`.
    pub fn touches(&self, u: usize, h: usize) -> bool {
        self.norm
            .p
            .adjacency
            .of(u)
            .iter()
            .any(|&v| self.assign[v as usize] as usize == h)
    }

    /// Whether any unit of `g` touches another group's.
    pub fn borders_another(&self, g: usize) -> bool {
        self.members[g].iter().any(|&u| {
            self.norm
                .p
                .adjacency
                .of(u as usize)
                .iter()
                .any(|&v| self.assign[v as usize] as usize != g)
        })
    }

    /// The groups adjacent to `g` through its units, ascending: the territory graph's
    /// row of `g` (chains walk it, re-split areas grow along it).
    pub fn adjacent_groups(&self, g: usize) -> Vec<usize> {
        let mut row: Vec<usize> = self.members[g]
            .iter()
            .flat_map(|&u| self.norm.p.adjacency.of(u as usize))
            .map(|&v| self.assign[v as usize] as usize)
            .filter(|&h| h != g)
            .collect();
        row.sort_unstable();
        row.dedup();
        row
    }

    pub fn contiguous_groups(&mut self) -> usize {
        (0..self.norm.k).filter(|&g| self.pieces(g) <= 1).count()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use ndarray::Array2;

    use super::*;
    use crate::geometry::Coordinates;
    use crate::solve::Problem;
    use crate::units::Adjacency;

    /// Units at x = 0, 1, 2, … with unit weight: owns what a [`Problem`] borrows.
    pub(crate) struct Line {
        coords: Vec<[f64; 2]>,
        weight: Vec<f64>,
        values: Array2<f64>,
        adjacency: Adjacency,
        targets: Array2<f64>,
    }

    impl Line {
        /// `values` units × metrics, `edges` the adjacency, `targets` groups × metrics (also
        /// both ends of every band).
        pub(crate) fn new(values: Array2<f64>, edges: &[(u32, u32)], targets: Array2<f64>) -> Line {
            let n = values.nrows();
            Line {
                coords: (0..n).map(|i| [i as f64, 0.0]).collect(),
                weight: vec![1.0; n],
                adjacency: Adjacency::from_edges(n, edges),
                values,
                targets,
            }
        }

        pub(crate) fn problem(&self) -> Problem<'_> {
            Problem {
                coordinates: Coordinates::Xy,
                coords: &self.coords,
                weight: &self.weight,
                values: &self.values,
                lo: self.targets.clone(),
                hi: self.targets.clone(),
                targets: self.targets.clone(),
                adjacency: &self.adjacency,
                realign: None,
            }
        }
    }

    /// Whether taking each unit out of a one-group plan on `edges` keeps the rest connected.
    fn keeps(n: usize, edges: &[(u32, u32)]) -> Vec<bool> {
        let line = Line::new(
            Array2::from_elem((n, 1), 1.0),
            edges,
            Array2::from_elem((1, 1), n as f64),
        );
        let p = line.problem();
        let norm = Norm::new(&p);
        let mut st = State::new(&norm, vec![0; n], vec![[0.0, 0.0]]);
        (0..n).map(|u| st.removal_keeps_connected(u)).collect()
    }

    #[test]
    fn undo_restores_the_state_bit_for_bit() {
        let n = 6;
        // Values whose sums round: adding one and taking it off again changes the last bit.
        let values = Array2::from_shape_fn((n, 1), |(u, _)| 0.1 + 0.7 * u as f64);
        let edges: Vec<(u32, u32)> = (0..n as u32 - 1).map(|u| (u, u + 1)).collect();
        let line = Line::new(values, &edges, Array2::from_elem((3, 1), 1.0));
        let p = line.problem();
        let norm = Norm::new(&p);
        let centres = vec![[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]];
        let mut st = State::new(&norm, vec![0, 0, 1, 1, 2, 2], centres);
        let before = (st.assign.clone(), st.members.clone(), st.loads.clone());
        let versions: Vec<u64> = (0..3).map(|g| st.version(g)).collect();
        let mark = st.mark(&[0, 1, 2]);
        let moves = vec![
            st.move_marked(0, 1),
            st.move_marked(3, 2),
            st.move_marked(2, 0),
            st.move_marked(4, 0),
        ];
        assert_ne!(st.assign, before.0);
        assert!((0..3).all(|g| st.version(g) != versions[g]));
        let tentative: Vec<u64> = (0..3).map(|g| st.version(g)).collect();
        st.undo(&moves, mark);
        // The same contents under the same versions, and a later change under a new one.
        assert_eq!((0..3).map(|g| st.version(g)).collect::<Vec<_>>(), versions);
        assert_eq!(st.assign, before.0);
        assert_eq!(st.members, before.1);
        let bits = |a: &Array2<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&st.loads), bits(&before.2));
        // Positions too: moving again after the undo behaves as on the untouched state.
        st.move_unit(1, 1);
        assert_eq!(st.members[0], vec![0]);
        assert!(
            ![versions.clone(), tentative]
                .concat()
                .contains(&st.version(1))
        );
    }

    /// A copy brought up to date with `clone_from` (buffers reused) is the source, and
    /// behaves as it from then on: the same moves give the same plan, versions and checks.
    #[test]
    fn clone_from_copies_every_part_of_the_plan() {
        let n = 8;
        let values = Array2::from_shape_fn((n, 2), |(u, j)| 0.3 + 0.7 * (u + j) as f64);
        let edges: Vec<(u32, u32)> = (0..n as u32 - 1).map(|u| (u, u + 1)).collect();
        let line = Line::new(values, &edges, Array2::from_elem((3, 2), 4.0));
        let p = line.problem();
        let norm = Norm::new(&p);
        let mut source = State::new(
            &norm,
            vec![0, 0, 0, 1, 1, 1, 2, 2],
            vec![[1.0, 0.0], [4.0, 0.0], [6.5, 0.0]],
        );
        source.move_unit(2, 1);
        source.move_unit(5, 2);
        source.recentre();
        // A copy of an older, different plan, then brought up to date.
        let mut copy = State::new(
            &norm,
            vec![0, 1, 1, 1, 1, 2, 2, 2],
            vec![[0.0, 0.0], [2.0, 0.0], [6.0, 0.0]],
        );
        copy.move_unit(0, 1);
        copy.clone_from(&source);
        let same = |a: &mut State, b: &mut State| {
            let bits = |x: &Array2<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(a.assign, b.assign);
            assert_eq!(a.members, b.members);
            assert_eq!(bits(&a.loads), bits(&b.loads));
            assert_eq!(a.centres, b.centres);
            assert_eq!(a.moved, b.moved);
            assert_eq!(
                (0..3).map(|g| a.version(g)).collect::<Vec<_>>(),
                (0..3).map(|g| b.version(g)).collect::<Vec<_>>()
            );
            assert_eq!(a.objective().to_bits(), b.objective().to_bits());
            let checks = |s: &mut State| -> Vec<bool> {
                (0..n).map(|u| s.removal_keeps_connected(u)).collect()
            };
            assert_eq!(checks(a), checks(b));
        };
        same(&mut copy, &mut source);
        for st in [&mut copy, &mut source] {
            st.move_unit(3, 0);
            st.move_unit(6, 1);
        }
        same(&mut copy, &mut source);
    }

    #[test]
    fn pieces_count_the_components() {
        let edges: Vec<(u32, u32)> = (0..5).map(|u| (u, u + 1)).collect();
        let line = Line::new(
            Array2::from_elem((6, 1), 1.0),
            &edges,
            Array2::from_elem((2, 1), 3.0),
        );
        let p = line.problem();
        let norm = Norm::new(&p);
        let mut st = State::new(&norm, vec![0, 1, 0, 0, 1, 0], vec![[0.0, 0.0]; 2]);
        assert_eq!((st.pieces(0), st.pieces(1)), (3, 2));
        assert_eq!(st.components(0).len(), 3);
        assert_eq!(st.contiguous_groups(), 0);
        st.move_unit(1, 0);
        st.move_unit(5, 1);
        assert_eq!((st.pieces(0), st.pieces(1)), (1, 1));
        assert_eq!(st.contiguous_groups(), 2);
    }

    #[test]
    fn cut_units_are_told_from_units_whose_neighbours_join_elsewhere() {
        // A path: only its ends can go.
        assert_eq!(keeps(3, &[(0, 1), (1, 2)]), vec![true, false, true]);
        // A triangle: the neighbours touch each other (the shortcut answers).
        assert_eq!(keeps(3, &[(0, 1), (1, 2), (0, 2)]), vec![true; 3]);
        // A ring of five: the neighbours join only the long way round (the search answers).
        let ring = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)];
        assert_eq!(keeps(5, &ring), vec![true; 5]);
        // A bow tie: the shared corner holds the two triangles together.
        let bow = [(0, 1), (1, 2), (0, 2), (2, 3), (3, 4), (2, 4)];
        assert_eq!(keeps(5, &bow), vec![true, true, false, true, true]);
        // A hub of 40 spokes (past the stack buffer) on a rim broken in two places: every
        // rim unit can go, the hub holds the two arcs together.
        let mut wheel: Vec<(u32, u32)> = (1..=40).map(|v| (0, v)).collect();
        wheel.extend((1..40).filter(|&v| v != 20).map(|v| (v, v + 1)));
        let mut expected = vec![true; 41];
        expected[0] = false;
        assert_eq!(keeps(41, &wheel), expected);
    }

    /// Whether every neighbour of `u` in its group is still joined to the others once `u`
    /// is gone, by one search through the group.
    fn keeps_by_search(assign: &[u32], edges: &[(u32, u32)], u: usize) -> bool {
        let g = assign[u];
        let adjacent = |x: usize| {
            edges
                .iter()
                .filter_map(move |&(a, b)| match (a as usize, b as usize) {
                    (a, b) if a == x => Some(b),
                    (a, b) if b == x => Some(a),
                    _ => None,
                })
        };
        let same: Vec<usize> = adjacent(u).filter(|&v| assign[v] == g).collect();
        let Some(&start) = same.first() else {
            return true;
        };
        let mut seen = vec![false; assign.len()];
        seen[u] = true;
        seen[start] = true;
        let mut stack = vec![start];
        while let Some(x) = stack.pop() {
            for y in adjacent(x) {
                if assign[y] == g && !seen[y] {
                    seen[y] = true;
                    stack.push(y);
                }
            }
        }
        same.iter().all(|&v| seen[v])
    }

    proptest::proptest! {
        /// The searches from every neighbour at once answer as one search would, on random
        /// graphs split between two groups.
        #[test]
        fn removal_keeps_connected_agrees_with_one_search(
            n in 2usize..30,
            raw in proptest::collection::vec((0u32..30, 0u32..30), 0..80),
            groups in proptest::collection::vec(0u32..2, 30),
        ) {
            let mut edges: Vec<(u32, u32)> = raw
                .into_iter()
                .map(|(a, b)| (a % n as u32, b % n as u32))
                .filter(|(a, b)| a != b)
                .map(|(a, b)| (a.min(b), a.max(b)))
                .collect();
            edges.sort_unstable();
            edges.dedup();
            let assign = groups[..n].to_vec();
            let line = Line::new(
                Array2::from_elem((n, 1), 1.0),
                &edges,
                Array2::from_elem((2, 1), n as f64 / 2.0),
            );
            let p = line.problem();
            let norm = Norm::new(&p);
            let mut st = State::new(&norm, assign.clone(), vec![[0.0, 0.0]; 2]);
            for u in 0..n {
                proptest::prop_assert_eq!(
                    st.removal_keeps_connected(u),
                    keeps_by_search(&assign, &edges, u),
                    "unit {}", u
                );
            }
        }
    }
}
