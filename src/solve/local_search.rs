//! Local search on the unit adjacency graph: reattach fragments (contiguity), restore
//! bands with boundary moves and swaps, then lower the weighted distance with moves that
//! keep every band. Candidate moves are evaluated in parallel and applied in a fixed order,
//! so the result does not depend on the thread count.

use rayon::prelude::*;

use super::state::{BAND_EPS as EPS, State, band_violation};

const MAX_PASSES: usize = 400;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Repair,
    Improve,
}

pub fn run(st: &mut State, contiguity: bool) {
    seat_empty_groups(st);
    if contiguity {
        // Fragments rejoin a neighbour, bands are restored along borders; where that
        // stalls, bands win (they are hard) and the cycle tries contiguity again.
        for _ in 0..4 {
            reattach_fragments(st);
            repair(st, true);
            if st.meets_bands() {
                break;
            }
            repair(st, false);
        }
    } else {
        repair(st, false);
    }
    for _ in 0..6 {
        let moved = passes(st, Mode::Improve, contiguity);
        st.recentre();
        if moved == 0 {
            break;
        }
    }
}

fn violated_groups(st: &State) -> Vec<bool> {
    (0..st.norm.k)
        .map(|g| st.group_violation(g) > EPS)
        .collect()
}

fn repair(st: &mut State, contiguity: bool) {
    for _ in 0..MAX_PASSES {
        if st.meets_bands() {
            return;
        }
        let mut active = violated_groups(st);
        if pass(st, Mode::Repair, contiguity, &mut active) == 0
            && swap_pass(st, contiguity) == 0
            && super::chain::chain_pass(st, contiguity, super::chain::NEAR) == 0
            && super::chain::chain_pass(st, contiguity, super::chain::FAR) == 0
        {
            return;
        }
    }
}

fn passes(st: &mut State, mode: Mode, contiguity: bool) -> usize {
    let mut total = 0;
    let mut active = vec![true; st.norm.k];
    for _ in 0..MAX_PASSES {
        let moved = pass(st, mode, contiguity, &mut active);
        total += moved;
        if moved == 0 {
            break;
        }
    }
    total
}

/// Distinct groups adjacent to `u`, other than its own, in ascending order.
fn neighbour_groups(st: &State, u: usize) -> Vec<usize> {
    let g = st.assign[u];
    let mut hs: Vec<usize> = st
        .norm
        .p
        .adjacency
        .of(u)
        .iter()
        .map(|&v| st.assign[v as usize])
        .filter(|&h| h != g)
        .map(|h| h as usize)
        .collect();
    hs.sort_unstable();
    hs.dedup();
    hs
}

fn evaluate(st: &State, u: usize, h: usize) -> (f64, f64) {
    let g = st.assign[u] as usize;
    let dv = st.move_delta_violation(u, h);
    let dc = st.cost(u, h) - st.cost(u, g);
    (dv, dc)
}

fn accept(mode: Mode, dv: f64, dc: f64) -> bool {
    match mode {
        Mode::Repair => dv < -EPS,
        Mode::Improve => dv <= EPS && dc < -1e-9 * (1.0 + dc.abs()),
    }
}

/// One round of moves. Only units in or next to an `active` group are evaluated: a repair
/// move must touch a violated group, and an improving move can only have appeared where a
/// group changed. Returns the number of moves and marks the groups they touched.
fn pass(st: &mut State, mode: Mode, contiguity: bool, active: &mut Vec<bool>) -> usize {
    let n = st.assign.len();
    let shared: &State = st;
    let act: &[bool] = active;
    let mut proposals: Vec<(f64, f64, u32, u32)> = (0..n)
        .into_par_iter()
        .filter_map(|u| {
            let g = shared.assign[u] as usize;
            if shared.members[g].len() <= 1 {
                return None;
            }
            if !act[g]
                && !shared
                    .norm
                    .p
                    .adjacency
                    .of(u)
                    .iter()
                    .any(|&v| act[shared.assign[v as usize] as usize])
            {
                return None;
            }
            let mut best: Option<(f64, f64, u32)> = None;
            for h in neighbour_groups(shared, u) {
                let (dv, dc) = evaluate(shared, u, h);
                if !accept(mode, dv, dc) {
                    continue;
                }
                let key = match mode {
                    Mode::Repair => (dv, dc),
                    Mode::Improve => (dc, dv),
                };
                if best.is_none_or(|b| key < (b.0, b.1)) {
                    best = Some((key.0, key.1, h as u32));
                }
            }
            best.map(|(a, b, h)| (a, b, u as u32, h))
        })
        .collect();
    proposals.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.cmp(&b.2))
    });

    let mut applied = 0;
    let mut touched = vec![false; st.norm.k];
    for (_, _, u, h) in proposals {
        let (u, h) = (u as usize, h as usize);
        let g = st.assign[u] as usize;
        if g == h || st.members[g].len() <= 1 {
            continue;
        }
        if !neighbour_groups(st, u).contains(&h) {
            continue;
        }
        let (dv, dc) = evaluate(st, u, h);
        if !accept(mode, dv, dc) {
            continue;
        }
        if contiguity && !st.removal_keeps_connected(u) {
            continue;
        }
        touched[g] = true;
        touched[h] = true;
        st.move_unit(u, h);
        applied += 1;
    }
    *active = touched;
    applied
}

/// Exchanges between each violated group and a neighbouring group: fixes the cases where
/// one metric is over and another under, which no single move can. Both units must sit on
/// the shared border (when contiguity is kept) and the exchange must lower the violation.
fn swap_pass(st: &mut State, contiguity: bool) -> usize {
    let k = st.norm.k;
    let m = st.norm.m;
    let mut applied = 0;
    for g in 0..k {
        if st.group_violation(g) <= EPS {
            continue;
        }
        // Border units of g, grouped by the neighbouring group they touch.
        let mut members = st.members[g].clone();
        members.sort_unstable();
        let mut border: std::collections::BTreeMap<usize, (Vec<usize>, Vec<usize>)> =
            Default::default();
        for &u in &members {
            let u = u as usize;
            for &v in st.norm.p.adjacency.of(u) {
                let h = st.assign[v as usize] as usize;
                if h != g {
                    let e = border.entry(h).or_default();
                    e.0.push(u);
                    e.1.push(v as usize);
                }
            }
        }
        let mut best: Option<(f64, f64, usize, usize)> = None;
        for (&h, (us, vs)) in border.iter_mut() {
            us.sort_unstable();
            us.dedup();
            vs.sort_unstable();
            vs.dedup();
            let b = &st.norm.bands;
            for &u in us.iter() {
                for &v in vs.iter() {
                    let mut dv = 0.0;
                    for j in 0..m {
                        let delta = st.norm.vn[(v, j)] - st.norm.vn[(u, j)];
                        if delta == 0.0 {
                            continue;
                        }
                        let (lg, lh) = (st.loads[(g, j)], st.loads[(h, j)]);
                        dv += band_violation(lg + delta, b.lo[(g, j)], b.hi[(g, j)])
                            - band_violation(lg, b.lo[(g, j)], b.hi[(g, j)]);
                        dv += band_violation(lh - delta, b.lo[(h, j)], b.hi[(h, j)])
                            - band_violation(lh, b.lo[(h, j)], b.hi[(h, j)]);
                    }
                    dv += st.budget_delta(&[(u, h), (v, g)]);
                    if dv >= -EPS {
                        continue;
                    }
                    let dc = st.cost(u, h) + st.cost(v, g) - st.cost(u, g) - st.cost(v, h);
                    if best.is_none_or(|b| (dv, dc) < (b.0, b.1)) {
                        best = Some((dv, dc, u, v));
                    }
                }
            }
        }
        if let Some((_, _, u, v)) = best {
            let h = st.assign[v] as usize;
            let before = if contiguity {
                st.components(g).len() + st.components(h).len()
            } else {
                0
            };
            st.move_unit(u, h);
            st.move_unit(v, g);
            if contiguity && st.components(g).len() + st.components(h).len() > before {
                st.move_unit(u, g);
                st.move_unit(v, h);
                continue;
            }
            applied += 1;
        }
    }
    applied
}

/// Every component of a group but its heaviest joins the neighbouring group it borders most.
fn reattach_fragments(st: &mut State) {
    for g in 0..st.norm.k {
        let comps = st.components(g);
        for comp in comps.iter().skip(1) {
            let mut border = std::collections::BTreeMap::<usize, usize>::new();
            for &u in comp {
                for &v in st.norm.p.adjacency.of(u as usize) {
                    let h = st.assign[v as usize] as usize;
                    if h != g {
                        *border.entry(h).or_default() += 1;
                    }
                }
            }
            if let Some((&h, _)) = border.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) {
                for &u in comp {
                    st.move_unit(u as usize, h);
                }
            }
        }
    }
}

/// A group with no unit borders nothing, so no move can ever reach it: it takes the unit
/// nearest its centre among those whose group keeps another.
fn seat_empty_groups(st: &mut State) {
    for g in 0..st.norm.k {
        if !st.members[g].is_empty() {
            continue;
        }
        let site = st.sites[g];
        let coords = st.norm.p.coordinates;
        let pick = (0..st.assign.len())
            .filter(|&u| st.members[st.assign[u] as usize].len() > 1)
            .map(|u| (coords.site_distance(&st.norm.sites[u], &site), u))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        if let Some((_, u)) = pick {
            st.move_unit(u, g);
        }
    }
}
