//! `terraplan check DIR`: the independent checker on a written plan.

use terraplan::{Error, check};

use super::CheckArgs;

pub fn run(a: CheckArgs) -> anyhow::Result<u8> {
    let report = check::check_dir(&a.dir)?;
    if !report.ok() {
        return Err(Error::CheckFailed(report.failures).into());
    }
    println!(
        "ok: {} accounts each in exactly one of {} territories",
        report.accounts, report.territories
    );
    for (name, tol, lo, hi) in &report.bands {
        println!(
            "  {name:<12} {:+.2}% .. {:+.2}% within ±{:.1}%",
            lo * 100.0,
            hi * 100.0,
            tol * 100.0
        );
    }
    println!(
        "  weighted distance {:.6e} matches summary.json",
        report.weighted_distance
    );
    if let Some((accounts, ok, codes)) = report.rules_replayed {
        println!(
            "  rules.json replayed: {accounts}/{} accounts as planned, {ok}/{codes} postal codes to exactly one territory",
            report.accounts
        );
    }
    Ok(0)
}
