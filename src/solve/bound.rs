//! Lower bound for the final centres: the Lagrangian dual of the balanced-assignment LP
//! with the band rows priced. For any prices λ⁺, λ⁻ ≥ 0,
//!   L(λ) = Σ_u min_g [c_ug + Σ_j (λ⁺_gj − λ⁻_gj)·a_uj] − Σ λ⁺·hi + Σ λ⁻·lo
//! is a valid lower bound on every plan with these centres (every group is a candidate, so
//! nothing is assumed about candidate lists); its maximum equals the LP optimum. Prices
//! follow Polyak subgradient steps towards the incumbent's objective.
//!
//! No unit × group matrix is built. Each unit keeps its NEAR nearest groups with their
//! costs; a group's column of costs is computed the first time its price makes it one of
//! the cheapest; the rest of a unit's row is scanned only when the floor of those groups
//! (the list's last cost, the lowest prices) is below the best found. Costs outside the
//! list are taken from below (chord distance, at least the list's last cost). Steps skip
//! that scan and only move prices; the reported bound is one evaluation with the scan at
//! the best prices, so it is valid.

use ndarray::Array2;
use rayon::prelude::*;

use super::Norm;
use super::candidates::CentreIndex;

/// The dual's result: the best bound, and the priced assignment that came closest to
/// meeting every band (a near-LP-optimal start for local search).
pub struct Dual {
    /// The best bound; with `exact` off, the value where only the nearest and the
    /// lowest-priced groups were priced (an estimate: prices are what such a dual is for).
    pub bound: f64,
    /// Each unit's nearest groups with their costs, nearest first (candidate lists).
    pub near: Vec<Vec<(u32, f64)>>,
    /// Band prices (λ⁺ − λ⁻) at the best bound, groups × metrics.
    pub prices: Array2<f64>,
    pub assignment: Vec<u32>,
    pub violation: f64,
    /// The step size the steps ended at: where a dual resumes from these prices.
    pub theta: f64,
}

impl Dual {
    /// The `l` nearest groups of every unit: the candidate lists at the dual's centres.
    pub fn nearest(&self, l: usize) -> Vec<Vec<(u32, f64)>> {
        self.near
            .iter()
            .map(|c| c[..l.min(c.len())].to_vec())
            .collect()
    }

    /// The priced start: every unit's `l` nearest groups re-costed with the dual's band
    /// prices, then the regret-ordered capacitated assignment.
    pub fn priced_start(&self, norm: &Norm, l: usize) -> Vec<u32> {
        super::greedy::assign(
            norm,
            &super::greedy::priced(norm, &self.nearest(l), &self.prices),
        )
    }
}

/// Groups per unit the subgradient steps consider. The final evaluation of an `exact`
/// dual also scans a unit's whole row where the floor of the unpriced groups is below its
/// best, so that its value is a valid bound; the steps only set prices.
const NEAR: usize = 24;
/// Lowest-priced groups per metric priced for every unit.
const CHEAP: usize = 8;

/// `iters` subgradient steps from `warm` (prices and the step size to go on with; zero
/// prices and a full step without), towards the incumbent's objective `upper`.
pub fn lagrangian(
    norm: &Norm,
    centres: &[[f64; 2]],
    upper: f64,
    upper_is_feasible: bool,
    iters: usize,
    warm: Option<(&Array2<f64>, f64)>,
    exact: bool,
) -> Dual {
    let (k, m) = (norm.k, norm.m);
    let n = norm.p.coords.len();
    let t0 = std::time::Instant::now();
    let index = CentreIndex::new(norm, centres);
    let near = NEAR.min(k);
    // Each unit's NEAR cheapest groups, nearest first, and the cost floor of every other
    // group (the next one's cost; zero for a unit that weighs nothing). Flat arrays: the
    // steps below read them for every unit in every iteration.
    let mut lists = index.lists(norm, near + 1);
    let tails: Vec<f64> = lists
        .iter_mut()
        .enumerate()
        .map(|(u, list)| {
            let next = if list.len() > near { list.pop() } else { None };
            match next {
                Some((_, cost)) if norm.p.weight[u] > 0.0 => cost,
                Some(_) => 0.0,
                None => f64::INFINITY,
            }
        })
        .collect();
    let mut near_g = vec![0u32; n * near];
    let mut near_c = vec![f64::INFINITY; n * near];
    for (u, list) in lists.iter().enumerate() {
        for (i, &(g, c)) in list.iter().enumerate() {
            near_g[u * near + i] = g;
            near_c[u * near + i] = c;
        }
    }
    let rows = Lanes::of(&norm.vn);
    let mut plus = Array2::<f64>::zeros((k, m));
    let mut minus = Array2::<f64>::zeros((k, m));
    let mut theta = warm.map_or(1.0, |w| w.1);
    if let Some((p, _)) = warm {
        plus.zip_mut_with(p, |a, b| *a = b.max(0.0));
        minus.zip_mut_with(p, |a, b| *a = (-b).max(0.0));
    }
    let vs = norm.vn.as_slice().expect("metrics are in standard layout");
    let sites = index.sites();
    let mut columns = Columns::new(n, k);
    let mut best = f64::NEG_INFINITY;
    let mut best_prices = &plus - &minus;
    let mut best_assign: (f64, Vec<u32>) = (f64::INFINITY, Vec::new());
    let mut since_improved = 0;
    let mut iters_run = 0;
    let mut target = upper;
    let mut stop = false;
    loop {
        // Steps only set prices; an `exact` dual ends with one evaluation at the best
        // prices that also scans the rows the priced groups may not cover: its value is
        // the bound.
        let finish = stop || iters_run == iters;
        if finish && !exact {
            break;
        }
        if finish {
            plus = best_prices.mapv(|p| p.max(0.0));
            minus = best_prices.mapv(|p| (-p).max(0.0));
        } else {
            iters_run += 1;
        }
        let price = &plus - &minus;
        let lanes = Lanes::of(&price);
        let (cheap, pmin) = cheapest(&price, CHEAP);
        let pmin = Lanes::of(&Array2::from_shape_vec((1, m), pmin).expect("one row of m"));
        let cheap: Vec<(usize, usize)> = cheap
            .iter()
            .map(|&g| (g, columns.slot(norm, &index, g)))
            .collect();
        let step = Step {
            near,
            near_g: &near_g,
            near_c: &near_c,
            tails: &tails,
            cheap: &cheap,
            columns: &columns,
            sites,
            norm,
            finish,
        };
        // Each unit's cheapest priced group among its nearest and the cheapest-priced
        // ones, in parallel, summed in unit order. Up to four metrics a row is one block,
        // and the inner loop is straight-line code.
        let picks: Vec<(u32, f64)> = if lanes.blocks == 1 {
            (0..n)
                .into_par_iter()
                .map(|u| step.pick(u, rows.one(u), |g| lanes.one(g), pmin.one(0)))
                .collect()
        } else {
            (0..n)
                .into_par_iter()
                .map(|u| step.pick(u, rows.row(u), |g| lanes.row(g), pmin.row(0)))
                .collect()
        };
        let mut value: f64 = picks.iter().map(|p| p.1).sum();
        let mut loads = Array2::<f64>::zeros((k, m));
        for (u, &(g, _)) in picks.iter().enumerate() {
            for j in 0..m {
                loads[(g as usize, j)] += vs[u * m + j];
            }
        }
        let mut violation = 0.0;
        for g in 0..k {
            for j in 0..m {
                let (lo, hi) = (norm.bands.lo[(g, j)], norm.bands.hi[(g, j)]);
                value += -plus[(g, j)] * hi + minus[(g, j)] * lo;
                violation += super::state::band_violation(loads[(g, j)], lo, hi);
            }
        }
        if violation <= best_assign.0 {
            best_assign = (violation, picks.iter().map(|p| p.0).collect());
        }
        if finish {
            best = value;
            break;
        }
        if best == f64::NEG_INFINITY || value > best + 1e-9 * best.abs() {
            best = value;
            best_prices = price.clone();
            since_improved = 0;
        } else {
            since_improved += 1;
            if since_improved >= 5 {
                theta *= 0.5;
                since_improved = 0;
            }
        }
        // Subgradients: load − hi for λ⁺, lo − load for λ⁻ (projected onto λ ≥ 0).
        let mut norm2 = 0.0;
        let mut sp = Array2::<f64>::zeros((k, m));
        let mut sm = Array2::<f64>::zeros((k, m));
        for g in 0..k {
            for j in 0..m {
                let a = loads[(g, j)] - norm.bands.hi[(g, j)];
                let b = norm.bands.lo[(g, j)] - loads[(g, j)];
                sp[(g, j)] = if plus[(g, j)] > 0.0 || a > 0.0 {
                    a
                } else {
                    0.0
                };
                sm[(g, j)] = if minus[(g, j)] > 0.0 || b > 0.0 {
                    b
                } else {
                    0.0
                };
                norm2 += sp[(g, j)].powi(2) + sm[(g, j)].powi(2);
            }
        }
        if norm2 < 1e-18 || theta < 1e-4 {
            stop = true;
            continue;
        }
        // The step aims at the incumbent's objective. An incumbent that breaks bands is no
        // upper bound: once the dual reaches it, the aim moves 5% above the best value.
        if target - best <= 1e-6 * target.abs() {
            if upper_is_feasible {
                stop = true;
                continue;
            }
            target = best + 0.05 * best.abs();
        }
        let step = theta * (target - value).max(1e-9 * target.abs()) / norm2;
        plus.zip_mut_with(&sp, |p, s| *p = (*p + step * s).max(0.0));
        minus.zip_mut_with(&sm, |p, s| *p = (*p + step * s).max(0.0));
    }
    super::debug(&format!(
        "lagrangian: {iters_run} iterations, bound {best:.6e}, {} columns, {:?}",
        columns.count,
        t0.elapsed()
    ));
    Dual {
        bound: best,
        near: lists,
        prices: best_prices,
        assignment: best_assign.1,
        violation: best_assign.0,
        theta,
    }
}

/// The reported bound: a longer dual at the final `centres`, towards the final plan's
/// `objective` (`meets`: that plan meets every band). Warm prices come from other centres
/// and can start the steps where they stall (at 1M a warm dual once ended at 81% of the
/// cold one's bound); a plan small enough for the whole LP at these centres also starts
/// one from its duals, the LP optimum's prices, which the steps approach slowly (on the
/// sample's three-territory segment they ended 8% below). Each start takes an eighth of
/// the steps, side by side; the one ahead then takes the rest where it stopped. The start
/// ahead after 50 steps was ahead after 200 on every input measured, and the bound is the
/// same or higher for 250 steps instead of 400 (100k: 0.15-0.24 s less; 1M: gap 12.93%
/// -> 12.76%). `iterations` is the budget of a full dual; this takes half of it.
pub fn reported(
    norm: &Norm,
    centres: &[[f64; 2]],
    objective: f64,
    meets: bool,
    last_prices: &Array2<f64>,
    iterations: usize,
) -> f64 {
    let whole_lp = norm.p.coords.len() * norm.k <= super::LP_AUTO_MAX_VARIABLES;
    let lp_prices = whole_lp
        .then(|| super::lp::band_prices(norm, centres).ok())
        .flatten();
    // The last cycle's prices, zero prices, the LP's.
    let mut starts: Vec<Option<(&Array2<f64>, f64)>> = vec![Some((last_prices, 1.0)), None];
    if let Some(p) = &lp_prices {
        starts.push(Some((p, 1.0)));
    }
    let trial = (iterations / 8).max(1);
    let trials: Vec<Dual> = starts
        .par_iter()
        .map(|&warm| lagrangian(norm, centres, objective, meets, trial, warm, false))
        .collect();
    // The highest, the earliest start among equals.
    let lead = trials
        .iter()
        .filter(|d| d.bound.is_finite())
        .fold(None::<&Dual>, |a, d| match a {
            Some(a) if a.bound >= d.bound => Some(a),
            _ => Some(d),
        });
    lead.map_or(f64::NEG_INFINITY, |lead| {
        lagrangian(
            norm,
            centres,
            objective,
            meets,
            (iterations / 2).saturating_sub(trial),
            Some((&lead.prices, lead.theta)),
            true,
        )
        .bound
    })
}

/// What one step reads to pick every unit's group.
struct Step<'a> {
    near: usize,
    near_g: &'a [u32],
    near_c: &'a [f64],
    tails: &'a [f64],
    cheap: &'a [(usize, usize)],
    columns: &'a Columns,
    sites: &'a [crate::geometry::Site],
    norm: &'a Norm<'a>,
    finish: bool,
}

impl Step<'_> {
    /// Unit `u`'s cheapest priced group: among its nearest, the cheapest-priced ones and,
    /// in a final evaluation, every group where the floor of the unlisted ones is below
    /// the best found.
    #[inline]
    fn pick<R: Row>(&self, u: usize, row: R, lane: impl Fn(usize) -> R, pmin: R) -> (u32, f64) {
        let tail = self.tails[u];
        let mut best = (0u32, f64::INFINITY);
        let span = u * self.near..(u + 1) * self.near;
        for (&g, &c) in self.near_g[span.clone()].iter().zip(&self.near_c[span]) {
            let v = c + lane(g as usize).dot(row);
            if better(v, g, best) {
                best = (g, v);
            }
        }
        // A listed group costs at most `tail`, so the floor never undercuts it.
        let costs = self.columns.row(u);
        for &(g, slot) in self.cheap {
            let v = f64::from(costs[slot]).max(tail) + lane(g).dot(row);
            if better(v, g as u32, best) {
                best = (g as u32, v);
            }
        }
        if self.finish && tail + pmin.dot(row) < best.1 {
            for (g, site) in self.sites.iter().enumerate() {
                let c = far_cost(self.norm, u, g, site).max(tail);
                let v = c + lane(g).dot(row);
                if better(v, g as u32, best) {
                    best = (g as u32, v);
                }
            }
        }
        best
    }
}

/// A row of prices or metric values, in blocks of four lanes.
trait Row: Copy {
    fn dot(self, other: Self) -> f64;
}

/// A single block: at most four metrics.
impl Row for &[f64; 4] {
    #[inline]
    fn dot(self, o: Self) -> f64 {
        // The same sum, bit for bit, as a one-block slice below.
        [self[0] * o[0] + self[1] * o[1] + self[2] * o[2] + self[3] * o[3]]
            .into_iter()
            .sum()
    }
}

impl Row for &[[f64; 4]] {
    #[inline]
    fn dot(self, o: Self) -> f64 {
        dot(self, o)
    }
}

/// Rows of a matrix padded to blocks of four lanes, so that a row's dot product is a
/// few fixed-width multiply-adds (the inner loop of every step).
struct Lanes {
    blocks: usize,
    data: Vec<[f64; 4]>,
}

impl Lanes {
    fn of(a: &Array2<f64>) -> Lanes {
        let (rows, m) = a.dim();
        let blocks = m.div_ceil(4).max(1);
        let mut data = vec![[0.0; 4]; rows * blocks];
        for ((r, j), &v) in a.indexed_iter() {
            data[r * blocks + j / 4][j % 4] = v;
        }
        Lanes { blocks, data }
    }

    /// Row `r` of a matrix with at most four columns.
    #[inline]
    fn one(&self, r: usize) -> &[f64; 4] {
        &self.data[r]
    }

    #[inline]
    fn row(&self, r: usize) -> &[[f64; 4]] {
        &self.data[r * self.blocks..(r + 1) * self.blocks]
    }
}

#[inline]
fn dot(a: &[[f64; 4]], b: &[[f64; 4]]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| x[0] * y[0] + x[1] * y[1] + x[2] * y[2] + x[3] * y[3])
        .sum()
}

/// Lexicographic (value, group) minimum, the same whatever the scan order.
#[inline]
fn better(v: f64, g: u32, best: (u32, f64)) -> bool {
    v < best.1 || (v == best.1 && g < best.0)
}

/// Every unit's cost, from below (chord distance), in each group that was ever priced
/// among the lowest: single precision, rounded down so that it stays a bound. Stored unit
/// by unit (`stride` slots per unit, doubled when full), so a step reads one short row per
/// unit rather than one far-apart column per group.
struct Columns {
    n: usize,
    stride: usize,
    count: usize,
    slot_of: Vec<Option<usize>>,
    data: Vec<f32>,
}

impl Columns {
    fn new(n: usize, k: usize) -> Columns {
        Columns {
            n,
            stride: 0,
            count: 0,
            slot_of: vec![None; k],
            data: Vec::new(),
        }
    }

    /// Group `g`'s slot, computing its column the first time.
    fn slot(&mut self, norm: &Norm, index: &CentreIndex, g: usize) -> usize {
        if let Some(s) = self.slot_of[g] {
            return s;
        }
        if self.count == self.stride {
            let stride = (self.stride * 2).max(8);
            let mut data = vec![0f32; self.n * stride];
            if self.stride > 0 {
                for (new, old) in data.chunks_mut(stride).zip(self.data.chunks(self.stride)) {
                    new[..self.stride].copy_from_slice(old);
                }
            }
            self.data = data;
            self.stride = stride;
        }
        let site = index.sites()[g];
        let slot = self.count;
        self.data
            .par_chunks_mut(self.stride)
            .enumerate()
            .for_each(|(u, row)| row[slot] = (far_cost(norm, u, g, &site) * (1.0 - 1e-6)) as f32);
        self.count += 1;
        self.slot_of[g] = Some(slot);
        slot
    }

    #[inline]
    fn row(&self, u: usize) -> &[f32] {
        &self.data[u * self.stride..u * self.stride + self.count]
    }
}

#[inline]
fn far_cost(norm: &Norm, u: usize, g: usize, site: &crate::geometry::Site) -> f64 {
    norm.p.weight[u] * norm.p.coordinates.site_distance_floor(&norm.sites[u], site)
        + norm.penalty(u, g)
}

/// The `take` lowest-priced groups of every metric, and per metric the price below which
/// only those groups lie.
fn cheapest(price: &Array2<f64>, take: usize) -> (Vec<usize>, Vec<f64>) {
    let (k, m) = price.dim();
    let mut cheap: Vec<usize> = Vec::new();
    let mut pmin = vec![0.0; m];
    for j in 0..m {
        let mut col: Vec<(f64, usize)> = (0..k).map(|g| (price[(g, j)], g)).collect();
        let take = take.min(k);
        let cmp = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        if take < k {
            col.select_nth_unstable_by(take, cmp);
        }
        cheap.extend(col[..take].iter().map(|x| x.1));
        pmin[j] = col.get(take).map_or(f64::INFINITY, |x| x.0);
    }
    cheap.sort_unstable();
    cheap.dedup();
    (cheap, pmin)
}
