//! One segment's planning inputs: its territories (leaves) and reps, the accounts pinned
//! to a leaf, units of the free accounts, and in realignment mode each unit's home leaf.

use std::collections::HashMap;

use ndarray::Array2;

use crate::error::{Error, InputError, Location};
use crate::geometry::weighted_centre;
use crate::metrics::AccountMetrics;
use crate::model::scenario::SegmentDef;
use crate::model::{Accounts, Rep, RepStatus, Reps, Scenario};
use crate::solve::NO_HOME;
use crate::units::{Units, build_units};

/// A territory slot of a segment: a rep (by index in reps.csv) or an open seat.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub rep: Option<usize>,
}

pub struct SegmentSetup {
    pub name: String,
    pub accounts: Vec<u32>,
    pub leaves: Vec<Leaf>,
    /// Accounts kept with their owner's territory: (account, leaf).
    pub pinned: Vec<(u32, usize)>,
    pub pins_released: usize,
    pub units: Units,
    /// Per metric: one territory's target (segment total / territories).
    pub leaf_target: Vec<f64>,
    pub realign: Option<Homes>,
}

/// Realignment data per unit of the segment.
pub struct Homes {
    pub home: Vec<u32>,
    /// Accounts and pipeline of the unit that its home leaf owns today; of other active
    /// owners here (they move wherever the unit goes); and in all.
    pub own_accounts: Vec<f64>,
    pub own_pipeline: Vec<f64>,
    pub other_accounts: Vec<f64>,
    pub other_pipeline: Vec<f64>,
    pub all_accounts: Vec<f64>,
    pub all_pipeline: Vec<f64>,
    pub move_cost: Vec<f64>,
    pub book_centre: Vec<Option<[f64; 2]>>,
}

/// Staffed reps per segment (reps.csv order); a rep naming no known segment is an error.
pub fn reps_by_segment(defs: &[SegmentDef], reps: Option<&Reps>) -> Result<Vec<Vec<usize>>, Error> {
    let mut out = vec![Vec::new(); defs.len()];
    let Some(reps) = reps else { return Ok(out) };
    for (i, r) in reps.reps.iter().enumerate() {
        if r.status != RepStatus::Leaving {
            out[segment_of_rep(defs, reps, r)?].push(i);
        }
    }
    Ok(out)
}

/// The segment a rep (owner or overlay) works in: the one named in reps.csv, or the only
/// one. Naming a segment the scenario does not define is an input error at its cell.
pub fn segment_of_rep(defs: &[SegmentDef], reps: &Reps, r: &Rep) -> Result<usize, Error> {
    let s = if defs.len() == 1 {
        Some(0)
    } else {
        defs.iter()
            .position(|d| d.name.eq_ignore_ascii_case(r.segment.trim()))
    };
    s.ok_or_else(|| {
        let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        let who = if r.role.is_empty() {
            "rep"
        } else {
            r.role.as_str()
        };
        InputError::new(
            Location::at(&reps.source, r.line, reps.column("segment").unwrap_or(1))
                .field("segment"),
            format!(
                "{who} '{}' works in segment '{}', which the scenario does not define",
                r.id, r.segment
            ),
        )
        .hint(format!("segments: {}", names.join(", ")))
        .into()
    })
}

/// Territories of a segment: its staffed reps, or the count the scenario gives.
pub fn leaves_of(
    def: &SegmentDef,
    staffed: &[usize],
    accounts_here: usize,
) -> Result<Vec<Leaf>, Error> {
    let mut leaves: Vec<Leaf> = staffed.iter().map(|&i| Leaf { rep: Some(i) }).collect();
    match def.territories {
        Some(k) if k < leaves.len() => {
            return Err(InputError::new(
                def.location.clone(),
                format!(
                    "'{}' plans {k} territories, but reps.csv staffs {} reps there (active or tbh)",
                    def.name,
                    leaves.len()
                ),
            )
            .hint("raise the territory count or leave it out to plan one territory per rep")
            .into());
        }
        Some(k) => leaves.resize(k, Leaf { rep: None }),
        None => {}
    }
    if leaves.is_empty() && accounts_here > 0 {
        return Err(InputError::new(
            def.location.clone(),
            format!(
                "segment '{}' has {accounts_here} accounts but no territories",
                def.name
            ),
        )
        .hint("give it reps in reps.csv (segment column) or set its territories")
        .into());
    }
    Ok(leaves)
}

#[allow(clippy::too_many_arguments)]
pub fn setup(
    scenario: &Scenario,
    def: &SegmentDef,
    accounts: &Accounts,
    am: &AccountMetrics,
    reps: Option<&Reps>,
    members: Vec<u32>,
    leaves: Vec<Leaf>,
    realigning: bool,
) -> SegmentSetup {
    let m = am.names.len();
    let k = leaves.len().max(1);
    let leaf_target: Vec<f64> = (0..m)
        .map(|j| {
            members
                .iter()
                .map(|&a| am.values[(a as usize, j)])
                .sum::<f64>()
                / k as f64
        })
        .collect();
    // Leaves of active reps, by rep id: the books a realignment starts from.
    let mut active: HashMap<&str, usize> = HashMap::new();
    if let (true, Some(reps)) = (realigning, reps) {
        for (l, leaf) in leaves.iter().enumerate() {
            if let Some(i) = leaf.rep
                && reps.reps[i].status == RepStatus::Active
            {
                active.insert(reps.reps[i].id.as_str(), l);
            }
        }
    }
    let keep_late = scenario.realign.keep_late_stage;
    let mut pinned = Vec::new();
    let mut free = Vec::with_capacity(members.len());
    let mut pins_released = 0;
    for &a in &members {
        let i = a as usize;
        let wants_pin = accounts.locked[i] || (keep_late && accounts.late_stage[i]);
        match active.get(accounts.owner_id[i].as_str()) {
            Some(&l) if wants_pin => pinned.push((a, l)),
            _ => {
                if wants_pin {
                    pins_released += 1;
                }
                free.push(a);
            }
        }
    }
    let split_limit: Vec<f64> = (0..m).map(|j| am.tolerances[j] * leaf_target[j]).collect();
    let units = build_units(
        accounts,
        am,
        scenario.unit,
        scenario.coordinates,
        &split_limit,
        &free,
    );
    let realign = realigning.then(|| homes(scenario, accounts, am, &units, &active, leaves.len()));
    SegmentSetup {
        name: def.name.clone(),
        accounts: members,
        leaves,
        pinned,
        pins_released,
        units,
        leaf_target,
        realign,
    }
}

/// Each unit's home: the leaf whose rep owns most of its accounts today (ties: lower leaf).
fn homes(
    scenario: &Scenario,
    accounts: &Accounts,
    am: &AccountMetrics,
    units: &Units,
    active: &HashMap<&str, usize>,
    leaves: usize,
) -> Homes {
    let pipeline = accounts.numeric.get("pipeline").map(|c| &c.values);
    let n = units.len();
    let mut h = Homes {
        home: vec![NO_HOME; n],
        own_accounts: vec![0.0; n],
        own_pipeline: vec![0.0; n],
        other_accounts: vec![0.0; n],
        other_pipeline: vec![0.0; n],
        all_accounts: vec![0.0; n],
        all_pipeline: vec![0.0; n],
        move_cost: vec![0.0; n],
        book_centre: vec![None; leaves],
    };
    let mut book: Vec<Vec<([f64; 2], f64)>> = vec![Vec::new(); leaves];
    for u in 0..n {
        let mut count: Vec<(usize, usize)> = Vec::new();
        for &a in units.members(u) {
            h.all_accounts[u] += 1.0;
            h.all_pipeline[u] += pipeline.map_or(0.0, |p| p[a as usize]);
            if let Some(&l) = active.get(accounts.owner_id[a as usize].as_str()) {
                match count.iter_mut().find(|c| c.0 == l) {
                    Some(c) => c.1 += 1,
                    None => count.push((l, 1)),
                }
            }
        }
        let Some(&(l, _)) = count
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        else {
            continue;
        };
        h.home[u] = l as u32;
        let mut weight = 0.0;
        for &a in units.members(u) {
            let a = a as usize;
            match active.get(accounts.owner_id[a].as_str()) {
                Some(&o) if o == l => {
                    h.own_accounts[u] += 1.0;
                    h.own_pipeline[u] += pipeline.map_or(0.0, |p| p[a]);
                    weight += am.weight[a];
                }
                Some(_) => {
                    h.other_accounts[u] += 1.0;
                    h.other_pipeline[u] += pipeline.map_or(0.0, |p| p[a]);
                }
                None => {}
            }
        }
        h.move_cost[u] = scenario.realign.move_cost * weight;
        book[l].push((units.coords[u], units.weight[u].max(1e-9)));
    }
    for (l, pts) in book.iter().enumerate() {
        h.book_centre[l] = weighted_centre(pts.iter().copied());
    }
    h
}

/// Pinned loads per leaf: leaves × metrics, and pinned account counts.
pub fn pinned_loads(setup: &SegmentSetup, am: &AccountMetrics) -> (Array2<f64>, Vec<f64>) {
    let m = am.names.len();
    let mut loads = Array2::zeros((setup.leaves.len(), m));
    let mut count = vec![0.0; setup.leaves.len()];
    for &(a, l) in &setup.pinned {
        for j in 0..m {
            loads[(l, j)] += am.values[(a as usize, j)];
        }
        count[l] += 1.0;
    }
    (loads, count)
}
