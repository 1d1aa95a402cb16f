//! The CRM bundle: complete, parseable, in schema order, within Salesforce's limits, and
//! reproducing the plan when its rules are replayed or routed.

use std::collections::BTreeSet;
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::Event;
use terraplan::check::check_dir;
use terraplan::rules::{RuleSet, validate};

use crate::util::{bin, col, files_under, plan, read_csv, repo, write};

/// Direct children of the root element, in order, and all text, failing on bad XML.
fn children(path: &Path) -> (String, Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = Reader::from_str(&text);
    let (mut depth, mut root, mut kids, mut texts) = (0, String::new(), Vec::new(), Vec::new());
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => {
                let name = AsRef::<str>::as_ref(&e.name()).to_string();
                if depth == 0 {
                    root = name;
                } else if depth == 1 {
                    kids.push(name);
                }
                depth += 1;
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Text(t)) => texts.push(t.xml10_content().into_owned()),
            Ok(Event::GeneralRef(g)) => texts.push(format!("&{};", g.xml10_content())),
            Ok(Event::Eof) => break,
            Err(e) => panic!("{}: {e}", path.display()),
            _ => {}
        }
    }
    assert_eq!(depth, 0, "{} is not closed", path.display());
    (root, kids, texts)
}

#[test]
fn sample_bundle_is_complete_valid_and_replays_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sample");
    bin()
        .args(["plan", "data/scenario.toml", "--quiet", "--out"])
        .arg(&out)
        .current_dir(repo())
        .assert()
        .success();
    for f in [
        "rules.json",
        "manifest.json",
        "generic/territories.csv",
        "generic/rules.json",
        "generic/assignments.csv",
        "generic/members.csv",
        "salesforce/README.md",
        "salesforce/10-metadata/package.xml",
        "salesforce/20-data/UserTerritory2Association.keys.csv",
        "salesforce/20-data/ObjectTerritory2Association.keys.csv",
        "salesforce/20-data/resolve.soql",
        "dynamics365/territories.json",
        "dynamics365/account-territory.csv",
        "dynamics365/systemuser-territory.csv",
        "hubspot/companies-territory.csv",
        "hubspot/territory-property-options.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // Every XML file parses and its elements are in schema (alphabetical) order.
    let meta = out.join("salesforce/10-metadata");
    let mut on_disk = BTreeSet::new();
    let mut referenced = BTreeSet::new();
    for p in files_under(&meta) {
        let (root, kids, texts) = children(&p);
        let mut sorted = kids.clone();
        sorted.sort();
        assert_eq!(kids, sorted, "{} elements out of order", p.display());
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        match root.as_str() {
            "Territory2" => {
                on_disk.insert(format!("Territory2:sample.{stem}"));
                let text = std::fs::read_to_string(&p).unwrap();
                for part in text.split("<ruleName>").skip(1) {
                    referenced.insert(part.split('<').next().unwrap().to_string());
                }
            }
            "Territory2Rule" => {
                on_disk.insert(format!("Territory2Rule:sample.{stem}"));
                assert!(texts.iter().any(|t| t == "Account"));
            }
            "Territory2Type" => {
                on_disk.insert(format!("Territory2Type:{stem}"));
            }
            "Territory2Model" => {
                on_disk.insert(format!("Territory2Model:{stem}"));
            }
            "Package" => {}
            other => panic!("unexpected root {other} in {}", p.display()),
        }
    }
    // package.xml lists exactly the components on disk, and every rule is associated.
    let pkg = std::fs::read_to_string(meta.join("package.xml")).unwrap();
    let mut listed = BTreeSet::new();
    for block in pkg.split("<types>").skip(1) {
        let name = block
            .split("<name>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap();
        for m in block.split("<members>").skip(1) {
            listed.insert(format!("{name}:{}", m.split('<').next().unwrap()));
        }
    }
    assert_eq!(listed, on_disk);
    let rules: BTreeSet<String> = on_disk
        .iter()
        .filter_map(|c| c.strip_prefix("Territory2Rule:sample."))
        .map(String::from)
        .collect();
    assert_eq!(
        rules, referenced,
        "every rule is associated with a territory, and only those"
    );

    // Limits, then the replay and the router agree with the plan.
    let set: RuleSet =
        serde_json::from_str(&std::fs::read_to_string(out.join("rules.json")).unwrap()).unwrap();
    let (errors, _) = validate(&set);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(set.stats.items_per_territory_max <= 10);
    let report = check_dir(&out).unwrap();
    assert!(report.ok(), "{:?}", report.failures);
    let (matched, codes_ok, codes) = report.rules_replayed.unwrap();
    assert_eq!(matched, 10_000);
    assert!(codes > 30_000, "the whole US ZIP universe: {codes}");
    assert_eq!(codes_ok, codes);
    let routed = tmp.path().join("routed.csv");
    bin()
        .args(["route", "--rules"])
        .arg(out.join("rules.json"))
        .arg("--accounts")
        .arg(repo().join("data/accounts.csv"))
        .arg("--out")
        .arg(&routed)
        .assert()
        .success();
    let (h, rows) = read_csv(&routed);
    let (ah, arows) = read_csv(&out.join("assignments.csv"));
    assert_eq!(rows.len(), arows.len());
    for (r, a) in rows.iter().zip(&arows) {
        assert_eq!(r[col(&h, "account_id")], a[col(&ah, "account_id")]);
        assert_eq!(r[col(&h, "territory_id")], a[col(&ah, "territory_id")]);
    }
    // Manual accounts in the data CSV are exactly the rule set's exceptions.
    let (_, manual) =
        read_csv(&out.join("salesforce/20-data/ObjectTerritory2Association.keys.csv"));
    assert_eq!(manual.len(), set.stats.manual_accounts);
}

/// A small planar plan with a hostile segment value: the bundle escapes it and the snapshot
/// guards the format of each Salesforce file kind.
#[test]
fn salesforce_files_escape_values_and_keep_their_format() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("account_id,x,y,postal_code,industry\n");
    for i in 0..48 {
        let industry = if i % 4 == 0 {
            "R&D <\"Labs\"> 'x'"
        } else {
            "Retail"
        };
        csv.push_str(&format!(
            "A{i:03},{},{},Z{:02},{industry}\n",
            i % 8,
            i / 8,
            i / 4
        ));
    }
    write(tmp.path(), "accounts.csv", &csv);
    let s = write(
        tmp.path(),
        "s.toml",
        "name = \"Snap & Shot\"\nseed = 1\n[input]\naccounts = \"accounts.csv\"\ncoordinates = \"xy\"\n\
         [[segment]]\nname = \"Labs\"\ncriteria = [{ field = \"industry\", op = \"equals\", value = \"R&D <\\\"Labs\\\"> 'x'\" }]\nterritories = 1\n\
         [[segment]]\nname = \"Rest\"\nterritories = 2\n[[balance]]\nmetric = \"accounts\"\ntolerance = 0.3\n[objective]\nweight = \"accounts\"\n",
    );
    let out = plan(tmp.path(), "out", &s, &[]);
    let meta = out.join("salesforce/10-metadata");
    let rule = meta.join("territory2Models/Snap_Shot/rules/S1_Segment.territory2Rule");
    let text = std::fs::read_to_string(&rule).unwrap();
    assert!(
        text.contains("R&amp;D &lt;&quot;Labs&quot;&gt; &apos;x&apos;"),
        "{text}"
    );
    let (_, _, texts) = children(&rule);
    let joined = texts.concat();
    assert!(
        joined.contains("R&amp;D &lt;&quot;Labs&quot;&gt;"),
        "{joined}"
    );
    insta::assert_snapshot!("segment_rule", text);
    let negated = std::fs::read_to_string(
        meta.join("territory2Models/Snap_Shot/rules/S2_Segment.territory2Rule"),
    )
    .unwrap();
    insta::assert_snapshot!("negated_segment_rule", negated);
    insta::assert_snapshot!(
        "territory",
        std::fs::read_to_string(
            meta.join("territory2Models/Snap_Shot/territories/T002.territory2")
        )
        .unwrap()
    );
    insta::assert_snapshot!(
        "package",
        std::fs::read_to_string(meta.join("package.xml")).unwrap()
    );
    insta::assert_snapshot!(
        "model",
        std::fs::read_to_string(meta.join("territory2Models/Snap_Shot/Snap_Shot.territory2Model"))
            .unwrap()
    );
    let report = check_dir(&out).unwrap();
    assert!(report.ok(), "{:?}", report.failures);
}

/// Plans `accounts` (x, y, postal_code; one unit per account) into two territories balanced
/// on accounts at ±5%; returns the output folder and its rules.json.
fn plan_two_territories(dir: &std::path::Path, accounts: &str) -> (std::path::PathBuf, RuleSet) {
    write(dir, "accounts.csv", accounts);
    let s = write(
        dir,
        "s.toml",
        "name = \"two\"\n[input]\naccounts = \"accounts.csv\"\ncoordinates = \"xy\"\nunit = \"account\"\n[plan]\nterritories = 2\n[[balance]]\nmetric = \"accounts\"\ntolerance = 0.05\n[objective]\nweight = \"accounts\"\n",
    );
    let out = plan(dir, "out", &s, &[]);
    let set =
        serde_json::from_str(&std::fs::read_to_string(out.join("rules.json")).unwrap()).unwrap();
    (out, set)
}

/// Postal lists that cannot fit ten 1,000-character items fall back to the key field: a
/// mapping table for `Territory_Key__c`, rules on the key, and the replay still exact.
#[test]
fn oversized_postal_lists_fall_back_to_the_key_field() {
    let tmp = tempfile::tempdir().unwrap();
    // Even codes in the west, odd codes in the east: no prefix is shared by one side.
    let mut csv = String::from("account_id,x,y,postal_code\n");
    for i in 0..5000 {
        let x = if i % 2 == 0 {
            (i % 97) as f64 / 2.0
        } else {
            60.0 + (i % 89) as f64 / 2.0
        };
        csv.push_str(&format!("A{i},{x},{},{:05}\n", (i % 101) as f64, i * 7 + 3));
    }
    let (out, set) = plan_two_territories(tmp.path(), &csv);
    let key = set
        .key_field
        .as_ref()
        .expect("the key-field fallback is used");
    assert_eq!(key.field, "Account.Territory_Key__c");
    assert_eq!(key.mapping.len(), 5000, "every postal code has a key");
    assert!(set.stats.key_field_territories >= 2);
    let (errors, _) = validate(&set);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        out.join("salesforce/30-optional-key-field/territory-key-mapping.csv")
            .is_file()
    );
    let report = check_dir(&out).unwrap();
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.rules_replayed.unwrap().0, 5000);
}

/// More named-account exceptions than a segment root's 15 rules can exclude (long account
/// numbers, postal codes shared evenly by both territories): the exclusions become
/// Territory2ObjectExclusion records, and the replay is still exact.
#[test]
fn exceptions_beyond_the_rule_limit_become_exclusion_records() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("account_id,x,y,postal_code\n");
    for i in 0..4000 {
        let x = (i % 200) as f64;
        let y = (i / 200) as f64;
        // 100-character account numbers: nine fit in one 1,000-character rule item.
        csv.push_str(&format!("A{i:099},{x},{y},{}\n", 10001 + i % 2));
    }
    let (out, set) = plan_two_territories(tmp.path(), &csv);
    assert!(
        set.stats.manual_accounts >= 1500,
        "{}",
        set.stats.manual_accounts
    );
    assert!(
        set.nodes
            .iter()
            .all(|n| n.rules.iter().all(|r| !r.name.contains("_Exclude"))),
        "no exclusion rules once records are used"
    );
    let records: usize = set.nodes.iter().map(|n| n.excluded_accounts.len()).sum();
    assert_eq!(records, set.stats.exclusion_records);
    assert!(records >= set.stats.manual_accounts, "{records}");
    let (errors, _) = validate(&set);
    assert!(errors.is_empty(), "{errors:?}");
    let (header, rows) =
        read_csv(&out.join("salesforce/20-data/Territory2ObjectExclusion.keys.csv"));
    assert_eq!(header, ["AccountNumber", "TerritoryDeveloperName"]);
    assert_eq!(rows.len(), records);
    let report = check_dir(&out).unwrap();
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.rules_replayed.unwrap().0, 4000);
}
