//! Relays: an exchange that mends a violated territory but pushes its neighbour out of a
//! band, followed by a move or an exchange that mends the neighbour. Where every
//! territory sits at a band's edge (the distance pushes loads there) and units are coarse
//! next to the bands, neither a move, an exchange nor a chain of moves may help. At 1M
//! accounts / 2,000 territories the search ended plan after plan with one to five
//! territories a fraction of an account out; whether some cycle's plan met every band was
//! luck, and in one run none did. Relays are the last resort of the last round of repair.

use super::local_search::{PairBands, border, exchange, swap_delta_violation};
use super::state::{BAND_EPS as EPS, Scope, State, band_violation};

/// First exchanges tried per violated territory, those mending it most first.
const FIRSTS: usize = 24;
/// Second steps tried per first exchange (refused ones split a territory).
const SECONDS: usize = 8;

/// One round of relays, at most one per violated territory. Returns relays applied.
pub fn relay_pass(st: &mut State, contiguity: bool, scope: Scope) -> usize {
    let violated = st.targets(scope);
    let mut applied = 0;
    for d in violated {
        if st.group_violation(d) > EPS && relay(st, d, contiguity) {
            applied += 1;
        }
    }
    applied
}

/// Change in group `g`'s violation if it lost `out` and gained `inn`.
fn group_delta(st: &State, g: usize, out: usize, inn: usize) -> f64 {
    let b = &st.norm.bands;
    (0..st.norm.m)
        .map(|j| {
            let delta = st.norm.vn[(inn, j)] - st.norm.vn[(out, j)];
            let x = st.loads[(g, j)];
            let (lo, hi) = (b.lo[(g, j)], b.hi[(g, j)]);
            band_violation(x + delta, lo, hi) - band_violation(x, lo, hi)
        })
        .sum()
}

/// Tries the exchanges across `d`'s border that mend `d` most, each followed by the best
/// step that mends the neighbour it broke; keeps the first pair that lowers the total
/// violation. Returns whether one was kept.
fn relay(st: &mut State, d: usize, contiguity: bool) -> bool {
    let mut firsts: Vec<(f64, f64, usize, usize)> = Vec::new();
    for (&h, (us, vs)) in &border(st, d, |_| true) {
        for &u in us {
            for &v in vs {
                let mend = group_delta(st, d, u, v);
                if mend < -EPS {
                    let dc = st.cost(u, h) + st.cost(v, d) - st.cost(u, d) - st.cost(v, h);
                    firsts.push((mend, dc, u, v));
                }
            }
        }
    }
    firsts.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    firsts.truncate(FIRSTS);
    for (_, _, u, v) in firsts {
        let h = st.assign[v] as usize;
        let first = swap_delta_violation(st, u, v);
        let Some((done, mark)) = exchange(st, u, v, contiguity) else {
            continue;
        };
        if mend_neighbour(st, h, first, contiguity) {
            return true;
        }
        st.undo(&done, mark);
    }
    false
}

/// A step out of `h`: a move of one of its units to a neighbouring territory, or an
/// exchange with one. The best steps (by violation, then distance) that bring the
/// relay's total change, `first` plus the step's, below zero are tried in turn; the
/// first that keeps the territories whole is made. Returns whether one was.
fn mend_neighbour(st: &mut State, h: usize, first: f64, contiguity: bool) -> bool {
    // (violation change, distance change, unit of h, group to move to or unit to
    // exchange with, exchange?)
    let mut steps: Vec<(f64, f64, usize, usize, bool)> = Vec::new();
    for (&t, (xs, ys)) in &border(st, h, |_| true) {
        let pair = PairBands::new(st, h, t);
        for &x in xs {
            let dv = st.move_delta_violation(x, t);
            if first + dv < -EPS && st.members[h].len() > 1 {
                steps.push((dv, st.cost(x, t) - st.cost(x, h), x, t, false));
            }
            for &y in ys {
                let dv = pair.swap_delta(st, x, y);
                if first + dv < -EPS {
                    let dc = st.cost(x, t) + st.cost(y, h) - st.cost(x, h) - st.cost(y, t);
                    steps.push((dv, dc, x, y, true));
                }
            }
        }
    }
    steps.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
            .then(a.4.cmp(&b.4))
    });
    for &(_, _, x, y, swap) in steps.iter().take(SECONDS) {
        if !swap {
            if !contiguity || st.removal_keeps_connected(x) {
                st.move_unit(x, y);
                return true;
            }
            continue;
        }
        if exchange(st, x, y, contiguity).is_some() {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use crate::solve::Norm;
    use crate::solve::state::tests::Line;
    use crate::solve::state::{Scope, State};

    /// Six units on a line in three territories that must each hold exactly 11: the first
    /// holds 5 + 5, the last 6 + 6. Every unit is too heavy to move alone, each exchange
    /// mends one territory and breaks another, and a chain of moves overshoots; an
    /// exchange with the middle territory followed by one of the middle with the last
    /// mends all three.
    #[test]
    fn relays_mend_what_no_move_exchange_or_chain_can() {
        let line = Line::new(
            Array2::from_shape_vec((6, 1), vec![5.0, 5.0, 6.0, 5.0, 6.0, 6.0]).unwrap(),
            &[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)],
            Array2::from_elem((3, 1), 11.0),
        );
        let p = line.problem();
        let norm = Norm::new(&p);
        let start = State::new(
            &norm,
            vec![0, 0, 1, 1, 2, 2],
            vec![[0.5, 0.0], [2.5, 0.0], [4.5, 0.0]],
        );
        let mut without = start.clone();
        super::super::local_search::repair(&mut without, false, false, Scope::All);
        assert!(!without.meets_bands(), "{:?}", without.assign);
        // Kept whole, the first territory would be units 0 and 2: no relay then.
        let mut whole = start.clone();
        assert_eq!(super::relay_pass(&mut whole, true, Scope::All), 0);
        assert_eq!(whole.assign, start.assign);
        let mut st = start.clone();
        assert_eq!(super::relay_pass(&mut st, false, Scope::All), 1);
        assert!(st.meets_bands(), "{:?}", st.assign);
        assert_eq!(st.assign, vec![0, 1, 0, 2, 1, 2]);
    }
}
