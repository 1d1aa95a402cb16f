//! Report sections for the team: pipeline coverage (by segment and industry, with its
//! bands) and the overlay reps with their loads.

use std::fmt::Write;

use super::{esc, money};
use crate::coverage::Coverage;
use crate::model::Plan;

/// A coverage figure as a coloured badge: "2.85× yellow".
pub fn badge(c: &Coverage) -> String {
    match c.ratio {
        Some(r) => format!(r#"<span class="cov {}">{r:.2}×</span>"#, esc(&c.band)),
        None => r#"<span class="cov">no quota</span>"#.to_string(),
    }
}

pub fn coverage(h: &mut String, plan: &Plan) {
    let Some(c) = &plan.summary.coverage else {
        return;
    };
    let _ = write!(
        h,
        "<section><h2>Pipeline coverage</h2><p>Open pipeline / recommended quota: overall {} ({} pipeline against {} quota). Red below {}×, green from {}×. Territories: {} red, {} yellow, {} green{}.</p><div class=\"grid\">",
        badge(&c.overall),
        money(c.overall.pipeline),
        money(c.overall.quota),
        c.red_below,
        c.green_from,
        c.territories_red,
        c.territories_yellow,
        c.territories_green,
        if c.territories_without_quota > 0 {
            format!(", {} without quota", c.territories_without_quota)
        } else {
            String::new()
        }
    );
    for (title, rows) in [("segment", &c.by_segment), ("industry", &c.by_industry)] {
        let _ = write!(
            h,
            r#"<div class="card"><b>By {title}</b><table><thead><tr><th>{title}</th><th>pipeline</th><th>quota</th><th>coverage</th></tr></thead><tbody>"#
        );
        for r in rows {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.name),
                money(r.coverage.pipeline),
                money(r.coverage.quota),
                badge(&r.coverage)
            );
        }
        h.push_str("</tbody></table></div>");
    }
    h.push_str(
        r#"</div><p class="note">Industries have no quota of their own: each territory's quota is attributed to its industries by their share of its potential.</p></section>"#,
    );
}

pub fn overlays(h: &mut String, plan: &Plan) {
    if plan.summary.overlays.is_empty() {
        return;
    }
    h.push_str("<section><h2>Overlay roles</h2>");
    for o in &plan.summary.overlays {
        let _ = write!(
            h,
            "<p><b>{}</b> per {} · load: {}{} · {} needed, {} available, {} assigned{}{}{}.</p>",
            esc(&o.role),
            esc(&o.within),
            esc(&o.load),
            o.max_load.map_or(String::new(), |m| format!(" (cap {m})")),
            o.needed,
            o.available,
            o.assigned,
            if o.open_positions > 0 {
                format!(" · <b>{} open positions</b>", o.open_positions)
            } else {
                String::new()
            },
            if o.uncovered_territories > 0 {
                format!(
                    " · <b>{} territories uncovered</b> ({})",
                    o.uncovered_territories,
                    esc(&o.uncovered_nodes.join(", "))
                )
            } else {
                String::new()
            },
            if o.over_capacity.is_empty() {
                String::new()
            } else {
                format!(
                    " · <b>over the cap: {}</b>",
                    esc(&o.over_capacity.join(", "))
                )
            }
        );
    }
    h.push_str(r#"<table><thead><tr><th>rep</th><th class="l">role</th><th class="l">node</th><th class="l">territories</th><th>load</th><th>of cap</th></tr></thead><tbody>"#);
    for m in &plan.overlays {
        let _ = write!(
            h,
            r#"<tr><td>{} {}</td><td class="l">{}</td><td class="l">{}</td><td class="l">{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&m.rep_id),
            esc(&m.name),
            esc(&m.role),
            esc(&m.node),
            esc(&m.territories.join(", ")),
            money(m.load),
            m.max_load
                .map_or(String::new(), |c| format!("{:.0}%", m.load / c * 100.0))
        );
    }
    h.push_str("</tbody></table></section>");
}
