//! Bottom-up planning for a realignment with levels (see `plan_segment_bottom_up`).

use ndarray::Array2;

use super::{Node, SegmentInput, SegmentPlan, even_runs, headcounts, level_counts, partition_node};
use crate::error::Error;
use crate::solve::{self, Options, Problem};

/// Realignment with levels, bottom-up: first the territories around their reps' seats for
/// the whole segment (one partition, so moves are not forced by where region lines fall),
/// then territories grouped into districts, districts into regions, each grouping a small
/// partition of whole nodes with exact headcounts and the level's bands. None when a
/// grouping cannot meet its bands (the caller then plans top-down).
pub fn plan_segment_bottom_up(
    input: &SegmentInput,
    options: &Options,
) -> Result<Option<SegmentPlan>, Error> {
    let mut warnings = Vec::new();
    let counts = level_counts(input.leaves, input.levels, &mut warnings);
    let n = input.coords.len();
    let k = input.leaves;
    let m = input.leaf_target.len();
    let singles: Vec<Vec<usize>> = (0..k).map(|l| vec![l]).collect();
    let units: Vec<u32> = (0..n as u32).collect();
    let (assign, sol) = partition_node(input, options, &units, &singles, 1.0)?;
    // What each territory holds: pinned loads plus its units; its weighted centre.
    let mut values = input.pinned.clone();
    let mut acc = vec![(0.0, 0.0, 0.0); k];
    for (u, &l) in assign.iter().enumerate() {
        let l = l as usize;
        for j in 0..m {
            values[(l, j)] += input.values[(u, j)];
        }
        let w = input.weight[u].max(1e-12);
        acc[l].0 += input.coords[u][0] * w;
        acc[l].1 += input.coords[u][1] * w;
        acc[l].2 += w;
    }
    // Items of the current level: (leaves, centre, weight).
    let mut items: Vec<(Vec<usize>, [f64; 2], f64)> = (0..k)
        .map(|l| {
            let a = acc[l];
            let c = if a.2 > 0.0 {
                [a.0 / a.2, a.1 / a.2]
            } else {
                [0.0, 0.0]
            };
            (vec![l], c, a.2)
        })
        .collect();
    // Headcounts per depth, as top-down would have them.
    let depth = counts.len();
    let heads = headcounts(k, &counts);
    // groups[d][g] = indices of depth-(d+1) items in group g of depth d.
    let mut groups_at: Vec<Vec<Vec<usize>>> = vec![Vec::new(); depth];
    for d in (0..depth).rev() {
        let g = heads[d].len();
        let kids = even_runs(items.len(), g);
        let ni = items.len();
        let coords: Vec<[f64; 2]> = items.iter().map(|i| i.1).collect();
        let weight: Vec<f64> = items.iter().map(|i| i.2).collect();
        // Metrics, then the leaf count and the child count, both exact per group.
        let vals = Array2::from_shape_fn((ni, m + 2), |(i, j)| {
            if j < m {
                items[i].0.iter().map(|&l| values[(l, j)]).sum()
            } else if j == m {
                items[i].0.len() as f64
            } else {
                1.0
            }
        });
        let factor = input.levels[d].tolerance_factor;
        let mut targets = Array2::zeros((g, m + 2));
        let mut lo = Array2::zeros((g, m + 2));
        let mut hi = Array2::zeros((g, m + 2));
        for x in 0..g {
            let h = heads[d][x] as f64;
            for j in 0..m {
                let t = input.leaf_target[j] * h;
                targets[(x, j)] = t;
                lo[(x, j)] = t * (1.0 - input.tolerance[j] * factor);
                hi[(x, j)] = t * (1.0 + input.tolerance[j] * factor);
            }
            for (j, c) in [(m, h), (m + 1, kids[x] as f64)] {
                targets[(x, j)] = c;
                lo[(x, j)] = c;
                hi[(x, j)] = c;
            }
        }
        let adjacency = crate::units::delaunay_adjacency(&coords, input.coordinates);
        let problem = Problem {
            coordinates: input.coordinates,
            coords: &coords,
            weight: &weight,
            values: &vals,
            targets,
            lo,
            hi,
            adjacency: &adjacency,
            realign: None,
        };
        let grouped = solve::partition(&problem, options)?;
        if grouped.violation > crate::solve::BAND_EPS {
            return Ok(None);
        }
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); g];
        for (i, &x) in grouped.assignment.iter().enumerate() {
            members[x as usize].push(i);
        }
        let next: Vec<(Vec<usize>, [f64; 2], f64)> = members
            .iter()
            .map(|ms| {
                let leaves: Vec<usize> = ms
                    .iter()
                    .flat_map(|&i| items[i].0.iter().copied())
                    .collect();
                let w: f64 = ms.iter().map(|&i| items[i].2).sum();
                let c = [
                    ms.iter().map(|&i| items[i].1[0] * items[i].2).sum::<f64>() / w.max(1e-12),
                    ms.iter().map(|&i| items[i].1[1] * items[i].2).sum::<f64>() / w.max(1e-12),
                ];
                (leaves, c, w)
            })
            .collect();
        groups_at[d] = members;
        items = next;
    }
    // The tree in pre-order: root, then each group and its subtree.
    let mut plan = SegmentPlan {
        leaf: assign,
        nodes: vec![Node {
            level: 0,
            parent: None,
            children: Vec::new(),
            leaves: (0..k).collect(),
            units: Vec::new(),
        }],
        leaf_node: vec![0; k],
        solutions: vec![sol],
        warnings,
    };
    // Leaves under item i of depth d (depth `depth` items are single leaves).
    fn leaves_of(groups_at: &[Vec<Vec<usize>>], d: usize, i: usize) -> Vec<usize> {
        if d == groups_at.len() {
            return vec![i];
        }
        groups_at[d][i]
            .iter()
            .flat_map(|&c| leaves_of(groups_at, d + 1, c))
            .collect()
    }
    fn build(
        plan: &mut SegmentPlan,
        groups_at: &[Vec<Vec<usize>>],
        parent: usize,
        d: usize,
        items: Vec<usize>,
    ) {
        for i in items {
            if d == groups_at.len() {
                plan.leaf_node[i] = parent;
                continue;
            }
            let id = plan.nodes.len();
            let mut leaves = leaves_of(groups_at, d, i);
            leaves.sort_unstable();
            plan.nodes.push(Node {
                level: d + 1,
                parent: Some(parent),
                children: Vec::new(),
                leaves,
                units: Vec::new(),
            });
            plan.nodes[parent].children.push(id);
            build(plan, groups_at, id, d + 1, groups_at[d][i].clone());
        }
    }
    if depth == 0 {
        return Ok(Some(plan));
    }
    let top: Vec<usize> = (0..groups_at[0].len()).collect();
    build(&mut plan, &groups_at, 0, 0, top);
    Ok(Some(plan))
}
