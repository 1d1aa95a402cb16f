//! The hierarchy, recomputed: every territory hangs under a node of hierarchy.json, the
//! parents chain up to the territory's segment, node counts and metrics are the sums of
//! their territories, and every node sits inside its level's band.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::Error;
use crate::metrics::AccountMetrics;
use crate::model::Scenario;
use crate::model::scenario::SegmentDef;

#[derive(Deserialize)]
struct HierarchyIn {
    nodes: Vec<NodeIn>,
}

#[derive(Deserialize)]
struct NodeIn {
    id: String,
    name: String,
    level: String,
    parent: Option<String>,
    territories: usize,
}

#[allow(clippy::too_many_arguments)]
pub fn check(
    dir: &Path,
    scenario: &Scenario,
    am: &AccountMetrics,
    parents: &[String],
    ids: &[String],
    values: &[Vec<f64>],
    leaf_target: &[Vec<f64>],
    territory_segment: &[usize],
    defs: &[SegmentDef],
    failures: &mut Vec<String>,
) -> Result<(), Error> {
    let path = dir.join("hierarchy.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    let h: HierarchyIn = serde_json::from_str(&text)
        .map_err(|e| Error::CheckFailed(vec![format!("{}: {e}", path.display())]))?;
    let index: HashMap<&str, usize> = h
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let m = am.names.len();
    let mut under = vec![0usize; h.nodes.len()];
    let mut sums = vec![vec![0.0; m]; h.nodes.len()];
    let mut segment_of_node: Vec<Option<usize>> = vec![None; h.nodes.len()];
    for (t, parent) in parents.iter().enumerate() {
        let Some(&mut_start) = index.get(parent.as_str()) else {
            failures.push(format!(
                "{}: parent '{parent}' is not in hierarchy.json",
                ids[t]
            ));
            continue;
        };
        // Walk up to the root; it must be the territory's segment.
        let mut at = Some(mut_start);
        let mut steps = 0;
        let mut root = None;
        while let Some(n) = at {
            under[n] += 1;
            for j in 0..m {
                sums[n][j] += values[t][j];
            }
            segment_of_node[n] = Some(territory_segment[t]);
            root = Some(n);
            at = h.nodes[n]
                .parent
                .as_deref()
                .and_then(|p| index.get(p).copied());
            if h.nodes[n].parent.is_some() && at.is_none() {
                failures.push(format!(
                    "node {} names a parent that does not exist",
                    h.nodes[n].id
                ));
            }
            steps += 1;
            if steps > h.nodes.len() {
                failures.push(format!("hierarchy.json has a cycle above {}", ids[t]));
                break;
            }
        }
        if let Some(r) = root {
            let want = &defs[territory_segment[t]].name;
            if h.nodes[r].level != "segment" || h.nodes[r].name != *want {
                failures.push(format!(
                    "{} is in segment {want} but its hierarchy root is {} ({})",
                    ids[t], h.nodes[r].name, h.nodes[r].level
                ));
            }
        }
    }
    for (n, node) in h.nodes.iter().enumerate() {
        if under[n] != node.territories {
            failures.push(format!(
                "node {} says {} territories but {} hang under it",
                node.id, node.territories, under[n]
            ));
        }
        if node.level == "segment" {
            continue;
        }
        let Some(level) = scenario.levels.iter().find(|l| l.name == node.level) else {
            failures.push(format!(
                "node {} has level '{}', which the scenario does not define",
                node.id, node.level
            ));
            continue;
        };
        let Some(s) = segment_of_node[n] else {
            continue;
        };
        for j in 0..m {
            let target = leaf_target[s][j] * under[n] as f64;
            let tol = am.tolerances[j] * level.tolerance_factor;
            let dev = if target > 0.0 {
                sums[n][j] / target - 1.0
            } else {
                0.0
            };
            if dev.abs() > tol + 1e-9 {
                failures.push(format!(
                    "{} {} {}: {:+.3}% of target, outside ±{:.3}%",
                    node.level,
                    node.id,
                    am.names[j],
                    dev * 100.0,
                    tol * 100.0
                ));
            }
        }
    }
    Ok(())
}
