//! Pipeline coverage: open pipeline / quota per territory, per hierarchy node, per segment
//! and per industry, judged against the scenario's thresholds. No I/O.
//!
//! A territory's quota is the recommended (ramped) quota its rep carries; a node's is the
//! sum over its territories. Quota is not set per industry, so each territory's quota is
//! attributed to industries by their share of its potential.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::scenario::CoverageSettings;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Coverage {
    pub pipeline: f64,
    pub quota: f64,
    /// pipeline / quota; none when the quota is 0 (an open seat).
    pub ratio: Option<f64>,
    /// red, yellow or green; "no quota" without one.
    pub band: String,
}

impl Coverage {
    pub fn new(pipeline: f64, quota: f64, bands: &CoverageSettings) -> Coverage {
        let ratio = (quota > 0.0).then(|| pipeline / quota);
        Coverage {
            pipeline,
            quota,
            ratio,
            band: ratio.map_or("no quota", |r| bands.band(r)).to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CoverageRow {
    pub name: String,
    #[serde(flatten)]
    pub coverage: Coverage,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoverageSummary {
    pub red_below: f64,
    pub green_from: f64,
    pub overall: Coverage,
    /// Territories per band.
    pub territories_red: usize,
    pub territories_yellow: usize,
    pub territories_green: usize,
    pub territories_without_quota: usize,
    pub by_segment: Vec<CoverageRow>,
    pub by_industry: Vec<CoverageRow>,
}

/// Per account: territory, pipeline, potential and industry.
pub struct AccountFacts<'a> {
    pub territory: &'a [u32],
    pub pipeline: &'a [f64],
    pub potential: &'a [f64],
    pub industry: &'a [String],
}

/// Coverage of every territory (`quota` per territory) and the summary by segment
/// (`segment` per territory) and industry.
pub fn territories(
    facts: &AccountFacts,
    quota: &[f64],
    segment: &[String],
    bands: &CoverageSettings,
) -> (Vec<Coverage>, CoverageSummary) {
    let k = quota.len();
    let mut pipe = vec![0.0; k];
    let mut pot = vec![0.0; k];
    for (i, &t) in facts.territory.iter().enumerate() {
        pipe[t as usize] += facts.pipeline[i];
        pot[t as usize] += facts.potential[i];
    }
    let per: Vec<Coverage> = (0..k)
        .map(|t| Coverage::new(pipe[t], quota[t], bands))
        .collect();

    let mut by_segment: Vec<(String, f64, f64)> = Vec::new();
    for t in 0..k {
        match by_segment.iter_mut().find(|s| s.0 == segment[t]) {
            Some(s) => {
                s.1 += pipe[t];
                s.2 += quota[t];
            }
            None => by_segment.push((segment[t].clone(), pipe[t], quota[t])),
        }
    }
    let mut by_industry: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (i, &t) in facts.territory.iter().enumerate() {
        let t = t as usize;
        let name = match facts.industry[i].trim() {
            "" => "(blank)",
            s => s,
        };
        let e = by_industry.entry(name).or_default();
        e.0 += facts.pipeline[i];
        if pot[t] > 0.0 {
            e.1 += quota[t] * facts.potential[i] / pot[t];
        }
    }
    // A territory without potential still carries its quota: spread it by account count.
    let mut counts = vec![0usize; k];
    for &t in facts.territory {
        counts[t as usize] += 1;
    }
    for (i, &t) in facts.territory.iter().enumerate() {
        let t = t as usize;
        if pot[t] <= 0.0 {
            let name = match facts.industry[i].trim() {
                "" => "(blank)",
                s => s,
            };
            by_industry.entry(name).or_default().1 += quota[t] / counts[t] as f64;
        }
    }
    let row = |name: &str, p: f64, q: f64| CoverageRow {
        name: name.to_string(),
        coverage: Coverage::new(p, q, bands),
    };
    let count = |band: &str| per.iter().filter(|c| c.band == band).count();
    let summary = CoverageSummary {
        red_below: bands.red_below,
        green_from: bands.green_from,
        overall: Coverage::new(pipe.iter().sum(), quota.iter().sum(), bands),
        territories_red: count("red"),
        territories_yellow: count("yellow"),
        territories_green: count("green"),
        territories_without_quota: count("no quota"),
        by_segment: by_segment.iter().map(|(n, p, q)| row(n, *p, *q)).collect(),
        by_industry: by_industry
            .iter()
            .map(|(n, (p, q))| row(n, *p, *q))
            .collect(),
    };
    (per, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_bands_and_industry_attribution() {
        let bands = CoverageSettings::default();
        // Territory 0: two accounts (Retail pipeline 150, Energy 50), potential 3:1.
        // Territory 1: one Retail account, pipeline 300. Territory 2: open seat, no quota.
        let facts = AccountFacts {
            territory: &[0, 0, 1, 2],
            pipeline: &[150.0, 50.0, 300.0, 10.0],
            potential: &[3.0, 1.0, 5.0, 1.0],
            industry: &[
                "Retail".to_string(),
                "Energy".to_string(),
                "Retail".to_string(),
                "".to_string(),
            ],
        };
        let segs = vec!["A".to_string(), "B".to_string(), "B".to_string()];
        let (per, sum) = territories(&facts, &[100.0, 100.0, 0.0], &segs, &bands);
        assert_eq!(per[0].ratio, Some(2.0));
        assert_eq!(per[0].band, "yellow");
        assert_eq!(per[1].band, "green");
        assert_eq!(per[2].band, "no quota");
        assert_eq!(
            (
                sum.territories_red,
                sum.territories_yellow,
                sum.territories_green
            ),
            (0, 1, 1)
        );
        assert_eq!(sum.overall.ratio, Some(510.0 / 200.0));
        assert_eq!(sum.by_segment[0].coverage.ratio, Some(2.0));
        assert_eq!(sum.by_segment[1].coverage.ratio, Some(3.1));
        // Retail: pipeline 450 against 75 (¾ of territory 0) + 100 = 175 of quota.
        let retail = sum.by_industry.iter().find(|r| r.name == "Retail").unwrap();
        assert_eq!(retail.coverage.quota, 175.0);
        assert_eq!(retail.coverage.pipeline, 450.0);
        let energy = sum.by_industry.iter().find(|r| r.name == "Energy").unwrap();
        assert_eq!(energy.coverage.ratio, Some(2.0));
        assert_eq!(energy.coverage.band, "yellow");
        // Industry quotas add up to the total quota.
        let q: f64 = sum.by_industry.iter().map(|r| r.coverage.quota).sum();
        assert_eq!(q, 200.0);
    }

    #[test]
    fn thresholds_are_inclusive_at_green() {
        let b = CoverageSettings {
            red_below: 1.5,
            green_from: 2.5,
        };
        assert_eq!(b.band(1.49), "red");
        assert_eq!(b.band(1.5), "yellow");
        assert_eq!(b.band(2.5), "green");
    }
}
