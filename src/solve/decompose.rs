//! Large partitions in blocks (opt-in: `[plan] block_size`, groups per block; 50 is a
//! good size). Above a few hundred groups the search's work grows faster than the problem
//! (every cycle repairs and re-splits the whole plan, mostly serially), so the groups can
//! first be clustered into blocks (seats by their current books; anonymous groups in runs), the units are partitioned among the blocks by
//! the same engine — each block's band the sum of its groups' bands drawn in by half, so
//! that its groups have room — and every block's own partition is solved independently,
//! in parallel. The joined plan is then searched once more as a whole (moves and exchanges
//! across block borders, band repair where a block missed), and its bound is the whole
//! problem's Lagrangian dual at the final centres, so the reported gap stays honest.

use ndarray::Array2;
use rayon::prelude::*;

use super::holdout::Holdout;
use super::{LpMode, NO_HOME, Norm, Options, Problem, Realign, Solution};
use super::{bound, local_search, state};
use crate::error::Error;
use crate::geometry::Coordinates;

/// Share of the summed band width a block keeps: its groups need room to meet their own.
const BLOCK_BAND: f64 = 0.5;

/// How many blocks to solve `norm` in (from twice the block size on); 1 solves it whole. Disruption budgets are hard rows
/// over the whole plan and the exact MIP answers for the whole plan: both keep it whole.
pub(super) fn blocks_for(norm: &Norm, opt: &Options) -> usize {
    if opt.block_groups == 0
        || opt.exact.is_some()
        || !norm.budget_limit.is_empty()
        || norm.k < 2 * opt.block_groups
    {
        return 1;
    }
    (norm.k as f64 / opt.block_groups as f64).round() as usize
}

/// The plan solved in `blocks` blocks; None where the blocks' own bands cannot be met
/// (the caller then solves it whole).
pub(super) fn solve(norm: &Norm, opt: &Options, blocks: usize) -> Result<Option<Solution>, Error> {
    let p = norm.p;
    let (k, m) = p.targets.dim();
    let n = p.coords.len();
    let t = std::time::Instant::now();
    // Blocks follow the whole plan's priced start: its groups are where the whole search
    // would begin (near their books in a realignment), so cutting along their borders
    // costs little.
    let mut timings = Vec::new();
    let (centres, start) = super::allocate(norm, opt, opt.seed, &mut timings);
    let st = state::State::new(norm, start, centres.clone());
    let dual = bound::lagrangian(
        norm,
        &centres,
        st.objective(),
        st.meets_bands(),
        opt.bound_iterations / 2,
        None,
        false,
    );
    let priced = dual.priced_start(norm, opt.candidates);
    let block_of = cluster_groups(
        norm,
        &state::centres_of(norm, &priced, &centres),
        blocks,
        false,
    );
    let mut groups_of: Vec<Vec<usize>> = vec![Vec::new(); blocks];
    for (g, &b) in block_of.iter().enumerate() {
        groups_of[b].push(g);
    }

    // Units among blocks: the priced start's, with the blocks' bands restored.
    let mut targets = Array2::zeros((blocks, m));
    let mut lo = Array2::zeros((blocks, m));
    let mut hi = Array2::zeros((blocks, m));
    for (b, gs) in groups_of.iter().enumerate() {
        for j in 0..m {
            let (l, h) = block_band(gs.iter().map(|&g| (p.lo[(g, j)], p.hi[(g, j)])));
            targets[(b, j)] = gs.iter().map(|&g| p.targets[(g, j)]).sum();
            lo[(b, j)] = l;
            hi[(b, j)] = h;
        }
    }
    let top_home: Vec<u32>;
    let realign = match &p.realign {
        None => None,
        Some(r) => {
            top_home = r
                .home
                .iter()
                .map(|&h| {
                    if h == NO_HOME {
                        NO_HOME
                    } else {
                        block_of[h as usize] as u32
                    }
                })
                .collect();
            Some(Realign {
                home: &top_home,
                move_cost: r.move_cost,
                budgets: Vec::new(),
            })
        }
    };
    let top = Problem {
        coordinates: p.coordinates,
        coords: p.coords,
        weight: p.weight,
        values: p.values,
        targets,
        lo,
        hi,
        adjacency: p.adjacency,
        realign,
    };
    let top_norm = Norm::new(&top);
    let unit_block: Vec<u32> = priced
        .iter()
        .map(|&g| block_of[g as usize] as u32)
        .collect();
    let block_centres = state::centres_of(&top_norm, &unit_block, &vec![[0.0; 2]; blocks]);
    let mut top_st = state::State::new(&top_norm, unit_block, block_centres);
    let violation = top_st.total_violation();
    local_search::restore(&mut top_st, opt.contiguity, true);
    super::debug(&format!(
        "blocks: {blocks} blocks of ~{} groups from the priced start in {:?} (block violation {violation:.3e} -> {:.3e})",
        k / blocks,
        t.elapsed(),
        top_st.total_violation()
    ));
    if !top_st.meets_bands() {
        return Ok(None);
    }
    let whole_lp = n * opt.candidates.min(k) <= super::LP_AUTO_MAX_VARIABLES;
    let sub_opt = Options {
        block_groups: 0,
        lp: match opt.lp {
            LpMode::Auto if !whole_lp => LpMode::Never,
            mode => mode,
        },
        ..opt.clone()
    };
    timings.push(("blocks_start".to_string(), t.elapsed().as_secs_f64()));

    // Each block's own partition, in parallel, collected in block order.
    let t = std::time::Instant::now();
    let mut units_of: Vec<Vec<u32>> = vec![Vec::new(); blocks];
    for (u, &b) in top_st.assign.iter().enumerate() {
        units_of[b as usize].push(u as u32);
    }
    let solved = solve_blocks(norm, &units_of, &groups_of, &sub_opt, 1);
    let mut assign = vec![0u32; n];
    let mut centres = vec![[0.0; 2]; k];
    let (mut fractional_units, mut lp_variables) = (0, 0);
    let mut lp_status = String::new();
    for (b, sol) in solved.into_iter().enumerate() {
        let sol = sol?;
        for (i, &u) in units_of[b].iter().enumerate() {
            assign[u as usize] = groups_of[b][sol.assignment[i] as usize] as u32;
        }
        for (c, &g) in groups_of[b].iter().enumerate() {
            centres[g] = sol.centres[c];
        }
        fractional_units += sol.fractional_units;
        lp_variables += sol.lp_variables;
        if b == 0 {
            lp_status = sol.lp_status.clone();
        }
        for (name, secs) in &sol.timings {
            match timings.iter_mut().find(|(x, _)| x == name) {
                Some(t) => t.1 += secs,
                None => timings.push((name.clone(), *secs)),
            }
        }
    }
    let block_time = t.elapsed();

    // The joined plan, searched as a whole: borders between blocks were fixed until now.
    let t = std::time::Instant::now();
    let mut st = state::State::new(norm, assign, centres);
    let joined = (st.total_violation(), st.objective());
    local_search::run(&mut st, opt.contiguity);
    let polished = st.objective();
    let polish_time = t.elapsed();

    // A second round on blocks cut across the first's borders (the plane turned by 45°),
    // from the joined plan: each block's units are those its groups hold now, so its own
    // partition always has a plan that meets its bands, and a block's new partition is
    // kept only where it is better for the whole plan (its move costs included).
    let t = std::time::Instant::now();
    let second = second_round(norm, &sub_opt, &mut st, blocks)?;
    if second > 0 {
        local_search::run(&mut st, opt.contiguity);
    }
    let second_time = t.elapsed();
    let objective = st.objective();
    let t = std::time::Instant::now();
    let dual = bound::lagrangian(
        norm,
        &st.centres,
        objective,
        st.meets_bands(),
        opt.bound_iterations / 2,
        None,
        true,
    );
    let lp_bound = dual.bound.is_finite().then_some(dual.bound.min(objective));
    super::debug(&format!(
        "blocks: solved in {block_time:?}; joined violation {:.3e} objective {:.6e}, searched {polish_time:?} to objective {:.6e}; second round kept {second}/{blocks} blocks in {second_time:?}: violation {:.3e} objective {objective:.6e}; bound {:?} in {:?}",
        joined.0,
        joined.1,
        polished,
        st.total_violation(),
        lp_bound,
        t.elapsed()
    ));
    timings.push(("blocks".to_string(), block_time.as_secs_f64()));
    timings.push((
        "join_and_bound".to_string(),
        (polish_time + t.elapsed()).as_secs_f64(),
    ));
    timings.push(("blocks_second_round".to_string(), second_time.as_secs_f64()));
    let contiguous_groups = st.contiguous_groups();
    Ok(Some(Solution {
        objective,
        violation: st.total_violation(),
        assignment: st.assign,
        centres: st.centres,
        lp_bound,
        lp_status: format!("{lp_status}; in {blocks} blocks"),
        fractional_units,
        lp_variables,
        contiguous_groups,
        timings,
        exact: None,
    }))
}

/// A block's band from its groups' `(lo, hi)`: the sums drawn in by half their width
/// towards the middle. A one-sided band (a cap: `lo` unbounded) keeps only its upper side,
/// drawn in by the same share of the summed caps' distance from zero, at most.
fn block_band(bands: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    let (mut lo, mut hi, mut open) = (0.0, 0.0, false);
    for (l, h) in bands {
        if l <= f64::MIN / 8.0 {
            open = true;
        } else {
            lo += l;
        }
        hi += h;
    }
    if open {
        return (f64::MIN / 4.0, hi - 0.02 * hi.abs());
    }
    let (mid, half) = ((lo + hi) / 2.0, (hi - lo) / 2.0 * BLOCK_BAND);
    (mid - half, mid + half)
}

/// Block of every group: recursive bisection of the groups' centres along the wider axis,
/// so each block is a compact cluster of groups.
/// `turned` rotates the plane by 45° first, so that the cuts cross those of the unturned.
fn cluster_groups(norm: &Norm, centres: &[[f64; 2]], blocks: usize, turned: bool) -> Vec<usize> {
    let flat = |c: &[f64; 2]| match norm.p.coordinates {
        Coordinates::Xy => *c,
        Coordinates::Latlon => [c[1] * c[0].to_radians().cos(), c[0]],
    };
    let plane: Vec<[f64; 2]> = centres
        .iter()
        .map(|c| {
            let [x, y] = flat(c);
            if turned { [x + y, y - x] } else { [x, y] }
        })
        .collect();
    let mut block_of = vec![0; norm.k];
    let mut items: Vec<usize> = (0..norm.k).collect();
    bisect(&plane, &mut items, blocks, 0, &mut block_of);
    block_of
}

/// Splits `items` into `parts` blocks numbered from `first`: sorted along the wider axis
/// of their points, cut where the headcounts of the two halves' blocks fall.
pub(super) fn bisect(
    points: &[[f64; 2]],
    items: &mut [usize],
    parts: usize,
    first: usize,
    out: &mut [usize],
) {
    if parts <= 1 {
        for &i in items.iter() {
            out[i] = first;
        }
        return;
    }
    let spread = |a: usize| {
        let (lo, hi) = items
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &i| {
                (l.min(points[i][a]), h.max(points[i][a]))
            });
        hi - lo
    };
    let axis = usize::from(spread(1) > spread(0));
    items.sort_by(|&a, &b| points[a][axis].total_cmp(&points[b][axis]).then(a.cmp(&b)));
    let left = parts / 2;
    let cut = items.len() * left / parts;
    let (a, b) = items.split_at_mut(cut);
    bisect(points, a, left, first, out);
    bisect(points, b, parts - left, first + left, out);
}

/// One block's partition: its units among its groups, homes outside the block dropped
/// (those units move whichever of the block's groups they join).
fn solve_block(
    norm: &Norm,
    units: &[u32],
    groups: &[usize],
    opt: &Options,
) -> Result<Solution, Error> {
    // No disruption budget here: `blocks_for` keeps a plan with one whole.
    let block = Holdout::of(norm, units.to_vec(), groups.to_vec(), Vec::new());
    super::partition(&block.problem(norm.p), opt)
}

/// Every block's own partition, solved in parallel and returned in block order; `round`
/// varies the blocks' seeds between rounds.
fn solve_blocks(
    norm: &Norm,
    units_of: &[Vec<u32>],
    groups_of: &[Vec<usize>],
    opt: &Options,
    round: u64,
) -> Vec<Result<Solution, Error>> {
    (0..units_of.len())
        .into_par_iter()
        .map(|b| {
            let salt = (round << 32) + b as u64 + 1;
            let o = Options {
                seed: opt
                    .seed
                    .wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                ..opt.clone()
            };
            let t = std::time::Instant::now();
            let sol = solve_block(norm, &units_of[b], &groups_of[b], &o);
            if let Ok(s) = &sol {
                super::debug(&format!(
                    "block {round}.{b}: {} units, {} groups in {:?}, violation {:.3e}",
                    units_of[b].len(),
                    groups_of[b].len(),
                    t.elapsed(),
                    s.violation
                ));
            }
            sol
        })
        .collect()
}

/// The second round: blocks of the plan's groups clustered on the turned plane, each
/// re-partitioned among its own groups and kept where the whole plan gains (lower
/// violation, or as low and shorter). Returns how many blocks were kept.
fn second_round<'a>(
    norm: &'a Norm<'a>,
    opt: &Options,
    st: &mut state::State<'a>,
    blocks: usize,
) -> Result<usize, Error> {
    let block_of = cluster_groups(norm, &st.centres, blocks, true);
    let mut groups_of: Vec<Vec<usize>> = vec![Vec::new(); blocks];
    for (g, &b) in block_of.iter().enumerate() {
        groups_of[b].push(g);
    }
    let mut units_of: Vec<Vec<u32>> = vec![Vec::new(); blocks];
    for (u, &g) in st.assign.iter().enumerate() {
        units_of[block_of[g as usize]].push(u as u32);
    }
    let solved = solve_blocks(norm, &units_of, &groups_of, opt, 2);
    let mut assign = st.assign.clone();
    let mut centres = st.centres.clone();
    let mut kept = 0;
    for (b, sol) in solved.into_iter().enumerate() {
        let sol = sol?;
        let (units, groups) = (&units_of[b], &groups_of[b]);
        let before: f64 = groups.iter().map(|&g| st.group_violation(g)).sum();
        let cost: f64 = units
            .iter()
            .map(|&u| st.cost(u as usize, st.assign[u as usize] as usize))
            .sum();
        let sites = norm.sites_of(&sol.centres);
        let new_cost: f64 = units
            .iter()
            .zip(&sol.assignment)
            .map(|(&u, &c)| norm.cost_in(u as usize, groups[c as usize], &sites[c as usize]))
            .sum();
        // The block's violation in the whole plan's scale (the block's own is its own).
        let mut loads = Array2::<f64>::zeros((groups.len(), norm.m));
        for (&u, &c) in units.iter().zip(&sol.assignment) {
            for j in 0..norm.m {
                loads[(c as usize, j)] += norm.vn[(u as usize, j)];
            }
        }
        let after: f64 = groups
            .iter()
            .enumerate()
            .map(|(c, &g)| {
                (0..norm.m)
                    .map(|j| {
                        let (lo, hi) = (norm.bands.lo[(g, j)], norm.bands.hi[(g, j)]);
                        state::band_violation(loads[(c, j)], lo, hi)
                    })
                    .sum::<f64>()
            })
            .sum();
        let better = if before > state::BAND_EPS {
            after < before
        } else {
            after <= state::BAND_EPS && new_cost < cost
        };
        super::debug(&format!(
            "block 2.{b}: violation {before:.3e} -> {after:.3e}, objective {cost:.6e} -> {new_cost:.6e}{}",
            if better { ", kept" } else { "" }
        ));
        if better {
            kept += 1;
            for (&u, &c) in units.iter().zip(&sol.assignment) {
                assign[u as usize] = groups[c as usize] as u32;
            }
            for (c, &g) in groups.iter().enumerate() {
                centres[g] = sol.centres[c];
            }
        }
    }
    if kept > 0 {
        *st = state::State::new(norm, assign, centres);
    }
    Ok(kept)
}
