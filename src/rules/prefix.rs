//! The shortest exact prefix cover of a set of postal codes within a universe: a prefix is
//! used when every universe code under it belongs to the set, and no shorter prefix is.
//! That is the set of maximal pure subtrees of the universe's trie, which is the minimum
//! number of prefixes that cover the set exactly.

use std::collections::BTreeMap;

/// One entry of a cover: a prefix (`startsWith`), or an exact code (`equals`) where the
/// code is itself the start of longer codes owned by others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub text: String,
    pub exact: bool,
}

/// `universe` sorted and deduplicated; `owner[i]` is the group of `universe[i]`. Returns,
/// per group, its entries in code order.
pub fn cover(universe: &[String], owner: &[u32], groups: usize) -> Vec<Vec<Entry>> {
    let mut out = vec![Vec::new(); groups];
    walk(universe, owner, 0, universe.len(), 0, &mut out);
    out
}

/// Codes `lo..hi` share their first `depth` characters.
fn walk(u: &[String], owner: &[u32], lo: usize, hi: usize, depth: usize, out: &mut [Vec<Entry>]) {
    if lo >= hi {
        return;
    }
    let g = owner[lo];
    let pure = owner[lo..hi].iter().all(|&x| x == g);
    // A pure range is one prefix, unless it is the whole universe at depth 0 (no prefix).
    if pure && depth > 0 {
        out[g as usize].push(Entry {
            text: u[lo][..depth.min(u[lo].len())].to_string(),
            exact: false,
        });
        return;
    }
    // Codes that end at this depth are their own entries; the rest split by next character.
    let mut children: BTreeMap<char, (usize, usize)> = BTreeMap::new();
    for i in lo..hi {
        match u[i][depth..].chars().next() {
            None => out[owner[i] as usize].push(Entry {
                text: u[i].clone(),
                exact: true,
            }),
            Some(c) => {
                let e = children.entry(c).or_insert((i, i));
                e.1 = i + 1;
            }
        }
    }
    for (c, (a, b)) in children {
        walk(u, owner, a, b, depth + c.len_utf8(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_subtrees_become_prefixes() {
        let u: Vec<String> = ["94101", "94102", "94103", "94110", "94111", "95001"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let owner = [0, 0, 0, 1, 0, 1];
        let c = cover(&u, &owner, 2);
        let texts = |g: usize| c[g].iter().map(|e| e.text.as_str()).collect::<Vec<_>>();
        assert_eq!(texts(0), vec!["9410", "94111"]);
        assert_eq!(texts(1), vec!["94110", "95"]);
        // A code that starts longer codes of another group is exact.
        let u: Vec<String> = ["12", "123", "124"].iter().map(|s| s.to_string()).collect();
        let c = cover(&u, &[0, 1, 1], 2);
        assert_eq!(
            c[0],
            vec![Entry {
                text: "12".into(),
                exact: true
            }]
        );
        assert_eq!(
            c[1].iter().map(|e| e.text.as_str()).collect::<Vec<_>>(),
            vec!["123", "124"]
        );
    }
}
