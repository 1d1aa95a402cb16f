//! Generic, Dynamics 365 and HubSpot files: the hierarchy and a pre-computed
//! account → territory assignment (neither CRM has a declarative rule engine for it).

use std::collections::HashSet;
use std::io;

use uuid::Uuid;

use super::{Bundle, level_title};
use crate::io::output::safe_cell;
use crate::model::{Accounts, Plan};
use crate::rules::RuleSet;

fn csv_bytes(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(io::Error::other)?;
    for r in rows {
        let r: Vec<String> = r.iter().map(|c| safe_cell(c).into_owned()).collect();
        w.write_record(&r).map_err(io::Error::other)?;
    }
    w.into_inner().map_err(|e| io::Error::other(e.to_string()))
}

fn manual_set(set: &RuleSet) -> HashSet<&str> {
    set.nodes
        .iter()
        .flat_map(|n| n.manual_accounts.iter().map(String::as_str))
        .collect()
}

pub fn generic(b: &mut Bundle, plan: &Plan, accounts: &Accounts, set: &RuleSet) -> io::Result<()> {
    let rows = set.nodes.iter().map(|n| {
        vec![
            n.developer_name.clone(),
            n.parent
                .as_ref()
                .and_then(|p| set.nodes.iter().find(|x| x.id == *p))
                .map(|p| p.developer_name.clone())
                .unwrap_or_default(),
            n.name.clone(),
            level_title(&n.level),
            super::description(plan, n),
            n.rep_id.clone().unwrap_or_default(),
        ]
    });
    b.add(
        "generic/territories.csv".into(),
        csv_bytes(
            &[
                "key",
                "parent_key",
                "name",
                "type",
                "description",
                "manager_key",
            ],
            rows,
        )?,
    );
    b.add(
        "generic/rules.json".into(),
        super::rules_json(set).map_err(io::Error::other)?,
    );
    let manual = manual_set(set);
    let dev: Vec<&str> = plan
        .territories
        .iter()
        .map(|t| {
            set.nodes
                .iter()
                .find(|n| n.id == t.id)
                .map_or(t.id.as_str(), |n| n.developer_name.as_str())
        })
        .collect();
    let rows = (0..accounts.len()).map(|i| {
        let id = &accounts.id[i];
        vec![
            id.clone(),
            dev[plan.account_territory[i] as usize].to_string(),
            if manual.contains(id.as_str()) {
                "manual"
            } else {
                "rule"
            }
            .to_string(),
        ]
    });
    b.add(
        "generic/assignments.csv".into(),
        csv_bytes(&["account_key", "territory_key", "cause"], rows)?,
    );
    let key: std::collections::HashMap<&str, &str> = plan
        .territories
        .iter()
        .zip(&dev)
        .map(|(t, d)| (t.id.as_str(), *d))
        .collect();
    let overlay_rows = plan.overlays.iter().flat_map(|m| {
        m.territories.iter().filter_map(|t| {
            key.get(t.as_str())
                .map(|d| vec![m.rep_id.clone(), d.to_string(), m.role.clone()])
        })
    });
    let rows = plan
        .territories
        .iter()
        .zip(&dev)
        .filter(|(t, _)| t.status != "open")
        .map(|(t, d)| vec![t.rep_id.clone(), d.to_string(), "Owner".to_string()])
        .chain(overlay_rows);
    b.add(
        "generic/members.csv".into(),
        csv_bytes(&["user_key", "territory_key", "role"], rows)?,
    );
    Ok(())
}

/// Deterministic territory GUIDs (UUIDv5 of model and node), so parents need no lookups.
fn guid(set: &RuleSet, id: &str) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("terraplan/{}/{id}", set.model_developer_name).as_bytes(),
    )
    .to_string()
}

pub fn dynamics(b: &mut Bundle, plan: &Plan, accounts: &Accounts, set: &RuleSet) -> io::Result<()> {
    let territories: Vec<serde_json::Value> = set
        .nodes
        .iter()
        .map(|n| {
            let mut v = serde_json::json!({
                "territoryid": guid(set, &n.id),
                "name": n.name.chars().take(200).collect::<String>(),
                "description": super::description(plan, n).chars().take(2000).collect::<String>(),
                "terraplan_key": n.developer_name,
                "manager_key": n.rep_id,
            });
            if let Some(p) = &n.parent {
                v["parentterritoryid@odata.bind"] =
                    format!("/territories({})", guid(set, p)).into();
            }
            v
        })
        .collect();
    b.add(
        "dynamics365/territories.json".into(),
        serde_json::to_vec_pretty(&territories).map_err(io::Error::other)?,
    );
    // One GUID (a SHA-1) per territory, not per account.
    let guids: Vec<String> = plan.territories.iter().map(|t| guid(set, &t.id)).collect();
    let rows = (0..accounts.len()).map(|i| {
        let t = plan.account_territory[i] as usize;
        vec![
            accounts.id[i].clone(),
            guids[t].clone(),
            plan.territories[t].id.clone(),
        ]
    });
    b.add(
        "dynamics365/account-territory.csv".into(),
        csv_bytes(&["account_key", "territoryid", "territory_key"], rows)?,
    );
    let rows = plan
        .territories
        .iter()
        .filter(|t| t.status != "open")
        .map(|t| vec![t.rep_id.clone(), guid(set, &t.id), t.id.clone()]);
    b.add(
        "dynamics365/systemuser-territory.csv".into(),
        csv_bytes(&["user_key", "territoryid", "territory_key"], rows)?,
    );
    Ok(())
}

pub fn hubspot(b: &mut Bundle, plan: &Plan, accounts: &Accounts, set: &RuleSet) -> io::Result<()> {
    let rows = (0..accounts.len()).map(|i| {
        let t = &plan.territories[plan.account_territory[i] as usize];
        vec![accounts.id[i].clone(), t.id.clone(), t.rep_id.clone()]
    });
    b.add(
        "hubspot/companies-territory.csv".into(),
        csv_bytes(&["company_key", "territory", "owner_key"], rows)?,
    );
    let options: Vec<serde_json::Value> = plan
        .territories
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::json!({"label": t.name, "value": t.id, "displayOrder": i, "hidden": false}))
        .collect();
    let property = serde_json::json!({
        "name": "territory",
        "label": "Territory",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "companyinformation",
        "description": format!("terraplan plan {}", set.model),
        "options": options,
    });
    b.add(
        "hubspot/territory-property-options.json".into(),
        serde_json::to_vec_pretty(&property).map_err(io::Error::other)?,
    );
    Ok(())
}
