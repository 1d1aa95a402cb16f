//! Assignment rules the CRM can load: the generic rule model (`rules.json`), the compiler
//! that turns a plan into rules within Salesforce's limits, and an evaluator with the
//! CRM's semantics that replays them. No I/O.
//!
//! Semantics (Salesforce Enterprise Territory Management): items of a rule combine as its
//! `boolean_filter` says (all AND without one); a comma list is an OR; several rules on a
//! territory combine with AND; a rule marked inherited also applies to every descendant;
//! a territory with no rule at all matches nothing; on one branch only the lowest matching
//! territory keeps the account; manual associations add to what rules give.

pub mod compile;
pub mod eval;
pub mod prefix;

use serde::{Deserialize, Serialize};

pub use crate::model::scenario::Op;

/// The postal codes rules must route: the bundled US ZIP table for lat/lon plans (every
/// US ZIP, also those without an account today), else the accounts' own codes.
pub fn universe(coordinates: crate::geometry::Coordinates) -> compile::Universe {
    let mut u = compile::Universe {
        codes: Vec::new(),
        pos: Vec::new(),
    };
    if coordinates == crate::geometry::Coordinates::Latlon
        && let Ok(zips) = crate::generate::parse_zips(crate::generate::US_ZIPS)
    {
        for z in zips {
            u.codes.push(z.code);
            u.pos.push([z.lat, z.lon]);
        }
    }
    u
}

/// Replays `set` on the plan's accounts and on the postal universe.
pub fn replay_plan(set: &RuleSet, input: &compile::Input) -> Result<eval::Replay, String> {
    let want: Vec<String> = input
        .plan
        .account_territory
        .iter()
        .map(|&t| input.plan.territories[t as usize].id.clone())
        .collect();
    replay_accounts(
        set,
        input.accounts,
        input.defs,
        input.seg_of,
        &want,
        input.universe,
    )
}

/// Replays `set` on `accounts` (each expected in territory `want[i]`) and on every
/// postal code of the universe plus the accounts' own codes.
pub fn replay_accounts(
    set: &RuleSet,
    accounts: &crate::model::Accounts,
    defs: &[crate::model::scenario::SegmentDef],
    seg_of: &[u16],
    want: &[String],
    universe: &compile::Universe,
) -> Result<eval::Replay, String> {
    let ev = eval::Evaluator::new(set)?;
    let key_of: std::collections::HashMap<String, String> = set
        .key_field
        .as_ref()
        .map(|k| k.mapping.iter().cloned().collect())
        .unwrap_or_default();
    let owned = compile::columns_for(&ev.fields, accounts, defs, seg_of, &key_of);
    let cols = eval::view(&owned);
    let (codes, _) = compile::code_list(universe, accounts);
    Ok(eval::replay(&ev, &accounts.id, &cols, want, &codes))
}

/// Salesforce's limits checked on a rule set: (errors, warnings).
pub fn validate(set: &RuleSet) -> (Vec<String>, Vec<String>) {
    use limits::*;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut names = std::collections::HashSet::new();
    let mut rule_names = std::collections::HashSet::new();
    if !is_developer_name(&set.model_developer_name) {
        errors.push(format!(
            "model developer name '{}' is invalid",
            set.model_developer_name
        ));
    }
    let leaves = set.nodes.iter().filter(|n| n.level == "territory").count();
    if set.nodes.len() > TERRITORIES_PER_MODEL {
        warnings.push(format!(
            "{} territories (with {leaves} leaves) exceed Salesforce's default of {TERRITORIES_PER_MODEL} per model; ask Salesforce to raise it",
            set.nodes.len()
        ));
    }
    for n in &set.nodes {
        if !is_developer_name(&n.developer_name) || !names.insert(n.developer_name.clone()) {
            errors.push(format!(
                "territory developer name '{}' is invalid or repeated",
                n.developer_name
            ));
        }
        if n.rules.len() > RULES_PER_TERRITORY {
            errors.push(format!(
                "{} has {} rules (limit {RULES_PER_TERRITORY})",
                n.id,
                n.rules.len()
            ));
        }
        for r in &n.rules {
            if !is_developer_name(&r.name) || !rule_names.insert(r.name.clone()) {
                errors.push(format!(
                    "rule developer name '{}' is invalid or repeated",
                    r.name
                ));
            }
            if r.items.len() > ITEMS_PER_RULE || r.items.is_empty() {
                errors.push(format!(
                    "rule {} has {} items (1 to {ITEMS_PER_RULE})",
                    r.name,
                    r.items.len()
                ));
            }
            if r.boolean_filter
                .as_ref()
                .is_some_and(|f| f.len() > BOOLEAN_FILTER_CHARS)
            {
                errors.push(format!(
                    "rule {}: boolean filter over {BOOLEAN_FILTER_CHARS} characters",
                    r.name
                ));
            }
            if r.label.chars().count() > 80 {
                errors.push(format!("rule {}: label over 80 characters", r.name));
            }
            for i in &r.items {
                let v = i.values.join(",");
                if v.chars().count() > VALUE_CHARS {
                    errors.push(format!(
                        "rule {}: a value list of {} characters (limit {VALUE_CHARS})",
                        r.name,
                        v.chars().count()
                    ));
                }
                if i.values.iter().any(|x| x.contains(',')) {
                    errors.push(format!("rule {}: a value contains a comma", r.name));
                }
            }
        }
    }
    (errors, warnings)
}

/// Salesforce's limits (crm-export-formats.md §1.4).
pub mod limits {
    pub const ITEMS_PER_RULE: usize = 10;
    pub const VALUE_CHARS: usize = 1000;
    pub const BOOLEAN_FILTER_CHARS: usize = 255;
    pub const RULES_PER_TERRITORY: usize = 15;
    pub const TERRITORIES_PER_MODEL: usize = 1000;
    pub const DEVELOPER_NAME_CHARS: usize = 80;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// An accounts.csv column (see `crm_field` for the Salesforce name).
    pub field: String,
    pub op: Op,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Developer name: unique in the model.
    pub name: String,
    pub label: String,
    /// Applies to the territory and all its descendants.
    pub inherited: bool,
    pub items: Vec<Item>,
    /// e.g. `(1 OR 2) AND 3`; None = all items ANDed.
    pub boolean_filter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleNode {
    /// Plan id (territory or hierarchy node).
    pub id: String,
    /// Salesforce developer name.
    pub developer_name: String,
    pub name: String,
    /// `segment`, a level name, or `territory`.
    pub level: String,
    pub parent: Option<String>,
    pub rep_id: Option<String>,
    pub rules: Vec<Rule>,
    /// Accounts placed here by hand (named-account exceptions).
    pub manual_accounts: Vec<String>,
    /// Accounts this node's rules must skip (Salesforce `Territory2ObjectExclusion`, API
    /// 54.0+): used when a segment's exceptions are too many for exclusion rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_accounts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    pub model: String,
    pub model_developer_name: String,
    /// Parents before children.
    pub nodes: Vec<RuleNode>,
    /// Set when some territory's postal list could not fit its rules: postal code → key
    /// for the custom field `Territory_Key__c`.
    pub key_field: Option<KeyField>,
    pub stats: RuleStats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyField {
    pub field: String,
    /// (postal code, territory developer name)
    pub mapping: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RuleStats {
    pub postal_universe: usize,
    pub postal_codes_without_accounts: usize,
    /// Per territory (leaf): rule items (local), mean and max.
    pub items_per_territory_mean: f64,
    pub items_per_territory_max: usize,
    pub values_per_territory_mean: f64,
    pub values_per_territory_max: usize,
    pub manual_accounts: usize,
    pub key_field_territories: usize,
    /// Account × territory exclusion records (segments whose exceptions overflow rules).
    #[serde(default)]
    pub exclusion_records: usize,
}

/// The Salesforce Account field an accounts.csv column maps to (INTERFACE.md).
pub fn crm_field(column: &str) -> String {
    match column {
        "postal_code" => "Account.BillingPostalCode".into(),
        "state" => "Account.BillingState".into(),
        "country" => "Account.BillingCountry".into(),
        "industry" => "Account.Industry".into(),
        "employees" => "Account.NumberOfEmployees".into(),
        "annual_revenue" => "Account.AnnualRevenue".into(),
        "account_id" => "Account.AccountNumber".into(),
        "name" => "Account.Name".into(),
        compile::KEY_FIELD => "Account.Territory_Key__c".into(),
        other => format!("Account.{}__c", developer_name(other)),
    }
}

/// A valid Salesforce developer name: letters, digits and `_`, starting with a letter, no
/// `__`, not ending with `_`, at most 80 characters.
pub fn developer_name(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if c == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(c);
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert(0, 'X');
    }
    out.truncate(limits::DEVELOPER_NAME_CHARS);
    while out.ends_with('_') {
        out.pop();
    }
    out
}

pub fn is_developer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= limits::DEVELOPER_NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn developer_names_are_valid() {
        for raw in ["S1-R1-D2", "9 lives", "__x__", "Tëst name_", "a__b", ""] {
            let d = developer_name(raw);
            assert!(is_developer_name(&d), "{raw} → {d}");
        }
        assert_eq!(developer_name("S1-R1-D2"), "S1_R1_D2");
    }
}
