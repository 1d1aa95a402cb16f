//! The final plan's polish: the plan is tiled into areas of territories and each area is
//! split again by the LP for a shorter plan ([`resplit::improve_pass`]), then moves and
//! exchanges run over the whole plan. In every cycle's search instead, the re-splits cost
//! 3.5 s per search at 100k for 0.8%; in the largest plans they are left out (at 1M,
//! 2,000 territories, they took 20 s for 0.13%).

use std::time::Instant;

use super::resplit::{self, AREA_GROUPS};
use super::state::State;
use super::{debug, local_search};

/// Plans of at most this many territories are polished by re-splits.
const POLISH_MAX_GROUPS: usize = 1_000;

/// Plans of at most this many territories are polished on two tilings, then on tilings
/// of smaller areas.
const SECOND_TILING_MAX_GROUPS: usize = 100;

/// Territories per area of the smaller tilings that polish small plans, in turn.
const SMALL_AREAS: [usize; 3] = [16, 8, 4];

/// Polishes `st`, a plan that meets every band (a plan that does not is left as it is by
/// the re-splits). `held_any`: the cycles held hard territories, whose borders their
/// searches could not move.
pub fn polish(st: &mut State, contiguity: bool, held_any: bool) {
    let k = st.norm.k;
    // Units reach areas two steps away in small plans, one step in larger ones: half the
    // LP (100k: 6.8-7.0 s -> 6.0-6.2 s, gap 5.93% -> 6.05%; on the sample two steps
    // matter, gap 1.07% against 1.68%).
    let steps = if k <= SECOND_TILING_MAX_GROUPS { 2 } else { 1 };
    let started = Instant::now();
    let mut polished = 0;
    if k <= POLISH_MAX_GROUPS {
        polished += resplit::improve_pass(st, contiguity, false, steps, AREA_GROUPS);
    }
    // In a small plan a tile's edge is a large share of every border, and a pass is cheap:
    // a second tiling, seeded from the other end, splits again across the first one's
    // edges (sample: gap 1.05% -> 0.87%; at 100k it cost 6 s for 0.3%). Then tilings of
    // smaller areas, each from both ends: a re-split of 24 territories that breaks one
    // into pieces is refused, where one of 4 to 16 is mended by the repair (10k: gap
    // 1.33% -> 0.85%, 0.4 s more; at 100k it cost 2.3 s for 1.1%).
    if k <= SECOND_TILING_MAX_GROUPS {
        polished += resplit::improve_pass(st, contiguity, true, steps, AREA_GROUPS);
        for size in SMALL_AREAS.into_iter().filter(|&s| s < k) {
            for reverse in [false, true] {
                polished += resplit::improve_pass(st, contiguity, reverse, steps, size);
            }
        }
    }
    let resplit_time = started.elapsed();
    let resplit_objective = st.objective();
    // After re-splits, and after cycles that held hard territories (at 1M this gave 0.46%
    // in 0.16 s), moves and exchanges over the whole plan.
    if polished > 0 || held_any {
        local_search::improve(st, contiguity);
    }
    debug(&format!(
        "polish: {polished} re-splits kept in {resplit_time:?} (objective {resplit_objective:.6e}), then moves and exchanges {:?}, objective {:.6e}",
        started.elapsed() - resplit_time,
        st.objective()
    ));
}
