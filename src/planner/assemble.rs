//! From the solved segments to the plan's territories and hierarchy nodes: ids that read
//! west to east, names from the states a node covers, reps on their territories.

use std::collections::{BTreeMap, HashMap};

use crate::geometry::{Coordinates, weighted_centre};
use crate::hierarchy::SegmentPlan;
use crate::metrics::AccountMetrics;
use crate::model::plan::HierarchyNode;
use crate::model::scenario::SegmentDef;
use crate::model::{Accounts, Reps, Scenario, Territory};
use crate::quota::{self, Continuity};

use super::setup::SegmentSetup;

pub struct Built {
    pub territories: Vec<Territory>,
    pub account_territory: Vec<u32>,
    pub nodes: Vec<HierarchyNode>,
    /// (level name, nodes at that level) from the segments down to the territories.
    pub levels: Vec<(String, usize)>,
}

/// Per leaf of one segment: what it holds.
struct LeafStats {
    values: Vec<f64>,
    accounts: usize,
    pts: Vec<([f64; 2], f64)>,
    states: BTreeMap<String, usize>,
}

#[allow(clippy::too_many_arguments)]
pub fn assemble(
    scenario: &Scenario,
    accounts: &Accounts,
    am: &AccountMetrics,
    reps: Option<&Reps>,
    defs: &[SegmentDef],
    setups: &[(usize, SegmentSetup)],
    planned: &[SegmentPlan],
    realigning: bool,
    potential: &[f64],
) -> Built {
    let m = am.names.len();
    let total_leaves: usize = setups.iter().map(|(_, s)| s.leaves.len()).sum();
    let width = total_leaves.to_string().len().max(3);
    let mut out = Built {
        territories: Vec::with_capacity(total_leaves),
        account_territory: vec![u32::MAX; accounts.len()],
        nodes: Vec::new(),
        levels: Vec::new(),
    };
    let mut level_counts: Vec<usize> = vec![0; scenario.levels.len()];
    let east = |c: [f64; 2]| match scenario.coordinates {
        Coordinates::Latlon => (c[1], c[0]),
        Coordinates::Xy => (c[0], c[1]),
    };
    let cmp_east = |a: [f64; 2], b: [f64; 2]| {
        east(a)
            .partial_cmp(&east(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    };

    for ((s, st), sp) in setups.iter().zip(planned) {
        let k = st.leaves.len();
        let mut leaf_of_account: Vec<(u32, usize)> = Vec::with_capacity(st.accounts.len());
        for u in 0..st.units.len() {
            for &a in st.units.members(u) {
                leaf_of_account.push((a, sp.leaf[u] as usize));
            }
        }
        leaf_of_account.extend(st.pinned.iter().copied());
        let mut stats: Vec<LeafStats> = (0..k)
            .map(|_| LeafStats {
                values: vec![0.0; m],
                accounts: 0,
                pts: Vec::new(),
                states: BTreeMap::new(),
            })
            .collect();
        for &(a, l) in &leaf_of_account {
            let a = a as usize;
            let ls = &mut stats[l];
            for j in 0..m {
                ls.values[j] += am.values[(a, j)];
            }
            ls.accounts += 1;
            ls.pts.push((accounts.pos[a], am.weight[a]));
            if !accounts.state[a].is_empty() {
                *ls.states.entry(accounts.state[a].clone()).or_default() += 1;
            }
        }
        let centre: Vec<[f64; 2]> = stats
            .iter()
            .map(|l| weighted_centre(l.pts.iter().copied()).unwrap_or([0.0, 0.0]))
            .collect();
        let mass: Vec<f64> = stats
            .iter()
            .map(|l| l.pts.iter().map(|p| p.1).sum::<f64>() + l.accounts as f64 * 1e-9)
            .collect();
        let rep_of = reps_on_leaves(accounts, reps, st, &leaf_of_account, realigning, potential);

        // Walk the tree: children west to east, ids by path, territories numbered in order.
        let nodes = &sp.nodes;
        let node_leaves = |n: usize| &nodes[n].leaves;
        let node_centre = |n: usize| {
            weighted_centre(node_leaves(n).iter().map(|&l| (centre[l], mass[l])))
                .unwrap_or([0.0, 0.0])
        };
        let mut stack: Vec<(usize, String, Vec<String>)> = Vec::new();
        let root_id = format!("S{}", s + 1);
        stack.push((0, root_id, Vec::new()));
        let mut leaf_id: HashMap<usize, usize> = HashMap::new();
        while let Some((n, id, path)) = stack.pop() {
            let node = &nodes[n];
            let level_name = if node.level == 0 {
                "segment".to_string()
            } else {
                scenario.levels[node.level - 1].name.clone()
            };
            let name = if node.level == 0 {
                defs[*s].name.clone()
            } else {
                path.last().cloned().unwrap_or_default()
            };
            let factor = if node.level == 0 {
                1.0
            } else {
                scenario.levels[node.level - 1].tolerance_factor
            };
            if node.level > 0 {
                level_counts[node.level - 1] += 1;
            }
            let mut values = vec![0.0; m];
            let mut n_accounts = 0;
            for &l in &node.leaves {
                for j in 0..m {
                    values[j] += stats[l].values[j];
                }
                n_accounts += stats[l].accounts;
            }
            let h = node.leaves.len() as f64;
            let parent_id = node.parent.map(|_| {
                let mut p = id.clone();
                if let Some(i) = p.rfind('-') {
                    p.truncate(i);
                }
                p
            });
            let mut hn = HierarchyNode {
                id: id.clone(),
                name: name.clone(),
                level: level_name,
                parent: parent_id,
                children: Vec::new(),
                territories: node.leaves.len(),
                accounts: n_accounts,
                values,
                targets: st.leaf_target.iter().map(|t| t * h).collect(),
                tolerances: am.tolerances.iter().map(|t| t * factor).collect(),
                coverage: None,
            };
            let mut full_path = path.clone();
            if node.level == 0 && defs.len() > 1 {
                full_path = vec![name.clone()];
            }
            if node.children.is_empty() {
                // Territories of this node, west to east.
                let mut ls: Vec<usize> = (0..k).filter(|&l| sp.leaf_node[l] == n).collect();
                if node.level == 0 && nodes.len() == 1 {
                    ls = (0..k).collect();
                }
                ls.sort_by(|&a, &b| cmp_east(centre[a], centre[b]).then(a.cmp(&b)));
                for l in ls {
                    let t = out.territories.len();
                    leaf_id.insert(l, t);
                    let tid = format!("T{:0width$}", t + 1);
                    let mut parts = full_path.clone();
                    parts.push(tid.clone());
                    hn.children.push(tid.clone());
                    let (rep_id, status) = rep_of[l].clone();
                    out.territories.push(Territory {
                        id: tid,
                        name: parts.join(" / "),
                        segment: defs[*s].name.clone(),
                        parent: id.clone(),
                        rep_id,
                        status,
                        centre: centre[l],
                        accounts: stats[l].accounts,
                        values: stats[l].values.clone(),
                        targets: st.leaf_target.clone(),
                        coverage: None,
                    });
                }
            } else {
                let mut kids = node.children.clone();
                kids.sort_by(|&a, &b| cmp_east(node_centre(a), node_centre(b)).then(a.cmp(&b)));
                let initial = scenario.levels[node.level]
                    .name
                    .chars()
                    .next()
                    .map_or('N', |c| c.to_ascii_uppercase());
                let names = sibling_names(
                    &kids,
                    &|c| {
                        let mut states: BTreeMap<&str, usize> = BTreeMap::new();
                        for &l in node_leaves(c) {
                            for (st, n) in &stats[l].states {
                                *states.entry(st.as_str()).or_default() += n;
                            }
                        }
                        states
                            .into_iter()
                            .map(|(a, b)| (a.to_string(), b))
                            .collect()
                    },
                    &scenario.levels[node.level].name,
                );
                // Pushed in reverse so the stack pops them west to east.
                let mut entries = Vec::new();
                for (i, &c) in kids.iter().enumerate() {
                    let cid = format!("{id}-{initial}{}", i + 1);
                    hn.children.push(cid.clone());
                    let mut p = full_path.clone();
                    p.push(names[i].clone());
                    entries.push((c, cid, p));
                }
                for e in entries.into_iter().rev() {
                    stack.push(e);
                }
            }
            out.nodes.push(hn);
        }
        for &(a, l) in &leaf_of_account {
            out.account_territory[a as usize] = leaf_id[&l] as u32;
        }
    }
    out.levels.push(("segment".into(), setups.len()));
    for (l, c) in scenario.levels.iter().zip(level_counts) {
        out.levels.push((l.name.clone(), c));
    }
    out.levels.push(("territory".into(), out.territories.len()));
    out
}

/// Names siblings by the states they cover most ("TX-OK"), numbered where two would
/// read the same; without states, by level and position.
fn sibling_names(
    kids: &[usize],
    states_of: &dyn Fn(usize) -> Vec<(String, usize)>,
    level: &str,
) -> Vec<String> {
    let mut names: Vec<String> = kids
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let mut st = states_of(c);
            st.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            if st.is_empty() {
                let mut l = level.to_string();
                if let Some(f) = l.get_mut(0..1) {
                    f.make_ascii_uppercase();
                }
                format!("{l} {}", i + 1)
            } else {
                st.iter()
                    .take(2)
                    .map(|s| s.0.as_str())
                    .collect::<Vec<_>>()
                    .join("-")
            }
        })
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let dupes: HashMap<String, usize> = names.iter().fold(HashMap::new(), |mut m, n| {
        *m.entry(n.clone()).or_default() += 1;
        m
    });
    for n in &mut names {
        if dupes[n.as_str()] > 1 {
            let c = seen.entry(n.clone()).or_default();
            *c += 1;
            *n = format!("{n} {c}");
        }
    }
    names
}

/// The rep (and status) of each leaf. Realignment keeps each leaf's own rep (the seat the
/// plan was built around); otherwise the segment's reps are matched to leaves as an
/// assignment problem (continuity first, then experience to size); leaves left are open.
fn reps_on_leaves(
    accounts: &Accounts,
    reps: Option<&Reps>,
    st: &SegmentSetup,
    leaf_of_account: &[(u32, usize)],
    realigning: bool,
    potential: &[f64],
) -> Vec<(String, String)> {
    let k = st.leaves.len();
    let open = |l: usize| (format!("OPEN-{}-{}", st.name, l + 1), "open".to_string());
    let Some(reps) = reps else {
        return (0..k).map(open).collect();
    };
    let label = |i: usize| {
        let status = if reps.reps[i].status == crate::model::RepStatus::Tbh {
            "tbh"
        } else {
            "active"
        };
        (reps.reps[i].id.clone(), status.to_string())
    };
    if realigning {
        return (0..k)
            .map(|l| st.leaves[l].rep.map_or_else(|| open(l), label))
            .collect();
    }
    let staffed: Vec<usize> = st.leaves.iter().filter_map(|l| l.rep).collect();
    let index: HashMap<&str, usize> = staffed
        .iter()
        .enumerate()
        .map(|(x, &i)| (reps.reps[i].id.as_str(), x))
        .collect();
    let pipeline = accounts.numeric.get("pipeline").map(|c| &c.values);
    let mut owned = vec![vec![Continuity::default(); k]; staffed.len()];
    let mut size = vec![0.0; k];
    let mut count = vec![0.0f64; k];
    let mut pipe = vec![0.0; k];
    for &(a, l) in leaf_of_account {
        let a = a as usize;
        let p = pipeline.map_or(0.0, |c| c[a]);
        size[l] += potential[a];
        count[l] += 1.0;
        pipe[l] += p;
        if let Some(&r) = index.get(accounts.owner_id[a].as_str()) {
            owned[r][l].accounts += 1.0;
            owned[r][l].pipeline += p;
        }
    }
    let has_pipeline = pipe.iter().any(|&p| p > 0.0);
    let continuity: Vec<Vec<f64>> = owned
        .iter()
        .map(|row| {
            (0..k)
                .map(|l| {
                    Continuity {
                        accounts: row[l].accounts / count[l].max(1.0),
                        pipeline: if pipe[l] > 0.0 {
                            row[l].pipeline / pipe[l]
                        } else {
                            0.0
                        },
                    }
                    .score(has_pipeline)
                })
                .collect()
        })
        .collect();
    let experience: Vec<f64> = staffed
        .iter()
        .map(|&i| quota::experience(&reps.reps[i]))
        .collect();
    let matched = quota::match_reps(&experience, &size, &continuity);
    let mut rep_of: Vec<Option<usize>> = vec![None; k];
    for (r, &l) in matched.iter().enumerate() {
        rep_of[l] = Some(staffed[r]);
    }
    (0..k)
        .map(|l| rep_of[l].map_or_else(|| open(l), label))
        .collect()
}
