//! A large plan's search in two halves side by side. Repair and improvement are serial
//! (every move changes what the next one reads), so at 2,000 territories one core did all
//! of the search while the other waited. Here the territories are cut in two at the
//! median of their centres along the wider side, each half's search runs on its own
//! territories and their units (a [`Holdout`] of the other half) in parallel, and the
//! joined plan is searched once more as a whole: that mends what the cut left — a
//! territory on the seam whose band needed units across it — and improves across the
//! seam. The halves meet in the same plan whatever the thread count (`rayon::join`
//! returns both results as they are), so output stays byte-identical.

use super::holdout::Holdout;
use super::state::{BAND_EPS as EPS, State, band_violation};
use super::{Norm, local_search};

/// Plans of at least this many territories are searched in halves (100k, 200 territories:
/// 5.96-5.98 s -> 5.67-5.78 s, gap 6.05% -> 6.02%).
pub const MIN_GROUPS: usize = 150;

/// Whether `norm` is searched in halves: large enough, and no disruption budget (a
/// budget is shared by the whole plan, and the halves could not split it fairly).
pub fn applies(norm: &Norm) -> bool {
    norm.k >= MIN_GROUPS && norm.budget_limit.is_empty()
}

/// The search of `st` in two halves, then whole (with `resplits` where the halves' search
/// leaves a band missed); returns the groups a re-split was tried for (see
/// [`local_search::run`]).
pub fn run(st: &mut State, contiguity: bool, resplits: bool) -> Vec<bool> {
    let norm = st.norm;
    let mut first = first_half(norm, &st.centres);
    // Pockets are looked for before the seam is balanced and again after: a unit moved
    // across the seam can wall in the units behind it.
    let walled = flip_pockets(st, &mut first);
    balance_seam(st, &first, SEAM_ROOM);
    let mut walled_after = 0;
    for _ in 0..POCKET_ROUNDS {
        let w = flip_pockets(st, &mut first);
        if w == 0 {
            break;
        }
        walled_after += w;
        balance_seam(st, &first, SEAM_ROOM);
    }
    super::debug(&format!(
        "  seam: {walled} and {walled_after} territories walled into pockets changed halves"
    ));
    let second: Vec<bool> = first.iter().map(|&f| !f).collect();
    // Each half's Holdout holds the other half.
    let (a, b) = rayon::join(
        || search_half(st, &second, contiguity),
        || search_half(st, &first, contiguity),
    );
    let mut assign = st.assign.clone();
    let mut centres = st.centres.clone();
    for half in [a, b].into_iter().flatten() {
        assign = half.holdout.assign_out(&assign, &half.assign);
        centres = half.holdout.centres_out(&centres, &half.centres);
    }
    *st = State::new(norm, assign, centres);
    super::debug(&format!(
        "  halves joined: violation {:.3e} objective {:.6e}",
        st.total_violation(),
        st.objective()
    ));
    local_search::search(st, contiguity, resplits)
}

/// One half's search result in its own numbering, with the map back.
struct Half {
    holdout: Holdout,
    assign: Vec<u32>,
    centres: Vec<[f64; 2]>,
}

/// The search of the groups not in `held` (None where there is no such half).
fn search_half(st: &State, held: &[bool], contiguity: bool) -> Option<Half> {
    let norm = st.norm;
    let holdout = Holdout::new(norm, &st.assign, held)?;
    let problem = holdout.problem(norm.p);
    let sub = Norm::new(&problem);
    let mut half = State::new(
        &sub,
        holdout.assign_in(&st.assign),
        holdout.centres_in(&st.centres),
    );
    // No re-splits in a half: a territory on the seam may miss its band for want of units
    // across it, and the whole plan's search mends that with moves, chains and relays
    // far more often than an LP inside the half could.
    local_search::search(&mut half, contiguity, false);
    let (assign, centres) = (half.assign, half.centres);
    Some(Half {
        holdout,
        assign,
        centres,
    })
}

/// Share of a half's summed band width that the search keeps free at either end.
///
/// A half whose loads sit near the floor (or the ceiling) of its summed bands must bring
/// nearly every territory down to its floor (or up to its ceiling), which is slow. Cut at
/// the median of the centres, the sketches of 100k `--seed 22` and `--seed 28` had halves
/// at 7-14% and 86-93% of that width, and their searches took 0.3-0.6 s each.
///
/// First kept for the sketch only: fifteen 100k inputs took 5.04 → 4.32 s on average
/// (worst 6.82 → 5.02 s) for plans 0.45% longer on average.
///
/// Then for every search: the first cycle of 1M `--seed 6` cut its halves at 14% and
/// 86%, their repairs took 6.2 and 13.6 s, and the joined plan needed 59 s of re-splits;
/// with the room 3.9 and 10.0 s, then 38 s. Over 1M `--seed` 3-7 the runs took 622 →
/// 464 s in all (`--seed` 3 unchanged, 4: 117 → 106 s, 5: 48 → 42 s, 6: 244 → 170 s,
/// 7: 180 → 109 s); gaps moved as any change moves them (21.5 → 16.5% on 4, 14.2 →
/// 17.4% on 7, the mean 15.6 → 15.3%) and 1,704 → 1,792 territories were contiguous on
/// average. Fifteen 100k inputs: nine unchanged, mean objective +0.05%, mean time
/// 3.50 → 3.64 s (worst 4.43 s).
///
/// Not kept:
/// - 40% free: in the sketch, 4.28 s at 100k but the 1M sketch moved 293 units and the
///   run took 57 s instead of 45 s. In every search, 1M `--seed` 3-7 took 483 s in all
///   (mean gap 14.2%) but 100k 3.84 s on average, worst 4.90 s.
/// - A cut chosen within 10% of the median for the most central halves: no faster, and
///   plans +0.8%.
const SEAM_ROOM: f64 = 0.25;

/// Rounds of moving walled-in territories and balancing the seam again after the first
/// balance (each balance can wall in units behind those it moves).
const POCKET_ROUNDS: usize = 3;

/// Moves units across the seam until each half's loads lie between the sums of its
/// territories' bands, metric by metric, with `room` (a share of that width) left free at
/// either end, as far as single moves get there. A half whose loads do not fit its bands
/// in sum cannot meet them all whatever its search does: at 100k such a half searched
/// for 2.5-3.9 s and left the joined plan 2.9 out of band. Each move is the seam unit
/// whose move lowers the halves' shortfall most (then the distance, then the unit), into
/// the other half's territory beside it; the searches then mend the territories it
/// touched. Returns the units moved.
fn balance_seam(st: &mut State, first: &[bool], room: f64) -> usize {
    let norm = st.norm;
    let (k, m) = (norm.k, norm.m);
    let half = |g: usize| usize::from(!first[g]);
    let mut lo = [vec![0.0; m], vec![0.0; m]];
    let mut hi = [vec![0.0; m], vec![0.0; m]];
    let mut load = [vec![0.0; m], vec![0.0; m]];
    for g in 0..k {
        for j in 0..m {
            lo[half(g)][j] += norm.bands.lo[(g, j)];
            hi[half(g)][j] += norm.bands.hi[(g, j)];
            load[half(g)][j] += st.loads[(g, j)];
        }
    }
    super::debug(&format!(
        "  seam: halves at {:?}% of their summed bands",
        (0..2)
            .map(|h| (0..m)
                .map(|j| ((load[h][j] - lo[h][j]) / (hi[h][j] - lo[h][j]) * 100.0).round())
                .collect::<Vec<_>>())
            .collect::<Vec<_>>()
    ));
    for h in 0..2 {
        for j in 0..m {
            let free = room * (hi[h][j] - lo[h][j]);
            lo[h][j] += free;
            hi[h][j] -= free;
        }
    }
    // The halves' shortfall, with unit `u`'s loads moved out of half `a` where given.
    let shortfall = |load: &[Vec<f64>; 2], moving: Option<(usize, usize)>| -> f64 {
        (0..2)
            .flat_map(|h| (0..m).map(move |j| (h, j)))
            .map(|(h, j)| {
                let x = match moving {
                    None => load[h][j],
                    Some((u, a)) if h == a => load[h][j] - norm.vn[(u, j)],
                    Some((u, _)) => load[h][j] + norm.vn[(u, j)],
                };
                band_violation(x, lo[h][j], hi[h][j])
            })
            .sum()
    };
    let n = st.assign.len();
    let adjacency = norm.p.adjacency;
    // Only a unit beside the other half can cross. Kept up to date as units cross (only
    // a crossing unit and its neighbours can change): looking at every unit for every
    // move took 1.1 s of 1M `--seed 7`'s run, on one thread.
    let beside = |st: &State, u: usize| {
        let a = half(st.assign[u] as usize);
        adjacency
            .of(u)
            .iter()
            .any(|&v| half(st.assign[v as usize] as usize) != a)
    };
    let mut on_seam: Vec<bool> = (0..n).map(|u| beside(st, u)).collect();
    let mut moved = 0;
    while moved < n {
        let now = shortfall(&load, None);
        if now <= EPS {
            break;
        }
        let mut best: Option<(f64, f64, usize, usize)> = None;
        for u in (0..n).filter(|&u| on_seam[u]) {
            let g = st.assign[u] as usize;
            let a = half(g);
            let across = adjacency
                .of(u)
                .iter()
                .map(|&v| st.assign[v as usize] as usize);
            if st.members[g].len() <= 1 {
                continue;
            }
            let dv = shortfall(&load, Some((u, a))) - now;
            if dv >= -EPS {
                continue;
            }
            for h in across.filter(|&h| half(h) != a) {
                let dc = st.cost(u, h) - st.cost(u, g);
                if best.is_none_or(|x| (dv, dc, u, h) < x) {
                    best = Some((dv, dc, u, h));
                }
            }
        }
        let Some((_, _, u, h)) = best else {
            break;
        };
        let (a, b) = (1 - half(h), half(h));
        for j in 0..m {
            let x = norm.vn[(u, j)];
            load[a][j] -= x;
            load[b][j] += x;
        }
        st.move_unit(u, h);
        on_seam[u] = beside(st, u);
        for &v in adjacency.of(u) {
            on_seam[v as usize] = beside(st, v as usize);
        }
        moved += 1;
    }
    if moved > 0 {
        super::debug(&format!(
            "  seam: {moved} units moved, halves' shortfall {:.3e}",
            shortfall(&load, None)
        ));
    }
    moved
}

/// Moves to the other half each territory walled into a pocket of its own half: none of
/// its units lies in the largest piece of its half's units (on the unit graph), and its
/// pocket borders a larger piece of the other half. In its half's search such a
/// territory reaches only the few units of its pocket, and repair spends seconds on
/// bands it cannot meet (1M `--seed 7`, the first cycle: eight territories in Chicago
/// sharing 40 units, cut off by units the seam had moved: after 17 s of repair their
/// shortfall was still 31 of the half's band violation of 35). Where the seam runs
/// through a city the halves interleave, and a pocket may border only the other half's
/// pockets: it joins the larger one, and the next round looks again. Returns how many
/// changed halves.
fn flip_pockets(st: &State, first: &mut [bool]) -> usize {
    let n = st.assign.len();
    let adjacency = st.norm.p.adjacency;
    let side = |u: usize| first[st.assign[u] as usize];
    // Pieces of each half: a breadth-first search over units on the same side.
    let mut piece = vec![u32::MAX; n];
    let mut sizes: Vec<usize> = Vec::new();
    let mut queue = Vec::new();
    for s in 0..n {
        if piece[s] != u32::MAX {
            continue;
        }
        let id = sizes.len() as u32;
        piece[s] = id;
        queue.push(s);
        let mut size = 0;
        while let Some(u) = queue.pop() {
            size += 1;
            for &v in adjacency.of(u) {
                let v = v as usize;
                if piece[v] == u32::MAX && side(v) == side(s) {
                    piece[v] = id;
                    queue.push(v);
                }
            }
        }
        sizes.push(size);
    }
    // The largest piece of each half (ties: the first found).
    let mut largest = [None::<u32>; 2];
    for u in 0..n {
        let h = usize::from(side(u));
        let id = piece[u];
        if largest[h].is_none_or(|l| sizes[id as usize] > sizes[l as usize]) {
            largest[h] = Some(id);
        }
    }
    // Pieces beside a larger piece of the other half (an island borders none; of two
    // pockets of the same size side by side, neither moves).
    let mut beside = vec![false; sizes.len()];
    for u in 0..n {
        let own = sizes[piece[u] as usize];
        if adjacency
            .of(u)
            .iter()
            .any(|&v| side(v as usize) != side(u) && sizes[piece[v as usize] as usize] > own)
        {
            beside[piece[u] as usize] = true;
        }
    }
    let mut flip = Vec::new();
    for (g, members) in st.members.iter().enumerate() {
        let h = usize::from(first[g]);
        let walled = !members.is_empty()
            && members
                .iter()
                .all(|&u| Some(piece[u as usize]) != largest[h])
            && members.iter().any(|&u| beside[piece[u as usize] as usize]);
        if walled {
            flip.push(g);
        }
    }
    for &g in &flip {
        first[g] = !first[g];
    }
    flip.len()
}

/// The groups whose centres lie below the median along the centres' wider side (ties by
/// group index): half of them, rounded down — the first of two blocks of
/// [`decompose::bisect`](super::decompose::bisect).
fn first_half(norm: &Norm, centres: &[[f64; 2]]) -> Vec<bool> {
    let mut block = vec![0; norm.k];
    super::decompose::bisect(
        centres,
        &mut (0..norm.k).collect::<Vec<_>>(),
        2,
        0,
        &mut block,
    );
    block.iter().map(|&b| b == 0).collect()
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::super::Norm;
    use super::super::state::{State, tests::Line};

    /// Units on the line of the tests below.
    const N: usize = 48;

    /// `N` units of one account each on a line, for eight territories of 6.
    fn eight_on_a_line() -> Line {
        let edges: Vec<(u32, u32)> = (0..N as u32 - 1).map(|u| (u, u + 1)).collect();
        Line::new(
            Array2::from_elem((N, 1), 1.0),
            &edges,
            Array2::from_elem((8, 1), 6.0),
        )
    }

    /// Eight territories on a line, the first half (four territories) with 22 units for
    /// four bands of exactly 6: the seam gives it the two it lacks, the halves are
    /// searched apart, and the whole plan ends with every band met and every territory
    /// in one piece.
    #[test]
    fn halves_are_searched_apart_and_the_seam_is_mended_whole() {
        let (n, line) = (N, eight_on_a_line());
        let p = line.problem();
        let norm = Norm::new(&p);
        // Territory g holds units 6g..6g+6, except that the fourth gives two units to
        // the fifth: the first half (territories 0–3) is two units short in all.
        let assign: Vec<u32> = (0..n)
            .map(|u| match u / 6 {
                3 if u % 6 >= 4 => 4,
                g => g as u32,
            })
            .collect();
        let centres: Vec<[f64; 2]> = (0..8).map(|g| [6.0 * g as f64 + 2.5, 0.0]).collect();
        let first = super::first_half(&norm, &centres);
        assert_eq!(first, [true, true, true, true, false, false, false, false]);
        let mut st = State::new(&norm, assign, centres);
        assert!(!st.meets_bands());
        super::run(&mut st, true, true);
        assert!(st.meets_bands(), "{:?}", st.assign);
        assert_eq!(st.contiguous_groups(), 8);
        let expected: Vec<u32> = (0..n as u32).map(|u| u / 6).collect();
        assert_eq!(st.assign, expected);
    }

    /// The first half holds two units more than its four bands of exactly 6 add up to:
    /// the seam gives the two nearest the second half to the territory across it, and
    /// nothing else moves.
    #[test]
    fn seam_gives_a_half_what_its_bands_add_up_to() {
        let (n, line) = (N, eight_on_a_line());
        let p = line.problem();
        let norm = Norm::new(&p);
        // Territory 3 holds units 18..26, two of territory 4's.
        let assign: Vec<u32> = (0..n)
            .map(|u| match u {
                24 | 25 => 3,
                u => (u / 6) as u32,
            })
            .collect();
        let centres: Vec<[f64; 2]> = (0..8).map(|g| [6.0 * g as f64 + 2.5, 0.0]).collect();
        let mut st = State::new(&norm, assign, centres);
        let first = super::first_half(&norm, &st.centres);
        assert_eq!(super::balance_seam(&mut st, &first, 0.0), 2);
        let expected: Vec<u32> = (0..n as u32).map(|u| u / 6).collect();
        assert_eq!(st.assign, expected);
        // Already in balance: nothing moves.
        assert_eq!(super::balance_seam(&mut st, &first, 0.0), 0);
    }

    /// Territory 1 lies among the first half's territories but is given to the second:
    /// its units are a pocket of the second half beside the first, so it changes back.
    /// Territory 0, cut off from the rest of the first half by that pocket, borders only
    /// the pocket, no larger than its own piece, and stays.
    /// Territory 7 sits on an island (no edge to unit 41): a piece of its own that
    /// borders neither half, and it stays.
    #[test]
    fn a_territory_walled_into_a_pocket_of_its_half_changes_halves() {
        let edges: Vec<(u32, u32)> = (0..N as u32 - 1)
            .filter(|&u| u != 41)
            .map(|u| (u, u + 1))
            .collect();
        let line = Line::new(
            Array2::from_elem((N, 1), 1.0),
            &edges,
            Array2::from_elem((8, 1), 6.0),
        );
        let p = line.problem();
        let norm = Norm::new(&p);
        let assign: Vec<u32> = (0..N as u32).map(|u| u / 6).collect();
        let centres: Vec<[f64; 2]> = (0..8).map(|g| [6.0 * g as f64 + 2.5, 0.0]).collect();
        let st = State::new(&norm, assign, centres);
        let mut first = [true, false, true, true, false, false, false, false];
        assert_eq!(super::flip_pockets(&st, &mut first), 1);
        assert_eq!(first, [true, true, true, true, false, false, false, false]);
        // Nothing walled in any more.
        assert_eq!(super::flip_pockets(&st, &mut first), 0);
        // Interleaved halves: territory 3 (6 units) lies between two larger pieces of the
        // first half and joins it; territories 4-5 (12 units, not the first half's largest
        // piece) border nothing larger than themselves on the other side, and stay.
        let line = eight_on_a_line();
        let p = line.problem();
        let norm = Norm::new(&p);
        let st = State::new(&norm, st.assign.clone(), st.centres.clone());
        let mut first = [true, true, true, false, true, true, false, false];
        assert_eq!(super::flip_pockets(&st, &mut first), 1);
        assert_eq!(first, [true, true, true, true, true, true, false, false]);
    }

    /// Bands of 5 to 7 units; the first half holds 20, the floor of its summed bands
    /// (20 to 28). That fits, so nothing moves; the search keeps a quarter of the width
    /// free at either end (22 to 26), so the two units beside the seam cross into it.
    #[test]
    fn the_search_leaves_each_half_room_at_both_ends() {
        let (n, line) = (N, eight_on_a_line());
        let mut p = line.problem();
        p.lo = Array2::from_elem((8, 1), 5.0);
        p.hi = Array2::from_elem((8, 1), 7.0);
        let norm = Norm::new(&p);
        // Five units each in territories 0-3, seven in 4-7.
        let group = |u: usize| if u < 20 { u / 5 } else { 4 + (u - 20) / 7 };
        let assign: Vec<u32> = (0..n).map(|u| group(u) as u32).collect();
        let centres: Vec<[f64; 2]> = (0..8)
            .map(|g| {
                let members: Vec<usize> = (0..n).filter(|&u| group(u) == g).collect();
                [
                    members.iter().sum::<usize>() as f64 / members.len() as f64,
                    0.0,
                ]
            })
            .collect();
        let mut st = State::new(&norm, assign.clone(), centres);
        let first = super::first_half(&norm, &st.centres);
        assert_eq!(first, [true, true, true, true, false, false, false, false]);
        assert_eq!(super::balance_seam(&mut st, &first, 0.0), 0);
        assert_eq!(super::balance_seam(&mut st, &first, super::SEAM_ROOM), 2);
        let mut expected = assign;
        expected[20] = 3;
        expected[21] = 3;
        assert_eq!(st.assign, expected);
    }
}
