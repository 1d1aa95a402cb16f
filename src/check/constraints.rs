//! Business constraints, recomputed from the inputs: account caps, locked and late-stage
//! accounts kept with their owner, the disruption budget, and no territory for a rep who
//! leaves.

use crate::model::scenario::SegmentDef;
use crate::model::{Accounts, RepIndex, RepStatus, Reps, Scenario};

pub struct PlanView<'a> {
    pub scenario: &'a Scenario,
    pub accounts: &'a Accounts,
    pub reps: Option<&'a Reps>,
    pub defs: &'a [SegmentDef],
    pub seg_of: &'a [u16],
    pub territory_of: &'a [usize],
    pub territory_ids: Vec<String>,
    pub territory_reps: Vec<String>,
    /// The owning reps by id (empty without reps).
    pub rep_by_id: RepIndex<'a>,
}

impl PlanView<'_> {
    /// Whether `owner` is an active rep selling into segment `s` (so could keep the account).
    fn keeps(&self, owner: &str, s: usize) -> bool {
        let Some(rep) = self.rep_by_id.get(owner) else {
            return false;
        };
        rep.status == RepStatus::Active
            && (self.defs.len() == 1 || self.defs[s].name.eq_ignore_ascii_case(rep.segment.trim()))
    }
}

pub fn check(p: &PlanView, failures: &mut Vec<String>) {
    let a = p.accounts;
    let k = p.territory_ids.len();
    // Caps: the plan's and each rep's own.
    let mut count = vec![0usize; k];
    for &t in p.territory_of {
        count[t] += 1;
    }
    for t in 0..k {
        let rep_cap = p
            .rep_by_id
            .get(p.territory_reps[t].as_str())
            .and_then(|r| r.max_accounts)
            .map(|c| c as usize);
        let cap = match (p.scenario.max_accounts, rep_cap) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        if let Some(cap) = cap
            && count[t] > cap
        {
            failures.push(format!(
                "{} holds {} accounts, over its cap of {cap}",
                p.territory_ids[t], count[t]
            ));
        }
    }
    for t in 0..k {
        if let Some(r) = p.rep_by_id.get(p.territory_reps[t].as_str())
            && r.status == RepStatus::Leaving
        {
            failures.push(format!(
                "{} is given to {}, who is leaving",
                p.territory_ids[t], r.id
            ));
        }
    }
    let realign = &p.scenario.realign;
    if !(realign.enabled && a.has_column("owner_id") && p.reps.is_some()) {
        return;
    }
    // Pins: locked (and late-stage) accounts stay with an owner who can keep them.
    let mut broken = Vec::new();
    for i in 0..a.len() {
        let pin = a.locked[i] || (realign.keep_late_stage && a.late_stage[i]);
        let owner = a.owner_id[i].as_str();
        if pin && p.keeps(owner, p.seg_of[i] as usize) {
            let t = p.territory_of[i];
            if p.territory_reps[t] != owner {
                broken.push(format!(
                    "{} (owner {owner}, now {} of {})",
                    a.id[i], p.territory_ids[t], p.territory_reps[t]
                ));
            }
        }
    }
    if !broken.is_empty() {
        failures.push(format!(
            "{} locked or late-stage accounts left their owner, e.g. {}",
            broken.len(),
            broken[..broken.len().min(5)].join("; ")
        ));
    }
    // Budget: moves the plan chose (the owner could have kept the account).
    let pipeline = a.numeric.get("pipeline").map(|c| &c.values);
    let (mut chosen, mut chosen_pipe, mut pipe_total) = (0usize, 0.0, 0.0);
    for i in 0..a.len() {
        let pipe = pipeline.map_or(0.0, |c| c[i]);
        pipe_total += pipe;
        let owner = a.owner_id[i].as_str();
        if owner.is_empty() || p.territory_reps[p.territory_of[i]] == owner {
            continue;
        }
        if p.keeps(owner, p.seg_of[i] as usize) {
            chosen += 1;
            chosen_pipe += pipe;
        }
    }
    if let Some(max) = realign.max_moved_accounts {
        let share = chosen as f64 / a.len().max(1) as f64;
        if share > max + 1e-9 {
            failures.push(format!(
                "{:.2}% of accounts change owner by choice, over the budget of {:.2}%",
                share * 100.0,
                max * 100.0
            ));
        }
    }
    if let Some(max) = realign.max_moved_pipeline {
        let share = if pipe_total > 0.0 {
            chosen_pipe / pipe_total
        } else {
            0.0
        };
        if share > max + 1e-9 {
            failures.push(format!(
                "{:.2}% of pipeline changes owner by choice, over the budget of {:.2}%",
                share * 100.0,
                max * 100.0
            ));
        }
    }
}
