//! Ejection chains: when no single move or swap lowers the band violation, a unit moves
//! along a path of neighbouring territories instead — the deficit territory takes a unit
//! from its neighbour, which takes one from its own neighbour, and so on to a territory
//! with room to give. Whole accounts often need this: 97 accounts in 6 territories of 16
//! or 17 leave one territory at 15 that no single boundary move can fix.

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::sync::{Mutex, MutexGuard};

use super::state::{BAND_EPS as EPS, Scope, State};

/// How far chains reach: (longest chain in territories beyond the violated one, chain
/// ends tried per violated territory). Near chains first; far ones when those are stuck,
/// where the surplus sits many territories away (thousands of small territories).
pub const NEAR: (usize, usize) = (8, 48);
pub const FAR: (usize, usize) = (24, 64);

/// The territory graph (territories adjacent through their units, each list ascending)
/// as the last round of one repair saw it, with the versions it was built at.
#[derive(Default)]
struct Graph {
    adj: Vec<Vec<usize>>,
    at: Vec<u64>,
}

impl Graph {
    /// Brought up to date with `st`. A territory's list changes only where its own units
    /// or those of a territory then adjacent to it changed, so only those lists are
    /// built again (at 250k, building the whole graph every round took 1.9 s of 14).
    fn update(&mut self, st: &State) {
        let k = st.norm.k;
        let todo: Vec<usize> = if self.adj.len() != k {
            self.adj = vec![Vec::new(); k];
            (0..k).collect()
        } else {
            let mut stale = vec![false; k];
            for g in (0..k).filter(|&g| st.version(g) != self.at[g]) {
                stale[g] = true;
                for &h in &self.adj[g] {
                    stale[h] = true;
                }
            }
            (0..k).filter(|&g| stale[g]).collect()
        };
        let rows: Vec<Vec<usize>> = todo.par_iter().map(|&g| st.adjacent_groups(g)).collect();
        for (g, row) in todo.into_iter().zip(rows) {
            self.adj[g] = row;
        }
        self.at = (0..k).map(|g| st.version(g)).collect();
    }
}

/// Below its bands more than above them: the territory needs units.
pub(super) fn needs_units(st: &State, g: usize) -> bool {
    let b = &st.norm.bands;
    let (mut under, mut over) = (0.0, 0.0);
    for j in 0..st.norm.m {
        let x = st.loads[(g, j)];
        under += (b.lo[(g, j)] - x).max(0.0);
        over += (x - b.hi[(g, j)]).max(0.0);
    }
    under >= over
}

fn violation_of(st: &State, groups: &[usize]) -> f64 {
    groups.iter().map(|&g| st.group_violation(g)).sum::<f64>() + st.budget_violation()
}

/// The unit of `from` on its border with `to` whose move hurts the bands least.
fn pick(st: &mut State, from: usize, to: usize, contiguity: bool) -> Option<usize> {
    if st.members[from].len() <= 1 {
        return None;
    }
    let shared: &State = st;
    let mut ranked: Vec<(f64, f64, usize)> = shared.members[from]
        .iter()
        .map(|&u| u as usize)
        .filter(|&u| shared.touches(u, to))
        .map(|u| {
            let dv = shared.move_delta_violation(u, to);
            let dc = shared.cost(u, to) - shared.cost(u, from);
            (dv, dc, u)
        })
        .collect();
    // Units are distinct, so the order is total: the members' order does not matter,
    // and without contiguity the least is the pick.
    let order = |a: &(f64, f64, usize), b: &(f64, f64, usize)| {
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.cmp(&b.2))
    };
    if !contiguity {
        return ranked.into_iter().min_by(order).map(|r| r.2);
    }
    ranked.sort_unstable_by(order);
    ranked
        .into_iter()
        .map(|(_, _, u)| u)
        .find(|&u| st.removal_keeps_connected(u))
}

/// One round of chains, one per violated territory at most. Returns chains applied.
///
/// Each violated territory's chain is looked for ahead, in parallel, on a copy of the plan
/// as the round found it. A search reads only the territories it reached (the violated
/// one and a prefix of its breadth-first order); while none of them has changed, the
/// chain found ahead is the one a search now would find, so it is made as found. Where
/// one has, the search runs again on the plan as it stands: the round is the same, move
/// for move, as one territory at a time. A chain found in an earlier round is kept in
/// `memo` and not looked for again while neither the territories it read nor their
/// neighbours (whose units make the territory graph it walked) have changed: at 1M a
/// repair ran 288 rounds, most of them searching again what had not changed.
pub fn chain_pass<'a>(
    st: &mut State<'a>,
    contiguity: bool,
    reach: (usize, usize),
    scope: Scope,
    memo: &mut Memo<'a>,
) -> usize {
    let violated = st.targets(scope);
    // Every violated territory gets its chance: repair only calls this once single moves
    // and swaps are stuck, and a large plan can be stuck in hundreds of places at once.
    if violated.is_empty() {
        return 0;
    }
    // Brought up to date once per round: a stale edge only means `pick` finds no border
    // unit.
    memo.graph.update(st);
    let adj = std::mem::take(&mut memo.graph.adj);
    // A disruption budget is read by every search, so with one the searches wait their
    // turn and nothing is kept.
    let independent = st.moved.is_empty();
    memo.round += 1;
    let round = memo.round;
    if memo.found.len() != st.norm.k || !independent {
        memo.found = (0..st.norm.k).map(|_| None).collect();
    }
    let start: Vec<u64> = (0..st.norm.k).map(|g| st.version(g)).collect();
    let shared: &State = st;
    let todo: Vec<usize> = violated
        .iter()
        .copied()
        .filter(|&d| {
            !memo.found[d]
                .as_ref()
                .is_some_and(|kept| kept.holds(shared, false))
        })
        .collect();
    if independent && todo.len() > 1 {
        let threads = rayon::current_num_threads();
        if memo.copies.len() != threads {
            memo.copies = (0..threads)
                .map(|_| {
                    Mutex::new(Copy {
                        round,
                        state: shared.clone(),
                    })
                })
                .collect();
        }
        let copies = &memo.copies;
        let ahead: Vec<(usize, Found)> = todo
            .par_iter()
            .map_init(
                || Scratch::of(copies, shared, round),
                |copy, &d| (d, search(copy.state(), d, &adj, contiguity, reach)),
            )
            .collect();
        for (d, found) in ahead {
            memo.found[d] = Some(Kept::new(shared, &adj, found, round));
        }
    }
    let mut applied = 0;
    for d in violated {
        if st.group_violation(d) <= EPS {
            continue;
        }
        let chain = match memo.found[d].as_ref() {
            Some(kept) if independent && kept.holds(st, kept.round == round) => {
                kept.found.chain.clone()
            }
            _ => {
                let found = search(st, d, &adj, contiguity, reach);
                let chain = found.chain.clone();
                // Kept only if what it read is as the round found it (the graph it
                // walked is the round's).
                memo.found[d] = independent
                    .then(|| Kept::new(st, &adj, found, round))
                    .filter(|kept| kept.all().all(|(g, v)| start[g] == v));
                chain
            }
        };
        if let Some(chain) = chain {
            for (u, to) in chain.moves {
                st.move_unit(u, to);
            }
            applied += 1;
        }
    }
    memo.graph.adj = adj;
    applied
}

/// Chains found in earlier rounds of one repair (see [`chain_pass`]), and each thread's
/// copy of the plan to search on.
#[derive(Default)]
pub struct Memo<'a> {
    round: u64,
    found: Vec<Option<Kept>>,
    graph: Graph,
    copies: Vec<Mutex<Copy<'a>>>,
}

/// A thread's copy of the plan and the round it was last brought up to date in. A search
/// leaves its copy as it found it, so within a round the copy stays the plan as the round
/// found it; it is brought up to date once per round and thread, reusing its buffers.
struct Copy<'a> {
    round: u64,
    state: State<'a>,
}

/// The copy a worker searches on: its thread's (held for the worker's run), or a fresh
/// clone where that one is taken.
enum Scratch<'m, 'a> {
    Pooled(MutexGuard<'m, Copy<'a>>),
    Own(Box<State<'a>>),
}

impl<'m, 'a> Scratch<'m, 'a> {
    fn of(copies: &'m [Mutex<Copy<'a>>], st: &State<'a>, round: u64) -> Scratch<'m, 'a> {
        let slot = rayon::current_thread_index().and_then(|i| copies.get(i));
        match slot.and_then(|m| m.try_lock().ok()) {
            Some(mut copy) => {
                if copy.round != round {
                    copy.state.clone_from(st);
                    copy.round = round;
                }
                Scratch::Pooled(copy)
            }
            None => Scratch::Own(Box::new(st.clone())),
        }
    }

    fn state(&mut self) -> &mut State<'a> {
        match self {
            Scratch::Pooled(copy) => &mut copy.state,
            Scratch::Own(state) => state,
        }
    }
}

/// A search's result with the versions of the territories it read and of their
/// neighbours, and the round that found it.
struct Kept {
    found: Found,
    read: Vec<(usize, u64)>,
    near: Vec<(usize, u64)>,
    round: u64,
}

impl Kept {
    fn new(st: &State, adj: &[Vec<usize>], found: Found, round: u64) -> Kept {
        let read: Vec<(usize, u64)> = found.read.iter().map(|&g| (g, st.version(g))).collect();
        let mut near: Vec<usize> = found
            .read
            .iter()
            .flat_map(|&g| adj[g].iter().copied())
            .collect();
        near.sort_unstable();
        near.dedup();
        let near = near.into_iter().map(|g| (g, st.version(g))).collect();
        Kept {
            found,
            read,
            near,
            round,
        }
    }

    fn all(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.read.iter().chain(&self.near).copied()
    }

    /// Whether a search now would find the same: within its own round (same graph) the
    /// territories it read are unchanged; in a later one, their neighbours too.
    fn holds(&self, st: &State, same_round: bool) -> bool {
        if same_round {
            self.read.iter().all(|&(g, v)| st.version(g) == v)
        } else {
            self.all().all(|(g, v)| st.version(g) == v)
        }
    }
}

/// A violated territory's chain, if it has one, and every territory the search read.
struct Found {
    chain: Option<Chain>,
    read: Vec<usize>,
}

/// A chain's moves (unit, territory) in order.
#[derive(Clone)]
struct Chain {
    moves: Vec<(usize, usize)>,
}

/// Looks for `d`'s chain on `st` and leaves `st` as it found it, bit for bit.
fn search(
    st: &mut State,
    d: usize,
    adj: &[Vec<usize>],
    contiguity: bool,
    reach: (usize, usize),
) -> Found {
    let (depth_limit, ends) = reach;
    let k = st.norm.k;
    let inflow = needs_units(st, d);
    // Breadth-first over territories: shorter chains first.
    let mut parent = vec![usize::MAX; k];
    parent[d] = d;
    let mut order = vec![d];
    let mut depth = vec![0usize; k];
    let mut i = 0;
    while i < order.len() {
        let g = order[i];
        i += 1;
        if depth[g] >= depth_limit {
            continue;
        }
        for &h in &adj[g] {
            if parent[h] == usize::MAX {
                parent[h] = g;
                depth[h] = depth[g] + 1;
                order.push(h);
            }
        }
    }
    // Ends that can give (or take) what d lacks (or has too much of), nearest first.
    let room = |st: &State, e: usize| {
        (0..st.norm.m).all(|j| {
            let (x, lo, hi) = (
                st.loads[(e, j)],
                st.norm.bands.lo[(e, j)],
                st.norm.bands.hi[(e, j)],
            );
            let (dx, dlo, dhi) = (
                st.loads[(d, j)],
                st.norm.bands.lo[(d, j)],
                st.norm.bands.hi[(d, j)],
            );
            if inflow && dx < dlo {
                x > lo
            } else if !inflow && dx > dhi {
                x < hi
            } else {
                true
            }
        })
    };
    let mut candidates = Vec::new();
    let mut examined = 1;
    for &e in &order[1..] {
        if candidates.len() == ends {
            break;
        }
        examined += 1;
        if room(st, e) {
            candidates.push(e);
        }
    }
    let read = order[..examined].to_vec();
    // Chains run along the breadth-first tree, so chains to different ends share
    // their first hops; an abandoned chain is undone exactly, so a hop's unit depends
    // only on the hops before it and each tree node's pick is made once.
    let mut picked: FxHashMap<usize, Option<usize>> = FxHashMap::default();
    for end in candidates {
        // The path from the chain's end back to d.
        let mut path = vec![end];
        while *path.last().unwrap_or(&d) != d {
            path.push(parent[*path.last().unwrap_or(&d)]);
        }
        // Units flow towards d when it is short, away from it when it is over; the
        // hop next to d goes first. A hop is named by its node farther from d.
        let hops: Vec<(usize, usize, usize)> = (0..path.len() - 1)
            .rev()
            .map(|i| {
                if inflow {
                    (path[i], path[i], path[i + 1])
                } else {
                    (path[i], path[i + 1], path[i])
                }
            })
            .collect();
        let before = violation_of(st, &path);
        let mark = st.mark(&path);
        let mut done = Vec::new();
        for &(node, from, to) in &hops {
            let unit = *picked
                .entry(node)
                .or_insert_with(|| pick(st, from, to, contiguity));
            match unit {
                Some(u) => done.push(st.move_marked(u, to)),
                None => break,
            }
        }
        let found = done.len() == hops.len() && violation_of(st, &path) < before - EPS;
        let moves: Vec<(usize, usize)> = hops
            .iter()
            .zip(&done)
            .map(|(&(_, _, to), &(u, _, _))| (u, to))
            .collect();
        st.undo(&done, mark);
        if found {
            return Found {
                chain: Some(Chain { moves }),
                read,
            };
        }
    }
    Found { chain: None, read }
}
