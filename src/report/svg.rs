//! SVG pieces of the report: the map (accounts by postal code coloured by territory,
//! district and region hulls, labels) and the balance bars.

use std::collections::BTreeMap;
use std::fmt::Write;

use geo::{ConvexHull, MultiPoint, Point};

use super::esc;
use crate::geometry::Coordinates;
use crate::model::{Accounts, Plan};

/// A distinct, stable colour per territory (golden-angle hues).
pub fn colour(t: usize) -> String {
    let h = (t as f64 * 137.508) % 360.0;
    let l = if t.is_multiple_of(2) { 48.0 } else { 62.0 };
    let (r, g, b) = hsl(h, 0.62, l / 100.0);
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn hsl(h: f64, s: f64, l: f64) -> (u8, u8, u8) {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let m = l - c / 2.0;
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let to = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    (to(r), to(g), to(b))
}

/// Projection into a `w × h` box: equirectangular (x = lon·cos φ̄) for lat/lon, plain for
/// xy; the view covers the bulk of the points so outliers (Alaska, Hawaii) do not
/// shrink the rest (1–99% of the points on each axis).
pub struct View {
    coordinates: Coordinates,
    k: f64,
    min: [f64; 2],
    scale: f64,
    pad: f64,
    h: f64,
}

impl View {
    pub fn new(points: &[[f64; 2]], coordinates: Coordinates, w: f64, h: f64) -> View {
        let k = match coordinates {
            Coordinates::Latlon => {
                let mean = points.iter().map(|p| p[0]).sum::<f64>() / points.len().max(1) as f64;
                mean.to_radians().cos().abs().max(0.2)
            }
            Coordinates::Xy => 1.0,
        };
        let flat = |p: &[f64; 2]| match coordinates {
            Coordinates::Latlon => [p[1] * k, p[0]],
            Coordinates::Xy => [p[0], p[1]],
        };
        let mut xs: Vec<f64> = points.iter().map(|p| flat(p)[0]).collect();
        let mut ys: Vec<f64> = points.iter().map(|p| flat(p)[1]).collect();
        xs.sort_by(f64::total_cmp);
        ys.sort_by(f64::total_cmp);
        let q = |v: &[f64], f: f64| {
            v.get(((v.len() as f64 - 1.0) * f) as usize)
                .copied()
                .unwrap_or(0.0)
        };
        let (x0, x1, y0, y1) = (q(&xs, 0.01), q(&xs, 0.99), q(&ys, 0.01), q(&ys, 0.99));
        let pad = 16.0;
        let scale =
            ((w - 2.0 * pad) / (x1 - x0).max(1e-9)).min((h - 2.0 * pad) / (y1 - y0).max(1e-9));
        View {
            coordinates,
            k,
            min: [x0, y0],
            scale,
            pad,
            h,
        }
    }

    pub fn at(&self, p: [f64; 2]) -> [f64; 2] {
        let f = match self.coordinates {
            Coordinates::Latlon => [p[1] * self.k, p[0]],
            Coordinates::Xy => [p[0], p[1]],
        };
        [
            self.pad + (f[0] - self.min[0]) * self.scale,
            self.h - self.pad - (f[1] - self.min[1]) * self.scale,
        ]
    }
}

fn hull_path(points: &[[f64; 2]]) -> Option<String> {
    if points.len() < 3 {
        return None;
    }
    let mp: MultiPoint<f64> = points.iter().map(|p| Point::new(p[0], p[1])).collect();
    let hull = mp.convex_hull();
    let mut d = String::new();
    for (i, c) in hull.exterior().coords().enumerate() {
        let _ = write!(d, "{}{:.1},{:.1}", if i == 0 { "M" } else { "L" }, c.x, c.y);
    }
    d.push('Z');
    Some(d)
}

/// The map: one dot per (postal code, territory), sized by accounts; hulls of each
/// hierarchy node above the territories; territory and region labels.
pub fn map(plan: &Plan, accounts: &Accounts, coordinates: Coordinates, segment: &str) -> String {
    let (w, h) = (960.0, 600.0);
    let mine: Vec<usize> = (0..accounts.len())
        .filter(|&i| plan.territories[plan.account_territory[i] as usize].segment == segment)
        .collect();
    let pos: Vec<[f64; 2]> = mine.iter().map(|&i| accounts.pos[i]).collect();
    let view = View::new(&pos, coordinates, w, h);
    let inside = |p: [f64; 2]| p[0] >= -5.0 && p[0] <= w + 5.0 && p[1] >= -5.0 && p[1] <= h + 5.0;
    // Dots: accounts grouped by postal code (or by account) and territory.
    let mut dots: BTreeMap<(u32, String), ([f64; 2], usize)> = BTreeMap::new();
    for &i in &mine {
        let t = plan.account_territory[i];
        let key = if accounts.postal_code[i].is_empty() {
            accounts.id[i].clone()
        } else {
            accounts.postal_code[i].clone()
        };
        let e = dots.entry((t, key)).or_insert(([0.0, 0.0], 0));
        e.0[0] += accounts.pos[i][0];
        e.0[1] += accounts.pos[i][1];
        e.1 += 1;
    }
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="map" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Territory map"><rect width="{w}" height="{h}" fill="#f7f7f4"/>"##
    );
    let mut hidden = 0;
    let mut by_territory: Vec<Vec<[f64; 2]>> = vec![Vec::new(); plan.territories.len()];
    svg.push_str(r#"<g class="dots">"#);
    for ((t, _), (sum, n)) in &dots {
        let p = view.at([sum[0] / *n as f64, sum[1] / *n as f64]);
        if !inside(p) {
            hidden += n;
            continue;
        }
        by_territory[*t as usize].push(p);
        let r = 1.2 + (*n as f64).sqrt() * 0.6;
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="{r:.1}" fill="{}"/>"#,
            p[0],
            p[1],
            colour(*t as usize)
        );
    }
    svg.push_str("</g>");
    // Hulls of the nodes above the territories: districts thin, regions thick.
    let mut depth_of: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &plan.nodes {
        let d = n
            .parent
            .as_deref()
            .and_then(|p| depth_of.get(p))
            .map_or(0, |d| d + 1);
        depth_of.insert(&n.id, d);
    }
    let max_depth = depth_of.values().copied().max().unwrap_or(0);
    svg.push_str(r##"<g class="hulls" fill="none" stroke="#333">"##);
    for n in plan
        .nodes
        .iter()
        .filter(|n| n.parent.is_some() && under_segment(plan, &n.id, segment))
    {
        let pts: Vec<[f64; 2]> = plan
            .territories
            .iter()
            .enumerate()
            .filter(|(_, t)| is_under(plan, &t.parent, &n.id))
            .flat_map(|(i, _)| by_territory[i].iter().copied())
            .collect();
        if let Some(d) = hull_path(&pts) {
            let depth = depth_of.get(n.id.as_str()).copied().unwrap_or(1);
            let width = 0.6 + 1.4 * (max_depth + 1 - depth) as f64 / (max_depth.max(1)) as f64;
            let _ = write!(
                svg,
                r#"<path d="{d}" stroke-width="{width:.1}" stroke-opacity="0.55"><title>{}</title></path>"#,
                esc(&format!("{} {}", n.level, n.name))
            );
        }
    }
    svg.push_str("</g>");
    // Territory labels at their dots' centre.
    svg.push_str(r##"<g class="labels" font-family="sans-serif" font-size="9" text-anchor="middle" fill="#111">"##);
    for (i, t) in plan
        .territories
        .iter()
        .enumerate()
        .filter(|(_, t)| t.segment == segment)
    {
        let pts = &by_territory[i];
        if pts.is_empty() {
            continue;
        }
        let c = [
            pts.iter().map(|p| p[0]).sum::<f64>() / pts.len() as f64,
            pts.iter().map(|p| p[1]).sum::<f64>() / pts.len() as f64,
        ];
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" stroke="#fff" stroke-width="2" paint-order="stroke">{}<title>{}</title></text>"##,
            c[0],
            c[1],
            esc(&t.id),
            esc(&format!("{} · {}", t.name, t.rep_id))
        );
    }
    svg.push_str("</g></svg>");
    if hidden > 0 {
        let _ = write!(
            svg,
            r#"<p class="note">{hidden} accounts lie outside the view (e.g. Alaska, Hawaii) and are not drawn.</p>"#
        );
    }
    svg
}

/// Whether hierarchy node `id` belongs to the segment named `segment`.
fn under_segment(plan: &Plan, id: &str, segment: &str) -> bool {
    let mut at = plan.nodes.iter().find(|n| n.id == id);
    while let Some(n) = at {
        match &n.parent {
            None => return n.name == segment && n.level == "segment",
            Some(p) => at = plan.nodes.iter().find(|x| x.id == *p),
        }
    }
    false
}

/// Whether the node `parent` (a territory's parent) is `node` or below it.
fn is_under(plan: &Plan, parent: &str, node: &str) -> bool {
    let mut at = Some(parent);
    while let Some(p) = at {
        if p == node {
            return true;
        }
        at = plan
            .nodes
            .iter()
            .find(|n| n.id == p)
            .and_then(|n| n.parent.as_deref());
    }
    false
}

/// Deviation of every territory from its target for metric `j`, sorted, with the band.
pub fn balance_bars(plan: &Plan, j: usize) -> String {
    let m = &plan.summary.metrics[j];
    let mut devs: Vec<(f64, usize)> = plan
        .territories
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let d = if t.targets[j] > 0.0 {
                t.values[j] / t.targets[j] - 1.0
            } else {
                0.0
            };
            (d, i)
        })
        .collect();
    devs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (w, h) = (460.0, 160.0);
    let span = (m.tolerance * 1.5)
        .max(devs.iter().map(|d| d.0.abs()).fold(0.0, f64::max) * 1.1)
        .max(1e-9);
    let y = |d: f64| h / 2.0 - d / span * (h / 2.0 - 8.0);
    let bw = (w - 40.0) / devs.len().max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg class="bars" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{} balance"><rect x="36" y="{:.1}" width="{:.1}" height="{:.1}" fill="#dfeee0"/>"##,
        esc(&m.name),
        y(m.tolerance),
        w - 40.0,
        y(-m.tolerance) - y(m.tolerance)
    );
    let _ = write!(
        s,
        r##"<line x1="36" x2="{w}" y1="{:.1}" y2="{:.1}" stroke="#888"/>"##,
        y(0.0),
        y(0.0)
    );
    for (k, (d, i)) in devs.iter().enumerate() {
        let (y0, y1) = (y(0.0), y(*d));
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} {:+.2}%</title></rect>"#,
            36.0 + k as f64 * bw,
            y0.min(y1),
            (bw - 0.5).max(0.5),
            (y1 - y0).abs().max(0.5),
            colour(*i),
            esc(&plan.territories[*i].id),
            d * 100.0
        );
    }
    let _ = write!(
        s,
        r##"<text x="2" y="{:.1}" font-size="10" font-family="sans-serif">+{:.0}%</text><text x="2" y="{:.1}" font-size="10" font-family="sans-serif">−{:.0}%</text></svg>"##,
        y(m.tolerance) + 4.0,
        m.tolerance * 100.0,
        y(-m.tolerance) + 4.0,
        m.tolerance * 100.0
    );
    s
}

/// A line chart of `points` (x, y) with axis labels; used for the frontier.
pub fn line_chart(points: &[(f64, f64, String)], x_label: &str, y_label: &str) -> String {
    let (w, h) = (460.0, 220.0);
    if points.is_empty() {
        return String::new();
    }
    let (x0, x1) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
            (a.0.min(p.0), a.1.max(p.0))
        });
    let (y0, y1) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
            (a.0.min(p.1), a.1.max(p.1))
        });
    let sx = |x: f64| 50.0 + (x - x0) / (x1 - x0).max(1e-12) * (w - 70.0);
    let sy = |y: f64| h - 30.0 - (y - y0) / (y1 - y0).max(1e-12) * (h - 50.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg class="chart" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}"><line x1="50" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#888"/><line x1="50" y1="10" x2="50" y2="{:.1}" stroke="#888"/>"##,
        esc(y_label),
        h - 30.0,
        w - 20.0,
        h - 30.0,
        h - 30.0
    );
    let path: Vec<String> = points
        .iter()
        .map(|p| format!("{:.1},{:.1}", sx(p.0), sy(p.1)))
        .collect();
    let _ = write!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#2a6f97" stroke-width="2"/>"##,
        path.join(" ")
    );
    for p in points {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#2a6f97"><title>{}</title></circle><text x="{:.1}" y="{:.1}" font-size="10" font-family="sans-serif">{}</text>"##,
            sx(p.0),
            sy(p.1),
            esc(&p.2),
            sx(p.0) + 5.0,
            sy(p.1) - 5.0,
            esc(&p.2)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" font-family="sans-serif" text-anchor="middle">{}</text><text x="12" y="{:.1}" font-size="11" font-family="sans-serif" transform="rotate(-90 12 {:.1})" text-anchor="middle">{}</text></svg>"##,
        w / 2.0,
        h - 6.0,
        esc(x_label),
        h / 2.0,
        h / 2.0,
        esc(y_label)
    );
    s
}
