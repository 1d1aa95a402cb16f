//! The partition engine: split units into groups with per-group targets, hard ±tolerance
//! bands on several metrics at once, compactness (weighted distance to the group centre)
//! and contiguity on the unit adjacency graph. No I/O; deterministic for a given seed
//! whatever the thread count (parallel work is collected in unit order).
//!
//! Pipeline: seed centres (k-means++) → location–allocation rounds with a regret-ordered
//! capacitated assignment → Lagrangian dual of the fixed-centre LP (prices, bound) and, on
//! small problems, the candidate-list LP itself (good_lp) → local search from the priced
//! start (contiguity repair, band repair, LP re-splits, improvement by moves and border
//! exchanges; in two halves side by side first on large plans, see `halves.rs`) → on
//! the largest plans, location–allocation rounds that re-place the sketch's centres →
//! location–allocation cycles on warm-started duals, each holding the territories a search
//! had to re-split (see `holdout.rs`); the LP-rounded, book and greedy starts only if the
//! cycles miss a band → polish by re-splits and moves → the dual at the final centres is
//! the reported lower bound.

mod bound;
mod candidates;
mod chain;
mod decompose;
#[cfg(feature = "highs")]
mod exact;
mod greedy;
mod halves;
mod holdout;
mod local_search;
mod lp;
mod polish;
mod race;
mod relay;
mod resplit;
mod seed;
mod state;

use std::time::Instant;

use ndarray::Array2;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::Error;
use crate::geometry::{Coordinates, Site};
use crate::units::Adjacency;

pub use state::{BAND_EPS, Bands, band_report};

pub struct Problem<'a> {
    pub coordinates: Coordinates,
    pub coords: &'a [[f64; 2]],
    /// Objective weight of each unit's distance.
    pub weight: &'a [f64],
    /// units × metrics.
    pub values: &'a Array2<f64>,
    /// groups × metrics: each group's target for each metric (sets the solver's scale).
    pub targets: Array2<f64>,
    /// groups × metrics: the hard band of each group, `lo ≤ load ≤ hi` (raw units; caps
    /// are metrics with `lo = 0`, and loads pinned outside the solver are already taken off).
    pub lo: Array2<f64>,
    pub hi: Array2<f64>,
    pub adjacency: &'a Adjacency,
    /// Realignment: each unit's current group, the cost of moving it, disruption budgets.
    pub realign: Option<Realign<'a>>,
}

/// Times the location–allocation rounds restart after moving starved centres.
const RELOCATIONS: usize = 3;

/// Location–allocation rounds on priced assignments between the sketch and the first
/// cycle (see [`sketch_centres`]).
const SKETCH_ROUNDS: usize = 3;
/// Plans from this many territories on take those rounds. At 100k (200 territories) the
/// first cycle's search takes ~0.6 s and the rounds ~0.9 s: fifteen inputs took 3.72 →
/// 4.13 s on average (worst 5.06 s) for plans 0.8% shorter.
const SKETCH_ROUNDS_MIN_GROUPS: usize = 1000;

/// A unit with no current group (new accounts, owners who leave).
pub const NO_HOME: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub struct Realign<'a> {
    /// Current group of each unit, or [`NO_HOME`].
    pub home: &'a [u32],
    /// Objective cost of assigning the unit away from its home (weight × distance units).
    pub move_cost: &'a [f64],
    /// Hard limits on what may move: Σ amount over units away from home ≤ limit.
    pub budgets: Vec<Budget<'a>>,
}

#[derive(Debug, Clone)]
pub struct Budget<'a> {
    pub amount: &'a [f64],
    pub limit: f64,
}

/// Each group's band as `target × (1 ± tolerance)` for every metric.
pub fn bands_from_tolerance(
    targets: &Array2<f64>,
    tolerance: &[f64],
) -> (Array2<f64>, Array2<f64>) {
    let lo = Array2::from_shape_fn(targets.dim(), |(g, j)| {
        targets[(g, j)] * (1.0 - tolerance[j])
    });
    let hi = Array2::from_shape_fn(targets.dim(), |(g, j)| {
        targets[(g, j)] * (1.0 + tolerance[j])
    });
    (lo, hi)
}

#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub candidates: usize,
    pub rounds: usize,
    pub restarts: usize,
    pub contiguity: bool,
    pub lp: LpMode,
    /// Subgradient iterations of each Lagrangian dual (prices and lower bound).
    pub bound_iterations: usize,
    /// Location–allocation cycles on the dual's priced assignment after the first search.
    pub dual_cycles: usize,
    /// Groups per block of a partition solved in blocks (0: always whole); see
    /// [`decompose`].
    pub block_groups: usize,
    /// Solve the exact MIP at the final centres with this time limit in seconds (feature
    /// `highs`).
    pub exact: Option<f64>,
}

/// Whether the candidate-list LP (good_lp) seeds the local search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpMode {
    /// Only while the LP has at most [`LP_AUTO_MAX_VARIABLES`] variables.
    Auto,
    Always,
    Never,
}

/// Clarabel needs ~8 s for a 54k-variable assignment LP here, and above this size the dual's
/// priced start is as good; `lp = \"always\"` forces it.
pub const LP_AUTO_MAX_VARIABLES: usize = 25_000;

#[derive(Debug, Clone, Serialize)]
pub struct Solution {
    pub assignment: Vec<u32>,
    pub centres: Vec<[f64; 2]>,
    /// Σ weight × distance to the group centre, over units.
    pub objective: f64,
    /// Lower bound for the final centres (Lagrangian dual of the LP; None when not computed).
    pub lp_bound: Option<f64>,
    pub lp_status: String,
    /// Units the LP split between groups, rounded to one.
    pub fractional_units: usize,
    pub lp_variables: usize,
    /// Sum over groups and metrics of the band violation, in shares of the target.
    pub violation: f64,
    pub contiguous_groups: usize,
    pub timings: Vec<(String, f64)>,
    /// The exact MIP's verdict (`Options::exact`, feature `highs`).
    pub exact: Option<ExactInfo>,
}

impl Solution {
    pub fn gap(&self) -> Option<f64> {
        self.lp_bound
            .filter(|b| *b > 0.0)
            .map(|b| (self.objective - b) / b)
    }
}

/// Problem data in the solver's own scale: every metric divided by its mean target.
pub(crate) struct Norm<'a> {
    pub p: &'a Problem<'a>,
    pub sites: Vec<Site>,
    pub k: usize,
    pub m: usize,
    pub vn: Array2<f64>,
    pub bands: Bands,
    /// Realignment, normalised: home group per unit (empty when not realigning), the cost
    /// of leaving it, and per budget the units' amounts (units × budgets) and limits.
    pub home: Vec<u32>,
    pub move_cost: Vec<f64>,
    pub budget_amount: Array2<f64>,
    pub budget_limit: Vec<f64>,
}

impl<'a> Norm<'a> {
    fn new(p: &'a Problem<'a>) -> Norm<'a> {
        let (k, m) = p.targets.dim();
        let n = p.coords.len();
        let mut vn = p.values.clone();
        let mut lo = Array2::zeros((k, m));
        let mut hi = Array2::zeros((k, m));
        for j in 0..m {
            let mean = p.targets.column(j).sum() / k as f64;
            let scale = if mean > 0.0 { 1.0 / mean } else { 0.0 };
            vn.column_mut(j).mapv_inplace(|v| v * scale);
            for g in 0..k {
                lo[(g, j)] = p.lo[(g, j)] * scale;
                hi[(g, j)] = p.hi[(g, j)] * scale;
            }
        }
        let (home, move_cost, budget_amount, budget_limit) = match &p.realign {
            None => (Vec::new(), Vec::new(), Array2::zeros((n, 0)), Vec::new()),
            Some(r) => {
                let b = r.budgets.len();
                let mut amount = Array2::zeros((n, b));
                let mut limit = vec![0.0; b];
                // Budgets in the same scale as a band: shares of one group's mean amount.
                for (i, budget) in r.budgets.iter().enumerate() {
                    let total: f64 = budget.amount.iter().sum();
                    let scale = if total > 0.0 { k as f64 / total } else { 0.0 };
                    for u in 0..n {
                        amount[(u, i)] = budget.amount[u] * scale;
                    }
                    limit[i] = budget.limit * scale;
                }
                (r.home.to_vec(), r.move_cost.to_vec(), amount, limit)
            }
        };
        Norm {
            p,
            sites: p.coords.iter().map(|c| p.coordinates.site(*c)).collect(),
            k,
            m,
            vn,
            bands: Bands { lo, hi },
            home,
            move_cost,
            budget_amount,
            budget_limit,
        }
    }

    /// Disruption cost of putting unit `u` in group `g`.
    #[inline]
    pub fn penalty(&self, u: usize, g: usize) -> f64 {
        match self.home.get(u) {
            Some(&h) if h != NO_HOME && h as usize != g => self.move_cost[u],
            _ => 0.0,
        }
    }

    /// Weighted distance plus disruption of unit `u` in group `g` centred at `site`.
    #[inline]
    pub fn cost_in(&self, u: usize, g: usize, site: &Site) -> f64 {
        self.cost_at(u, site) + self.penalty(u, g)
    }

    pub fn realigning(&self) -> bool {
        !self.home.is_empty()
    }

    #[inline]
    pub fn cost_at(&self, u: usize, centre: &Site) -> f64 {
        self.p.weight[u] * self.p.coordinates.site_distance(&self.sites[u], centre)
    }

    pub fn sites_of(&self, centres: &[[f64; 2]]) -> Vec<Site> {
        centres
            .iter()
            .map(|c| self.p.coordinates.site(*c))
            .collect()
    }
}

pub fn partition(p: &Problem, opt: &Options) -> Result<Solution, Error> {
    let n = p.coords.len();
    let (k, _) = p.targets.dim();
    if k == 0 {
        return Err(Error::Infeasible("no territories to plan".into()));
    }
    if n < k {
        return Err(Error::Infeasible(format!(
            "{k} territories but only {n} units to share among them"
        )));
    }
    let norm = Norm::new(p);
    let blocks = decompose::blocks_for(&norm, opt);
    if blocks > 1
        && let Some(solution) = decompose::solve(&norm, opt, blocks)?
    {
        return Ok(solution);
    }
    let runs: Vec<Result<Solution, Error>> = (0..opt.restarts.max(1))
        .into_par_iter()
        .map(|r| solve_once(&norm, opt, opt.seed.wrapping_add(r as u64 * 0x9E37_79B9)))
        .collect();
    let mut best: Option<Solution> = None;
    for run in runs {
        let s = run?;
        let better = match &best {
            None => true,
            Some(b) => (s.violation, s.objective) < (b.violation, b.objective),
        };
        if better {
            best = Some(s);
        }
    }
    best.ok_or_else(|| Error::Solver("no run finished".into()))
}

/// Seed centres (the books' in a realignment, else k-means++), then location–allocation
/// rounds with the capacitated assignment; where they leave a group starved, its centre
/// moves into the most overfull group and the rounds run again (a few times at most).
fn allocate(
    norm: &Norm,
    opt: &Options,
    seed: u64,
    timings: &mut Vec<(String, f64)>,
) -> (Vec<[f64; 2]>, Vec<u32>) {
    let t = Instant::now();
    let mut centres = if norm.realigning() {
        seed::from_books(norm)
    } else {
        seed::kmeans_pp(norm, seed)
    };
    timings.push(("seed".to_string(), t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let mut assign = Vec::new();
    for relocation in 0..=RELOCATIONS {
        for _ in 0..opt.rounds {
            let cand = candidates::nearest(norm, &centres, opt.candidates);
            assign = greedy::assign(norm, &cand);
            let next = state::centres_of(norm, &assign, &centres);
            let moved = next
                .iter()
                .zip(&centres)
                .map(|(a, b)| norm.p.coordinates.distance(*a, *b))
                .fold(0.0, f64::max);
            centres = next;
            if moved < 1e-9 {
                break;
            }
        }
        if relocation == RELOCATIONS || seed::relocate_starved(norm, &assign, &mut centres) == 0 {
            break;
        }
    }
    timings.push(("allocate".to_string(), t.elapsed().as_secs_f64()));
    debug(&format!(
        "allocate {:?} violation {:.4}",
        t.elapsed(),
        state::State::new(norm, assign.clone(), centres.clone()).total_violation()
    ));
    (centres, assign)
}

fn solve_once(norm: &Norm, opt: &Options, seed: u64) -> Result<Solution, Error> {
    let mut timings = Vec::new();
    let (centres, assign) = allocate(norm, opt, seed, &mut timings);

    let mut fractional_units = 0;
    let mut lp_variables = 0;
    let lp_size = norm.p.coords.len() * opt.candidates.min(norm.k);
    let run_lp = match opt.lp {
        LpMode::Always => true,
        LpMode::Never => false,
        LpMode::Auto => lp_size <= LP_AUTO_MAX_VARIABLES,
    };
    let mut lp_status = match opt.lp {
        LpMode::Never => "not run (plan.lp = \"never\")".to_string(),
        _ => {
            format!("not run ({lp_size} variables over the auto limit of {LP_AUTO_MAX_VARIABLES})")
        }
    };
    let mut starts = vec![assign];
    // Realignment starts from the current books, repaired where they break a band.
    let books = norm.realigning().then(|| {
        let cand = candidates::nearest(norm, &centres, opt.candidates);
        seed::books_start(norm, &cand)
    });
    if run_lp {
        let t = Instant::now();
        match lp::solve_fixed_centres(norm, &centres, opt.candidates) {
            Ok(r) => {
                starts.insert(0, r.rounded);
                fractional_units = r.fractional_units;
                lp_variables = r.variables;
                lp_status = "optimal (clarabel)".into();
            }
            Err(e) => lp_status = format!("failed: {e}"),
        }
        timings.push(("lp".to_string(), t.elapsed().as_secs_f64()));
        debug(&format!(
            "lp {:?} {lp_status} vars={lp_variables} frac={fractional_units}",
            t.elapsed()
        ));
    }

    // Prices of the Lagrangian dual at these centres give a near-LP-optimal assignment.
    let t = Instant::now();
    let greedy_cost: f64 = starts
        .last()
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(u, &g)| {
                    norm.cost_in(u, g as usize, &norm.p.coordinates.site(centres[g as usize]))
                })
                .sum()
        })
        .unwrap_or(f64::INFINITY);
    let greedy_feasible = starts
        .last()
        .is_some_and(|a| state::State::new(norm, a.clone(), centres.clone()).meets_bands());
    let dual = bound::lagrangian(
        norm,
        &centres,
        greedy_cost,
        greedy_feasible,
        opt.bound_iterations / 2,
        None,
        false,
    );
    let mut prices = dual.prices.clone();
    let priced = dual.priced_start(norm, opt.candidates);
    starts.insert(0, dual.assignment);
    starts.insert(0, priced);
    if let Some(b) = books {
        starts.insert(1, b);
    }
    timings.push(("dual".to_string(), t.elapsed().as_secs_f64()));
    debug(&format!(
        "dual {:?} violation {:.3e}",
        t.elapsed(),
        dual.violation
    ));

    // Local search from the priced start. Where it misses a band the cycles below usually
    // meet them on fresh prices, so the other starts wait: they are searched only if the
    // cycles end without a plan that meets every band (at 1M each start costs ~35 s).
    // (Leading the cycles with the unsearched start's centres instead saved one search at
    // 1M, but its distorted centres cost a cycle: 100k ended 1.1% longer.)
    // In a plan searched in halves (150 territories or more) this first search is a
    // sketch, without contiguity or re-splits: its start is priced at the seeds' centres,
    // far from balance and in many pieces, and its plan only places the first cycle's
    // centres (that cycle's plan was 10-20% shorter). With contiguity, its rounds of
    // rejoining pieces and its re-splits took 19 s of a 41 s run at 1M and 3.7 s of 8.3 s
    // at 100k `--seed 22`; as a sketch 1.6 s and 0.8 s, and the plans ended shorter (1M
    // 0.25%, four 100k inputs 0.4-1.6%). In smaller plans the first search is cheap and
    // its plan is often the final one (the sketch cost the sample 0.72% -> 1.17% gap).
    // Without cycles to replace it there is no sketch.
    let sketch = opt.contiguity && halves::applies(norm) && opt.dual_cycles > 0;
    let t = Instant::now();
    let rest = starts.split_off(1);
    let (mut st, mut hard) = best_of(
        norm,
        starts,
        &centres,
        opt.contiguity && !sketch,
        !sketch,
        None,
    )?;
    let sketched = sketch.then(|| st.clone());
    if sketch && norm.k >= SKETCH_ROUNDS_MIN_GROUPS {
        st = sketch_centres(norm, opt, st, &mut prices);
    }
    timings.push(("local_search".to_string(), t.elapsed().as_secs_f64()));
    debug(&format!(
        "local search {:?} violation {:.3e} objective {:.6e}",
        t.elapsed(),
        st.total_violation(),
        st.objective()
    ));

    // Location–allocation on the priced assignment: new centres, warm-started prices, a
    // priced start repaired again. The search walks on from every plan that meets the bands
    // and keeps the shortest; two cycles without a better plan end it.
    let t = Instant::now();
    let mut best = st.clone();
    let mut stale = 0;
    // While no plan meets every band the cycles may run twice as long: each is a fresh
    // priced start, and a near miss (a few accounts over) is often met a cycle later.
    for cycle in 0..2 * opt.dual_cycles {
        if cycle >= opt.dual_cycles && best.meets_bands() {
            break;
        }
        let td = Instant::now();
        let next = run_cycle(norm, opt, &st, &mut prices, &mut hard)?;
        debug(&format!(
            "cycle {cycle}: {:?}; candidate violation {:.3e} objective {:.6e}, best {:.6e}",
            td.elapsed(),
            next.total_violation(),
            next.objective(),
            best.objective()
        ));
        // Until a plan meets every band, the least violating one is kept. A plan that
        // misses a band never replaces one that meets them all, but its centres lead the
        // next cycle like any other's. One such cycle used to end the search: in a trial
        // build at 1M, after two cycles and 17% above the bound (11% with six).
        // A sketch is no candidate: the first cycle's plan replaces it, whatever it is.
        let improved = if sketch && cycle == 0 {
            true
        } else if best.meets_bands() {
            next.meets_bands() && next.objective() < best.objective() * (1.0 - 1e-4)
        } else {
            next.rank() < best.rank()
        };
        st = next;
        if improved {
            best = st.clone();
            stale = 0;
        } else {
            stale += 1;
            if stale == 2 {
                break;
            }
        }
    }
    let mut st = best;
    if !st.meets_bands() && !rest.is_empty() {
        let (other, _) = best_of(norm, rest, &centres, opt.contiguity, true, None)?;
        debug(&format!(
            "other starts: violation {:.3e} objective {:.6e}",
            other.total_violation(),
            other.objective()
        ));
        if other.rank() < st.rank() {
            st = other;
        }
    }
    // The last resort where bands are still missed: the sketch, searched in full.
    if let Some(sketched) = sketched.filter(|_| !st.meets_bands()) {
        let (other, _) = best_of(
            norm,
            vec![sketched.assign],
            &sketched.centres,
            opt.contiguity,
            true,
            None,
        )?;
        if other.rank() < st.rank() {
            st = other;
        }
    }
    let held_any = hard.iter().any(|&h| h);
    polish::polish(&mut st, opt.contiguity, held_any);
    let exact = exact_step(norm, opt, &mut st)?;
    let objective = st.objective();
    let bound = bound::reported(
        norm,
        &st.centres,
        objective,
        st.meets_bands(),
        &prices,
        opt.bound_iterations,
    );
    let lp_bound = bound.is_finite().then_some(bound.min(objective));
    timings.push(("cycles_and_bound".to_string(), t.elapsed().as_secs_f64()));
    let contiguous_groups = st.contiguous_groups();
    Ok(Solution {
        objective,
        violation: st.total_violation(),
        assignment: st.assign,
        centres: st.centres,
        lp_bound,
        lp_status,
        fractional_units,
        lp_variables,
        contiguous_groups,
        timings,
        exact,
    })
}

/// What the exact MIP (feature `highs`) found and proved at the final centres.
#[derive(Debug, Clone, Serialize)]
pub struct ExactInfo {
    /// HiGHS's model status: Optimal, ReachedTimeLimit, …
    pub status: String,
    /// The heuristic's objective at the same centres (the MIP's warm start).
    pub heuristic_objective: f64,
    pub mip_objective: f64,
    /// HiGHS's proven lower bound; None (null) when the time limit ran out before one.
    pub mip_bound: Option<f64>,
    /// (heuristic − bound) / bound: how far the heuristic can be from the optimum.
    pub heuristic_gap: Option<f64>,
    pub seconds: f64,
    pub variables: usize,
    /// The MIP's plan replaced the heuristic's (shorter, and contiguity not required).
    pub adopted: bool,
}

/// (heuristic − bound) / bound, 0 when both are 0; None without a bound.
pub fn proven_gap(heuristic: f64, bound: Option<f64>) -> Option<f64> {
    match bound {
        Some(b) if b > 0.0 => Some((heuristic - b) / b),
        Some(_) if heuristic <= 0.0 => Some(0.0),
        _ => None,
    }
}

/// Whether this build can solve the exact MIP (`--features highs`).
pub const EXACT_AVAILABLE: bool = cfg!(feature = "highs");

/// With `opt.exact`, the MIP at the final centres: its proven bound judges the heuristic,
/// and without contiguity its plan replaces the heuristic's when shorter.
#[cfg(feature = "highs")]
fn exact_step<'a>(
    norm: &'a Norm<'a>,
    opt: &Options,
    st: &mut state::State<'a>,
) -> Result<Option<ExactInfo>, Error> {
    let Some(limit) = opt.exact else {
        return Ok(None);
    };
    let e = exact::solve(norm, &st.centres, &st.assign, limit).map_err(Error::Solver)?;
    let mut info = e.info;
    debug(&format!(
        "exact: {} in {:.2}s, heuristic {:.6e}, mip {:.6e}, bound {:?}",
        info.status, info.seconds, info.heuristic_objective, info.mip_objective, info.mip_bound
    ));
    if !opt.contiguity && info.mip_objective < info.heuristic_objective * (1.0 - 1e-9) {
        let candidate = state::State::new(norm, e.assignment, st.centres.clone());
        if candidate.meets_bands() {
            *st = candidate;
            info.adopted = true;
        }
    }
    Ok(Some(info))
}

#[cfg(not(feature = "highs"))]
fn exact_step(
    _norm: &Norm,
    opt: &Options,
    _st: &mut state::State,
) -> Result<Option<ExactInfo>, Error> {
    match opt.exact {
        None => Ok(None),
        Some(_) => Err(Error::Solver(
            "the exact MIP needs HiGHS: build with `cargo build --release --features highs`".into(),
        )),
    }
}

/// Location–allocation rounds on the dual's priced assignment alone, from the sketch's
/// centres, before the first cycle: the centres of a plan searched without contiguity,
/// out of band in half its territories, crowd some places and leave others short. The
/// first cycle's priced start at 1M `--seed 7` then had a territory of 195 units (8.8×
/// its band) and eight of 1-4 units, and its search took 72 s. Each round prices the
/// units at the centres (the dual, warm-started), assigns them, moves every centre to
/// its units' centroid and each starved territory's centre into the most overfull one
/// (as the allocation does). Returns the sketch's plan at the new centres.
fn sketch_centres<'a>(
    norm: &'a Norm<'a>,
    opt: &Options,
    st: state::State<'a>,
    prices: &mut Array2<f64>,
) -> state::State<'a> {
    let mut centres = st.centres.clone();
    let upper = st.objective();
    for _ in 0..SKETCH_ROUNDS {
        let dual = bound::lagrangian(
            norm,
            &centres,
            upper,
            false,
            opt.bound_iterations / 4,
            Some((prices, 1.0)),
            false,
        );
        let priced = dual.priced_start(norm, opt.candidates);
        *prices = dual.prices;
        centres = state::centres_of(norm, &priced, &centres);
        seed::relocate_starved(norm, &priced, &mut centres);
    }
    state::State::new(norm, st.assign, centres)
}

/// Local search from each start in turn (with or without `contiguity` and `resplits`);
/// the first plan that meets every band ends the search, and so does one that ranks
/// before `beat` (the plan a cycle started from: it made progress, and the next cycle
/// goes on from it). Otherwise the least violating (then shortest) plan is kept. Also
/// returns the groups any of the searches had to re-split (the hard ones).
fn best_of<'a>(
    norm: &'a Norm<'a>,
    starts: Vec<Vec<u32>>,
    centres: &[[f64; 2]],
    contiguity: bool,
    resplits: bool,
    beat: Option<(bool, f64, f64)>,
) -> Result<(state::State<'a>, Vec<bool>), Error> {
    let mut best: Option<state::State> = None;
    let mut hard = vec![false; norm.k];
    for start in starts {
        let mut st = state::State::new(norm, start, centres.to_vec());
        let tried = if halves::applies(norm) {
            halves::run(&mut st, contiguity, resplits)
        } else {
            local_search::search(&mut st, contiguity, resplits)
        };
        for (h, tried) in hard.iter_mut().zip(tried) {
            *h |= tried;
        }
        let key = st.rank();
        debug(&format!(
            "  start: violation {:.3e} objective {:.6e}{}",
            key.1,
            key.2,
            worst_groups(&st)
        ));
        if best.as_ref().is_none_or(|b| key < b.rank()) {
            best = Some(st);
        }
        if best
            .as_ref()
            .is_some_and(|b| b.meets_bands() || beat.is_some_and(|r| b.rank() < r))
        {
            break;
        }
    }
    best.map(|b| (b, hard))
        .ok_or_else(|| Error::Solver("no start to search from".into()))
}

/// One location–allocation cycle from `st`: the dual at its centres, warm-started on
/// `prices` (which it updates), and the search from its priced start. Hard groups that
/// `st` has in band are held as it has them and the rest is solved as a problem of its
/// own (see [`holdout`]); groups this cycle had to re-split are added to `hard`.
fn run_cycle<'a>(
    norm: &'a Norm<'a>,
    opt: &Options,
    st: &state::State<'a>,
    prices: &mut Array2<f64>,
    hard: &mut [bool],
) -> Result<state::State<'a>, Error> {
    let held: Vec<bool> = (0..norm.k)
        .map(|g| hard[g] && st.group_violation(g) <= BAND_EPS)
        .collect();
    if let Some(h) = holdout::Holdout::new(norm, &st.assign, &held) {
        let free = h.problem(norm.p);
        let sub = Norm::new(&free);
        let upper = state::State::new(&sub, h.assign_in(&st.assign), h.centres_in(&st.centres));
        // Its priced start only: where that misses a band, the whole plan is searched
        // next anyway, and the dual's own assignment of the free part never met the bands
        // where the priced start had missed (12 of 12 cycles at 1M `--seed` 4 and 6, each
        // search 5-15 s).
        let (next, tried, free_prices) =
            priced_search(&sub, opt, &upper, &h.prices_in(prices), false)?;
        h.prices_out(&free_prices, prices);
        h.hard_out(&tried, hard);
        debug(&format!(
            "  held {} hard groups; free part meets its bands: {}",
            held.iter().filter(|&&x| x).count(),
            next.meets_bands()
        ));
        // A free territory walled in by held ones can be out of reach of every unit it
        // needs: the cycle then runs on the whole plan instead.
        if next.meets_bands() {
            return Ok(state::State::new(
                norm,
                h.assign_out(&st.assign, &next.assign),
                h.centres_out(&st.centres, &next.centres),
            ));
        }
    }
    let (next, tried, whole_prices) = priced_search(norm, opt, st, prices, true)?;
    *prices = whole_prices;
    for (h, t) in hard.iter_mut().zip(tried) {
        *h |= t;
    }
    Ok(next)
}

/// The dual at `upper`'s centres (aiming at its objective), warm-started on `warm`, and
/// the search from its priced start and (with `second`) its own assignment. Returns the
/// plan, the groups the search had to re-split and the dual's prices.
fn priced_search<'a>(
    norm: &'a Norm<'a>,
    opt: &Options,
    upper: &state::State,
    warm: &Array2<f64>,
    second: bool,
) -> Result<(state::State<'a>, Vec<bool>, Array2<f64>), Error> {
    let dual = bound::lagrangian(
        norm,
        &upper.centres,
        upper.objective(),
        upper.meets_bands(),
        opt.bound_iterations / 4,
        Some((warm, 1.0)),
        false,
    );
    let priced = dual.priced_start(norm, opt.candidates);
    // The dual's own assignment is searched only where the priced start neither meets
    // every band nor improves on `upper`: at 1M each search costs 30-60 s, and on an
    // input whose plan just missed a band (1M `--seed 4`, one territory's locked
    // accounts holding 94% of its potential) the second start took ~60 s in each of the
    // first two cycles for a worse plan.
    let mut starts = vec![priced];
    if second {
        starts.push(dual.assignment);
    }
    let (next, tried) = best_of(
        norm,
        starts,
        &upper.centres,
        opt.contiguity,
        true,
        Some(upper.rank()),
    )?;
    Ok((next, tried, dual.prices))
}

/// The most violated groups with their size and loads, for the debug trace.
fn worst_groups(st: &state::State) -> String {
    if std::env::var_os("TERRAPLAN_DEBUG").is_none() || st.meets_bands() {
        return String::new();
    }
    let mut v: Vec<(f64, usize)> = (0..st.norm.k)
        .map(|g| (st.group_violation(g), g))
        .filter(|x| x.0 > state::BAND_EPS)
        .collect();
    v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let list: Vec<String> = v
        .iter()
        .take(5)
        .map(|&(x, g)| {
            format!(
                "g{g} {x:.2} ({} units, lo {:?} hi {:?}, loads {:?})",
                st.members[g].len(),
                hundredths(st.norm.bands.lo.row(g)),
                hundredths(st.norm.bands.hi.row(g)),
                hundredths(st.loads.row(g))
            )
        })
        .collect();
    format!("; {} violated: {}", v.len(), list.join(", "))
}

fn hundredths(row: ndarray::ArrayView1<f64>) -> Vec<f64> {
    row.iter().map(|l| (l * 100.0).round() / 100.0).collect()
}

/// Phase traces on stderr when TERRAPLAN_DEBUG is set (development aid).
pub fn debug(msg: &str) {
    if std::env::var_os("TERRAPLAN_DEBUG").is_some() {
        eprintln!("[solve] {msg}");
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::state::tests::Line;
    use super::{Norm, best_of};

    /// A start whose plan ranks before `beat` (the plan a cycle started from) ends the
    /// search even though it misses a band: the next start is never looked at (here one
    /// naming a territory that does not exist, which any search of it would trip over).
    /// With a `beat` that nothing ranks before, every start is searched.
    #[test]
    fn a_start_that_beats_the_cycles_plan_ends_the_search() {
        // Twelve units in three groups with bands of five: no plan meets them all.
        let n = 12;
        let values = Array2::from_elem((n, 1), 1.0);
        let edges: Vec<(u32, u32)> = (0..n as u32 - 1).map(|u| (u, u + 1)).collect();
        let line = Line::new(values, &edges, Array2::from_elem((3, 1), 5.0));
        let p = line.problem();
        let norm = Norm::new(&p);
        let centres = vec![[1.5, 0.0], [5.5, 0.0], [9.5, 0.0]];
        let blocks: Vec<u32> = (0..n).map(|u| (u / 4) as u32).collect();
        let search = |starts: Vec<Vec<u32>>, beat| {
            best_of(&norm, starts, &centres, true, false, beat).map(|(st, _)| st.rank())
        };
        let alone = search(vec![blocks.clone()], None).unwrap();
        assert!(alone.0, "bands met: {alone:?}");
        let unsearchable = vec![7; n];
        let first = search(
            vec![blocks.clone(), unsearchable.clone()],
            Some((true, f64::INFINITY, 0.0)),
        );
        assert_eq!(first.unwrap(), alone);
        let every = std::panic::catch_unwind(|| {
            search(vec![blocks, unsearchable], Some((false, 0.0, 0.0)))
        });
        assert!(every.is_err(), "the second start was not searched");
    }
}
