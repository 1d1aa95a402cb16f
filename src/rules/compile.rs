//! Plan → rules. Every postal code of the universe gets one territory per segment (the
//! territory holding most of its accounts, or the nearest code's territory when it has
//! none); each territory and hierarchy node gets an inherited rule with the shortest exact
//! prefix cover of its codes; each segment root gets its criteria (and the negation of the
//! segments before it, since the first match wins). Accounts the postal rules would route
//! elsewhere (pinned accounts, parts of split postal codes, blank codes, blank criteria
//! fields) become manual associations, excluded by account number at their segment root.
//! A replay of the result decides the exceptions, so what is exported is what was checked.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::eval::{Evaluator, columns_of, view};
use super::limits::{BOOLEAN_FILTER_CHARS, ITEMS_PER_RULE, RULES_PER_TERRITORY, VALUE_CHARS};
use super::prefix::cover;
use super::{Item, KeyField, Op, Rule, RuleNode, RuleSet, RuleStats, developer_name};
use crate::model::scenario::{Criterion, SegmentDef};
use crate::model::{Accounts, Plan};

/// The postal codes every territory's rules must cover, with a position for each.
pub struct Universe {
    pub codes: Vec<String>,
    pub pos: Vec<[f64; 2]>,
}

/// The custom field of the key-field fallback (crm-export-formats.md §1.6 a).
pub const KEY_FIELD: &str = "territory_key";

pub struct Input<'a> {
    pub model: &'a str,
    pub accounts: &'a Accounts,
    pub plan: &'a Plan,
    pub defs: &'a [SegmentDef],
    pub seg_of: &'a [u16],
    pub universe: &'a Universe,
}

/// The codes rules must route, sorted: the universe plus codes only accounts have, each
/// with a position (an account-only code sits at its accounts' mean position).
pub fn code_list(universe: &Universe, accounts: &Accounts) -> (Vec<String>, Vec<[f64; 2]>) {
    let mut code_pos: BTreeMap<String, [f64; 2]> = BTreeMap::new();
    for (c, p) in universe.codes.iter().zip(&universe.pos) {
        code_pos.insert(c.trim().to_string(), *p);
    }
    let mut extra: BTreeMap<String, ([f64; 2], f64)> = BTreeMap::new();
    // Accounts whose code is outside the universe (few, if any), found in parallel and
    // summed in account order.
    // Looked up in a hash set: a million accounts against a tree of 31k codes took
    // 180 ms, and the list is made for the compile, its replay and the re-check.
    let outside: Vec<usize> = {
        let known: rustc_hash::FxHashSet<&str> = code_pos.keys().map(String::as_str).collect();
        (0..accounts.len())
            .into_par_iter()
            .filter(|&i| {
                let c = accounts.postal_code[i].trim();
                !c.is_empty() && !known.contains(c)
            })
            .collect()
    };
    for i in outside {
        let c = accounts.postal_code[i].trim();
        let e = extra.entry(c.to_string()).or_insert(([0.0, 0.0], 0.0));
        e.0[0] += accounts.pos[i][0];
        e.0[1] += accounts.pos[i][1];
        e.1 += 1.0;
    }
    for (c, (p, n)) in extra {
        code_pos.insert(c, [p[0] / n, p[1] / n]);
    }
    let codes: Vec<String> = code_pos.keys().cloned().collect();
    let pos: Vec<[f64; 2]> = code_pos.values().copied().collect();

    (codes, pos)
}

/// Values chunked into comma lists of at most VALUE_CHARS characters.
fn chunks(values: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut len = 0;
    for v in values {
        let add = v.len() + usize::from(len > 0);
        if out.is_empty() || len + add > VALUE_CHARS {
            out.push(vec![v.clone()]);
            len = v.len();
        } else {
            if let Some(c) = out.last_mut() {
                c.push(v.clone());
            }
            len += add;
        }
    }
    out
}

/// One rule that ORs its items (`1 OR 2 OR …`).
/// One local rule (this territory only) that ORs its items (`1 OR 2 OR …`).
fn any_of(name: String, label: String, items: Vec<Item>) -> Rule {
    let filter = (items.len() > 1).then(|| {
        (1..=items.len())
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(" OR ")
    });
    Rule {
        name,
        label,
        inherited: false,
        items,
        boolean_filter: filter,
    }
}

fn negate(c: &Criterion) -> Option<Item> {
    let op = match c.op {
        Op::Equals => Op::NotEqual,
        Op::NotEqual => Op::Equals,
        Op::LessThan => Op::GreaterOrEqual,
        Op::GreaterOrEqual => Op::LessThan,
        Op::GreaterThan => Op::LessOrEqual,
        Op::LessOrEqual => Op::GreaterThan,
        Op::StartsWith => return None,
    };
    Some(Item {
        field: c.field.clone(),
        op,
        values: c.values.clone(),
    })
}

/// The segment's own criteria AND NOT each earlier segment's (an OR of negated items).
fn segment_rule(defs: &[SegmentDef], s: usize, dev: &str) -> Result<Option<Rule>, String> {
    let mut items: Vec<Item> = defs[s]
        .criteria
        .iter()
        .map(|c| Item {
            field: c.field.clone(),
            op: c.op,
            values: c.values.clone(),
        })
        .collect();
    let mut terms: Vec<String> = (1..=items.len()).map(|i| i.to_string()).collect();
    for earlier in &defs[..s] {
        let mut group = Vec::new();
        for c in &earlier.criteria {
            let n = negate(c).ok_or_else(|| {
                format!(
                    "segment '{}' follows '{}', whose startsWith criterion has no negation in Salesforce; put '{}' first or use equals lists",
                    defs[s].name, earlier.name, defs[s].name
                )
            })?;
            items.push(n);
            group.push(items.len().to_string());
        }
        match group.len() {
            0 => {}
            1 => terms.push(group.remove(0)),
            _ => terms.push(format!("({})", group.join(" OR "))),
        }
    }
    if items.is_empty() {
        return Ok(None);
    }
    if items.len() > ITEMS_PER_RULE {
        return Err(format!(
            "segment '{}' needs {} rule items with the negations of the segments before it; Salesforce allows {ITEMS_PER_RULE}",
            defs[s].name,
            items.len()
        ));
    }
    let filter = (terms.len() > 1).then(|| terms.join(" AND "));
    if filter
        .as_ref()
        .is_some_and(|f| f.len() > BOOLEAN_FILTER_CHARS)
    {
        return Err(format!(
            "segment '{}': boolean filter over 255 characters",
            defs[s].name
        ));
    }
    Ok(Some(Rule {
        name: format!("{dev}_Segment"),
        label: format!("{dev} segment {}", defs[s].name)
            .chars()
            .take(80)
            .collect(),
        inherited: true,
        items,
        boolean_filter: filter,
    }))
}

pub fn compile(input: &Input) -> Result<RuleSet, String> {
    let started = std::time::Instant::now();
    let plan = input.plan;
    let accounts = input.accounts;
    // Nodes: the hierarchy (parents first), then the territories.
    let mut nodes: Vec<RuleNode> = Vec::new();
    for n in &plan.nodes {
        nodes.push(RuleNode {
            id: n.id.clone(),
            developer_name: developer_name(&n.id),
            name: n.name.chars().take(80).collect(),
            level: n.level.clone(),
            parent: n.parent.clone(),
            rep_id: None,
            rules: Vec::new(),
            manual_accounts: Vec::new(),
            excluded_accounts: Vec::new(),
        });
    }
    for t in &plan.territories {
        nodes.push(RuleNode {
            id: t.id.clone(),
            developer_name: developer_name(&t.id),
            name: t
                .name
                .chars()
                .rev()
                .take(80)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect(),
            level: "territory".into(),
            parent: Some(t.parent.clone()),
            rep_id: Some(t.rep_id.clone()),
            rules: Vec::new(),
            manual_accounts: Vec::new(),
            excluded_accounts: Vec::new(),
        });
    }
    let index: HashMap<String, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.clone(), i))
        .collect();
    let parent: Vec<Option<usize>> = nodes
        .iter()
        .map(|n| n.parent.as_ref().and_then(|p| index.get(p).copied()))
        .collect();
    let path = |mut i: usize| {
        let mut p = vec![i];
        while let Some(a) = parent[i] {
            p.push(a);
            i = a;
        }
        p.reverse();
        p
    };
    let first_territory = plan.nodes.len();

    let (codes, pos) = code_list(input.universe, accounts);
    let code_index: HashMap<&str, usize> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();

    let mut stats = RuleStats {
        postal_universe: codes.len(),
        ..RuleStats::default()
    };
    let mut exceptions: Vec<Vec<usize>> = vec![Vec::new(); input.defs.len()];
    let mut key_mapping: Vec<(String, String)> = Vec::new();
    let mut key_territories = 0;
    let mut named: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (s, def) in input.defs.iter().enumerate() {
        let Some(root) = plan
            .nodes
            .iter()
            .position(|n| n.level == "segment" && n.name == def.name)
        else {
            continue;
        };
        let leaves: Vec<usize> = (0..plan.territories.len())
            .filter(|&t| plan.territories[t].segment == def.name)
            .collect();
        // Majority territory of each code that has accounts here.
        let mut count: HashMap<usize, BTreeMap<usize, usize>> = HashMap::new();
        for i in 0..accounts.len() {
            if input.seg_of[i] as usize != s {
                continue;
            }
            if let Some(&c) = code_index.get(accounts.postal_code[i].trim()) {
                *count
                    .entry(c)
                    .or_default()
                    .entry(plan.account_territory[i] as usize)
                    .or_default() += 1;
            }
        }
        let mut owner: Vec<Option<usize>> = vec![None; codes.len()];
        for (&c, per) in &count {
            owner[c] = per
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|x| *x.0);
        }
        stats.postal_codes_without_accounts = stats
            .postal_codes_without_accounts
            .max(owner.iter().filter(|o| o.is_none()).count());
        // Codes without accounts: the territories that own codes sharing the longest
        // prefix with it are the candidates (ZIP prefixes are sectional centres, so this
        // keeps prefix lists short); the nearest such code's territory takes it.
        let flat = |p: [f64; 2]| [p[1] * p[0].to_radians().cos().abs().max(0.1), p[0]];
        let mut by_prefix: HashMap<&str, Vec<usize>> = HashMap::new();
        for (c, o) in owner.iter().enumerate() {
            if o.is_some() {
                let code = codes[c].as_str();
                for l in 1..code.len() {
                    if code.is_char_boundary(l) {
                        by_prefix.entry(&code[..l]).or_default().push(c);
                    }
                }
            }
        }
        let tree = RTree::bulk_load(
            owner
                .iter()
                .enumerate()
                .filter_map(|(c, o)| o.map(|t| GeomWithData::new(flat(pos[c]), (c, t))))
                .collect(),
        );
        let dist2 = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2);
        let mut filled: Vec<usize> = (0..codes.len())
            .map(|c| {
                if let Some(t) = owner[c] {
                    return t;
                }
                let code = codes[c].as_str();
                let group = (1..code.len())
                    .rev()
                    .filter(|&l| code.is_char_boundary(l))
                    .find_map(|l| by_prefix.get(&code[..l]));
                let here = flat(pos[c]);
                match group {
                    Some(g) => g
                        .iter()
                        .map(|&x| (dist2(flat(pos[x]), here), x))
                        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                        .and_then(|(_, x)| owner[x])
                        .unwrap_or(0),
                    None => tree
                        .nearest_neighbor(here)
                        .map_or(leaves.first().copied().unwrap_or(0), |g| g.data.1),
                }
            })
            .collect();
        // A territory that owns no code takes the code where it has most accounts, when
        // that code's owner keeps another; the rest route by named accounts below.
        let mut owned = vec![0usize; plan.territories.len()];
        for &t in &filled {
            owned[t] += 1;
        }
        for &t in &leaves {
            if owned[t] > 0 {
                continue;
            }
            let best = count
                .iter()
                .filter_map(|(&c, per)| per.get(&t).map(|&n| (n, c)))
                .filter(|&(_, c)| owned[filled[c]] > 1)
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            if let Some((_, c)) = best {
                owned[filled[c]] -= 1;
                filled[c] = t;
                owned[t] += 1;
            }
        }
        // Prefix covers per depth: the code's ancestor at that depth owns it.
        let leaf_paths: HashMap<usize, Vec<usize>> = leaves
            .iter()
            .map(|&t| (t, path(first_territory + t)))
            .collect();
        let depth = leaf_paths.values().map(|p| p.len()).max().unwrap_or(1);
        let mut overflow = false;
        let mut postal_rules: Vec<(usize, Rule)> = Vec::new();
        for d in 1..depth {
            let mut at_depth: Vec<usize> = leaf_paths
                .values()
                .filter_map(|p| p.get(d).copied())
                .collect();
            at_depth.sort_unstable();
            at_depth.dedup();
            let slot: HashMap<usize, u32> = at_depth
                .iter()
                .enumerate()
                .map(|(i, &n)| (n, i as u32))
                .collect();
            let own: Vec<u32> = filled
                .iter()
                .map(|t| leaf_paths[t].get(d).map_or(0, |n| slot[n]))
                .collect();
            let entries = cover(&codes, &own, at_depth.len());
            for (i, &n) in at_depth.iter().enumerate() {
                let starts: Vec<String> = entries[i]
                    .iter()
                    .filter(|e| !e.exact)
                    .map(|e| e.text.clone())
                    .collect();
                let exact: Vec<String> = entries[i]
                    .iter()
                    .filter(|e| e.exact)
                    .map(|e| e.text.clone())
                    .collect();
                let mut items = Vec::new();
                for c in chunks(&starts) {
                    items.push(Item {
                        field: "postal_code".into(),
                        op: Op::StartsWith,
                        values: c,
                    });
                }
                for c in chunks(&exact) {
                    items.push(Item {
                        field: "postal_code".into(),
                        op: Op::Equals,
                        values: c,
                    });
                }
                if items.len() > ITEMS_PER_RULE {
                    crate::solve::debug(&format!(
                        "rules: {} needs {} postal items ({} prefixes, {} codes)",
                        nodes[n].id,
                        items.len(),
                        starts.len(),
                        exact.len()
                    ));
                    overflow = true;
                }
                if n >= first_territory {
                    let values = starts.len() + exact.len();
                    stats.items_per_territory_max = stats.items_per_territory_max.max(items.len());
                    stats.items_per_territory_mean += items.len() as f64;
                    stats.values_per_territory_max = stats.values_per_territory_max.max(values);
                    stats.values_per_territory_mean += values as f64;
                }
                let dev = &nodes[n].developer_name;
                postal_rules.push((
                    n,
                    any_of(
                        format!("{dev}_Postal"),
                        format!("{dev} postal codes"),
                        items,
                    ),
                ));
            }
        }
        if overflow {
            // Key-field fallback for the whole segment: every node routes on the key of
            // the territories below it; a mapping table gives each postal code its key.
            key_territories += leaves.len();
            postal_rules.clear();
            let mut under: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            for p in leaf_paths.values() {
                let key = nodes[*p.last().unwrap_or(&root)].developer_name.clone();
                for &n in &p[1..] {
                    under.entry(n).or_default().push(key.clone());
                }
            }
            for (n, mut keys) in under {
                keys.sort();
                let items = chunks(&keys)
                    .into_iter()
                    .map(|c| Item {
                        field: KEY_FIELD.into(),
                        op: Op::Equals,
                        values: c,
                    })
                    .collect();
                let dev = nodes[n].developer_name.clone();
                postal_rules.push((n, any_of(format!("{dev}_Key"), format!("{dev} key"), items)));
            }
            for (c, &t) in filled.iter().enumerate() {
                key_mapping.push((
                    format!("{}|{}", def.name, codes[c]),
                    nodes[first_territory + t].developer_name.clone(),
                ));
            }
        }
        // Every node needs a rule of its own, or the inherited segment rule alone would
        // match it everywhere: a territory without codes lists its accounts by number, a
        // node above territories without codes gets a rule that matches nothing.
        for (n, mut r) in postal_rules {
            if r.items.is_empty() {
                let dev = nodes[n].developer_name.clone();
                let ids: Vec<String> = if n >= first_territory {
                    (0..accounts.len())
                        .filter(|&i| plan.account_territory[i] as usize == n - first_territory)
                        .map(|i| accounts.id[i].clone())
                        .collect()
                } else {
                    Vec::new()
                };
                // Named accounts only when Salesforce can hold them (no commas, ≤ 10 items);
                // otherwise the accounts stay manual and the rule matches nothing.
                let fits = !ids.is_empty()
                    && ids
                        .iter()
                        .all(|id| !id.contains(',') && id.len() <= VALUE_CHARS)
                    && chunks(&ids).len() <= ITEMS_PER_RULE;
                let values = if fits {
                    named.extend(ids.iter().cloned());
                    ids
                } else {
                    vec![format!("NONE_{dev}")]
                };
                let items = chunks(&values)
                    .into_iter()
                    .map(|c| Item {
                        field: "account_id".into(),
                        op: Op::Equals,
                        values: c,
                    })
                    .collect();
                r = any_of(
                    format!("{dev}_Named"),
                    format!("{dev} named accounts"),
                    items,
                );
            }
            nodes[n].rules.push(r);
        }
        let root_dev = nodes[root].developer_name.clone();
        if let Some(r) = segment_rule(input.defs, s, &root_dev)? {
            nodes[root].rules.insert(0, r);
        }
        // Accounts the postal rules would route elsewhere.
        for i in 0..accounts.len() {
            if input.seg_of[i] as usize != s {
                continue;
            }
            let t = plan.account_territory[i] as usize;
            let routed = code_index
                .get(accounts.postal_code[i].trim())
                .map(|&c| filled[c]);
            if routed != Some(t) {
                exceptions[s].push(i);
            }
        }
    }
    crate::solve::debug(&format!(
        "rules: covers and exceptions {:?}",
        started.elapsed()
    ));
    let leaves_total = plan.territories.len().max(1) as f64;
    stats.items_per_territory_mean /= leaves_total;
    stats.values_per_territory_mean /= leaves_total;
    stats.key_field_territories = key_territories;

    let mut set = RuleSet {
        model: input.model.to_string(),
        model_developer_name: developer_name(input.model),
        nodes,
        key_field: (!key_mapping.is_empty()).then(|| KeyField {
            field: super::crm_field(KEY_FIELD),
            mapping: key_mapping,
        }),
        stats,
    };
    let roots: Vec<usize> = (0..input.defs.len())
        .map(|s| {
            set.nodes
                .iter()
                .position(|n| n.level == "segment" && n.name == input.defs[s].name)
                .unwrap_or(usize::MAX)
        })
        .collect();
    // Exceptions, then replays: anything still routed wrongly becomes an exception too.
    let mut manual: Vec<bool> = vec![false; accounts.len()];
    let mut excluded: Vec<Vec<bool>> = vec![vec![false; accounts.len()]; input.defs.len()];
    for (s, ex) in exceptions.iter().enumerate() {
        for &i in ex {
            manual[i] = true;
            if !accounts.postal_code[i].trim().is_empty() {
                excluded[s][i] = true;
            }
        }
    }
    let key_of: HashMap<String, String> = set
        .key_field
        .as_ref()
        .map(|k| k.mapping.iter().cloned().collect())
        .unwrap_or_default();
    // Set once a replay of the rules as they stand finds nothing wrong.
    let mut current = false;
    for round in 0..4 {
        let t = std::time::Instant::now();
        apply_exceptions(&mut set, input, &manual, &excluded, &roots, &key_of)?;
        let ev = Evaluator::new(&set)?;
        let owned = columns_for(&ev.fields, accounts, input.defs, input.seg_of, &key_of);
        let cols = view(&owned);
        let wrong: Vec<(usize, Vec<usize>)> = (0..accounts.len())
            .into_par_iter()
            .filter_map(|i| {
                let values: Vec<Option<&str>> = cols.iter().map(|c| c[i]).collect();
                let got = ev.route(&accounts.id[i], &values);
                let want = &plan.territories[plan.account_territory[i] as usize].id;
                (got.len() != 1 || set.nodes[got[0]].id != *want).then_some((i, got))
            })
            .collect();
        crate::solve::debug(&format!(
            "rules: replay round {round}: {} wrong, {:?}",
            wrong.len(),
            t.elapsed()
        ));
        if wrong.is_empty() {
            current = true;
            break;
        }
        let mut changed = false;
        for (i, got) in wrong {
            manual[i] = true;
            // Exclude at each segment whose tree the rules reached.
            for &g in &got {
                let mut r = g;
                while let Some(p) = set.nodes[r].parent.as_ref().and_then(|p| ev.index.get(p)) {
                    r = *p;
                }
                if let Some(s) = roots.iter().position(|&x| x == r)
                    && !excluded[s][i]
                {
                    excluded[s][i] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    if !current {
        apply_exceptions(&mut set, input, &manual, &excluded, &roots, &key_of)?;
    }
    set.stats.manual_accounts = manual.iter().filter(|&&m| m).count();
    set.stats.exclusion_records = set.nodes.iter().map(|n| n.excluded_accounts.len()).sum();
    Ok(set)
}

/// Field values for the evaluator, the key field taken from the mapping table.
pub fn columns_for(
    fields: &[String],
    accounts: &Accounts,
    defs: &[SegmentDef],
    seg_of: &[u16],
    key_of: &HashMap<String, String>,
) -> Vec<Vec<Option<String>>> {
    let mut cols = columns_of(accounts, fields);
    if let Some(k) = fields.iter().position(|f| f == KEY_FIELD) {
        cols[k] = (0..accounts.len())
            .map(|i| {
                let seg = &defs[seg_of[i] as usize].name;
                key_of
                    .get(&format!("{seg}|{}", accounts.postal_code[i].trim()))
                    .cloned()
            })
            .collect();
    }
    cols
}

/// Rewrites the manual associations and the exclusions: account-number rules at a segment
/// root while they fit its 15 rules, else one exclusion record per account and node whose
/// rules match it (on every such node, so it holds whether or not Salesforce lets an
/// exclusion reach a node's children).
fn apply_exceptions(
    set: &mut RuleSet,
    input: &Input,
    manual: &[bool],
    excluded: &[Vec<bool>],
    roots: &[usize],
    key_of: &HashMap<String, String>,
) -> Result<(), String> {
    let plan = input.plan;
    let accounts = input.accounts;
    let first_territory = plan.nodes.len();
    for n in &mut set.nodes {
        n.manual_accounts.clear();
        n.excluded_accounts.clear();
        n.rules.retain(|r| !r.name.contains("_Exclude"));
    }
    for (i, &m) in manual.iter().enumerate() {
        if m {
            let t = first_territory + plan.account_territory[i] as usize;
            set.nodes[t].manual_accounts.push(accounts.id[i].clone());
        }
    }
    let mut by_records: Vec<usize> = Vec::new();
    for (s, &root) in roots.iter().enumerate() {
        if root == usize::MAX {
            continue;
        }
        let ids: Vec<String> = (0..accounts.len())
            .filter(|&i| excluded[s][i])
            .map(|i| accounts.id[i].clone())
            .collect();
        let items: Vec<Item> = chunks(&ids)
            .into_iter()
            .map(|c| Item {
                field: "account_id".into(),
                op: Op::NotEqual,
                values: c,
            })
            .collect();
        let fits = set.nodes[root].rules.len() + items.len().div_ceil(ITEMS_PER_RULE)
            <= RULES_PER_TERRITORY
            && !ids.iter().any(|id| id.contains(','));
        if !fits {
            by_records.push(s);
            continue;
        }
        let dev = set.nodes[root].developer_name.clone();
        for (k, group) in items.chunks(ITEMS_PER_RULE).enumerate() {
            set.nodes[root].rules.push(Rule {
                name: format!("{dev}_Exclude_{}", k + 1),
                label: format!("{dev} named-account exceptions {}", k + 1),
                inherited: true,
                items: group.to_vec(),
                boolean_filter: None,
            });
        }
    }
    if by_records.is_empty() {
        return Ok(());
    }
    let ev = Evaluator::new(set)?;
    let mut root_of: Vec<usize> = (0..set.nodes.len()).collect();
    for n in 0..set.nodes.len() {
        let mut r = n;
        while let Some(p) = set.nodes[r].parent.as_ref().and_then(|p| ev.index.get(p)) {
            r = *p;
        }
        root_of[n] = r;
    }
    let owned = columns_for(&ev.fields, accounts, input.defs, input.seg_of, key_of);
    let cols = view(&owned);
    let records: Vec<(usize, usize)> = (0..accounts.len())
        .into_par_iter()
        .filter(|&i| by_records.iter().any(|&s| excluded[s][i]))
        .flat_map_iter(|i| {
            let values: Vec<Option<&str>> = cols.iter().map(|c| c[i]).collect();
            let segs: Vec<usize> = by_records
                .iter()
                .filter(|&&s| excluded[s][i])
                .map(|&s| roots[s])
                .collect();
            ev.rule_matches(&values)
                .into_iter()
                .filter(|&n| segs.contains(&root_of[n]))
                .map(move |n| (n, i))
                .collect::<Vec<_>>()
        })
        .collect();
    drop(ev);
    for (n, i) in records {
        set.nodes[n].excluded_accounts.push(accounts.id[i].clone());
    }
    Ok(())
}
