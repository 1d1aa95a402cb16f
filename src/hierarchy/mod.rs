//! Top-down driver of the partition engine: a segment's units are split into regions,
//! each region's into districts, …, down to territories. Every node's headcount (its
//! territories) is fixed first, spread evenly over its children within each level's span
//! of control; each child's target is its headcount × the segment's per-territory target,
//! so every level is balanced in the same currency and the levels nest by construction.
//! No I/O.

use ndarray::Array2;

use crate::error::Error;
use crate::geometry::Coordinates;
use crate::model::scenario::LevelDef;
use crate::solve::{self, Budget, NO_HOME, Options, Problem, Realign, Solution};
use crate::units::Adjacency;

mod bottom_up;
pub use bottom_up::plan_segment_bottom_up;

/// One segment's planning problem, on its own units.
pub struct SegmentInput<'a> {
    pub coordinates: Coordinates,
    pub coords: &'a [[f64; 2]],
    pub weight: &'a [f64],
    /// units × balance metrics.
    pub values: &'a Array2<f64>,
    pub adjacency: &'a Adjacency,
    /// Per metric: the target of one territory.
    pub leaf_target: Vec<f64>,
    pub tolerance: &'a [f64],
    /// Territories (leaves) to carve.
    pub leaves: usize,
    pub levels: &'a [LevelDef],
    /// Leaves × metrics: what accounts pinned to each leaf already carry.
    pub pinned: Array2<f64>,
    /// Per leaf: most accounts its units may add (caps net of pinned accounts); None = no caps.
    pub caps: Option<Vec<f64>>,
    /// Accounts per unit (for caps).
    pub unit_accounts: &'a [f64],
    pub realign: Option<SegmentRealign<'a>>,
}

pub struct SegmentRealign<'a> {
    /// Home leaf of each unit or NO_HOME.
    pub home: &'a [u32],
    pub move_cost: &'a [f64],
    /// Disruption budgets.
    pub budgets: Vec<SegmentBudget<'a>>,
    /// Each leaf's current book centre (None for new territories).
    pub book_centre: Vec<Option<[f64; 2]>>,
}

/// A hard limit on what may change owner: `share` of `total`, where a unit moves
/// `amount` when it leaves home and `base` (accounts of other owners in it) regardless.
pub struct SegmentBudget<'a> {
    pub amount: &'a [f64],
    pub base: &'a [f64],
    pub total: &'a [f64],
    pub share: f64,
}

/// A node of the planned tree. Level 0 is the segment; the last level holds territories.
#[derive(Debug, Clone)]
pub struct Node {
    pub level: usize,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    /// The leaves (territories) under this node.
    pub leaves: Vec<usize>,
    /// Units of this node.
    pub units: Vec<u32>,
}

#[derive(Debug)]
pub struct SegmentPlan {
    /// Leaf of every unit.
    pub leaf: Vec<u32>,
    /// Pre-order: the root first, children in order.
    pub nodes: Vec<Node>,
    /// Index of each leaf's node.
    pub leaf_node: Vec<usize>,
    /// The leaf-level partitions' results, one per parent of leaves.
    pub solutions: Vec<Solution>,
    pub warnings: Vec<String>,
}

/// Nodes per level, from the segment's children down to the parents of the leaves: each
/// level's count makes its nodes' child counts fall inside its span where possible.
pub fn level_counts(leaves: usize, levels: &[LevelDef], warnings: &mut Vec<String>) -> Vec<usize> {
    let mut counts = vec![0; levels.len()];
    let mut below = leaves;
    for (i, l) in levels.iter().enumerate().rev() {
        let (a, b) = l.span;
        let lo = below.div_ceil(b).max(1);
        let hi = (below / a).max(1);
        let mid = (a + b) as f64 / 2.0;
        let want = ((below as f64 / mid).round() as usize).max(1);
        let n = if lo <= hi {
            want.clamp(lo, hi)
        } else {
            warnings.push(format!(
                "level '{}': {below} children cannot be spread {a} to {b} per node; using {lo} nodes",
                l.name
            ));
            lo
        };
        counts[i] = n;
        below = n;
    }
    counts
}

/// Splits `n` items into `parts` contiguous runs as even as possible (larger runs first).
fn even_runs(n: usize, parts: usize) -> Vec<usize> {
    let (q, r) = (n / parts, n % parts);
    (0..parts).map(|i| q + usize::from(i < r)).collect()
}

/// For every depth and node (in pre-order position), the headcounts of its children.
/// Leaves are spread evenly over the deepest nodes, those evenly over their parents, and
/// so on up: a node's headcount is the sum of its children's.
/// Headcount of every node at each depth below the root, in order (the last depth holds
/// the leaves, one each): leaves spread evenly over the deepest nodes, those over theirs.
fn headcounts(leaves: usize, counts: &[usize]) -> Vec<Vec<usize>> {
    let depth = counts.len();
    let mut heads: Vec<Vec<usize>> = vec![Vec::new(); depth + 1];
    heads[depth] = vec![1; leaves];
    for d in (0..depth).rev() {
        let runs = even_runs(heads[d + 1].len(), counts[d]);
        let mut at = 0;
        heads[d] = runs
            .iter()
            .map(|&r| {
                let s = heads[d + 1][at..at + r].iter().sum();
                at += r;
                s
            })
            .collect();
    }
    heads
}

fn child_sizes(leaves: usize, counts: &[usize]) -> Vec<Vec<Vec<usize>>> {
    let depth = counts.len();
    let heads = headcounts(leaves, counts);
    // Children of node o at depth d (the root is depth 0, one node).
    let mut out = Vec::with_capacity(depth + 1);
    let mut parents = 1;
    for d in 0..=depth {
        let kids = &heads[d];
        let runs = even_runs(kids.len(), parents);
        let mut at = 0;
        let mut per = Vec::with_capacity(parents);
        for &r in &runs {
            per.push(kids[at..at + r].to_vec());
            at += r;
        }
        out.push(per);
        parents = kids.len();
    }
    out
}

pub fn plan_segment(input: &SegmentInput, options: &Options) -> Result<SegmentPlan, Error> {
    let mut warnings = Vec::new();
    let counts = level_counts(input.leaves, input.levels, &mut warnings);
    let n = input.coords.len();
    let mut plan = SegmentPlan {
        leaf: vec![0; n],
        nodes: vec![Node {
            level: 0,
            parent: None,
            children: Vec::new(),
            leaves: (0..input.leaves).collect(),
            units: (0..n as u32).collect(),
        }],
        leaf_node: vec![0; input.leaves],
        solutions: Vec::new(),
        warnings: Vec::new(),
    };
    let child_sizes = child_sizes(input.leaves, &counts);
    split(input, options, &mut plan, 0, &child_sizes, 0)?;
    plan.warnings.extend(warnings);
    Ok(plan)
}

/// Partitions node `id` among its children and recurses. `ordinal` is the node's position
/// among the nodes of its depth (to look up its child count).
fn split(
    input: &SegmentInput,
    options: &Options,
    plan: &mut SegmentPlan,
    id: usize,
    child_sizes: &[Vec<Vec<usize>>],
    ordinal: usize,
) -> Result<usize, Error> {
    let depth = plan.nodes[id].level;
    let leaves = plan.nodes[id].leaves.clone();
    let last = depth + 1 == child_sizes.len();
    // Headcount of each child: one leaf each at the last level, else the planned sizes.
    let groups: Vec<Vec<usize>> = if last {
        leaves.iter().map(|&l| vec![l]).collect()
    } else {
        let sizes = child_sizes[depth]
            .get(ordinal)
            .cloned()
            .unwrap_or_else(|| vec![leaves.len()]);
        group_leaves(input, &leaves, &sizes)
    };
    let units = plan.nodes[id].units.clone();
    let factor = if last {
        1.0
    } else {
        input.levels[depth].tolerance_factor
    };
    let assign = if groups.len() == 1 {
        vec![0; units.len()]
    } else {
        let (assign, sol) = partition_node(input, options, &units, &groups, factor)?;
        if last {
            plan.solutions.push(sol);
        }
        assign
    };
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); groups.len()];
    for (i, &u) in units.iter().enumerate() {
        members[assign[i] as usize].push(u);
    }
    for (c, group) in groups.into_iter().enumerate() {
        if last {
            for &u in &members[c] {
                plan.leaf[u as usize] = group[0] as u32;
            }
            plan.leaf_node[group[0]] = id;
            continue;
        }
        let child = plan.nodes.len();
        plan.nodes.push(Node {
            level: depth + 1,
            parent: Some(id),
            children: Vec::new(),
            leaves: group,
            units: std::mem::take(&mut members[c]),
        });
        plan.nodes[id].children.push(child);
        let child_ordinal = ordinal_at(plan, child);
        split(input, options, plan, child, child_sizes, child_ordinal)?;
    }
    Ok(id)
}

/// Position of `node` among the nodes of its depth created so far (pre-order numbering).
fn ordinal_at(plan: &SegmentPlan, node: usize) -> usize {
    let level = plan.nodes[node].level;
    plan.nodes[..node]
        .iter()
        .filter(|n| n.level == level)
        .count()
}

/// Which leaves go to which child. Anonymous leaves (a greenfield plan) take runs in
/// order; with current books, leaves are clustered by their book centres under the
/// children's headcounts, so each child starts from the books it will hold.
fn group_leaves(input: &SegmentInput, leaves: &[usize], sizes: &[usize]) -> Vec<Vec<usize>> {
    let Some(r) = &input.realign else {
        let mut out = Vec::new();
        let mut at = 0;
        for &s in sizes {
            out.push(leaves[at..at + s].to_vec());
            at += s;
        }
        return out;
    };
    let c = sizes.len();
    let placed: Vec<(usize, [f64; 2])> = leaves
        .iter()
        .filter_map(|&l| r.book_centre[l].map(|p| (l, p)))
        .collect();
    // Sweep start: sorted west to east (x for planar data), cut into runs by headcount.
    let east = |p: &[f64; 2]| match input.coordinates {
        Coordinates::Latlon => (p[1], p[0]),
        Coordinates::Xy => (p[0], p[1]),
    };
    let mut order = placed.clone();
    order.sort_by(|a, b| {
        east(&a.1)
            .partial_cmp(&east(&b.1))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.0.cmp(&b.0))
    });
    let mut child_of: Vec<usize> = Vec::with_capacity(order.len());
    for (i, &s) in sizes.iter().enumerate() {
        child_of.extend(std::iter::repeat_n(i, s));
    }
    let mut assign: Vec<(usize, usize)> = order
        .iter()
        .enumerate()
        .map(|(i, (l, _))| (*l, child_of[i.min(child_of.len() - 1)]))
        .collect();
    // A few capacitated re-assignments to the run centres tighten the clusters.
    for _ in 0..4 {
        let mut centre = vec![[0.0, 0.0, 0.0]; c];
        for (&(_, ch), (_, p)) in assign.iter().zip(&order) {
            centre[ch][0] += p[0];
            centre[ch][1] += p[1];
            centre[ch][2] += 1.0;
        }
        let centres: Vec<Option<[f64; 2]>> = centre
            .iter()
            .map(|a| (a[2] > 0.0).then(|| [a[0] / a[2], a[1] / a[2]]))
            .collect();
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for (i, (_, p)) in order.iter().enumerate() {
            for (ch, cc) in centres.iter().enumerate() {
                if let Some(cc) = cc {
                    pairs.push((input.coordinates.distance(*p, *cc), i, ch));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut room = sizes.to_vec();
        let mut done = vec![false; order.len()];
        let mut next = assign.clone();
        for (_, i, ch) in pairs {
            if !done[i] && room[ch] > 0 {
                done[i] = true;
                room[ch] -= 1;
                next[i] = (order[i].0, ch);
            }
        }
        if next == assign {
            break;
        }
        assign = next;
    }
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); c];
    for &(l, ch) in &assign {
        out[ch].push(l);
    }
    // New territories fill the remaining headcount, in leaf order.
    let mut ch = 0;
    for &l in leaves {
        if r.book_centre[l].is_some() {
            continue;
        }
        while out[ch].len() >= sizes[ch] {
            ch += 1;
        }
        out[ch].push(l);
    }
    for g in &mut out {
        g.sort_unstable();
    }
    out
}

/// One partition: the node's units into one group per child.
fn partition_node(
    input: &SegmentInput,
    options: &Options,
    units: &[u32],
    groups: &[Vec<usize>],
    factor: f64,
) -> Result<(Vec<u32>, Solution), Error> {
    let k = groups.len();
    let m = input.leaf_target.len();
    let capped = input.caps.is_some();
    let mc = m + usize::from(capped);
    let nu = units.len();
    let local: std::collections::HashMap<u32, u32> = units
        .iter()
        .enumerate()
        .map(|(i, &u)| (u, i as u32))
        .collect();
    let coords: Vec<[f64; 2]> = units.iter().map(|&u| input.coords[u as usize]).collect();
    let weight: Vec<f64> = units.iter().map(|&u| input.weight[u as usize]).collect();
    let values = Array2::from_shape_fn((nu, mc), |(i, j)| {
        let u = units[i] as usize;
        if j < m {
            input.values[(u, j)]
        } else {
            input.unit_accounts[u]
        }
    });
    let mut edges = Vec::new();
    for (i, &u) in units.iter().enumerate() {
        for &v in input.adjacency.of(u as usize) {
            if let Some(&j) = local.get(&v)
                && (i as u32) < j
            {
                edges.push((i as u32, j));
            }
        }
    }
    let adjacency = Adjacency::from_edges(nu, &edges);
    let mean_accounts = input.unit_accounts.iter().sum::<f64>() / input.leaves.max(1) as f64;
    let mut targets = Array2::zeros((k, mc));
    let mut lo = Array2::zeros((k, mc));
    let mut hi = Array2::zeros((k, mc));
    for (g, leaves) in groups.iter().enumerate() {
        let h = leaves.len() as f64;
        for j in 0..m {
            let base: f64 = leaves.iter().map(|&l| input.pinned[(l, j)]).sum();
            let t = input.leaf_target[j] * h;
            let tol = input.tolerance[j] * factor;
            targets[(g, j)] = t;
            lo[(g, j)] = t * (1.0 - tol) - base;
            hi[(g, j)] = t * (1.0 + tol) - base;
        }
        if let Some(caps) = &input.caps {
            targets[(g, m)] = mean_accounts * h;
            lo[(g, m)] = f64::MIN / 4.0;
            hi[(g, m)] = leaves.iter().map(|&l| caps[l]).sum();
        }
    }
    // Realignment within this node: a unit's home is the child holding its home leaf.
    let mut child_of_leaf = vec![NO_HOME; input.leaves];
    for (g, leaves) in groups.iter().enumerate() {
        for &l in leaves {
            child_of_leaf[l] = g as u32;
        }
    }
    let home: Vec<u32>;
    let move_cost: Vec<f64>;
    let amounts: Vec<Vec<f64>>;
    let mut limits = Vec::new();
    let realign = match &input.realign {
        None => None,
        Some(r) => {
            home = units
                .iter()
                .map(|&u| {
                    let h = r.home[u as usize];
                    if h == NO_HOME {
                        NO_HOME
                    } else {
                        child_of_leaf[h as usize]
                    }
                })
                .collect();
            move_cost = units.iter().map(|&u| r.move_cost[u as usize]).collect();
            amounts = r
                .budgets
                .iter()
                .map(|b| units.iter().map(|&u| b.amount[u as usize]).collect())
                .collect();
            for b in &r.budgets {
                // This node may move its share of what it holds, less what moves anyway
                // (other owners' accounts inside units) and what already moved into it at
                // the levels above (their homes lie outside this node).
                let total: f64 = units.iter().map(|&u| b.total[u as usize]).sum();
                let base: f64 = units.iter().map(|&u| b.base[u as usize]).sum();
                let spent: f64 = units
                    .iter()
                    .zip(&home)
                    .filter(|&(&u, &h)| h == NO_HOME && r.home[u as usize] != NO_HOME)
                    .map(|(&u, _)| b.amount[u as usize])
                    .sum();
                limits.push(b.share * total - base - spent);
            }
            Some(Realign {
                home: &home,
                move_cost: &move_cost,
                budgets: amounts
                    .iter()
                    .zip(&limits)
                    .map(|(a, &limit)| Budget { amount: a, limit })
                    .collect(),
            })
        }
    };
    let problem = Problem {
        coordinates: input.coordinates,
        coords: &coords,
        weight: &weight,
        values: &values,
        targets,
        lo,
        hi,
        adjacency: &adjacency,
        realign,
    };
    let sol = solve::partition(&problem, options)?;
    Ok((sol.assignment.clone(), sol))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(name: &str, a: usize, b: usize) -> LevelDef {
        LevelDef {
            name: name.into(),
            span: (a, b),
            tolerance_factor: 0.5,
        }
    }

    #[test]
    fn counts_respect_spans() {
        let mut w = Vec::new();
        let levels = [level("region", 2, 4), level("district", 6, 10)];
        let c = level_counts(60, &levels, &mut w);
        assert!(w.is_empty(), "{w:?}");
        let per_district = 60.0 / c[1] as f64;
        assert!((6.0..=10.0).contains(&per_district), "{c:?}");
        let per_region = c[1] as f64 / c[0] as f64;
        assert!((2.0..=4.0).contains(&per_region), "{c:?}");
    }

    #[test]
    fn even_runs_sum_and_differ_by_one_at_most() {
        let r = even_runs(61, 7);
        assert_eq!(r.iter().sum::<usize>(), 61);
        assert!(r.iter().max().unwrap() - r.iter().min().unwrap() <= 1);
    }
}
