//! Bad input: exit code 2, a message naming file, line and column, nothing written.

use std::path::Path;

use crate::util::{bin, plan, write};

const SCENARIO: &str =
    "name = \"bad\"\n[input]\naccounts = \"accounts.csv\"\n[plan]\nterritories = 2\n";

fn expect_input_error(dir: &Path, accounts: &str, scenario: &str, needles: &[&str]) {
    write(dir, "accounts.csv", accounts);
    let s = write(dir, "s.toml", scenario);
    let out = dir.join("out");
    let assert = bin()
        .args(["plan", "--quiet", "--out"])
        .arg(&out)
        .arg(&s)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    for n in needles {
        assert!(stderr.contains(n), "stderr lacks {n:?}:\n{stderr}");
    }
    assert!(!out.exists(), "nothing may be written on bad input");
}

#[test]
fn missing_required_column() {
    let tmp = tempfile::tempdir().unwrap();
    expect_input_error(
        tmp.path(),
        "id,lat,lon\n1,40,-70\n",
        SCENARIO,
        &["accounts.csv:1:1", "account_id"],
    );
}

#[test]
fn duplicate_account_id_names_both_lines() {
    let tmp = tempfile::tempdir().unwrap();
    expect_input_error(
        tmp.path(),
        "account_id,lat,lon\nA,40,-70\nB,41,-71\nA,42,-72\n",
        SCENARIO,
        &["accounts.csv:4:1", "first on line 2"],
    );
}

#[test]
fn non_numeric_latitude_points_at_the_cell() {
    let tmp = tempfile::tempdir().unwrap();
    expect_input_error(
        tmp.path(),
        "account_id,lon,lat\nA,-70,40\nB,-71,north\n",
        SCENARIO,
        &[
            "accounts.csv:3:3",
            "(lat)",
            "'north' is not a finite number",
        ],
    );
}

#[test]
fn propensity_out_of_range_and_negative_employees() {
    let tmp = tempfile::tempdir().unwrap();
    expect_input_error(
        tmp.path(),
        "account_id,lat,lon,propensity,employees\nA,40,-70,1.5,3\nB,41,-71,0.2,-4\n",
        SCENARIO,
        &[
            "accounts.csv:2:4",
            "within 0..1",
            "accounts.csv:3:5",
            "must not be negative",
        ],
    );
}

#[test]
fn unknown_scenario_key_names_line() {
    let tmp = tempfile::tempdir().unwrap();
    expect_input_error(
        tmp.path(),
        "account_id,lat,lon\nA,40,-70\nB,41,-71\n",
        "name = \"bad\"\n[input]\naccounts = \"accounts.csv\"\n[plan]\nterritories = 2\nspeed = \"fast\"\n",
        &["s.toml:6:1", "speed"],
    );
}

#[test]
fn balance_metric_that_does_not_exist() {
    let tmp = tempfile::tempdir().unwrap();
    expect_input_error(
        tmp.path(),
        "account_id,lat,lon\nA,40,-70\nB,41,-71\n",
        &format!("{SCENARIO}[[balance]]\nmetric = \"revenue\"\ntolerance = 0.1\n"),
        &["s.toml:7:10", "'revenue'"],
    );
}

#[test]
fn header_only_and_empty_files() {
    let tmp = tempfile::tempdir().unwrap();
    expect_input_error(
        tmp.path(),
        "account_id,lat,lon\n",
        SCENARIO,
        &["no accounts"],
    );
    expect_input_error(tmp.path(), "", SCENARIO, &["empty"]);
}

#[test]
fn ragged_row_and_bad_utf8() {
    let tmp = tempfile::tempdir().unwrap();
    expect_input_error(
        tmp.path(),
        "account_id,lat,lon\nA,40\n",
        SCENARIO,
        &["accounts.csv:2", "fields"],
    );
    let dir = tmp.path();
    std::fs::write(
        dir.join("accounts.csv"),
        b"account_id,lat,lon,name\nA,40,-70,Caf\xe9\nB,41,-71,x\n",
    )
    .unwrap();
    let s = write(dir, "s.toml", SCENARIO);
    bin()
        .args(["plan", "--quiet", "--out"])
        .arg(dir.join("out"))
        .arg(&s)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("accounts.csv:2:4"))
        .stderr(predicates::str::contains("UTF-8"));
}

#[test]
fn bom_crlf_and_quoted_fields_are_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut text = String::from("\u{feff}account_id,name,x,y\r\n");
    for i in 0..20 {
        text.push_str(&format!(
            "A{i},\"Smith, Jones & \"\"Co\"\"\nLtd\",{},{}\r\n",
            i % 5,
            i / 5
        ));
    }
    write(dir, "accounts.csv", &text);
    let s = write(
        dir,
        "s.toml",
        "name = \"ok\"\n[input]\naccounts = \"accounts.csv\"\ncoordinates = \"xy\"\nunit = \"account\"\n[plan]\nterritories = 2\n[objective]\nweight = \"accounts\"\n",
    );
    plan(dir, "out", &s, &[]);
    let text = std::fs::read_to_string(dir.join("out/assignments.csv")).unwrap();
    assert_eq!(text.lines().count(), 21);
}

#[test]
fn unknown_owner_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(dir, "reps.csv", "rep_id\nR1\nR2\n");
    expect_input_error(
        dir,
        "account_id,lat,lon,owner_id\nA,40,-70,R1\nB,41,-71,R9\n",
        "name = \"bad\"\n[input]\naccounts = \"accounts.csv\"\nreps = \"reps.csv\"\n",
        &["accounts.csv:3:4", "R9"],
    );
}

#[test]
fn coordinates_out_of_range_nan_and_infinity() {
    let tmp = tempfile::tempdir().unwrap();
    expect_input_error(
        tmp.path(),
        "account_id,lat,lon\nA,95,-70\nB,NaN,-71\nC,40,inf\n",
        SCENARIO,
        &[
            "accounts.csv:2:2",
            "outside -90..90",
            "accounts.csv:3:2",
            "'NaN'",
            "accounts.csv:4:3",
            "'inf'",
        ],
    );
}

#[test]
fn empty_account_id() {
    let tmp = tempfile::tempdir().unwrap();
    expect_input_error(
        tmp.path(),
        "account_id,lat,lon\nA,40,-70\n,41,-71\n",
        SCENARIO,
        &["accounts.csv:3:1", "empty"],
    );
}

#[test]
fn zero_tolerance_names_scenario_position() {
    let tmp = tempfile::tempdir().unwrap();
    expect_input_error(
        tmp.path(),
        "account_id,lat,lon\nA,40,-70\nB,41,-71\n",
        &format!("{SCENARIO}[[balance]]\nmetric = \"accounts\"\ntolerance = 0\n"),
        &["s.toml:8:13", "tolerance"],
    );
}

#[test]
fn hostile_names_survive_into_csv_and_the_checker_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let long = "x".repeat(5000);
    let ids = [
        "=HYPERLINK(\"http://evil\")".to_string(),
        "+1+1".into(),
        "@SUM(A1)".into(),
        "-2".into(),
        "a\"b,c".into(),
        "<script>&amp;".into(),
        "東京支店".into(),
        "line\nbreak".into(),
        long,
    ];
    let mut csv = String::from("account_id,name,x,y\n");
    for (i, id) in ids.iter().enumerate() {
        let quoted = format!("\"{}\"", id.replace('"', "\"\""));
        csv.push_str(&format!("{quoted},{quoted},{},{}\n", i % 3, i / 3));
    }
    write(dir, "accounts.csv", &csv);
    let s = write(
        dir,
        "s.toml",
        "name = \"hostile\"\n[input]\naccounts = \"accounts.csv\"\ncoordinates = \"xy\"\nunit = \"account\"\n[plan]\nterritories = 3\n[[balance]]\nmetric = \"accounts\"\ntolerance = 0.5\n[objective]\nweight = \"accounts\"\n",
    );
    plan(dir, "out", &s, &[]);
    bin().arg("check").arg(dir.join("out")).assert().success();
    let mut r = csv::Reader::from_path(dir.join("out/assignments.csv")).unwrap();
    let written: Vec<String> = r.records().map(|x| x.unwrap()[0].to_string()).collect();
    assert_eq!(written.len(), ids.len());
    assert!(
        written.contains(&"'=HYPERLINK(\"http://evil\")".to_string()),
        "formula guarded"
    );
    assert!(written.contains(&"-2".to_string()), "numbers untouched");
    assert!(
        written.contains(&"line\nbreak".to_string()) && written.contains(&"東京支店".to_string())
    );
}
