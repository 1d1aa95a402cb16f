//! Partition engine benchmarks on generated inputs (10k accounts / 60 territories and
//! 100k / 200). Whole-run timings with `/usr/bin/time -v` are in README.md.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use terraplan::generate::{US_ZIPS, generate, parse_zips};
use terraplan::io::scenario::parse_scenario;
use terraplan::model::Accounts;
use terraplan::model::account::NumericColumn;
use terraplan::planner;

fn accounts(n: usize, reps: usize) -> Accounts {
    let zips = parse_zips(US_ZIPS).expect("bundled geography");
    let (rows, _) = generate(&zips, n, reps, 11);
    let mut a = Accounts {
        source: "bench.csv".into(),
        headers: [
            "account_id",
            "lat",
            "lon",
            "postal_code",
            "employees",
            "annual_revenue",
            "propensity",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        ..Default::default()
    };
    let mut col = |name: &str, f: &dyn Fn(&terraplan::generate::AccountRow) -> f64| {
        a.numeric.insert(
            name.into(),
            NumericColumn {
                values: rows.iter().map(f).collect(),
                blanks: 0,
                blank_rows: Vec::new(),
            },
        );
    };
    col("employees", &|r| r.employees as f64);
    col("annual_revenue", &|r| r.annual_revenue as f64);
    col("propensity", &|r| r.propensity);
    for (i, r) in rows.iter().enumerate() {
        a.line.push(i as u64 + 2);
        a.id.push(r.id.clone());
        a.pos.push([r.lat, r.lon]);
        a.postal_code.push(r.postal_code.clone());
    }
    let n = rows.len();
    for v in [
        &mut a.name,
        &mut a.country,
        &mut a.state,
        &mut a.industry,
        &mut a.owner_id,
    ] {
        *v = vec![String::new(); n];
    }
    a.late_stage = vec![false; n];
    a.locked = vec![false; n];
    a
}

fn scenario(territories: usize) -> terraplan::model::Scenario {
    let text = format!(
        "name = \"bench\"\nseed = 1\n[input]\naccounts = \"bench.csv\"\n[plan]\nterritories = {territories}\n\
         [[balance]]\nmetric = \"accounts\"\ntolerance = 0.05\n[[balance]]\nmetric = \"potential\"\ntolerance = 0.05\n\
         [[balance]]\nmetric = \"workload\"\ntolerance = 0.05\n"
    );
    parse_scenario(Path::new("bench.toml"), &text).expect("bench scenario")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    for (n, k) in [(10_000, 60), (100_000, 200)] {
        let acc = accounts(n, k);
        let sc = scenario(k);
        group.bench_function(format!("{n}_accounts_{k}_territories"), |b| {
            b.iter(|| planner::plan(&sc, &acc, None).expect("feasible plan"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
