//! The self-contained HTML report (no network, no script): map, balance bars, hierarchy,
//! quotas, rules, and when comparing, the scenario table and the frontier. Also the
//! territories as GeoJSON. Formats only; every number comes from the plan.

pub mod svg;
mod team;

use std::collections::BTreeMap;
use std::fmt::Write;

use geo::{ConvexHull, MultiPoint, Point};

use crate::compare::Row;
use crate::geometry::Coordinates;
use crate::model::{Accounts, Plan};

/// HTML-escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d1d1f;background:#fff}\
header{background:#1f3b4d;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;opacity:.85}\
main{max-width:1280px;margin:0 auto;padding:12px 24px}section{margin:18px 0}h2{font-size:16px;border-bottom:1px solid #ddd;padding-bottom:4px}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}.card{border:1px solid #e3e3e3;border-radius:6px;padding:8px 12px}\
.kpis{display:flex;flex-wrap:wrap;gap:10px}.kpi{border:1px solid #e3e3e3;border-radius:6px;padding:6px 12px;min-width:140px}.kpi b{display:block;font-size:18px}\
table{border-collapse:collapse;font-size:12px;width:100%}th,td{border-bottom:1px solid #eee;padding:3px 6px;text-align:right}th:first-child,td:first-child{text-align:left}\
td.l,th.l{text-align:left}svg{width:100%;height:auto}svg.map{border:1px solid #e3e3e3;border-radius:6px}.note{color:#666;font-size:12px}\
details{margin-left:14px}summary{cursor:pointer}.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}\
.cov{padding:0 5px;border-radius:3px;background:#eee}.cov.red{background:#f8d0d0;color:#8a1c1c}.cov.yellow{background:#fbeab0;color:#6b5200}.cov.green{background:#cdebd6;color:#1d5e33}";

fn kpi(out: &mut String, label: &str, value: &str) {
    let _ = write!(
        out,
        r#"<div class="kpi">{}<b>{}</b></div>"#,
        esc(label),
        esc(value)
    );
}

fn pct(x: f64) -> String {
    format!("{:+.2}%", x * 100.0)
}

fn money(x: f64) -> String {
    let s = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 { format!("-{out}") } else { out }
}

/// The report of one plan.
pub fn plan_report(plan: &Plan, accounts: &Accounts, coordinates: Coordinates) -> String {
    let s = &plan.summary;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>terraplan · {}</title><style>{STYLE}</style></head><body>",
        esc(&s.scenario)
    );
    let _ = write!(
        h,
        "<header><h1>Territory plan · {}</h1><p>{} accounts · {} territories · {} · seed {}</p></header><main>",
        esc(&s.scenario),
        s.accounts,
        s.territories,
        esc(&s
            .hierarchy
            .iter()
            .map(|(l, n)| format!("{n} {l}"))
            .collect::<Vec<_>>()
            .join(" → ")),
        s.seed
    );
    h.push_str(r#"<section><div class="kpis">"#);
    for m in &s.metrics {
        kpi(
            &mut h,
            &format!("{} (±{:.1}%)", m.name, m.tolerance * 100.0),
            &format!("{} .. {}", pct(m.min_deviation), pct(m.max_deviation)),
        );
    }
    kpi(
        &mut h,
        "contiguous",
        &format!("{}/{}", s.contiguous_territories, s.territories),
    );
    kpi(
        &mut h,
        "mean distance to centre",
        &format!("{:.1}", s.compactness.mean_distance),
    );
    if let Some(g) = s.objective.gap {
        kpi(&mut h, "gap to lower bound", &format!("{:.2}%", g * 100.0));
    }
    if let Some(d) = &s.disruption {
        kpi(
            &mut h,
            "accounts changing owner",
            &format!("{:.1}%", d.moved_accounts_share * 100.0),
        );
        kpi(
            &mut h,
            "pinned accounts kept",
            &format!("{}/{}", d.pinned_kept, d.pinned_accounts),
        );
    }
    if let Some(r) = &s.rules {
        kpi(
            &mut h,
            "rules replayed",
            &format!(
                "{}/{} accounts",
                r.replay_accounts_matched, r.replay_accounts
            ),
        );
    }
    if let Some(q) = &s.quota {
        kpi(&mut h, "street quota", &money(q.street_quota));
    }
    if let Some(c) = s.coverage.as_ref().and_then(|c| c.overall.ratio) {
        kpi(&mut h, "pipeline coverage", &format!("{c:.2}×"));
    }
    h.push_str("</div></section>");

    let mut segments: Vec<&str> = Vec::new();
    for t in &plan.territories {
        if !segments.contains(&t.segment.as_str()) {
            segments.push(&t.segment);
        }
    }
    for seg in segments {
        let _ = write!(h, "<section><h2>Map · {}</h2>", esc(seg));
        h.push_str(&svg::map(plan, accounts, coordinates, seg));
        h.push_str(r#"<p class="note">Dots are postal codes (size = accounts), coloured by territory; outlines are the hierarchy's regions (thick) and districts (thin). Hover for names.</p></section>"#);
    }

    h.push_str(r#"<section><h2>Balance</h2><div class="grid">"#);
    for (j, m) in s.metrics.iter().enumerate() {
        let _ = write!(
            h,
            r#"<div class="card"><b>{}</b> — deviation from target per territory, band ±{:.1}% shaded{}</div>"#,
            esc(&m.name),
            m.tolerance * 100.0,
            svg::balance_bars(plan, j)
        );
    }
    h.push_str("</div></section>");

    h.push_str("<section><h2>Hierarchy</h2>");
    hierarchy(&mut h, plan);
    h.push_str("</section>");

    h.push_str("<section><h2>Territories</h2><table><thead><tr><th>territory</th><th class=\"l\">name</th><th class=\"l\">rep</th><th>accounts</th>");
    for m in &s.metrics {
        let _ = write!(h, "<th>{} dev.</th>", esc(&m.name));
    }
    if s.coverage.is_some() {
        h.push_str("<th>pipeline coverage</th>");
    }
    h.push_str("</tr></thead><tbody>");
    for (i, t) in plan.territories.iter().enumerate() {
        let _ = write!(
            h,
            r#"<tr><td><span class="sw" style="background:{}"></span>{}</td><td class="l">{}</td><td class="l">{} ({})</td><td>{}</td>"#,
            svg::colour(i),
            esc(&t.id),
            esc(&t.name),
            esc(&t.rep_id),
            esc(&t.status),
            t.accounts
        );
        for j in 0..s.metrics.len() {
            let d = if t.targets[j] > 0.0 {
                t.values[j] / t.targets[j] - 1.0
            } else {
                0.0
            };
            let _ = write!(h, "<td>{}</td>", pct(d));
        }
        if let Some(c) = &t.coverage {
            let _ = write!(h, "<td>{}</td>", team::badge(c));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></section>");
    team::coverage(&mut h, plan);
    team::overlays(&mut h, plan);

    if !plan.quotas.is_empty() {
        h.push_str("<section><h2>Quotas</h2>");
        if let Some(q) = &s.quota {
            let _ = write!(
                h,
                "<p>Target {} · street quota {} (+{:.0}%) · recommended {} ({:.1}% of target) · ramp gap {}.</p>",
                money(q.target),
                money(q.street_quota),
                q.over_assignment * 100.0,
                money(q.recommended_total),
                q.coverage_of_target * 100.0,
                money(q.ramp_gap)
            );
        }
        h.push_str(r#"<table><thead><tr><th>rep</th><th>territory</th><th>potential share</th><th>experience</th><th>ramp</th><th>recommended quota</th><th>continuity</th><th class="l">why</th></tr></thead><tbody>"#);
        for q in &plan.quotas {
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td>{}</td><td>{:.2}%</td><td>×{:.2}</td><td>{:.0}%</td><td>{}</td><td>{:.0}%</td><td class="l">{}</td></tr>"#,
                esc(&q.rep_id),
                esc(&q.territory_id),
                q.share * 100.0,
                q.experience_factor,
                q.ramp_factor * 100.0,
                money(q.recommended_quota),
                q.continuity * 100.0,
                esc(&q.reason)
            );
        }
        h.push_str("</tbody></table></section>");
    }
    if let Some(r) = &s.rules {
        let _ = write!(
            h,
            "<section><h2>CRM rules</h2><p>{} rules with {} items; per territory {:.1} items on average (max {}); {} named-account exceptions{}. Replayed: {}/{} accounts as planned, {}/{} postal codes to exactly one territory. Load <code>salesforce/</code> as its README says.</p></section>",
            r.rules,
            r.rule_items,
            r.stats.items_per_territory_mean,
            r.stats.items_per_territory_max,
            r.stats.manual_accounts,
            if r.stats.exclusion_records > 0 {
                format!(" ({} exclusion records)", r.stats.exclusion_records)
            } else {
                String::new()
            },
            r.replay_accounts_matched,
            r.replay_accounts,
            r.replay_postal_codes_ok,
            r.replay_postal_codes
        );
    }
    if !s.warnings.is_empty() {
        h.push_str("<section><h2>Warnings</h2><ul>");
        for w in &s.warnings {
            let _ = write!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul></section>");
    }
    h.push_str("</main></body></html>\n");
    h
}

fn hierarchy(h: &mut String, plan: &Plan) {
    let mut children: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
    for (i, n) in plan.nodes.iter().enumerate() {
        children.entry(n.parent.as_deref()).or_default().push(i);
    }
    fn walk(
        h: &mut String,
        plan: &Plan,
        children: &BTreeMap<Option<&str>, Vec<usize>>,
        parent: Option<&str>,
    ) {
        for &i in children.get(&parent).map(Vec::as_slice).unwrap_or(&[]) {
            let n = &plan.nodes[i];
            let devs: Vec<String> = plan
                .summary
                .metrics
                .iter()
                .enumerate()
                .map(|(j, m)| {
                    let d = if n.targets[j] > 0.0 {
                        n.values[j] / n.targets[j] - 1.0
                    } else {
                        0.0
                    };
                    format!("{} {} (±{:.2}%)", m.name, pct(d), n.tolerances[j] * 100.0)
                })
                .collect();
            let _ = write!(
                h,
                "<details open><summary><b>{}</b> {} · {} territories · {} accounts · {}{}</summary>",
                esc(&n.level),
                esc(&n.name),
                n.territories,
                n.accounts,
                esc(&devs.join(", ")),
                n.coverage.as_ref().map_or(String::new(), |c| format!(
                    " · pipeline coverage {}",
                    team::badge(c)
                ))
            );
            walk(h, plan, children, Some(n.id.as_str()));
            let ts: Vec<String> = plan
                .territories
                .iter()
                .filter(|t| t.parent == n.id)
                .map(|t| esc(&t.id))
                .collect();
            if !ts.is_empty() {
                let _ = write!(h, "<p class=\"note\">territories: {}</p>", ts.join(", "));
            }
            h.push_str("</details>");
        }
    }
    walk(h, plan, &children, None);
}

/// The comparison report: the scenario table, the frontier charts, links to each plan.
pub fn comparison_report(rows: &[Row], diff_summary: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>terraplan · comparison</title><style>{STYLE}</style></head><body><header><h1>Scenario comparison</h1><p>{} scenarios</p></header><main>",
        rows.len()
    );
    h.push_str("<section><h2>Side by side</h2><table><thead><tr>");
    for c in crate::compare::COLUMNS {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr></thead><tbody>");
    for r in rows {
        h.push_str("<tr>");
        for (k, v) in r.cells().iter().enumerate() {
            if k == 0 {
                let _ = write!(h, r#"<td><a href="{0}/report.html">{0}</a></td>"#, esc(v));
            } else {
                let _ = write!(h, "<td>{}</td>", esc(v));
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></section>");
    let pts = |y: &dyn Fn(&Row) -> f64| -> Vec<(f64, f64, String)> {
        rows.iter()
            .map(|r| (r.worst_deviation * 100.0, y(r), r.scenario.clone()))
            .collect()
    };
    let _ = write!(
        h,
        r#"<section><h2>Frontier</h2><div class="grid"><div class="card"><b>balance vs distance</b>{}</div><div class="card"><b>balance vs disruption</b>{}</div></div></section>"#,
        svg::line_chart(
            &pts(&|r| r.weighted_distance),
            "worst deviation (%)",
            "weighted distance"
        ),
        svg::line_chart(
            &pts(&|r| r.moved_share * 100.0),
            "worst deviation (%)",
            "accounts moved (%)"
        )
    );
    if !diff_summary.is_empty() {
        let _ = write!(h, "<section><h2>What moves</h2>{diff_summary}</section>");
    }
    h.push_str("</main></body></html>\n");
    h
}

/// Territories as GeoJSON: per territory its postal-code points and their convex hull.
pub fn geojson(plan: &Plan, accounts: &Accounts, coordinates: Coordinates) -> serde_json::Value {
    let lonlat = |p: [f64; 2]| match coordinates {
        Coordinates::Latlon => [p[1], p[0]],
        Coordinates::Xy => [p[0], p[1]],
    };
    let mut points: Vec<BTreeMap<String, ([f64; 2], usize)>> =
        vec![BTreeMap::new(); plan.territories.len()];
    for i in 0..accounts.len() {
        let key = if accounts.postal_code[i].is_empty() {
            accounts.id[i].clone()
        } else {
            accounts.postal_code[i].clone()
        };
        let e = points[plan.account_territory[i] as usize]
            .entry(key)
            .or_insert(([0.0, 0.0], 0));
        e.0[0] += accounts.pos[i][0];
        e.0[1] += accounts.pos[i][1];
        e.1 += 1;
    }
    let features: Vec<serde_json::Value> = plan
        .territories
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let pts: Vec<[f64; 2]> = points[i].values().map(|(s, n)| lonlat([s[0] / *n as f64, s[1] / *n as f64])).collect();
            let mp: MultiPoint<f64> = pts.iter().map(|p| Point::new(p[0], p[1])).collect();
            let ring: Vec<[f64; 2]> = mp.convex_hull().exterior().coords().map(|c| [c.x, c.y]).collect();
            let mut geoms = vec![serde_json::json!({"type": "MultiPoint", "coordinates": pts})];
            if ring.len() >= 4 {
                geoms.push(serde_json::json!({"type": "Polygon", "coordinates": [ring]}));
            }
            serde_json::json!({
                "type": "Feature",
                "properties": {
                    "territory_id": t.id, "name": t.name, "segment": t.segment, "parent": t.parent,
                    "rep_id": t.rep_id, "status": t.status, "accounts": t.accounts, "colour": svg::colour(i),
                },
                "geometry": {"type": "GeometryCollection", "geometries": geoms},
            })
        })
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features})
}
