//! Reps on territories and their quotas. No I/O.
//!
//! Matching is an assignment problem per segment (Kuhn–Munkres): keeping a rep on the
//! accounts and pipeline they own today weighs most, then experience fits territory size
//! (senior reps on the largest territories). Quotas follow potential: the street quota
//! (target × (1 + over-assignment)) is shared by potential, so quota / potential is equal
//! across territories; experience factors scale it, re-normalised so fully-ramped quotas
//! still sum to the street quota; ramping reps get less, and what they lose is reported
//! as a gap, not spread over the others.

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;
use serde::Serialize;

use crate::model::scenario::QuotaSettings;
use crate::model::{Rep, RepStatus};

/// How much of a territory a rep owns today (accounts and pipeline).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Continuity {
    pub accounts: f64,
    pub pipeline: f64,
}

impl Continuity {
    /// One number: the mean of the account and pipeline shares (accounts alone without pipeline).
    pub fn score(&self, has_pipeline: bool) -> f64 {
        if has_pipeline {
            (self.accounts + self.pipeline) / 2.0
        } else {
            self.accounts
        }
    }
}

/// Experience on a 0..1 scale for matching: the level when it is one of junior, mid,
/// senior; otherwise tenure (five years and more counts as 1).
pub fn experience(rep: &Rep) -> f64 {
    match rep.level.trim().to_ascii_lowercase().as_str() {
        "junior" => 0.0,
        "mid" => 0.5,
        "senior" => 1.0,
        _ => rep.tenure_months.map_or(0.5, |t| (t / 60.0).min(1.0)),
    }
}

/// Reps (rows) onto territories (columns, at least as many): maximise
/// 10 × continuity + (1 − |experience − size rank|). Returns each rep's territory.
pub fn match_reps(experience: &[f64], size: &[f64], continuity: &[Vec<f64>]) -> Vec<usize> {
    let (n, k) = (experience.len(), size.len());
    if n == 0 {
        return Vec::new();
    }
    // Size rank in 0..1, largest = 1 (ties by index), so it is comparable with experience.
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| size[a].total_cmp(&size[b]).then(a.cmp(&b)));
    let mut rank = vec![0.0; k];
    for (i, &t) in order.iter().enumerate() {
        rank[t] = if k > 1 {
            i as f64 / (k - 1) as f64
        } else {
            1.0
        };
    }
    let weights = Matrix::from_fn(n, k, |(r, t)| {
        let score = 10.0 * continuity[r][t] + 1.0 - (experience[r] - rank[t]).abs();
        (score * 1e6).round() as i64
    });
    kuhn_munkres(&weights).1
}

/// Share of the plan period a rep is productive: the mean of the ramp over the period's
/// months. `start` is the rep's month since hire in the first plan month (1 = just hired),
/// or, for a rep still to be hired, minus the months until they start.
pub fn ramp_factor(ramp: &[f64], months: usize, first_month_since_hire: i64) -> f64 {
    let at = |m: i64| -> f64 {
        if m < 1 {
            0.0
        } else {
            ramp.get(m as usize - 1).copied().unwrap_or(1.0)
        }
    };
    (0..months as i64)
        .map(|i| at(first_month_since_hire + i))
        .sum::<f64>()
        / months.max(1) as f64
}

/// One territory as the quota calculation sees it.
pub struct Seat<'a> {
    pub territory_id: &'a str,
    pub segment: &'a str,
    pub potential: f64,
    /// Open pipeline: shares the quota when the scenario sets `pipeline_weight`.
    pub pipeline: f64,
    pub rep: Option<&'a Rep>,
    pub rep_id: &'a str,
    pub continuity: Continuity,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuotaRow {
    pub rep_id: String,
    pub territory_id: String,
    pub segment: String,
    pub potential: f64,
    /// Share of the segment's potential.
    pub share: f64,
    /// Street quota of the segment × share.
    pub base_quota: f64,
    pub experience_factor: f64,
    pub ramp_factor: f64,
    /// Fully ramped: base × experience, re-normalised within the segment.
    pub full_quota: f64,
    pub recommended_quota: f64,
    pub continuity: f64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SegmentQuota {
    pub segment: String,
    pub target: f64,
    pub street_quota: f64,
    pub potential: f64,
    pub pipeline: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuotaSummary {
    pub target: f64,
    pub over_assignment: f64,
    /// Share of each quota set by open pipeline rather than potential (0 = potential only).
    pub pipeline_weight: f64,
    /// Σ fully-ramped quota = target × (1 + over-assignment).
    pub street_quota: f64,
    /// Σ recommended quota (after ramp).
    pub recommended_total: f64,
    /// Σ recommended / target.
    pub coverage_of_target: f64,
    /// Capacity lost to ramping, new hires and open seats: street − recommended.
    pub ramp_gap: f64,
    /// Fully-ramped quota / potential over tenured, fully ramped reps: min and max.
    pub quota_per_potential_min: f64,
    pub quota_per_potential_max: f64,
    pub segments: Vec<SegmentQuota>,
}

pub fn quotas(q: &QuotaSettings, seats: &[Seat]) -> (Vec<QuotaRow>, QuotaSummary) {
    // Segments in first-seen order, with their potential and target.
    let mut segs: Vec<SegmentQuota> = Vec::new();
    for s in seats {
        match segs.iter_mut().find(|x| x.segment == s.segment) {
            Some(x) => {
                x.potential += s.potential;
                x.pipeline += s.pipeline;
            }
            None => segs.push(SegmentQuota {
                segment: s.segment.to_string(),
                target: 0.0,
                street_quota: 0.0,
                potential: s.potential,
                pipeline: s.pipeline,
            }),
        }
    }
    let named: f64 = segs
        .iter()
        .filter_map(|s| q.segment_targets.get(&s.segment))
        .sum();
    let rest_potential: f64 = segs
        .iter()
        .filter(|s| !q.segment_targets.contains_key(&s.segment))
        .map(|s| s.potential)
        .sum();
    for s in &mut segs {
        s.target = match q.segment_targets.get(&s.segment) {
            Some(t) => *t,
            None if rest_potential > 0.0 => (q.target - named) * s.potential / rest_potential,
            None => 0.0,
        };
        s.street_quota = s.target * (1.0 + q.over_assignment);
    }

    let mut rows: Vec<QuotaRow> = Vec::with_capacity(seats.len());
    for s in seats {
        let seg = segs
            .iter()
            .find(|x| x.segment == s.segment)
            .expect("seen above");
        let of = |x: f64, total: f64| if total > 0.0 { x / total } else { 0.0 };
        // Pipeline shares the quota only when asked, and only where the segment has any.
        let w = if seg.pipeline > 0.0 {
            q.pipeline_weight
        } else {
            0.0
        };
        let share = (1.0 - w) * of(s.potential, seg.potential) + w * of(s.pipeline, seg.pipeline);
        let (experience_factor, ramp_factor, mut reason) = rep_factors(q, s);
        if w > 0.0 {
            reason = format!(
                "quota share {:.0}% potential, {:.0}% open pipeline; {reason}",
                (1.0 - w) * 100.0,
                w * 100.0
            );
        }
        rows.push(QuotaRow {
            rep_id: s.rep_id.to_string(),
            territory_id: s.territory_id.to_string(),
            segment: s.segment.to_string(),
            potential: s.potential,
            share,
            base_quota: seg.street_quota * share,
            experience_factor,
            ramp_factor,
            full_quota: 0.0,
            recommended_quota: 0.0,
            continuity: s.continuity.score(true),
            reason,
        });
    }
    // Experience re-normalised per segment: fully-ramped quotas sum to the street quota.
    for seg in &segs {
        let weighted: f64 = rows
            .iter()
            .filter(|r| r.segment == seg.segment)
            .map(|r| r.base_quota * r.experience_factor)
            .sum();
        let k = if weighted > 0.0 {
            seg.street_quota / weighted
        } else {
            0.0
        };
        for r in rows.iter_mut().filter(|r| r.segment == seg.segment) {
            r.full_quota = r.base_quota * r.experience_factor * k;
            r.recommended_quota = r.full_quota * r.ramp_factor;
        }
    }
    let street: f64 = rows.iter().map(|r| r.full_quota).sum();
    let recommended: f64 = rows.iter().map(|r| r.recommended_quota).sum();
    let ratios: Vec<f64> = rows
        .iter()
        .filter(|r| r.ramp_factor >= 1.0 - 1e-12 && r.potential > 0.0)
        .map(|r| r.full_quota / r.potential)
        .collect();
    let summary = QuotaSummary {
        target: q.target,
        over_assignment: q.over_assignment,
        pipeline_weight: q.pipeline_weight,
        street_quota: street,
        recommended_total: recommended,
        coverage_of_target: if q.target > 0.0 {
            recommended / q.target
        } else {
            0.0
        },
        ramp_gap: street - recommended,
        quota_per_potential_min: ratios.iter().cloned().fold(f64::INFINITY, f64::min),
        quota_per_potential_max: ratios.iter().cloned().fold(0.0, f64::max),
        segments: segs,
    };
    (rows, summary)
}

/// Experience factor, ramp factor and the sentence that explains them.
fn rep_factors(q: &QuotaSettings, s: &Seat) -> (f64, f64, String) {
    let keeps = format!(
        "keeps {:.0}% of the territory's accounts and {:.0}% of its pipeline",
        s.continuity.accounts * 100.0,
        s.continuity.pipeline * 100.0
    );
    let Some(rep) = s.rep else {
        return (
            1.0,
            0.0,
            "open seat: no rep named yet, its quota counts in the ramp gap".into(),
        );
    };
    let level = rep.level.trim().to_ascii_lowercase();
    let exp = q.experience.get(&level).copied().unwrap_or(1.0);
    let level_text = if level.is_empty() {
        "no level (×1.00)".to_string()
    } else {
        format!("{level} (×{exp:.2})")
    };
    let months = q.period_months;
    let (ramp, ramp_text) = if rep.status == RepStatus::Tbh {
        let r = ramp_factor(&q.ramp, months, 1 - q.tbh_hire_month as i64);
        (
            r,
            format!(
                "to be hired, starting in plan month {}: productive {:.0}% of the period",
                q.tbh_hire_month + 1,
                r * 100.0
            ),
        )
    } else {
        match rep.tenure_months {
            None => (1.0, "tenure unknown: counted fully ramped".to_string()),
            Some(t) => {
                let first = t.floor() as i64 + 1;
                let r = ramp_factor(&q.ramp, months, first);
                if r >= 1.0 - 1e-12 {
                    (r, "fully ramped".to_string())
                } else {
                    (
                        r,
                        format!(
                            "ramping (month {first} since hire at plan start): productive {:.0}% of the period",
                            r * 100.0
                        ),
                    )
                }
            }
        }
    };
    (exp, ramp, format!("{level_text}; {ramp_text}; {keeps}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_over_a_year() {
        let ramp = [0.0, 0.25, 0.5, 0.75, 1.0];
        assert_eq!(ramp_factor(&ramp, 12, 10), 1.0);
        // Hired at plan start: 0 + .25 + .5 + .75 + 8 × 1 over 12 months.
        assert!((ramp_factor(&ramp, 12, 1) - 9.5 / 12.0).abs() < 1e-12);
        // Starts in plan month 4 (three months away): 3 idle months first.
        assert!((ramp_factor(&ramp, 12, -2) - 6.5 / 12.0).abs() < 1e-12);
    }

    fn rep(id: &str, level: &str, tenure: f64, status: RepStatus) -> Rep {
        Rep {
            id: id.into(),
            level: level.into(),
            tenure_months: Some(tenure),
            status,
            ..Rep::default()
        }
    }

    fn settings() -> QuotaSettings {
        QuotaSettings {
            target: 1000.0,
            segment_targets: [("B".to_string(), 400.0)].into_iter().collect(),
            over_assignment: 0.15,
            ramp: vec![0.0, 0.25, 0.5, 0.75, 1.0],
            experience: [("junior".to_string(), 0.9), ("senior".to_string(), 1.1)]
                .into_iter()
                .collect(),
            period_start: None,
            period_months: 12,
            tbh_hire_month: 3,
            pipeline_weight: 0.0,
        }
    }

    #[test]
    fn sums_ramp_and_experience() {
        let reps = [
            rep("S", "senior", 80.0, RepStatus::Active),
            rep("J", "junior", 30.0, RepStatus::Active),
            rep("N", "junior", 0.0, RepStatus::Active),
            rep("H", "", 0.0, RepStatus::Tbh),
            rep("X", "mid", 50.0, RepStatus::Active),
        ];
        let seat = |t: &'static str, seg: &'static str, pot: f64, r: usize| Seat {
            territory_id: t,
            segment: seg,
            potential: pot,
            pipeline: pot / 10.0,
            rep: Some(&reps[r]),
            rep_id: &reps[r].id,
            continuity: Continuity::default(),
        };
        let seats = [
            seat("T1", "A", 300.0, 0),
            seat("T2", "A", 200.0, 1),
            seat("T3", "A", 250.0, 2),
            seat("T4", "A", 250.0, 3),
            seat("T5", "B", 500.0, 4),
        ];
        let (rows, sum) = quotas(&settings(), &seats);
        // Street quota = target × 1.15, whatever the factors; per segment too.
        assert!((sum.street_quota - 1150.0).abs() < 1e-9);
        let seg_a: f64 = rows
            .iter()
            .filter(|r| r.segment == "A")
            .map(|r| r.full_quota)
            .sum();
        assert!((seg_a - 600.0 * 1.15).abs() < 1e-9);
        let base_a: f64 = rows
            .iter()
            .filter(|r| r.segment == "A")
            .map(|r| r.base_quota)
            .sum();
        assert!((base_a - 600.0 * 1.15).abs() < 1e-9);
        assert!((rows[4].full_quota - 400.0 * 1.15).abs() < 1e-9);
        // The senior on the larger territory carries more than the junior.
        assert!(rows[0].full_quota > rows[1].full_quota * 1.5 * 1.1 / 0.9 * 0.99);
        // Recommended = full × ramp; the hire at plan start and the tbh ramp; gap reported.
        for r in &rows {
            assert!((r.recommended_quota - r.full_quota * r.ramp_factor).abs() < 1e-9);
        }
        assert!((rows[2].ramp_factor - 9.5 / 12.0).abs() < 1e-12);
        assert!((rows[3].ramp_factor - 6.5 / 12.0).abs() < 1e-12);
        assert!(rows[3].reason.contains("to be hired"));
        let recommended: f64 = rows.iter().map(|r| r.recommended_quota).sum();
        assert!((sum.ramp_gap - (1150.0 - recommended)).abs() < 1e-9);
        assert!(sum.ramp_gap > 0.0);
    }

    #[test]
    fn senior_goes_to_the_large_territory_unless_continuity_says_otherwise() {
        // Rep 0 junior, rep 1 senior; territory 0 small, territory 1 large.
        let m = match_reps(
            &[0.0, 1.0],
            &[10.0, 30.0],
            &[vec![0.0, 0.0], vec![0.0, 0.0]],
        );
        assert_eq!(m, vec![0, 1]);
        // The junior owns most of the large one today: continuity wins.
        let m = match_reps(
            &[0.0, 1.0],
            &[10.0, 30.0],
            &[vec![0.0, 0.8], vec![0.0, 0.0]],
        );
        assert_eq!(m, vec![1, 0]);
    }
}
