//! The rule evaluator, with the CRM's semantics (see the module above), and the replay
//! that compares what the rules do with what the plan says.

use std::borrow::Cow;
// Fx hashing: the replay looks up every account's cells in these sets (100k: the
// evaluator was 7% of a run's CPU with the default hasher); order never matters here.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use rayon::prelude::*;

use super::{Item, Op, RuleSet};

/// An item ready to match: values lower-cased into a set, numbers parsed.
enum Matcher {
    Equals(HashSet<String>),
    NotEqual(HashSet<String>),
    StartsWith(HashSet<String>, usize),
    Number(Op, f64),
}

impl Matcher {
    fn new(item: &Item) -> Matcher {
        let lower = || -> HashSet<String> {
            item.values
                .iter()
                .map(|v| v.trim().to_lowercase())
                .collect()
        };
        match item.op {
            Op::Equals => Matcher::Equals(lower()),
            Op::NotEqual => Matcher::NotEqual(lower()),
            Op::StartsWith => {
                let set = lower();
                let longest = set.iter().map(|v| v.len()).max().unwrap_or(0);
                Matcher::StartsWith(set, longest)
            }
            op => Matcher::Number(
                op,
                item.values
                    .first()
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(f64::NAN),
            ),
        }
    }

    /// A blank field matches only `notEqual` (Salesforce: empty fields never match).
    /// `cell` is trimmed and lower-cased already (see `normalise`).
    fn matches(&self, cell: Option<&str>) -> bool {
        let Some(c) = cell else {
            return matches!(self, Matcher::NotEqual(_));
        };
        match self {
            Matcher::Equals(set) => set.contains(c),
            Matcher::NotEqual(set) => !set.contains(c),
            Matcher::StartsWith(set, longest) => (1..=c.len().min(*longest))
                .filter(|&n| c.is_char_boundary(n))
                .any(|n| set.contains(&c[..n])),
            Matcher::Number(op, v) => match c.parse::<f64>() {
                Ok(x) => match op {
                    Op::LessThan => x < *v,
                    Op::GreaterThan => x > *v,
                    Op::LessOrEqual => x <= *v,
                    Op::GreaterOrEqual => x >= *v,
                    _ => false,
                },
                Err(_) => false,
            },
        }
    }
}

/// Values as the matchers compare them: trimmed, lower-cased, blanks as None.
fn normalise<'v>(values: &[Option<&'v str>]) -> Vec<Option<Cow<'v, str>>> {
    values
        .iter()
        .map(|v| {
            v.map(str::trim).filter(|c| !c.is_empty()).map(|c| {
                // Most cells (postal codes, ids) are lower-case ASCII already: borrowed,
                // not copied, for each of a million accounts.
                if c.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
                    Cow::Borrowed(c)
                } else {
                    Cow::Owned(c.to_lowercase())
                }
            })
        })
        .collect()
}

/// A boolean filter over item positions (1-based): `1 AND (2 OR 3)`.
#[derive(Debug, Clone)]
enum Filter {
    Item(usize),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

fn parse_filter(text: &str, items: usize) -> Result<Filter, String> {
    let tokens: Vec<String> = text
        .replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
        .map(|t| t.to_ascii_uppercase())
        .collect();
    let mut pos = 0;
    let f = parse_or(&tokens, &mut pos, items)?;
    if pos != tokens.len() {
        return Err(format!(
            "unexpected '{}' in boolean filter '{text}'",
            tokens[pos]
        ));
    }
    Ok(f)
}

fn parse_or(t: &[String], pos: &mut usize, n: usize) -> Result<Filter, String> {
    let mut left = parse_and(t, pos, n)?;
    while t.get(*pos).is_some_and(|x| x == "OR") {
        *pos += 1;
        left = Filter::Or(Box::new(left), Box::new(parse_and(t, pos, n)?));
    }
    Ok(left)
}

fn parse_and(t: &[String], pos: &mut usize, n: usize) -> Result<Filter, String> {
    let mut left = parse_atom(t, pos, n)?;
    while t.get(*pos).is_some_and(|x| x == "AND") {
        *pos += 1;
        left = Filter::And(Box::new(left), Box::new(parse_atom(t, pos, n)?));
    }
    Ok(left)
}

fn parse_atom(t: &[String], pos: &mut usize, n: usize) -> Result<Filter, String> {
    let tok = t.get(*pos).ok_or("boolean filter ends early")?;
    *pos += 1;
    if tok == "(" {
        let f = parse_or(t, pos, n)?;
        if t.get(*pos).map(String::as_str) != Some(")") {
            return Err("missing ')' in boolean filter".into());
        }
        *pos += 1;
        return Ok(f);
    }
    match tok.parse::<usize>() {
        Ok(i) if (1..=n).contains(&i) => Ok(Filter::Item(i - 1)),
        _ => Err(format!("'{tok}' is not an item number 1..{n}")),
    }
}

fn eval_filter(f: &Filter, hit: &[bool]) -> bool {
    match f {
        Filter::Item(i) => hit[*i],
        Filter::And(a, b) => eval_filter(a, hit) && eval_filter(b, hit),
        Filter::Or(a, b) => eval_filter(a, hit) || eval_filter(b, hit),
    }
}

/// Items that must all hold, with every `notEqual` on one field folded into the first:
/// a value in none of the sets is a value outside their union, and a blank matches
/// `notEqual` either way. Exception rules are ten such items of 125 account ids each
/// (the CRM's limits): one lookup instead of ten per account replayed.
fn merge_not_equal(items: Vec<(usize, Matcher)>) -> Vec<(usize, Matcher)> {
    let mut out: Vec<(usize, Matcher)> = Vec::with_capacity(items.len());
    for (field, m) in items {
        if let Matcher::NotEqual(values) = m {
            if let Some((_, Matcher::NotEqual(first))) = out
                .iter_mut()
                .find(|(f, x)| *f == field && matches!(x, Matcher::NotEqual(_)))
            {
                first.extend(values);
            } else {
                out.push((field, Matcher::NotEqual(values)));
            }
        } else {
            out.push((field, m));
        }
    }
    out
}

struct CompiledRule {
    /// (index into the evaluator's fields, matcher)
    items: Vec<(usize, Matcher)>,
    filter: Option<Filter>,
}

impl CompiledRule {
    /// `values[f]` is the account's value of field `f`; with `only`, items on other fields
    /// count as matching.
    fn matches(&self, values: &[Option<&str>], only: Option<&[usize]>) -> bool {
        let item = |&(field, ref m): &(usize, Matcher)| match only {
            Some(fs) if !fs.contains(&field) => true,
            _ => m.matches(values[field]),
        };
        let Some(filter) = &self.filter else {
            // No filter: every item must hold, and the first that fails decides.
            return self.items.iter().all(item);
        };
        let hit: Vec<bool> = self.items.iter().map(item).collect();
        eval_filter(filter, &hit)
    }
}

/// Value → (rule, is startsWith) for the OR-of-values rules on one field.
type ValueIndex = HashMap<String, Vec<(usize, bool)>>;

/// A rule set ready to evaluate.
pub struct Evaluator<'a> {
    pub set: &'a RuleSet,
    /// The account fields the rules read, in the order `route` expects their values.
    pub fields: Vec<String>,
    rules: Vec<CompiledRule>,
    /// Per node: indices into `rules` that apply (own rules and ancestors' inherited ones).
    effective: Vec<Vec<usize>>,
    parent: Vec<Option<usize>>,
    manual: HashMap<String, Vec<usize>>,
    /// Account → nodes whose rules skip it (exclusion records).
    excluded: HashMap<String, Vec<usize>>,
    pub index: HashMap<String, usize>,
    /// Rules that are an OR of equals/startsWith items on one field, found by value:
    /// field → value → (rule, startsWith?). Evaluating them is a few lookups per account
    /// instead of one per rule.
    lookup: Vec<(usize, ValueIndex)>,
    indexed: Vec<bool>,
    /// Per indexed rule: the nodes that can only match when it does (it is the first
    /// indexed rule in their effective set); `unanchored`: nodes with no indexed rule,
    /// tried for every account. Routing then looks at a handful of nodes, not all.
    anchored: Vec<Vec<usize>>,
    unanchored: Vec<usize>,
}

impl<'a> Evaluator<'a> {
    pub fn new(set: &'a RuleSet) -> Result<Evaluator<'a>, String> {
        let index: HashMap<String, usize> = set
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), i))
            .collect();
        // Fields are numbered in the order rules first name them; the matchers (a value
        // set per item, hundreds of thousands of postal prefixes at 1M accounts) are
        // built in parallel, in rule order.
        let mut fields: Vec<String> = Vec::new();
        let all: Vec<&super::Rule> = set.nodes.iter().flat_map(|n| &n.rules).collect();
        for r in &all {
            for i in &r.items {
                if !fields.contains(&i.field) {
                    fields.push(i.field.clone());
                }
            }
        }
        let compiled: Vec<Result<CompiledRule, String>> = all
            .par_iter()
            .map(|r| {
                let filter = match &r.boolean_filter {
                    Some(f) => Some(
                        parse_filter(f, r.items.len())
                            .map_err(|e| format!("rule {}: {e}", r.name))?,
                    ),
                    None => None,
                };
                let items = r
                    .items
                    .iter()
                    .map(|i| {
                        let f = fields.iter().position(|x| *x == i.field).unwrap_or(0);
                        (f, Matcher::new(i))
                    })
                    .collect();
                Ok(CompiledRule {
                    items: if filter.is_none() {
                        merge_not_equal(items)
                    } else {
                        items
                    },
                    filter,
                })
            })
            .collect();
        let rules = compiled.into_iter().collect::<Result<Vec<_>, String>>()?;
        let mut own: Vec<Vec<(usize, bool)>> = Vec::with_capacity(set.nodes.len());
        let mut next = 0;
        for n in &set.nodes {
            own.push(
                n.rules
                    .iter()
                    .map(|r| {
                        next += 1;
                        (next - 1, r.inherited)
                    })
                    .collect(),
            );
        }
        let mut parent = Vec::with_capacity(set.nodes.len());
        for n in &set.nodes {
            let p = match &n.parent {
                None => None,
                Some(p) => Some(
                    *index
                        .get(p)
                        .ok_or_else(|| format!("node {} names unknown parent {p}", n.id))?,
                ),
            };
            parent.push(p);
        }
        let mut effective = Vec::with_capacity(set.nodes.len());
        for i in 0..set.nodes.len() {
            let mut e: Vec<usize> = own[i].iter().map(|x| x.0).collect();
            let mut at = parent[i];
            let mut steps = 0;
            while let Some(a) = at {
                e.extend(own[a].iter().filter(|x| x.1).map(|x| x.0));
                at = parent[a];
                steps += 1;
                if steps > set.nodes.len() {
                    return Err("the rule hierarchy has a cycle".into());
                }
            }
            effective.push(e);
        }
        // OR-of-values rules on one field, indexed by value.
        let mut lookup: Vec<(usize, ValueIndex)> = Vec::new();
        let mut indexed = vec![false; rules.len()];
        let mut r = 0;
        for n in &set.nodes {
            for rule in &n.rules {
                let field = rule.items.first().map(|i| i.field.clone());
                let or_only = rule.items.len() == 1
                    || rule.boolean_filter.as_ref().is_some_and(|f| {
                        let t: Vec<&str> = f.split_whitespace().collect();
                        t.len() == 2 * rule.items.len() - 1
                            && t.iter().enumerate().all(|(k, x)| {
                                if k % 2 == 1 {
                                    *x == "OR"
                                } else {
                                    x.parse::<usize>() == Ok(k / 2 + 1)
                                }
                            })
                    });
                let simple = !rule.items.is_empty()
                    && rule.items.iter().all(|i| {
                        Some(&i.field) == field.as_ref()
                            && matches!(i.op, Op::Equals | Op::StartsWith)
                    });
                if or_only && simple {
                    let f = field
                        .as_deref()
                        .and_then(|f| fields.iter().position(|x| x == f))
                        .unwrap_or(0);
                    let slot = match lookup.iter().position(|(x, _)| *x == f) {
                        Some(k) => k,
                        None => {
                            lookup.push((f, HashMap::default()));
                            lookup.len() - 1
                        }
                    };
                    for item in &rule.items {
                        for v in &item.values {
                            lookup[slot]
                                .1
                                .entry(v.trim().to_lowercase())
                                .or_default()
                                .push((r, item.op == Op::StartsWith));
                        }
                    }
                    indexed[r] = true;
                }
                r += 1;
            }
        }
        let mut manual: HashMap<String, Vec<usize>> = HashMap::default();
        for (i, n) in set.nodes.iter().enumerate() {
            for a in &n.manual_accounts {
                manual.entry(a.clone()).or_default().push(i);
            }
        }
        let mut anchored: Vec<Vec<usize>> = vec![Vec::new(); rules.len()];
        let mut unanchored = Vec::new();
        for (i, e) in effective.iter().enumerate() {
            match e.iter().find(|&&r| indexed[r]) {
                Some(&r) => anchored[r].push(i),
                None if !e.is_empty() => unanchored.push(i),
                None => {}
            }
        }
        let mut excluded: HashMap<String, Vec<usize>> = HashMap::default();
        for (i, n) in set.nodes.iter().enumerate() {
            for a in &n.excluded_accounts {
                excluded.entry(a.clone()).or_default().push(i);
            }
        }
        Ok(Evaluator {
            set,
            excluded,
            fields,
            lookup,
            indexed,
            anchored,
            unanchored,
            rules,
            effective,
            parent,
            manual,
            index,
        })
    }

    /// Nodes whose rules (all of them) match, before the lowest-per-branch step, in
    /// ascending order. Each rule is evaluated at most once per account.
    fn matching(&self, values: &[Option<&str>], only: Option<&[usize]>) -> Vec<usize> {
        // Indexed rules are false unless a prefix (or the whole value) of theirs is found;
        // in a replay restricted to `only`, those on other fields count as matching.
        let mut hit: Vec<usize> = Vec::new();
        for (f, map) in &self.lookup {
            if only.is_some_and(|o| !o.contains(f)) {
                hit.extend((0..self.rules.len()).filter(|&r| {
                    self.indexed[r] && self.rules[r].items.first().is_some_and(|x| x.0 == *f)
                }));
                continue;
            }
            let Some(c) = values[*f] else { continue };
            for n in 1..=c.len() {
                if !c.is_char_boundary(n) {
                    continue;
                }
                if let Some(hits) = map.get(&c[..n]) {
                    hit.extend(
                        hits.iter()
                            .filter(|&&(_, starts)| starts || n == c.len())
                            .map(|&(r, _)| r),
                    );
                }
            }
        }
        hit.sort_unstable();
        hit.dedup();
        let mut checked: Vec<(usize, bool)> = Vec::new();
        let mut rule = |r: usize| {
            if self.indexed[r] {
                return hit.binary_search(&r).is_ok();
            }
            if let Some(&(_, m)) = checked.iter().find(|x| x.0 == r) {
                return m;
            }
            let m = self.rules[r].matches(values, only);
            checked.push((r, m));
            m
        };
        let mut nodes = self.unanchored.clone();
        for &r in &hit {
            nodes.extend(&self.anchored[r]);
        }
        nodes.sort_unstable();
        nodes.dedup();
        nodes.retain(|&i| self.effective[i].iter().all(|&r| rule(r)));
        nodes
    }

    /// Keeps only the lowest matching node of each branch.
    fn lowest(&self, hits: Vec<usize>) -> Vec<usize> {
        // An account matches a handful of nodes: plain vectors beat hashing them.
        let mut covered: Vec<usize> = Vec::new();
        for &h in &hits {
            let mut at = self.parent[h];
            while let Some(a) = at {
                if hits.contains(&a) {
                    covered.push(a);
                }
                at = self.parent[a];
            }
        }
        hits.into_iter().filter(|h| !covered.contains(h)).collect()
    }

    /// The nodes an account ends up in: rule matches (lowest per branch) plus manual ones.
    /// `values` follows `fields`.
    pub fn route(&self, account_id: &str, values: &[Option<&str>]) -> Vec<usize> {
        let owned = normalise(values);
        let values: Vec<Option<&str>> = owned.iter().map(|v| v.as_deref()).collect();
        let mut hits = self.matching(&values, None);
        if let Some(x) = self.excluded.get(account_id) {
            hits.retain(|h| !x.contains(h));
        }
        let mut out = self.lowest(hits);
        if let Some(m) = self.manual.get(account_id) {
            out.extend(m);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every node whose rules match `values` (following `fields`), before exclusion
    /// records, manual associations and the lowest-per-branch step.
    pub fn rule_matches(&self, values: &[Option<&str>]) -> Vec<usize> {
        let owned = normalise(values);
        let values: Vec<Option<&str>> = owned.iter().map(|v| v.as_deref()).collect();
        self.matching(&values, None)
    }

    /// Where a bare postal code routes, reading only the items on the postal field (and on
    /// the key field, given the code's key).
    pub fn route_postal(&self, field: &str, code: &str, key: Option<(&str, &str)>) -> Vec<usize> {
        let mut only = Vec::new();
        let mut owned: Vec<Option<String>> = vec![None; self.fields.len()];
        if let Some(f) = self.fields.iter().position(|x| x == field) {
            only.push(f);
            owned[f] = Some(code.trim().to_lowercase()).filter(|c| !c.is_empty());
        }
        if let Some((kf, kv)) = key
            && let Some(f) = self.fields.iter().position(|x| x == kf)
        {
            only.push(f);
            owned[f] = Some(kv.trim().to_lowercase());
        }
        if only.is_empty() {
            return Vec::new();
        }
        let values: Vec<Option<&str>> = owned.iter().map(|v| v.as_deref()).collect();
        self.lowest(self.matching(&values, Some(&only)))
    }
}

/// What the replay found: accounts routed elsewhere than the plan, and postal codes that
/// route to no territory or to several within a segment.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    pub accounts: usize,
    pub matched: usize,
    /// (account id, plan territory, routed node ids)
    pub mismatches: Vec<(String, String, Vec<String>)>,
    pub postal_codes: usize,
    /// (segment, code, routed leaves)
    pub postal_problems: Vec<(String, String, Vec<String>)>,
}

impl Replay {
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty() && self.postal_problems.is_empty()
    }

    pub fn describe(&self, limit: usize) -> Vec<String> {
        let mut out: Vec<String> = self
            .mismatches
            .iter()
            .take(limit)
            .map(|(a, want, got)| {
                format!(
                    "account {a}: the plan says {want}, the rules give [{}]",
                    got.join(", ")
                )
            })
            .collect();
        if self.mismatches.len() > limit {
            out.push(format!(
                "… and {} more accounts",
                self.mismatches.len() - limit
            ));
        }
        out.extend(self.postal_problems.iter().take(limit).map(|(s, c, got)| {
            format!(
                "postal code {c} in {s} routes to [{}], not exactly one territory",
                got.join(", ")
            )
        }));
        if self.postal_problems.len() > limit {
            out.push(format!(
                "… and {} more postal codes",
                self.postal_problems.len() - limit
            ));
        }
        out
    }
}

/// Replays `set` on every account (`columns[f][i]` is account `i`'s value of the
/// evaluator's field `f`) against `plan_territory[i]`, and on every postal code of
/// `universe` per segment root.
pub fn replay(
    ev: &Evaluator,
    ids: &[String],
    columns: &[Vec<Option<&str>>],
    plan_territory: &[String],
    universe: &[String],
) -> Replay {
    let set = ev.set;
    let results: Vec<Option<(String, String, Vec<String>)>> = (0..ids.len())
        .into_par_iter()
        .map(|i| {
            let values: Vec<Option<&str>> = columns.iter().map(|c| c[i]).collect();
            let got = ev.route(&ids[i], &values);
            let ok = got.len() == 1 && set.nodes[got[0]].id == plan_territory[i];
            (!ok).then(|| {
                (
                    ids[i].clone(),
                    plan_territory[i].clone(),
                    got.iter().map(|&g| set.nodes[g].id.clone()).collect(),
                )
            })
        })
        .collect();
    let mismatches: Vec<_> = results.into_iter().flatten().collect();
    // Postal universe: per segment root, each code must reach exactly one territory.
    let roots: Vec<usize> = (0..set.nodes.len())
        .filter(|&i| set.nodes[i].parent.is_none())
        .collect();
    let root_of = |mut i: usize| {
        while let Some(p) = ev.parent[i] {
            i = p;
        }
        i
    };
    let keys: HashMap<&str, &str> = set
        .key_field
        .as_ref()
        .map(|k| {
            k.mapping
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let postal_problems: Vec<(String, String, Vec<String>)> = universe
        .par_iter()
        .flat_map_iter(|code| {
            let plain = ev.route_postal("postal_code", code, None);
            roots
                .iter()
                .filter_map(|&r| {
                    let keyed = keys
                        .get(format!("{}|{code}", set.nodes[r].name).as_str())
                        .map(|k| {
                            ev.route_postal(
                                "postal_code",
                                code,
                                Some((super::compile::KEY_FIELD, k)),
                            )
                        });
                    let got = keyed.as_ref().unwrap_or(&plain);
                    let leaves: Vec<String> = got
                        .iter()
                        .filter(|&&g| root_of(g) == r && set.nodes[g].level == "territory")
                        .map(|&g| set.nodes[g].id.clone())
                        .collect();
                    (leaves.len() != 1).then(|| (set.nodes[r].name.clone(), code.clone(), leaves))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Replay {
        accounts: ids.len(),
        matched: ids.len() - mismatches.len(),
        mismatches,
        postal_codes: universe.len(),
        postal_problems,
    }
}

/// Account values of `fields` as the CRM stores them: text as written, numbers as
/// numbers, blank cells as None.
pub fn columns_of(
    accounts: &crate::model::Accounts,
    fields: &[String],
) -> Vec<Vec<Option<String>>> {
    let n = accounts.len();
    // A million accounts make a million strings per field: built in parallel.
    let text = |col: &Vec<String>| -> Vec<Option<String>> {
        col.par_iter()
            .map(|v| (!v.trim().is_empty()).then(|| v.clone()))
            .collect()
    };
    fields
        .iter()
        .map(|f| match f.as_str() {
            "account_id" => text(&accounts.id),
            "name" => text(&accounts.name),
            "postal_code" => text(&accounts.postal_code),
            "country" => text(&accounts.country),
            "state" => text(&accounts.state),
            "industry" => text(&accounts.industry),
            "owner_id" => text(&accounts.owner_id),
            other => {
                if let Some(col) = accounts.numeric.get(other) {
                    let mut out: Vec<Option<String>> =
                        col.values.par_iter().map(|v| Some(v.to_string())).collect();
                    for &b in &col.blank_rows {
                        out[b as usize] = None;
                    }
                    out
                } else if let Some((_, raw)) = accounts.extra.get(other) {
                    text(raw)
                } else {
                    vec![None; n]
                }
            }
        })
        .collect()
}

/// Borrowed view of `columns_of`.
pub fn view(columns: &[Vec<Option<String>>]) -> Vec<Vec<Option<&str>>> {
    columns
        .iter()
        .map(|c| c.par_iter().map(|v| v.as_deref()).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_evaluate() {
        let f = parse_filter("(1 OR 2) AND 3", 3).unwrap();
        assert!(eval_filter(&f, &[false, true, true]));
        assert!(!eval_filter(&f, &[true, true, false]));
        assert!(parse_filter("1 AND 4", 3).is_err());
        assert!(parse_filter("(1 OR 2", 3).is_err());
    }

    #[test]
    fn blanks_match_only_not_equal() {
        let item = |op, v: &str| Item {
            field: "x".into(),
            op,
            values: v.split(',').map(String::from).collect(),
        };
        assert!(!Matcher::new(&item(Op::Equals, "a")).matches(None));
        assert!(Matcher::new(&item(Op::NotEqual, "a")).matches(None));
        assert!(Matcher::new(&item(Op::Equals, "A")).matches(Some("a")));
        assert!(!Matcher::new(&item(Op::LessThan, "100")).matches(None));
        assert!(Matcher::new(&item(Op::StartsWith, "941,95")).matches(Some("94105")));
        assert!(!Matcher::new(&item(Op::StartsWith, "941,95")).matches(Some("96105")));
    }

    /// Exception rules fold their `notEqual` items on one field into one set: a rule
    /// matches exactly where every item of the unfolded rule does.
    #[test]
    fn folded_not_equal_items_match_as_the_items_do() {
        let item = |field: &str, op, v: &str| Item {
            field: field.into(),
            op,
            values: v.split(',').map(String::from).collect(),
        };
        let items = [
            (0, item("id", Op::NotEqual, "A1,A2")),
            (1, item("zip", Op::StartsWith, "94")),
            (0, item("id", Op::NotEqual, "A3")),
            (1, item("zip", Op::NotEqual, "94105")),
        ];
        let unfolded: Vec<(usize, Matcher)> =
            items.iter().map(|(f, i)| (*f, Matcher::new(i))).collect();
        let folded = merge_not_equal(items.iter().map(|(f, i)| (*f, Matcher::new(i))).collect());
        assert_eq!(folded.len(), 3, "the two id items fold into one");
        let all =
            |ms: &[(usize, Matcher)], v: &[Option<&str>]| ms.iter().all(|(f, m)| m.matches(v[*f]));
        for id in [Some("a1"), Some("a2"), Some("a3"), Some("a4"), None] {
            for zip in [Some("94105"), Some("94107"), Some("95001"), None] {
                let v = [id, zip];
                assert_eq!(
                    all(&folded, &v),
                    all(&unfolded, &v),
                    "id {id:?} zip {zip:?}"
                );
            }
        }
        assert!(all(&folded, &[Some("a4"), Some("94107")]));
        assert!(!all(&folded, &[Some("a3"), Some("94107")]));
    }
}
