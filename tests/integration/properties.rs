//! Property tests: random planar instances are planned through the library and written to
//! disk; the independent checker then judges the files. Either the plan holds (every account
//! exactly once, every band met) or planning fails with exit code 1 naming a band.
//! The rules compiled from each plan must replay it exactly. Both happen: about 2% of cases are infeasible, typically by integrality (97 accounts into
//! 6 territories at ±5% allows exactly 16 each). A second property adds two segments and a
//! district level (300 cases). PROPTEST_CASES overrides the case counts.

use std::path::Path;

use proptest::prelude::*;
use terraplan::check::check_dir;
use terraplan::io::{output, read_accounts, read_scenario};
use terraplan::{Error, planner};

#[derive(Debug, Clone)]
struct Instance {
    territories: usize,
    tolerance: f64,
    by_postal_code: bool,
    /// Two segments (score ≥ 5 first) of `territories` each, with districts of 2 to 3.
    segmented: bool,
    /// (x, y, score, postal group) per account.
    accounts: Vec<(f64, f64, u32, u32)>,
}

fn instance() -> impl Strategy<Value = Instance> {
    instance_with(false)
}

fn instance_with(segmented: bool) -> impl Strategy<Value = Instance> {
    (2usize..7, 0.05f64..0.3, any::<bool>(), 30usize..160).prop_flat_map(
        move |(k, tol, postal, n)| {
            prop::collection::vec((0.0f64..100.0, 0.0f64..100.0, 0u32..10, 0u32..40), n).prop_map(
                move |accounts| Instance {
                    territories: k,
                    tolerance: tol,
                    by_postal_code: postal,
                    segmented,
                    accounts,
                },
            )
        },
    )
}

fn write_instance(dir: &Path, inst: &Instance) {
    let mut csv = String::from("account_id,x,y,score,postal_code\n");
    for (i, (x, y, s, p)) in inst.accounts.iter().enumerate() {
        csv.push_str(&format!("A{i},{x},{y},{s},Z{p:02}\n"));
    }
    std::fs::write(dir.join("accounts.csv"), csv).unwrap();
    let unit = if inst.by_postal_code {
        "postal_code"
    } else {
        "account"
    };
    let scenario = format!(
        "name = \"prop\"\nseed = 3\n[input]\naccounts = \"accounts.csv\"\ncoordinates = \"xy\"\nunit = \"{unit}\"\n\
         [plan]\nterritories = {}\n[[balance]]\nmetric = \"accounts\"\ntolerance = {}\n\
         [[balance]]\nmetric = \"score\"\ntolerance = {}\n[objective]\nweight = \"accounts\"\n",
        inst.territories, inst.tolerance, inst.tolerance
    );
    let segments = if inst.segmented {
        format!(
            "[[segment]]\nname = \"High\"\ncriteria = [{{ field = \"score\", op = \"greaterOrEqual\", value = 5 }}]\nterritories = {k}\n\
             [[segment]]\nname = \"Rest\"\nterritories = {k}\n[[level]]\nname = \"district\"\nspan = [2, 3]\n",
            k = inst.territories
        )
    } else {
        String::new()
    };
    std::fs::write(dir.join("s.toml"), scenario + &segments).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
    ))]

    #[test]
    fn plans_hold_or_name_the_binding_band(inst in instance()) {
        plan_and_judge(&inst)?;
    }
}

proptest! {
    // Segments and a district level on top: fewer cases, each plans two partitions and
    // groups them.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
    ))]

    #[test]
    fn segmented_hierarchies_hold_or_name_the_binding_band(inst in instance_with(true)) {
        plan_and_judge(&inst)?;
    }
}

/// Plans the instance, writes it and lets the checker judge it; an infeasible plan must
/// exit 1 naming a band and bracketing the smallest feasible tolerance.
fn plan_and_judge(inst: &Instance) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().unwrap();
    write_instance(tmp.path(), inst);
    let scenario = read_scenario(&tmp.path().join("s.toml")).unwrap();
    let accounts = read_accounts(&scenario.accounts_path, scenario.coordinates).unwrap();
    match planner::plan(&scenario, &accounts, None) {
        Ok(plan) => {
            let out = tmp.path().join("out");
            output::write_atomically(&out, &output::plan_files(&plan, &accounts).unwrap()).unwrap();
            let report = check_dir(&out).unwrap();
            prop_assert!(report.ok(), "checker: {:?}", report.failures);
            prop_assert_eq!(report.accounts, inst.accounts.len());
            prop_assert_eq!(
                report.territories,
                inst.territories * if inst.segmented { 2 } else { 1 }
            );
            // The compiled rules route every account and postal code as planned.
            let (matched, codes_ok, codes) = report.rules_replayed.expect("rules.json replayed");
            prop_assert_eq!(matched, inst.accounts.len());
            prop_assert_eq!(codes_ok, codes);
            prop_assert!(codes > 0);
        }
        Err(e @ Error::Infeasible(_)) => {
            prop_assert_eq!(e.exit_code(), 1);
            let msg = e.to_string();
            prop_assert!(msg.contains("accounts") || msg.contains("score"), "{msg}");
            prop_assert!(msg.contains("band"), "{msg}");
            // No caps or budgets here: the bands alone bind, so the message brackets
            // the smallest feasible tolerance.
            prop_assert!(msg.contains("smallest feasible tolerance"), "{msg}");
        }
        Err(other) => prop_assert!(false, "unexpected error: {other}"),
    }
    Ok(())
}
