//! Overlay roles (SE, SDR, CSM, …) on a finished plan. No I/O.
//!
//! Per role and segment, every node of the role's `within` level needs overlay reps: the
//! scenario's ratio (per node, or one per N territories), raised until each rep's share of
//! the node's load fits the cap, never more than the node has territories. Short of reps,
//! slots go where they relieve the least load; a node left without any is reported. A
//! node's territories are split among its reps by recursive bisection along the wider
//! axis, balancing load, so each rep covers a compact group; reps are then matched to
//! groups by distance from home (Kuhn–Munkres). Spare reps stay unassigned and reported.

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;
use serde::Serialize;

use crate::geometry::Coordinates;
use crate::model::plan::HierarchyNode;
use crate::model::scenario::OverlayDef;
use crate::model::{Rep, RepStatus, Territory};

/// One overlay rep and the territories they cover.
#[derive(Debug, Clone, Serialize)]
pub struct OverlayMember {
    pub rep_id: String,
    pub name: String,
    pub role: String,
    pub segment: String,
    /// The node of the role's level the territories belong to.
    pub node: String,
    pub territories: Vec<String>,
    pub load: f64,
    pub max_load: Option<f64>,
}

impl OverlayMember {
    pub fn over_capacity(&self) -> bool {
        self.max_load
            .is_some_and(|m| self.load > m * (1.0 + 1e-9) + 1e-9)
    }
}

/// One rep's load, as summary.json lists it.
#[derive(Debug, Clone, Serialize)]
pub struct OverlayLoad {
    pub rep_id: String,
    pub node: String,
    pub territories: usize,
    pub load: f64,
    /// load / max_load, when capped.
    pub utilisation: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverlayRoleSummary {
    pub role: String,
    pub within: String,
    pub load: String,
    pub max_load: Option<f64>,
    pub nodes: usize,
    /// Reps the ratio and the cap call for.
    pub needed: usize,
    /// Reps of the role in reps.csv (active or to be hired).
    pub available: usize,
    pub assigned: usize,
    /// needed − assigned, when short.
    pub open_positions: usize,
    /// Reps assigned beyond the ratio and cap, to the nodes with most load per rep.
    pub beyond_ratio: usize,
    pub unassigned_reps: Vec<String>,
    pub uncovered_nodes: Vec<String>,
    pub uncovered_territories: usize,
    pub over_capacity: Vec<String>,
    pub load_min: f64,
    pub load_max: f64,
    pub reps: Vec<OverlayLoad>,
}

pub struct Input<'a> {
    pub def: &'a OverlayDef,
    /// Overlay reps of this role (any segment; leaving reps are skipped here).
    pub reps: &'a [&'a Rep],
    /// Segment index of each rep, aligned with `reps`.
    pub rep_segment: &'a [usize],
    pub segments: &'a [String],
    pub territories: &'a [Territory],
    pub nodes: &'a [HierarchyNode],
    /// The role's load per territory.
    pub load: &'a [f64],
    pub coordinates: Coordinates,
}

pub fn plan_role(input: &Input) -> (Vec<OverlayMember>, OverlayRoleSummary) {
    let def = input.def;
    let node_of = covering_nodes(input);
    let mut members = Vec::new();
    let mut summary = OverlayRoleSummary {
        role: def.role.clone(),
        within: def.within.clone(),
        load: def.load.clone(),
        max_load: def.max_load,
        nodes: node_of.len(),
        needed: 0,
        available: 0,
        assigned: 0,
        open_positions: 0,
        beyond_ratio: 0,
        unassigned_reps: Vec::new(),
        uncovered_nodes: Vec::new(),
        uncovered_territories: 0,
        over_capacity: Vec::new(),
        load_min: 0.0,
        load_max: 0.0,
        reps: Vec::new(),
    };
    for (s, segment) in input.segments.iter().enumerate() {
        let root = segment_root(input, s);
        let nodes: Vec<&(usize, Vec<usize>)> = node_of
            .iter()
            .filter(|(n, _)| {
                let id = &input.nodes[*n].id;
                *id == root
                    || id
                        .strip_prefix(root.as_str())
                        .is_some_and(|r| r.starts_with('-'))
            })
            .collect();
        let reps: Vec<&Rep> = input
            .reps
            .iter()
            .zip(input.rep_segment)
            .filter(|(r, rs)| **rs == s && r.status != RepStatus::Leaving)
            .map(|(r, _)| *r)
            .collect();
        let (seg_members, unassigned, uncovered, needed) =
            plan_segment(input, segment, &nodes, &reps);
        summary.needed += needed;
        summary.available += reps.len();
        summary.assigned += seg_members.len();
        summary.open_positions += needed.saturating_sub(seg_members.len());
        summary.beyond_ratio += seg_members.len().saturating_sub(needed);
        summary.unassigned_reps.extend(unassigned);
        for n in uncovered {
            summary.uncovered_territories += node_of
                .iter()
                .find(|(x, _)| *x == n)
                .map_or(0, |(_, t)| t.len());
            summary.uncovered_nodes.push(input.nodes[n].id.clone());
        }
        members.extend(seg_members);
    }
    summary.over_capacity = members
        .iter()
        .filter(|m| m.over_capacity())
        .map(|m| m.rep_id.clone())
        .collect();
    summary.load_min = members.iter().map(|m| m.load).fold(f64::INFINITY, f64::min);
    summary.load_max = members.iter().map(|m| m.load).fold(0.0, f64::max);
    if members.is_empty() {
        summary.load_min = 0.0;
    }
    summary.reps = members
        .iter()
        .map(|m| OverlayLoad {
            rep_id: m.rep_id.clone(),
            node: m.node.clone(),
            territories: m.territories.len(),
            load: m.load,
            utilisation: m.max_load.map(|c| m.load / c),
        })
        .collect();
    (members, summary)
}

/// Id of segment `s`'s root; its nodes' ids extend it with `-`.
fn segment_root(input: &Input, s: usize) -> String {
    let name = &input.segments[s];
    input
        .nodes
        .iter()
        .find(|n| n.level == "segment" && n.name == *name)
        .map_or_else(|| format!("S{}", s + 1), |n| n.id.clone())
}

/// Nodes of the role's level and the territories under each, in plan order.
fn covering_nodes(input: &Input) -> Vec<(usize, Vec<usize>)> {
    let index: std::collections::HashMap<&str, usize> = input
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut out: Vec<(usize, Vec<usize>)> = input
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.level == input.def.within)
        .map(|(i, _)| (i, Vec::new()))
        .collect();
    for (t, terr) in input.territories.iter().enumerate() {
        let mut at = index.get(terr.parent.as_str()).copied();
        while let Some(n) = at {
            if input.nodes[n].level == input.def.within {
                if let Some(slot) = out.iter_mut().find(|(x, _)| *x == n) {
                    slot.1.push(t);
                }
                break;
            }
            at = input.nodes[n]
                .parent
                .as_deref()
                .and_then(|p| index.get(p).copied());
        }
    }
    out
}

type SegmentResult = (Vec<OverlayMember>, Vec<String>, Vec<usize>, usize);

fn plan_segment(
    input: &Input,
    segment: &str,
    nodes: &[&(usize, Vec<usize>)],
    reps: &[&Rep],
) -> SegmentResult {
    let def = input.def;
    let load_of = |ts: &[usize]| ts.iter().map(|&t| input.load[t]).sum::<f64>();
    let loads: Vec<f64> = nodes.iter().map(|(_, ts)| load_of(ts)).collect();
    let mut need: Vec<usize> = nodes
        .iter()
        .zip(&loads)
        .map(|((_, ts), &l)| {
            let base = match (def.reps_per_node, def.territories_per_rep) {
                (Some(r), _) => r,
                (None, Some(per)) => (ts.len() as f64 / per).ceil() as usize,
                (None, None) => 1,
            };
            let by_cap = def.max_load.map_or(0, |c| (l / c).ceil() as usize);
            base.max(by_cap).max(1).min(ts.len())
        })
        .collect();
    let needed: usize = need.iter().sum();
    // Short of reps: take slots where the load per rep rises least; at one slot per node,
    // the lightest nodes go uncovered.
    while need.iter().sum::<usize>() > reps.len() {
        let multi = (0..need.len()).filter(|&n| need[n] >= 2).min_by(|&a, &b| {
            (loads[a] / (need[a] - 1) as f64)
                .total_cmp(&(loads[b] / (need[b] - 1) as f64))
                .then(a.cmp(&b))
        });
        let pick = multi.or_else(|| {
            (0..need.len())
                .filter(|&n| need[n] == 1)
                .min_by(|&a, &b| loads[a].total_cmp(&loads[b]).then(a.cmp(&b)))
        });
        match pick {
            Some(n) => need[n] -= 1,
            None => break,
        }
    }
    // Whole territories cannot always split evenly: spare reps go where a group is over
    // the cap.
    let mut spare = reps.len().saturating_sub(need.iter().sum());
    let mut groups: Vec<Vec<Vec<usize>>> = nodes
        .iter()
        .zip(&need)
        .map(|((_, ts), &k)| bisect(input, ts.clone(), k))
        .collect();
    if let Some(cap) = def.max_load {
        while spare > 0 {
            let worst = (0..nodes.len())
                .filter(|&n| need[n] > 0 && need[n] < nodes[n].1.len())
                .map(|n| {
                    let w = groups[n].iter().map(|g| load_of(g)).fold(0.0, f64::max);
                    (n, w)
                })
                .filter(|(_, w)| *w > cap)
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
            let Some((n, _)) = worst else { break };
            need[n] += 1;
            spare -= 1;
            groups[n] = bisect(input, nodes[n].1.clone(), need[n]);
        }
    }
    // Reps beyond the ratio are not left idle: each joins the node with the most load per
    // rep that can still split.
    while spare > 0 {
        let heaviest = (0..nodes.len())
            .filter(|&n| need[n] > 0 && need[n] < nodes[n].1.len())
            .max_by(|&a, &b| {
                (loads[a] / need[a] as f64)
                    .total_cmp(&(loads[b] / need[b] as f64))
                    .then(b.cmp(&a))
            });
        let Some(n) = heaviest else { break };
        need[n] += 1;
        spare -= 1;
        groups[n] = bisect(input, nodes[n].1.clone(), need[n]);
    }
    let uncovered: Vec<usize> = (0..nodes.len())
        .filter(|&n| need[n] == 0 && !nodes[n].1.is_empty())
        .map(|n| nodes[n].0)
        .collect();

    // Reps onto groups by distance from home to the group's centre.
    let slots: Vec<(usize, &Vec<usize>)> = groups
        .iter()
        .enumerate()
        .flat_map(|(n, gs)| gs.iter().map(move |g| (n, g)))
        .collect();
    let centre = |g: &[usize]| -> [f64; 2] {
        let k = g.len().max(1) as f64;
        let s = g.iter().fold([0.0, 0.0], |a, &t| {
            let c = input.territories[t].centre;
            [a[0] + c[0], a[1] + c[1]]
        });
        [s[0] / k, s[1] / k]
    };
    let mut members = Vec::new();
    let mut used = vec![false; reps.len()];
    if !slots.is_empty() {
        let centres: Vec<[f64; 2]> = slots.iter().map(|(_, g)| centre(g)).collect();
        let weights = Matrix::from_fn(slots.len(), reps.len(), |(s, r)| {
            reps[r].home.map_or(0, |h| {
                -(input.coordinates.distance(h, centres[s]) * 10.0).round() as i64
            })
        });
        let assignment = kuhn_munkres(&weights).1;
        for (s, &r) in assignment.iter().enumerate() {
            used[r] = true;
            let (n, g) = slots[s];
            let mut ids: Vec<String> = g.iter().map(|&t| input.territories[t].id.clone()).collect();
            ids.sort();
            members.push(OverlayMember {
                rep_id: reps[r].id.clone(),
                name: reps[r].name.clone(),
                role: def.role.clone(),
                segment: segment.to_string(),
                node: input.nodes[nodes[n].0].id.clone(),
                territories: ids,
                load: load_of(g),
                max_load: def.max_load,
            });
        }
    }
    members.sort_by(|a, b| a.node.cmp(&b.node).then(a.territories.cmp(&b.territories)));
    let unassigned = reps
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(r, _)| r.id.clone())
        .collect();
    (members, unassigned, uncovered, needed)
}

/// `k` compact groups of territories with balanced load: split along the wider axis at
/// the cut that best evens load per rep, then recurse on each side.
fn bisect(input: &Input, mut ts: Vec<usize>, k: usize) -> Vec<Vec<usize>> {
    if k == 0 || ts.is_empty() {
        return Vec::new();
    }
    if k == 1 || ts.len() == 1 {
        return vec![ts];
    }
    let pts: Vec<[f64; 2]> = ts.iter().map(|&t| input.territories[t].centre).collect();
    let project = input.coordinates.projector(&pts);
    let p: Vec<[f64; 2]> = pts.iter().map(|&x| project(x)).collect();
    let spread = |d: usize| {
        let (lo, hi) = p
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), q| {
                (lo.min(q[d]), hi.max(q[d]))
            });
        hi - lo
    };
    let axis = usize::from(spread(1) > spread(0));
    let mut order: Vec<usize> = (0..ts.len()).collect();
    order.sort_by(|&a, &b| p[a][axis].total_cmp(&p[b][axis]).then(ts[a].cmp(&ts[b])));
    ts = order.iter().map(|&i| ts[i]).collect();
    let (k1, k2) = (k / 2, k - k / 2);
    let total: f64 = ts.iter().map(|&t| input.load[t]).sum();
    let mut best = (f64::INFINITY, k1);
    let mut prefix: f64 = ts[..k1 - 1].iter().map(|&t| input.load[t]).sum();
    for cut in k1..=ts.len() - k2 {
        prefix += input.load[ts[cut - 1]];
        let worst = (prefix / k1 as f64).max((total - prefix) / k2 as f64);
        if worst < best.0 - 1e-12 {
            best = (worst, cut);
        }
    }
    let right = ts.split_off(best.1);
    let mut out = bisect(input, ts, k1);
    out.extend(bisect(input, right, k2));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn territory(id: &str, parent: &str, centre: [f64; 2]) -> Territory {
        Territory {
            id: id.into(),
            name: id.into(),
            segment: "All".into(),
            parent: parent.into(),
            rep_id: format!("R-{id}"),
            status: "active".into(),
            centre,
            accounts: 1,
            values: vec![],
            targets: vec![],
            coverage: None,
        }
    }

    fn node(id: &str, level: &str, parent: Option<&str>) -> HierarchyNode {
        HierarchyNode {
            id: id.into(),
            name: if level == "segment" {
                "All".into()
            } else {
                id.into()
            },
            level: level.into(),
            parent: parent.map(String::from),
            children: vec![],
            territories: 0,
            accounts: 0,
            values: vec![],
            targets: vec![],
            tolerances: vec![],
            coverage: None,
        }
    }

    fn def(per: Option<f64>, cap: Option<f64>) -> OverlayDef {
        OverlayDef {
            role: "SE".into(),
            within: "district".into(),
            territories_per_rep: per,
            reps_per_node: None,
            load: "accounts".into(),
            max_load: cap,
            location: crate::error::Location::file(std::path::Path::new("scenario.toml")),
        }
    }

    fn rep(id: &str, home: [f64; 2]) -> Rep {
        Rep {
            id: id.into(),
            role: "SE".into(),
            home: Some(home),
            ..Rep::default()
        }
    }

    /// Two districts: D1 has six territories in a row west to east, D2 has two.
    fn fixture() -> (Vec<Territory>, Vec<HierarchyNode>) {
        let mut ts = Vec::new();
        for i in 0..6 {
            ts.push(territory(&format!("T{i}"), "S1-D1", [0.0, i as f64]));
        }
        ts.push(territory("T6", "S1-D2", [10.0, 0.0]));
        ts.push(territory("T7", "S1-D2", [10.0, 1.0]));
        let nodes = vec![
            node("S1", "segment", None),
            node("S1-D1", "district", Some("S1")),
            node("S1-D2", "district", Some("S1")),
        ];
        (ts, nodes)
    }

    fn run(d: &OverlayDef, reps: &[Rep], load: &[f64]) -> (Vec<OverlayMember>, OverlayRoleSummary) {
        let (ts, nodes) = fixture();
        let refs: Vec<&Rep> = reps.iter().collect();
        let seg = vec![0; reps.len()];
        let segments = vec!["All".to_string()];
        plan_role(&Input {
            def: d,
            reps: &refs,
            rep_segment: &seg,
            segments: &segments,
            territories: &ts,
            nodes: &nodes,
            load,
            coordinates: Coordinates::Xy,
        })
    }

    #[test]
    fn ratio_splits_nodes_into_compact_balanced_groups() {
        let reps = vec![
            rep("E1", [0.0, 5.0]),
            rep("E2", [0.0, 0.0]),
            rep("E3", [10.0, 0.0]),
        ];
        let (members, s) = run(&def(Some(4.0), None), &reps, &[1.0; 8]);
        assert_eq!((s.needed, s.assigned, s.open_positions), (3, 3, 0));
        // D1 (six territories) gets two reps with three neighbouring territories each,
        // the rep living west gets the western half.
        let e2 = members.iter().find(|m| m.rep_id == "E2").unwrap();
        assert_eq!(e2.territories, vec!["T0", "T1", "T2"]);
        let e1 = members.iter().find(|m| m.rep_id == "E1").unwrap();
        assert_eq!(e1.territories, vec!["T3", "T4", "T5"]);
        let e3 = members.iter().find(|m| m.rep_id == "E3").unwrap();
        assert_eq!((e3.node.as_str(), e3.load), ("S1-D2", 2.0));
    }

    #[test]
    fn the_cap_calls_for_more_reps_and_shortage_is_reported() {
        // Load 10 per territory, cap 25: D1 (60) needs 3, D2 (20) needs 1.
        let reps: Vec<Rep> = (0..5).map(|i| rep(&format!("E{i}"), [0.0, 0.0])).collect();
        let (members, s) = run(&def(None, Some(25.0)), &reps, &[10.0; 8]);
        assert_eq!(s.needed, 4);
        // The fifth rep joins D1, the most load per rep: 60 / 3 against 20 / 1.
        assert_eq!((s.assigned, s.beyond_ratio), (5, 1));
        assert_eq!(members.iter().filter(|m| m.node == "S1-D1").count(), 4);
        assert!(s.unassigned_reps.is_empty());
        assert!(s.over_capacity.is_empty(), "{:?}", members);
        // One rep for both districts: the lighter district goes uncovered.
        let (members, s) = run(&def(None, Some(25.0)), &reps[..1], &[10.0; 8]);
        assert_eq!(members.len(), 1);
        assert_eq!(s.uncovered_nodes, vec!["S1-D2".to_string()]);
        assert_eq!(s.uncovered_territories, 2);
        assert_eq!(s.open_positions, 3);
        assert_eq!(s.over_capacity, vec!["E0".to_string()]);
    }

    #[test]
    fn uneven_territories_take_a_spare_rep_to_respect_the_cap() {
        // D1 loads 20, 20, 20, 0, 0, 0 = 60 and the cap is 30: two reps by the cap, but
        // whole territories split 20 | 40 at best, so the spare fourth rep goes there.
        let load = [20.0, 20.0, 20.0, 0.0, 0.0, 0.0, 1.0, 1.0];
        let reps: Vec<Rep> = (0..4).map(|i| rep(&format!("E{i}"), [0.0, 0.0])).collect();
        let (members, s) = run(&def(None, Some(30.0)), &reps, &load);
        assert_eq!((s.needed, s.assigned), (3, 4));
        assert!(s.over_capacity.is_empty(), "{members:?}");
        assert!(members.iter().all(|m| m.load <= 30.0));
        // Without the spare rep the overload is reported, not hidden.
        let (_, s) = run(&def(None, Some(30.0)), &reps[..3], &load);
        assert_eq!(s.over_capacity.len(), 1);
        let covered: usize = members.iter().map(|m| m.territories.len()).sum();
        assert_eq!(covered, 8);
    }
}
