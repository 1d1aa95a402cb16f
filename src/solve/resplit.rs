//! Re-splits: where repair leaves a territory out of its band, the territories around it
//! are split again by an LP over all their units (good_lp, Clarabel), each unit free to
//! go to its own territory or to one its neighbours or theirs belong to, the rest of the
//! plan held fixed. The LP sees every unit of the area at once: it trades a rich unit
//! for two poor ones three territories away, which single moves, exchanges, chains and
//! relays cannot. Its bands are drawn in towards their middle so that rounding leaves
//! room (the LP splits tens to hundreds of units per area: about one per binding band row
//! even at a vertex); repair then mends what rounding broke, with contiguity kept first
//! where it is asked for. A re-split is kept only where it lowers the plan's violation.
//!
//! Where it matters: a rep whose locked accounts carry two thirds of a territory's
//! potential needs the rest of the territory to be accounts of a third of the average
//! potential each, found by giving away richer units all around (generated 1M instance,
//! `--seed 3`: a dozen such territories stayed out of band in every cycle).

use std::collections::VecDeque;

use good_lp::{Expression, ProblemVariables, SolverModel, Variable, variable};
use rayon::prelude::*;

use super::race::{self, Stop, Stopped};
use super::state::{BAND_EPS as EPS, Scope, State, band_violation};

/// Territories in a re-split area: the first try, and the most it grows to while the LP
/// says the area cannot meet its bands.
pub const AREA_GROUPS: usize = 24;
const AREA_MAX: usize = 96;
/// How far the LP's bands are drawn in towards their middle, as a share of half a band.
const MARGIN: f64 = 0.5;
/// Below this an LP share is nothing, above one minus it the whole unit.
const SHARE_EPS: f64 = 1e-3;
/// Violated territories re-split per pass at most (a 1M plan has needed 21).
const PER_PASS: usize = 64;
/// Passes over the split units after rounding.
const POLISH_PASSES: usize = 8;
/// Re-splits tried per violated territory, while each lowers the violation.
const TRIES: usize = 4;
/// Passes over the territories still out of band.
const PASSES: usize = 3;
/// Refused re-splits in a row that end a pass: where even the LP's plans make nothing
/// better, the bands are tighter than re-splitting can mend (at ±0.01% on the sample,
/// 37 of 65 were refused, each after 10–20 s; at 1M, 2 of 127, never two in a row), and
/// the tolerance report, not more minutes of search, is what the user needs.
const REFUSED_IN_A_ROW: usize = 3;
/// An area does not grow past about this many units: the LP and its repair grow faster
/// than the area (96 territories of 1M accounts hold ~3,500 units; the sample's 48
/// Commercial territories hold 7,900, and a re-split of all of them took 20 s).
const AREA_MAX_UNITS: usize = 5_000;

/// Re-splits the area around each territory still out of its band; returns re-splits kept.
/// A kept re-split can leave a territory just outside its area a hair out of band (its
/// repair takes on such territories but not always mends them): later passes re-split
/// those too, never again one whose re-split was refused. Every territory a re-split was
/// tried for is marked in `tried`.
///
/// Territories far enough apart are re-split side by side, each on its own copy of the
/// plan as the batch found it (see [`next_batch`]), and their changes are merged, the
/// costliest first; one whose changes reach a territory merged before it is re-split
/// again on the merged plan. What a batch holds and the order it is merged in depend on
/// the plan alone, so the plans are the same on any number of threads.
pub fn resplit_pass(st: &mut State, contiguity: bool, tried: &mut [bool]) -> usize {
    let k = st.norm.k;
    let mut refused = vec![false; k];
    let mut kept = 0;
    let mut in_a_row = 0;
    // Each territory's last first-try LPs, for a re-split again on an unchanged area.
    let mut memo: Vec<Option<Memo>> = (0..k).map(|_| None).collect();
    'passes: for _ in 0..PASSES {
        let mut violated: Vec<usize> = (0..k)
            .filter(|&g| !refused[g] && st.group_violation(g) > EPS)
            .collect();
        // Where bands far too tight leave hundreds of territories out, re-splitting each
        // would cost minutes and mend nothing: the worst `PER_PASS` get their chance.
        if violated.len() > PER_PASS {
            violated.sort_by(|&a, &b| {
                st.group_violation(b)
                    .total_cmp(&st.group_violation(a))
                    .then(a.cmp(&b))
            });
            violated.truncate(PER_PASS);
            violated.sort_unstable();
        }
        let before = kept;
        let mut queue: VecDeque<usize> = violated.into();
        loop {
            let batch = next_batch(st, &mut queue, tried);
            if batch.is_empty() {
                break;
            }
            let started = std::time::Instant::now();
            let snapshot = &*st;
            let mut outcomes: Vec<(usize, Outcome)> = batch
                .par_iter()
                .enumerate()
                .map(|(i, &d)| {
                    (
                        i,
                        resplit_territory(snapshot, d, contiguity, memo[d].as_ref()),
                    )
                })
                .collect();
            for (_, out) in &mut outcomes {
                memo[out.d] = out.memo.take();
            }
            // Merged costliest first: where two collide, the one re-split again on the
            // merged plan is the cheaper (at 1M `--seed 4`, a territory whose four
            // 96-territory re-splits took 3 s was twice re-split again for a neighbour's
            // 0.2 s one).
            outcomes.sort_by_key(|(i, out)| (std::cmp::Reverse(out.work), *i));
            let mut taken = vec![false; k];
            let mut again = Vec::new();
            for (merged, (i, out)) in outcomes.into_iter().enumerate() {
                if out.changed.iter().any(|&g| taken[g]) {
                    again.push((i, out.d));
                    continue;
                }
                for &g in &out.changed {
                    taken[g] = true;
                }
                if merged == 0 {
                    // The first never collides, and was found on this very plan: taken
                    // whole, bit for bit.
                    *st = out.plan;
                } else {
                    merge(st, &out);
                }
                tried[out.d] = true;
                kept += out.kept;
                if out.whole_short {
                    // The area was the whole plan and even its LP fell short: no other
                    // re-split can meet the bands (a block of a large plan given too hard
                    // a share of its seats retried this for 85 s).
                    break 'passes;
                }
                if out.kept > 0 {
                    in_a_row = 0;
                }
                if out.refused {
                    refused[out.d] = true;
                    in_a_row += 1;
                    if in_a_row == REFUSED_IN_A_ROW {
                        break 'passes;
                    }
                }
            }
            super::debug(&format!(
                "resplit batch {batch:?}: {} again, {:?}",
                again.len(),
                started.elapsed()
            ));
            // Back to the front of the queue, in queue order.
            again.sort_unstable();
            for (_, d) in again.into_iter().rev() {
                queue.push_front(d);
            }
        }
        if kept == before || st.meets_bands() {
            break;
        }
    }
    kept
}

/// Territories re-split side by side at most: a batch is re-split in full before its
/// refusals are counted, so a larger one wastes more where bands are too tight to mend.
const BATCH: usize = 4;

/// The next territories of `queue` to re-split side by side, in queue order: each still
/// out of band, and its first area and that area's neighbours clear of every earlier
/// one's (an area's repair works on its groups and spills into their neighbours). The
/// rest stay queued, in order; mended ones leave the queue, marked in `tried`.
/// With a disruption budget (shared by every territory) territories go one at a time.
fn next_batch(st: &State, queue: &mut VecDeque<usize>, tried: &mut [bool]) -> Vec<usize> {
    let width = if st.moved.is_empty() { BATCH } else { 1 };
    let mut claimed = vec![false; st.norm.k];
    let mut batch = Vec::new();
    let mut rest = VecDeque::new();
    while let Some(d) = queue.pop_front() {
        if st.group_violation(d) <= EPS {
            tried[d] = true;
            continue;
        }
        if batch.len() == width {
            rest.push_back(d);
            continue;
        }
        let groups = area(st, d, AREA_GROUPS);
        let mut reach: Vec<usize> = groups
            .iter()
            .flat_map(|&g| st.adjacent_groups(g))
            .chain(groups.iter().copied())
            .collect();
        reach.sort_unstable();
        reach.dedup();
        if reach.iter().any(|&g| claimed[g]) {
            rest.push_back(d);
            continue;
        }
        for g in reach {
            claimed[g] = true;
        }
        batch.push(d);
    }
    *queue = rest;
    batch
}

/// What the re-splits of one territory did, on its own copy of the plan.
struct Outcome<'a> {
    d: usize,
    plan: State<'a>,
    /// The groups whose contents differ from the plan the batch started from.
    changed: Vec<usize>,
    kept: usize,
    refused: bool,
    whole_short: bool,
    /// LP variables solved for, summed over its re-splits.
    work: usize,
    /// The first re-split's LPs.
    memo: Option<Memo>,
}

/// Re-splits the area around `d`, on a copy of `st`, up to `TRIES` times while each is
/// kept and `d` is still out of band.
/// `seen`: the LPs of an earlier first re-split of `d`, reused where its areas hold the
/// same units.
fn resplit_territory<'a>(
    st: &State<'a>,
    d: usize,
    contiguity: bool,
    seen: Option<&Memo>,
) -> Outcome<'a> {
    let mut plan = st.clone();
    let (mut kept, mut refused, mut whole_short, mut work) = (0, false, false, 0);
    let mut memo = None;
    for attempt in 0..TRIES {
        if plan.group_violation(d) <= EPS {
            break;
        }
        // Only the first re-split runs on the batch's plan, where `seen` may still hold
        // and what it solves is worth remembering.
        let first = attempt == 0;
        let (tried, lps) = resplit(&mut plan, d, contiguity, seen.filter(|_| first), first);
        if first {
            memo = lps;
        }
        kept += usize::from(tried.kept);
        work += tried.variables;
        if tried.whole_short {
            whole_short = true;
            break;
        }
        if !tried.kept {
            refused = true;
            break;
        }
    }
    // A refused re-split gives the plan back whole, versions included.
    let changed = (0..st.norm.k)
        .filter(|&g| plan.version(g) != st.version(g))
        .collect();
    Outcome {
        d,
        plan,
        changed,
        kept,
        refused,
        whole_short,
        work,
        memo,
    }
}

/// Replays on `st` the moves of `out`, whose changed groups nothing merged before it
/// touched: every unit it moved ends in one of them.
fn merge(st: &mut State, out: &Outcome) {
    for &g in &out.changed {
        for &u in &out.plan.members[g] {
            let u = u as usize;
            let h = out.plan.assign[u] as usize;
            if st.assign[u] as usize != h {
                st.move_unit(u, h);
            }
        }
    }
}

/// Improvement by re-splits, on a plan that meets every band: the plan is tiled into
/// areas of `AREA_GROUPS` territories (one around the first territory no earlier area took
/// in), and each is split again by the LP for the shortest plan within bands drawn in by
/// `IMPROVE_MARGIN`, rounded and repaired; a re-split is kept where the plan is shorter,
/// meets every band, and (with contiguity) has no fewer contiguous territories. Moves and
/// exchanges stop at a plan no single step improves; the LP sees every unit of an area at
/// once. The areas' LPs are solved in parallel on the plan as the round found it; an area
/// whose territories an earlier one's repair changed waits for the next round. Returns
/// re-splits kept.
pub fn improve_pass(
    st: &mut State,
    contiguity: bool,
    reverse: bool,
    steps: usize,
    size: usize,
) -> usize {
    if !st.meets_bands() {
        return 0;
    }
    let k = st.norm.k;
    let mut covered = vec![false; k];
    let mut tiles = Vec::new();
    let order: Vec<usize> = if reverse {
        (0..k).rev().collect()
    } else {
        (0..k).collect()
    };
    for d in order {
        if !covered[d] {
            let groups = area(st, d, size);
            for &g in &groups {
                covered[g] = true;
            }
            tiles.push((d, groups));
        }
    }
    let (mut kept, mut rounds) = (0, 0);
    // Areas whose turn an earlier one's repair reached wait for the next round: solved
    // again one after another, they took 5.6 s of a 7.8 s polish at 100k.
    while !tiles.is_empty() && rounds < IMPROVE_ROUNDS {
        rounds += 1;
        let started = std::time::Instant::now();
        let snapshot = &*st;
        let lps: Vec<Option<AreaLp>> = tiles
            .par_iter()
            .map(|(_, groups)| {
                solve_area(
                    snapshot,
                    None,
                    groups,
                    IMPROVE_MARGIN,
                    steps,
                    &Stop::never(),
                )
                .ok()
                .flatten()
            })
            .collect();
        let lp_time = started.elapsed();
        // A group's version names its contents (a refused re-split gives the plan back
        // whole, versions included).
        let before: Vec<u64> = (0..k).map(|g| st.version(g)).collect();
        let mut waiting = Vec::new();
        for ((d, groups), lp) in tiles.into_iter().zip(lps) {
            if !groups.iter().all(|&g| st.version(g) == before[g]) {
                waiting.push((d, groups));
                continue;
            }
            let Some(lp) = lp else {
                continue;
            };
            if lp.short > SHORT_EPS {
                continue;
            }
            kept += usize::from(apply_shorter(st, d, lp, lp_time, contiguity));
        }
        tiles = waiting;
    }
    super::debug(&format!(
        "improve pass: {kept} kept in {rounds} rounds, {} areas left",
        tiles.len()
    ));
    kept
}

/// Rounds of an improvement pass: areas an earlier area's repair changed are solved again
/// in the next.
const IMPROVE_ROUNDS: usize = 4;

/// How far an improving re-split's bands are drawn in, as a share of half a band.
const IMPROVE_MARGIN: f64 = 0.2;

/// Rounds an improving area LP onto the plan and repairs it; keeps the result if it is
/// shorter, meets every band and keeps as many territories contiguous.
fn apply_shorter(
    st: &mut State,
    d: usize,
    lp: AreaLp,
    lp_time: std::time::Duration,
    contiguity: bool,
) -> bool {
    let started = std::time::Instant::now();
    let before = st.objective();
    let pieces_before = if contiguity {
        st.contiguous_groups()
    } else {
        0
    };
    let saved = st.clone();
    let area = AreaScope::of(st, &lp.area);
    let scope = area.scope();
    round_onto(st, lp.units.iter().copied().zip(lp.shares));
    if contiguity {
        super::local_search::reattach_fragments(st, lp.area.iter().copied());
        super::local_search::repair(st, true, false, scope);
    }
    super::local_search::repair(st, false, true, scope);
    let after = st.objective();
    let ok = st.meets_bands()
        && after < before - 1e-9 * before.abs()
        && (!contiguity || st.contiguous_groups() >= pieces_before);
    super::debug(&format!(
        "improve g{d}: {} groups {} units, objective {before:.6e} -> {after:.6e}, violation {:.3e}, kept {ok}; LP {lp_time:?}, rest {:?}",
        lp.area.len(),
        lp.units.len(),
        st.total_violation(),
        started.elapsed(),
    ));
    if !ok {
        *st = saved;
    }
    ok
}

/// `d` and the groups nearest it in the group graph, breadth first, at most `size`.
fn area(st: &State, d: usize, size: usize) -> Vec<usize> {
    let mut order = vec![d];
    let mut seen = vec![false; st.norm.k];
    seen[d] = true;
    let mut i = 0;
    while i < order.len() && order.len() < size {
        for h in st.adjacent_groups(order[i]) {
            if order.len() < size && !seen[h] {
                seen[h] = true;
                order.push(h);
            }
        }
        i += 1;
    }
    order
}

/// A unit the LP split: its largest share, the unit, and its (share, group) pairs.
type Split = (f64, usize, Vec<(f64, usize)>);

/// One re-split of the area around `d`: whether it was kept, whether its area was the
/// whole plan with an LP short of the bands, and the LP variables it solved for (the work
/// it took, as a measure that does not depend on the machine).
struct Tried {
    kept: bool,
    whole_short: bool,
    variables: usize,
}

/// One re-split of the area around `d`, reusing `seen`'s LPs where they still hold; with
/// `remember`, also returns its LPs and what they were solved from.
fn resplit(
    st: &mut State,
    d: usize,
    contiguity: bool,
    seen: Option<&Memo>,
    remember: bool,
) -> (Tried, Option<Memo>) {
    // Where the LP cannot meet the area's bands, the area grows: the richer units must go
    // farther than the first ring of territories can take them. One size after another,
    // up to the first that meets its bands (half the grown re-splits at 1M did not need
    // the 96). The grown areas' LPs start beside the smaller ones only where a thread is
    // idle, and stop once a smaller one meets its bands (see `race.rs`; solved side by
    // side regardless, the 48 and 96 LPs each took longer than alone).
    let started = std::time::Instant::now();
    let first = area(st, d, AREA_GROUPS);
    let units = first.iter().map(|&g| st.members[g].len()).sum();
    let mut areas = vec![first];
    areas.extend(grown_areas(st, d, areas[0].len(), units));
    // The same areas holding the same units at the same centres make the same LPs (a
    // territory re-split again after a collision often finds its area untouched).
    let ends = |lp: &Option<AreaLp>| lp.as_ref().is_none_or(|lp| lp.short <= SHORT_EPS);
    let lps = match seen.filter(|m| m.holds(st, &areas)) {
        Some(m) => m.lps.clone(),
        None => {
            let snapshot = &*st;
            race::first_ending(
                areas.len(),
                |i, stop| solve_area(snapshot, Some(d), &areas[i], MARGIN, 2, stop),
                ends,
            )
        }
    };
    let memo = remember.then(|| Memo {
        key: MemoKey::of(st, &areas[..lps.len()]),
        all: !lps.last().is_some_and(ends),
        lps: lps.clone(),
    });
    let mut tried = Tried {
        kept: false,
        whole_short: false,
        variables: 0,
    };
    let mut last = None;
    for lp in lps {
        let Some(lp) = lp else {
            return (tried, memo);
        };
        tried.variables += lp.variables;
        last = Some(lp);
    }
    let Some(lp) = last else {
        return (tried, memo);
    };
    tried.whole_short = lp.short > SHORT_EPS && lp.area.len() == st.norm.k;
    tried.kept = apply(st, d, lp, started.elapsed(), contiguity);
    (tried, memo)
}

/// A re-split's LPs, with what they were solved from: the areas up to the first whose
/// LP ended the sequence, or all of them (`all`).
struct Memo {
    key: MemoKey,
    all: bool,
    lps: Vec<Option<AreaLp>>,
}

impl Memo {
    /// Whether a re-split over `areas` on `st` would solve these very LPs.
    fn holds(&self, st: &State, areas: &[Vec<usize>]) -> bool {
        let n = self.lps.len();
        let sequence = if self.all {
            areas.len() == n
        } else {
            areas.len() >= n
        };
        sequence && self.key == MemoKey::of(st, &areas[..n])
    }
}

/// All an area's LP reads of the plan: the areas, and the units and centre of each of
/// their groups (a unit's choices are the area groups its neighbours belong to).
#[derive(PartialEq)]
struct MemoKey {
    areas: Vec<Vec<usize>>,
    members: Vec<Vec<u32>>,
    centres: Vec<[u64; 2]>,
}

impl MemoKey {
    fn of(st: &State, areas: &[Vec<usize>]) -> MemoKey {
        let mut groups: Vec<usize> = areas.iter().flatten().copied().collect();
        groups.sort_unstable();
        groups.dedup();
        let members = groups
            .iter()
            .map(|&g| {
                let mut units = st.members[g].clone();
                units.sort_unstable();
                units
            })
            .collect();
        let centres = groups
            .iter()
            .map(|&g| st.centres[g].map(f64::to_bits))
            .collect();
        MemoKey {
            areas: areas.to_vec(),
            members,
            centres,
        }
    }
}

/// The areas a re-split around `d` grows through, in order, after a first area of
/// `AREA_GROUPS` territories (`groups` of them: fewer in a small plan) and `units` units
/// whose LP fell short: each twice the territories of the last, up to `AREA_MAX`, while
/// the last held at most half of `AREA_MAX_UNITS` (doubling the territories about doubles
/// the units) and was not yet the whole connected plan.
fn grown_areas(st: &State, d: usize, mut groups: usize, mut units: usize) -> Vec<Vec<usize>> {
    let mut grown = Vec::new();
    let mut size = AREA_GROUPS;
    while size < AREA_MAX && 2 * units <= AREA_MAX_UNITS {
        size *= 2;
        let next = area(st, d, size);
        if next.len() == groups {
            // The same area again: its LP would be the same.
            break;
        }
        groups = next.len();
        units = next.iter().map(|&g| st.members[g].len()).sum();
        grown.push(next);
    }
    grown
}

/// Band slack (normalised) below which the LP met every band of its area.
const SHORT_EPS: f64 = 1e-6;

/// An area's LP solution: its units, each with its (share, group) pairs above `SHARE_EPS`,
/// and how far (summed over bands, normalised) the LP fell short of the true bands.
#[derive(Clone)]
struct AreaLp {
    area: Vec<usize>,
    units: Vec<usize>,
    shares: Vec<Vec<(f64, usize)>>,
    short: f64,
    variables: usize,
}

/// The LP re-split of the area `groups`: `d`, the violated group, may take any of its
/// units (None: each unit stays within two steps); bands are drawn in by `margin`. None
/// where the LP found no solution; `Stopped` where `stop` was set first.
fn solve_area(
    st: &State,
    d: Option<usize>,
    groups: &[usize],
    margin: f64,
    steps: usize,
    stop: &Stop,
) -> Result<Option<AreaLp>, Stopped> {
    let k = st.norm.k;
    let m = st.norm.m;
    // Index of each area group in `groups`, usize::MAX outside the area.
    let mut slot = vec![usize::MAX; k];
    for (i, &g) in groups.iter().enumerate() {
        slot[g] = i;
    }
    let mut units: Vec<usize> = groups
        .iter()
        .flat_map(|&g| st.members[g].iter().map(|&u| u as usize))
        .collect();
    units.sort_unstable();
    // Choices per unit: its own group and the area groups of units within `steps` (one
    // or two) steps.
    let choices: Vec<Vec<usize>> = units
        .iter()
        .map(|&u| {
            let mut cs = vec![st.assign[u] as usize];
            for &v in st.norm.p.adjacency.of(u) {
                cs.push(st.assign[v as usize] as usize);
                if steps > 1 {
                    for &w in st.norm.p.adjacency.of(v as usize) {
                        cs.push(st.assign[w as usize] as usize);
                    }
                }
            }
            // The violated group may take any unit of the area.
            cs.extend(d);
            cs.retain(|&g| slot[g] != usize::MAX);
            cs.sort_unstable();
            cs.dedup();
            cs
        })
        .collect();
    // A unit with one choice (deep inside its territory) is no variable: its load is a
    // constant of its group's rows. About 40% of an area's units at 100k; the LP is a
    // third smaller and its solution the same.
    let free = |cs: &Vec<usize>| cs.len() > 1;
    let count: usize = choices.iter().filter(|cs| free(cs)).map(Vec::len).sum();
    let total: f64 = units
        .iter()
        .zip(&choices)
        .filter(|(_, cs)| free(cs))
        .flat_map(|(&u, cs)| cs.iter().map(move |&g| (u, g)))
        .map(|(u, g)| st.cost(u, g))
        .sum();
    // Costs scaled to mean 1 keep the interior-point method well conditioned; slack in
    // the drawn-in margin costs more than any unit's distance, slack beyond the true band
    // far more again.
    let scale = if total > 0.0 {
        count as f64 / total
    } else {
        1.0
    };
    let (inner, outer) = (1e3, 1e6);

    // Variables are numbered in the order they are added: the solver's answer is read
    // back by number (`x_at`: each unit's first share).
    let mut vars = ProblemVariables::new();
    let mut x_at = Vec::with_capacity(choices.len());
    let x: Vec<Vec<Variable>> = choices
        .iter()
        .map(|cs| {
            x_at.push(vars.len());
            if free(cs) {
                cs.iter().map(|_| vars.add(variable().min(0.0))).collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    let mut objective = Expression::with_capacity(count);
    let mut rows: Vec<Expression> = (0..groups.len() * m)
        .map(|_| Expression::with_capacity(0))
        .collect();
    let mut fixed = vec![0.0; groups.len() * m];
    for (i, (&u, cs)) in units.iter().zip(&choices).enumerate() {
        if !free(cs) {
            for j in 0..m {
                fixed[slot[cs[0]] * m + j] += st.norm.vn[(u, j)];
            }
            continue;
        }
        for (c, &g) in cs.iter().enumerate() {
            objective.add_mul(st.cost(u, g) * scale, x[i][c]);
            for j in 0..m {
                let a = st.norm.vn[(u, j)];
                if a != 0.0 {
                    rows[slot[g] * m + j].add_mul(a, x[i][c]);
                }
            }
        }
    }
    // Loads of each area group from outside the LP: none, since every unit of an area
    // group is in it; from its fixed units: `fixed`. Bands:
    // lo + margin ≤ row + fixed + inner⁻ + outer⁻, row + fixed − inner⁺ − outer⁺ ≤ hi − margin.
    let mut bands = Vec::with_capacity(groups.len() * m);
    for (i, &g) in groups.iter().enumerate() {
        for j in 0..m {
            let (lo, hi) = (st.norm.bands.lo[(g, j)], st.norm.bands.hi[(g, j)]);
            let f = fixed[i * m + j];
            let gap = margin * 0.5 * (hi - lo).max(0.0);
            let s_at = vars.len();
            let s = [
                vars.add(variable().min(0.0).max(gap)),
                vars.add(variable().min(0.0)),
                vars.add(variable().min(0.0).max(gap)),
                vars.add(variable().min(0.0)),
            ];
            objective.add_mul(inner, s[0]);
            objective.add_mul(outer, s[1]);
            objective.add_mul(inner, s[2]);
            objective.add_mul(outer, s[3]);
            bands.push((lo + gap - f, hi - gap - f, s, s_at, vars.add(variable())));
        }
    }
    let mut model = super::lp::assignment_model(vars, objective, &x);
    // Each band's load is a variable of its own, equal to the sum over the area's units:
    // the long row appears once rather than in both the lo and the hi constraint, and
    // the interior-point steps factor a KKT system with half the dense rows (the same LP;
    // 100k: a 24-territory area's LP in 263 ms instead of 374 ms).
    for (row, &(lo, hi, s, _, load)) in rows.into_iter().zip(&bands) {
        let mut sum = row;
        sum.add_mul(-1.0, load);
        model.add_constraint(sum.eq(0.0));
        let row = Expression::from(load);
        let mut r = row.clone();
        r.add_mul(1.0, s[0]);
        r.add_mul(1.0, s[1]);
        model.add_constraint(r.geq(lo));
        let mut r = row;
        r.add_mul(-1.0, s[2]);
        r.add_mul(-1.0, s[3]);
        model.add_constraint(r.leq(hi));
    }
    let Some(value) = super::lp::solve_stoppable(model, stop)? else {
        return Ok(None);
    };
    let short = bands
        .iter()
        .map(|&(_, _, _, s_at, _)| value[s_at + 1] + value[s_at + 3])
        .sum();
    let shares = choices
        .iter()
        .zip(&x_at)
        .map(|(cs, &at)| {
            if !free(cs) {
                return vec![(1.0, cs[0])];
            }
            cs.iter()
                .enumerate()
                .map(|(c, &g)| (value[at + c], g))
                .filter(|&(v, _)| v > SHARE_EPS)
                .collect()
        })
        .collect();
    Ok(Some(AreaLp {
        area: groups.to_vec(),
        units,
        shares,
        short,
        variables: count,
    }))
}

/// Rounds an area's LP solution onto the plan and repairs the bands; keeps the result if
/// it lowers the plan's violation. `lp_time` (building and solving the LPs) is for the
/// debug trace.
fn apply(
    st: &mut State,
    d: usize,
    lp: AreaLp,
    lp_time: std::time::Duration,
    contiguity: bool,
) -> bool {
    let started = std::time::Instant::now();
    // Repair below works on the area and on whatever it pushes out of band elsewhere; the
    // plan's other violated groups have had their repair and wait for their own re-split.
    let area = AreaScope::of(st, &lp.area);
    // The same sum, in the same order, as `total_violation`.
    let before = area.before.iter().sum::<f64>() + st.budget_violation();
    let saved = st.clone();
    let scope = area.scope();
    let nsplit = round_onto(st, lp.units.iter().copied().zip(lp.shares));
    let rounded = st.total_violation();
    if contiguity {
        // Rounded, the area is in pieces: they rejoin a neighbour and the bands are repaired
        // with contiguity kept first, what that leaves without. Where that mends nothing,
        // the rounded plan is repaired without contiguity (bands are hard).
        let mut whole = st.clone();
        super::local_search::reattach_fragments(&mut whole, lp.area.iter().copied());
        super::local_search::repair(&mut whole, true, false, scope);
        super::local_search::repair(&mut whole, false, true, scope);
        if whole.total_violation() < before - EPS {
            *st = whole;
        } else {
            super::local_search::repair(st, false, true, scope);
        }
    } else {
        super::local_search::repair(st, false, true, scope);
    }
    let after = st.total_violation();
    super::debug(&format!(
        "resplit g{d}: {} groups {} units {} vars, LP short {:.3e}, {nsplit} split; violation {before:.3e} -> rounded {rounded:.3e} -> repaired {after:.3e}; LP {:?}, rest {:?}",
        lp.area.len(),
        lp.units.len(),
        lp.variables,
        lp.short,
        lp_time,
        started.elapsed(),
    ));
    if after >= before - EPS {
        *st = saved;
        return false;
    }
    true
}

/// What a repair confined to an area reads: the area's groups, and every group's
/// violation before it (see [`Scope::Area`]).
struct AreaScope {
    area: Vec<bool>,
    before: Vec<f64>,
}

impl AreaScope {
    fn of(st: &State, groups: &[usize]) -> AreaScope {
        let mut area = vec![false; st.norm.k];
        for &g in groups {
            area[g] = true;
        }
        let before = (0..st.norm.k).map(|g| st.group_violation(g)).collect();
        AreaScope { area, before }
    }

    fn scope(&self) -> Scope<'_> {
        Scope::Area {
            area: &self.area,
            before: &self.before,
        }
    }
}

/// Rounds an area's LP shares onto the plan; returns how many units the LP had split.
fn round_onto(
    st: &mut State,
    shares_of: impl Iterator<Item = (usize, Vec<(f64, usize)>)>,
) -> usize {
    // Rounding: units the LP put wholly in one group go there; the split ones are made
    // whole below, most decided first.
    let mut split: Vec<Split> = Vec::new();
    for (u, shares) in shares_of {
        let top =
            shares
                .iter()
                .copied()
                .fold((f64::NEG_INFINITY, st.assign[u] as usize), |b, s| {
                    if s.0 > b.0 { s } else { b }
                });
        if top.0 >= 1.0 - SHARE_EPS {
            if top.1 != st.assign[u] as usize {
                st.move_unit(u, top.1);
            }
        } else {
            split.push((top.0, u, shares));
        }
    }
    split.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let nsplit = split.len();
    // Loads with every split unit still spread as the LP spread it; each unit in turn is
    // made whole where that leaves its groups' bands best, the others still spread (the
    // plan's loads would count the undecided ones where they stood before the LP).
    let m = st.norm.m;
    let mut spread = st.loads.clone();
    for (_, u, shares) in &split {
        let g = st.assign[*u] as usize;
        for j in 0..m {
            let v = st.norm.vn[(*u, j)];
            spread[(g, j)] -= v;
            for &(s, h) in shares {
                spread[(h, j)] += s * v;
            }
        }
    }
    let b = &st.norm.bands;
    let mut chosen = Vec::with_capacity(split.len());
    for (_, u, shares) in split {
        let after = |h: usize| -> f64 {
            // h is one of the shares' groups: the sum is over the same groups for each h.
            shares
                .iter()
                .map(|&(own, g)| {
                    (0..m)
                        .map(|j| {
                            let v = st.norm.vn[(u, j)];
                            let x = spread[(g, j)] - own * v + if g == h { v } else { 0.0 };
                            band_violation(x, b.lo[(g, j)], b.hi[(g, j)])
                        })
                        .sum::<f64>()
                })
                .sum()
        };
        let Some((_, _, h)) = shares
            .iter()
            .map(|&(s, h)| (after(h), -s, h))
            .min_by(|a, b| {
                a.0.total_cmp(&b.0)
                    .then(a.1.total_cmp(&b.1))
                    .then(a.2.cmp(&b.2))
            })
        else {
            continue;
        };
        for j in 0..m {
            let v = st.norm.vn[(u, j)];
            for &(s, g) in &shares {
                spread[(g, j)] -= s * v;
            }
            spread[(h, j)] += v;
        }
        chosen.push((u, h, shares));
    }
    for &(u, h, _) in &chosen {
        if st.assign[u] as usize != h {
            st.move_unit(u, h);
        }
    }
    // Made whole one after another, the split units' errors add up; a few passes move
    // each to another of its groups wherever that lowers the violation.
    for _ in 0..POLISH_PASSES {
        let mut moved = false;
        for (u, _, shares) in &chosen {
            let g = st.assign[*u] as usize;
            let best = shares
                .iter()
                .filter(|&&(_, h)| h != g)
                .map(|&(_, h)| (st.move_delta_violation(*u, h), h))
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            if let Some((dv, h)) = best
                && dv < -EPS
                && st.members[g].len() > 1
            {
                st.move_unit(*u, h);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    nsplit
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use crate::solve::Norm;
    use crate::solve::state::tests::Line;
    use crate::solve::state::{Scope, State};

    /// Twelve units on a line in four territories with exact two-metric targets (see
    /// `a_resplit_meets_bands_that_repair_cannot`).
    fn twelve_on_a_line() -> Line {
        let values = Array2::from_shape_vec(
            (12, 2),
            vec![
                2.0, 1.0, 1.0, 5.0, 5.0, 6.0, 2.0, 4.0, 1.0, 4.0, 6.0, 6.0, 3.0, 5.0, 1.0, 5.0,
                3.0, 3.0, 3.0, 6.0, 2.0, 2.0, 2.0, 1.0,
            ],
        )
        .unwrap();
        let edges: Vec<(u32, u32)> = (0..11).map(|u| (u, u + 1)).collect();
        let targets =
            Array2::from_shape_vec((4, 2), vec![3.0, 6.0, 24.0, 39.0, 2.0, 2.0, 2.0, 1.0]).unwrap();
        Line::new(values, &edges, targets)
    }

    /// The twelve units in equal runs of three, each territory centred on its run.
    fn equal_runs<'a>(norm: &'a Norm<'a>) -> State<'a> {
        State::new(
            norm,
            vec![0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
            vec![[1.0, 0.0], [4.0, 0.0], [7.0, 0.0], [10.0, 0.0]],
        )
    }

    /// Twelve units on a line in four territories with exact two-metric targets. The only
    /// plan that meets them all puts the first territory on unit 9 (or units 0 and 1):
    /// the whole line shifts, which no move, exchange, chain or relay from equal runs
    /// finds, and the area's LP does.
    #[test]
    fn a_resplit_meets_bands_that_repair_cannot() {
        let line = twelve_on_a_line();
        let p = line.problem();
        let norm = Norm::new(&p);
        let start = equal_runs(&norm);
        let mut repaired = start.clone();
        super::super::local_search::repair(&mut repaired, false, true, Scope::All);
        assert!(!repaired.meets_bands(), "{:?}", repaired.assign);
        let mut st = start.clone();
        assert!(super::resplit_pass(&mut st, false, &mut [false; 4]) > 0);
        assert!(st.meets_bands(), "{:?}", st.assign);
        // Kept whole, the re-split meets them too, every territory in one piece.
        let mut whole = start.clone();
        assert!(super::resplit_pass(&mut whole, true, &mut [false; 4]) > 0);
        assert!(whole.meets_bands(), "{:?}", whole.assign);
        assert_eq!(whole.contiguous_groups(), 4, "{:?}", whole.assign);
        let loads = crate::solve::state::loads_of(&norm, &st.assign);
        assert!(
            loads
                .iter()
                .zip(norm.bands.lo.iter())
                .all(|(x, lo)| (x - lo).abs() < 1e-9)
        );
    }

    /// A re-split's LPs are reused where its areas hold the same units at the same
    /// centres, and only there: reused, they give the plan solving them gives; a memo
    /// whose LPs were tampered with shows when it is read, and it is not read once a unit
    /// has moved between two of the area's territories.
    #[test]
    fn a_resplit_reuses_its_lps_only_on_an_unchanged_area() {
        let line = twelve_on_a_line();
        let p = line.problem();
        let norm = Norm::new(&p);
        let start = equal_runs(&norm);
        let d = (0..4)
            .find(|&g| start.group_violation(g) > super::EPS)
            .expect("a territory out of band");
        let mut solved = start.clone();
        let (first, memo) = super::resplit(&mut solved, d, false, None, true);
        let memo = memo.expect("remembered");
        assert!(first.kept && first.variables > 0);
        let mut reused = start.clone();
        let (again, _) = super::resplit(&mut reused, d, false, Some(&memo), false);
        assert_eq!(reused.assign, solved.assign);
        assert_eq!(again.variables, first.variables);
        // The same key with no LP answer: read, it makes the re-split give up.
        let tampered = super::Memo {
            lps: vec![None],
            all: false,
            key: memo.key,
        };
        let mut read = start.clone();
        let (gave_up, _) = super::resplit(&mut read, d, false, Some(&tampered), false);
        assert!(!gave_up.kept && gave_up.variables == 0);
        assert_eq!(read.assign, start.assign);
        // Unit 3 moves from territory 1 to territory 0: the area holds other units now.
        let mut moved = start.clone();
        moved.move_unit(3, 0);
        let (solved_again, _) = super::resplit(&mut moved, d, false, Some(&tampered), false);
        assert!(solved_again.variables > 0);
    }

    /// Sixty territories of three units on a line, exact bands, one unit pushed over the
    /// border at territory 0 and at territory 50: the two are re-split side by side, in one
    /// batch, and the merged plan meets every band, with loads and member lists that agree
    /// with its assignment, the same on one thread and on two.
    #[test]
    fn far_apart_resplits_run_side_by_side_and_merge_whole() {
        let k = 60;
        let n = 3 * k;
        let edges: Vec<(u32, u32)> = (0..n as u32 - 1).map(|u| (u, u + 1)).collect();
        let line = Line::new(
            Array2::from_elem((n, 1), 1.0),
            &edges,
            Array2::from_elem((k, 1), 3.0),
        );
        let p = line.problem();
        let norm = Norm::new(&p);
        let mut assign: Vec<u32> = (0..n).map(|u| (u / 3) as u32).collect();
        assign[3] = 0;
        assign[153] = 50;
        let centres = (0..k).map(|g| [(3 * g + 1) as f64, 0.0]).collect();
        let start = State::new(&norm, assign, centres);
        let violated: Vec<usize> = (0..k).filter(|&g| start.group_violation(g) > 0.0).collect();
        assert_eq!(violated, vec![0, 1, 50, 51]);
        // 0 and 50 go into the first batch; their neighbours wait, in order.
        let mut queue: std::collections::VecDeque<usize> = violated.into();
        let batch = super::next_batch(&start, &mut queue, &mut vec![false; k]);
        assert_eq!(batch, vec![0, 50]);
        assert_eq!(queue, vec![1, 51]);
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut st = start.clone();
            let kept = pool.install(|| super::resplit_pass(&mut st, false, &mut vec![false; k]));
            assert_eq!(kept, 2);
            st
        };
        let st = on(2);
        assert!(st.meets_bands(), "{:?}", st.assign);
        let loads = crate::solve::state::loads_of(&norm, &st.assign);
        assert!(
            loads
                .iter()
                .zip(st.loads.iter())
                .all(|(a, b)| (a - b).abs() < 1e-9)
        );
        for (g, members) in st.members.iter().enumerate() {
            assert!(members.iter().all(|&u| st.assign[u as usize] as usize == g));
        }
        assert_eq!(st.members.iter().map(Vec::len).sum::<usize>(), n);
        assert_eq!(on(1).assign, st.assign);
    }

    /// Two territories of three units each on a line, interleaved at their border: the
    /// bands hold, and the area's LP finds the shorter plan with the same counts.
    #[test]
    fn an_improving_resplit_shortens_a_plan_that_meets_its_bands() {
        let values = Array2::from_elem((6, 1), 1.0);
        let edges: Vec<(u32, u32)> = (0..5).map(|u| (u, u + 1)).collect();
        let line = Line::new(values, &edges, Array2::from_elem((2, 1), 3.0));
        let p = line.problem();
        let norm = Norm::new(&p);
        let mut st = State::new(&norm, vec![0, 0, 1, 0, 1, 1], vec![[1.0, 0.0], [4.0, 0.0]]);
        assert!(st.meets_bands());
        let before = st.objective();
        assert_eq!(
            super::improve_pass(&mut st, false, false, 2, super::AREA_GROUPS),
            1
        );
        assert_eq!(st.assign, vec![0, 0, 0, 1, 1, 1]);
        assert!(st.meets_bands() && st.objective() < before);
        // Nothing shorter is left: a second pass keeps nothing.
        assert_eq!(
            super::improve_pass(&mut st, false, false, 2, super::AREA_GROUPS),
            0
        );
    }

    /// A re-split grows 24 -> 48 -> 96 territories, and no further than the plan, nor past
    /// the unit cap; `resplit` solves these areas one by one, up to the first that meets its bands.
    #[test]
    fn grown_areas_double_up_to_the_plan_and_the_unit_cap() {
        let sizes = |groups: usize, per: usize| {
            let n = groups * per;
            let values = Array2::from_elem((n, 1), 1.0);
            let edges: Vec<(u32, u32)> = (0..n as u32 - 1).map(|u| (u, u + 1)).collect();
            let line = Line::new(values, &edges, Array2::from_elem((groups, 1), per as f64));
            let p = line.problem();
            let norm = Norm::new(&p);
            let st = State::new(
                &norm,
                (0..n).map(|u| (u / per) as u32).collect(),
                (0..groups).map(|g| [(g * per) as f64, 0.0]).collect(),
            );
            let first = super::area(&st, 0, super::AREA_GROUPS);
            let units = first.iter().map(|&g| st.members[g].len()).sum();
            super::grown_areas(&st, 0, first.len(), units)
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(200, 1), vec![48, 96]);
        // The whole plan is reached at 30: a second LP of the same area is not solved.
        assert_eq!(sizes(30, 1), vec![30]);
        assert_eq!(sizes(20, 1), Vec::<usize>::new());
        // 24 territories of 60 units: 1,440 units, room for 48 (2,880) but no more.
        assert_eq!(sizes(200, 60), vec![48]);
    }
}
