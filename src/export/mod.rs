//! CRM export bundles (crm-export-formats.md §6): generic CSV/JSON, the Salesforce
//! Metadata API package with its data CSVs, Dynamics 365 and HubSpot files, and a manifest.
//! Pure formatting: every decision was made by the planner and the rule compiler.

mod crms;
pub mod salesforce;

use crate::model::{Accounts, Plan};
use crate::rules::{RuleNode, RuleSet};

/// Files of the bundle, by path relative to the output folder.
#[derive(Default)]
pub struct Bundle {
    pub files: Vec<(String, Vec<u8>)>,
    pub warnings: Vec<String>,
}

impl Bundle {
    pub fn add(&mut self, path: String, bytes: Vec<u8>) {
        self.files.push((path, bytes));
    }
}

/// "district" → "District".
pub fn level_title(level: &str) -> String {
    let mut c = level.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Every export of a plan whose rules were compiled and replayed.
pub fn bundle(plan: &Plan, accounts: &Accounts) -> Result<Bundle, String> {
    let Some(set) = &plan.rules else {
        return Ok(Bundle::default());
    };
    let (errors, warnings) = crate::rules::validate(set);
    if !errors.is_empty() {
        return Err(format!(
            "the rules break Salesforce limits: {}",
            errors.join("; ")
        ));
    }
    let mut b = Bundle {
        warnings,
        ..Bundle::default()
    };
    if !plan.overlays.is_empty() {
        b.warnings.push(
            "Dynamics 365 allows one territory per user: overlay reps are in generic/members.csv and the Salesforce user CSV only"
                .into(),
        );
    }
    let describe = |n: &RuleNode| description(plan, n);
    // The four targets side by side (each writes its own files; at 1M accounts the
    // bundle took 1.05 s on one core, 0.9 s now beside the report and the rest), joined in this order.
    use rayon::prelude::*;
    let targets: Vec<std::io::Result<Bundle>> = (0..4)
        .into_par_iter()
        .map(|target| {
            let mut part = Bundle::default();
            match target {
                0 => salesforce::files(&mut part, set, &describe, &plan.overlays)?,
                1 => crms::generic(&mut part, plan, accounts, set)?,
                2 => crms::dynamics(&mut part, plan, accounts, set)?,
                _ => crms::hubspot(&mut part, plan, accounts, set)?,
            }
            Ok(part)
        })
        .collect();
    for part in targets {
        b.files.extend(part.map_err(|e| e.to_string())?.files);
    }
    let manifest = serde_json::json!({
        "tool": "terraplan",
        "version": env!("CARGO_PKG_VERSION"),
        "model": set.model,
        "model_developer_name": set.model_developer_name,
        "targets": ["generic", "salesforce", "dynamics365", "hubspot"],
        "territories": set.nodes.len(),
        "manual_accounts": set.stats.manual_accounts,
        "exclusion_records": set.stats.exclusion_records,
        "warnings": b.warnings,
        "files": b.files.iter().map(|(p, bytes)| serde_json::json!({"path": p, "bytes": bytes.len()})).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    b.add("manifest.json".into(), bytes);
    Ok(b)
}

/// A node's description for the CRM: its rep, accounts and the first metric.
fn description(plan: &Plan, n: &RuleNode) -> String {
    let text = if let Some(t) = plan.territories.iter().find(|t| t.id == n.id) {
        format!(
            "{} · rep {} ({}) · {} accounts · terraplan {}",
            t.name, t.rep_id, t.status, t.accounts, plan.summary.scenario
        )
    } else if let Some(h) = plan.nodes.iter().find(|h| h.id == n.id) {
        format!(
            "{} {} · {} territories · {} accounts · terraplan {}",
            level_title(&h.level),
            h.name,
            h.territories,
            h.accounts,
            plan.summary.scenario
        )
    } else {
        n.name.clone()
    };
    text.chars().take(255).collect()
}

/// The rule set as written to rules.json and generic/rules.json.
pub fn rules_json(set: &RuleSet) -> Result<Vec<u8>, String> {
    serde_json::to_vec_pretty(set).map_err(|e| e.to_string())
}
