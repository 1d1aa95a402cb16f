//! Salesforce Enterprise Territory Management: the Metadata API folder (mdapi format,
//! deploy with `sf project deploy start --metadata-dir salesforce/10-metadata`), the
//! key-based data CSVs for users and manual accounts with the SOQL that resolves their
//! Ids, the optional key-field mapping, and a README giving the load order
//! (crm-export-formats.md §1). Elements are written in schema (alphabetical) order and
//! every value is XML-escaped.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::{Bundle, level_title};
use crate::overlay::OverlayMember;
use crate::rules::{RuleNode, RuleSet, crm_field, developer_name};

const NS: &str = "http://soap.sforce.com/2006/04/metadata";
const API_VERSION: &str = "62.0";

type Xml = Writer<Vec<u8>>;

fn el(w: &mut Xml, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

fn document(root: &str, body: impl FnOnce(&mut Xml) -> io::Result<()>) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 4);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element(root)
        .with_attribute(("xmlns", NS))
        .write_inner_content(body)?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

/// The territory types: one per level, priorities unique (10, 20, … from the top).
pub fn types(set: &RuleSet) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for n in &set.nodes {
        let dev = developer_name(&level_title(&n.level));
        if !out.iter().any(|t| t.0 == dev) {
            out.push((dev, level_title(&n.level)));
        }
    }
    out
}

fn territory_xml(
    n: &RuleNode,
    parent: Option<&str>,
    kind: &str,
    description: &str,
) -> io::Result<Vec<u8>> {
    document("Territory2", |w| {
        el(w, "description", description)?;
        el(w, "name", &n.name)?;
        if let Some(p) = parent {
            el(w, "parentTerritory", p)?;
        }
        for r in &n.rules {
            w.create_element("ruleAssociations")
                .write_inner_content(|w| {
                    el(w, "inherited", if r.inherited { "true" } else { "false" })?;
                    el(w, "ruleName", &r.name)
                })?;
        }
        el(w, "territory2Type", kind)
    })
}

fn rule_xml(r: &crate::rules::Rule) -> io::Result<Vec<u8>> {
    document("Territory2Rule", |w| {
        el(w, "active", "true")?;
        if let Some(f) = &r.boolean_filter {
            el(w, "booleanFilter", f)?;
        }
        el(w, "name", &r.label)?;
        el(w, "objectType", "Account")?;
        for i in &r.items {
            w.create_element("ruleItems").write_inner_content(|w| {
                el(w, "field", &crm_field(&i.field))?;
                el(
                    w,
                    "operation",
                    &serde_json::to_value(i.op)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                )?;
                el(w, "value", &i.values.join(","))
            })?;
        }
        Ok(())
    })
}

fn package_xml(set: &RuleSet, types: &[(String, String)]) -> io::Result<Vec<u8>> {
    let model = &set.model_developer_name;
    let mut territories: Vec<String> = set
        .nodes
        .iter()
        .map(|n| format!("{model}.{}", n.developer_name))
        .collect();
    territories.sort();
    let mut rules: Vec<String> = set
        .nodes
        .iter()
        .flat_map(|n| n.rules.iter().map(|r| format!("{model}.{}", r.name)))
        .collect();
    rules.sort();
    let mut type_names: Vec<String> = types.iter().map(|t| t.0.clone()).collect();
    type_names.sort();
    document("Package", |w| {
        for (name, members) in [
            ("Territory2", territories),
            ("Territory2Model", vec![model.clone()]),
            ("Territory2Rule", rules),
            ("Territory2Type", type_names),
        ] {
            w.create_element("types").write_inner_content(|w| {
                for m in &members {
                    el(w, "members", m)?;
                }
                el(w, "name", name)
            })?;
        }
        el(w, "version", API_VERSION)
    })
}

/// Everything under `salesforce/`.
pub fn files(
    b: &mut Bundle,
    set: &RuleSet,
    descriptions: &dyn Fn(&RuleNode) -> String,
    overlays: &[OverlayMember],
) -> io::Result<()> {
    let model = &set.model_developer_name;
    let meta = "salesforce/10-metadata";
    let types = types(set);
    for (i, (dev, label)) in types.iter().enumerate() {
        let bytes = document("Territory2Type", |w| {
            el(
                w,
                "description",
                &format!("{label} level of the terraplan hierarchy"),
            )?;
            el(w, "name", label)?;
            el(w, "priority", &((i + 1) * 10).to_string())
        })?;
        b.add(
            format!("{meta}/territory2Types/{dev}.territory2Type"),
            bytes,
        );
    }
    let model_xml = document("Territory2Model", |w| {
        el(
            w,
            "description",
            &format!("Territory plan '{}' exported by terraplan", set.model),
        )?;
        el(w, "name", &set.model.chars().take(80).collect::<String>())
    })?;
    b.add(
        format!("{meta}/territory2Models/{model}/{model}.territory2Model"),
        model_xml,
    );
    let dev_of = |id: &str| {
        set.nodes
            .iter()
            .find(|n| n.id == id)
            .map(|n| n.developer_name.clone())
    };
    for n in &set.nodes {
        let parent = n.parent.as_deref().and_then(dev_of);
        let kind = developer_name(&level_title(&n.level));
        let xml = territory_xml(n, parent.as_deref(), &kind, &descriptions(n))?;
        b.add(
            format!(
                "{meta}/territory2Models/{model}/territories/{}.territory2",
                n.developer_name
            ),
            xml,
        );
        for r in &n.rules {
            b.add(
                format!(
                    "{meta}/territory2Models/{model}/rules/{}.territory2Rule",
                    r.name
                ),
                rule_xml(r)?,
            );
        }
    }
    b.add(format!("{meta}/package.xml"), package_xml(set, &types)?);

    // Record data, keyed; Ids are resolved after the deploy.
    let mut users = csv::Writer::from_writer(Vec::new());
    users
        .write_record(["RepId", "TerritoryDeveloperName", "RoleInTerritory2"])
        .map_err(io::Error::other)?;
    let mut manual = csv::Writer::from_writer(Vec::new());
    manual
        .write_record([
            "AccountNumber",
            "TerritoryDeveloperName",
            "AssociationCause",
        ])
        .map_err(io::Error::other)?;
    for n in &set.nodes {
        if let Some(rep) = n.rep_id.as_ref().filter(|r| !r.starts_with("OPEN-")) {
            users
                .write_record([rep.as_str(), &n.developer_name, "Owner"])
                .map_err(io::Error::other)?;
        }
        for a in &n.manual_accounts {
            manual
                .write_record([a.as_str(), &n.developer_name, "Territory2Manual"])
                .map_err(io::Error::other)?;
        }
    }
    // Overlay reps join each territory they cover, under their role's name (a value the
    // org's RoleInTerritory2 picklist must hold).
    let developer: std::collections::HashMap<&str, &str> = set
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.developer_name.as_str()))
        .collect();
    for m in overlays {
        for t in &m.territories {
            if let Some(d) = developer.get(t.as_str()) {
                users
                    .write_record([m.rep_id.as_str(), d, &m.role])
                    .map_err(io::Error::other)?;
            }
        }
    }
    b.add(
        "salesforce/20-data/UserTerritory2Association.keys.csv".into(),
        users
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?,
    );
    b.add(
        "salesforce/20-data/ObjectTerritory2Association.keys.csv".into(),
        manual
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?,
    );
    if set.nodes.iter().any(|n| !n.excluded_accounts.is_empty()) {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["AccountNumber", "TerritoryDeveloperName"])
            .map_err(io::Error::other)?;
        for n in &set.nodes {
            for a in &n.excluded_accounts {
                w.write_record([a.as_str(), &n.developer_name])
                    .map_err(io::Error::other)?;
            }
        }
        b.add(
            "salesforce/20-data/Territory2ObjectExclusion.keys.csv".into(),
            w.into_inner()
                .map_err(|e| io::Error::other(e.to_string()))?,
        );
    }
    let soql = format!(
        "-- Territory Ids by developer name (join on TerritoryDeveloperName)\n\
         SELECT Id, DeveloperName FROM Territory2 WHERE Territory2Model.DeveloperName = '{model}'\n\
         -- User Ids: terraplan's RepId is expected in User.FederationIdentifier (change the field if yours differs)\n\
         SELECT Id, FederationIdentifier, Username FROM User WHERE IsActive = true\n\
         -- Account Ids by account number (AccountNumber holds terraplan's account_id)\n\
         SELECT Id, AccountNumber FROM Account WHERE AccountNumber != null\n"
    );
    b.add("salesforce/20-data/resolve.soql".into(), soql.into_bytes());
    if let Some(k) = &set.key_field {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["Segment", "BillingPostalCode", "Territory_Key__c"])
            .map_err(io::Error::other)?;
        for (key, dev) in &k.mapping {
            let (seg, code) = key.split_once('|').unwrap_or(("", key));
            w.write_record([seg, code, dev.as_str()])
                .map_err(io::Error::other)?;
        }
        b.add(
            "salesforce/30-optional-key-field/territory-key-mapping.csv".into(),
            w.into_inner()
                .map_err(|e| io::Error::other(e.to_string()))?,
        );
    }
    b.add("salesforce/README.md".into(), readme(set).into_bytes());
    Ok(())
}

fn readme(set: &RuleSet) -> String {
    let model = &set.model_developer_name;
    let manual: usize = set.nodes.iter().map(|n| n.manual_accounts.len()).sum();
    let rules: usize = set.nodes.iter().map(|n| n.rules.len()).sum();
    let key = if set.key_field.is_some() {
        "\n5a. Some territories route on the custom field `Account.Territory_Key__c` (their postal lists did not fit\n    Salesforce's 10 items × 1,000 characters). Create the field and fill it from\n    `30-optional-key-field/territory-key-mapping.csv` (formula, flow or data load) before running the rules.\n"
    } else {
        ""
    };
    let records = if set.stats.exclusion_records > 0 {
        format!(
            "\n   Some segments have more exceptions than exclusion rules can hold: for those, join\n   \
             `20-data/Territory2ObjectExclusion.keys.csv` ({} rows) to account and territory Ids and insert\n   \
             `ObjectId,Territory2Id` into Territory2ObjectExclusion (API 54.0+) before running the rules.",
            set.stats.exclusion_records
        )
    } else {
        String::new()
    };
    format!(
        "# Salesforce Territory Management bundle: model `{model}`\n\n\
         {} territories, {rules} assignment rules, {manual} manually assigned accounts. Made by terraplan;\n\
         the rules were replayed against every account and every postal code before export.\n\n\
         ## Load order\n\n\
         0. Territory Management must be enabled (Setup → Territory Settings). terraplan does not ship\n   \
            org-wide settings because they change sharing defaults.\n\
         1. Deploy the structure (types, model, territories, rules) in one go:\n   \
            `sf project deploy start --metadata-dir salesforce/10-metadata --target-org <alias>`\n   \
            The model is created in Planning state. The deploy adds and updates; it deletes nothing.\n\
         2. Resolve Ids with the queries in `20-data/resolve.soql` (export each to CSV).\n\
         3. Users: join `20-data/UserTerritory2Association.keys.csv` to the territory and user Ids and insert\n   \
            `UserId,Territory2Id,RoleInTerritory2` into UserTerritory2Association (Data Loader, insert).\n   \
            Owners carry the role `Owner`; overlay reps (SE, SDR, …) one row per territory they cover, with their\n   \
            role: add those values to the RoleInTerritory2 picklist first (Setup → Picklist Value Sets).\n\
         4. Manual accounts: join `20-data/ObjectTerritory2Association.keys.csv` to account and territory Ids and\n   \
            insert `ObjectId,Territory2Id,AssociationCause` (cause `Territory2Manual`). These are the named-account\n   \
            exceptions (pinned accounts, parts of split postal codes); the rules exclude them by account number\n   \
            so no account lands in two territories.{records}\n\
         5. Setup → Territory Models → `{}` → Run Assignment Rules (a preview while the model is Planning).{key}\n\
         6. Review, then Activate the model (one-way: Planning → Active → Archived).\n\n\
         Field mapping: postal_code → Account.BillingPostalCode, account_id → Account.AccountNumber,\n\
         employees → Account.NumberOfEmployees, annual_revenue → Account.AnnualRevenue, industry → Account.Industry,\n\
         state → Account.BillingState, country → Account.BillingCountry, other columns → Account.<Column>__c.\n\
         With State and Country picklists enabled, rules on state or country need `contains` instead of `equals`.\n",
        set.nodes.len(),
        set.model
    )
}
