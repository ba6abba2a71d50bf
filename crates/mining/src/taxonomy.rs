//! A dataset's labels: a hierarchy written with ` > ` (`Billing > Refund` is a child of
//! `Billing`, and a message with the child has the parent too). Each label keeps a numeric
//! id for life, so a rename keeps its messages and models, and a removal drops only it and
//! its children.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::MiningError;

/// Separator between a label's levels.
pub const SEP: &str = " > ";
/// Most labels in a dataset.
pub const MAX_LABELS: usize = 1_000;
/// Longest label (the full path), in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Deepest hierarchy.
pub const MAX_DEPTH: usize = 6;

/// One label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Stable id.
    pub id: u32,
    /// Full name, levels joined by ` > `.
    pub name: String,
}

/// A dataset's labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taxonomy {
    labels: Vec<Label>,
    next_id: u32,
}

/// Checks a label name and writes it the one way (levels trimmed, joined by ` > `).
pub fn normalize(name: &str) -> Result<String, MiningError> {
    let bad = |why: &str| MiningError::Invalid(format!("label {name:?}: {why}"));
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(bad(&format!("longer than {MAX_NAME_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("holds a control character"));
    }
    let levels: Vec<&str> = name.split('>').map(str::trim).collect();
    if levels.iter().any(|l| l.is_empty()) {
        return Err(bad("a level is empty (levels are separated by ' > ')"));
    }
    if levels.len() > MAX_DEPTH {
        return Err(bad(&format!("deeper than {MAX_DEPTH} levels")));
    }
    Ok(levels.join(SEP))
}

/// The parent's name of a (normalized) label.
pub fn parent_name(name: &str) -> Option<&str> {
    name.rfind(SEP).map(|i| &name[..i])
}

impl Taxonomy {
    /// A taxonomy of `names` (their parents added).
    pub fn new(names: &[String]) -> Result<Taxonomy, MiningError> {
        let mut t = Taxonomy::default();
        t.add(names)?;
        Ok(t)
    }

    /// Every label, parents before children.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The label named `name` (written any way `normalize` accepts).
    pub fn get(&self, name: &str) -> Option<&Label> {
        let n = normalize(name).ok()?;
        self.labels.iter().find(|l| l.name == n)
    }

    /// The label with id `id`.
    pub fn by_id(&self, id: u32) -> Option<&Label> {
        self.labels.iter().find(|l| l.id == id)
    }

    /// The parent of label `id`.
    pub fn parent(&self, id: u32) -> Option<u32> {
        let l = self.by_id(id)?;
        parent_name(&l.name)
            .and_then(|p| self.labels.iter().find(|x| x.name == p))
            .map(|x| x.id)
    }

    /// Adds labels (and their parents) that are not there yet.
    pub fn add(&mut self, names: &[String]) -> Result<(), MiningError> {
        for name in names {
            let n = normalize(name)?;
            let mut chain = vec![n.clone()];
            let mut cur = n.as_str();
            while let Some(p) = parent_name(cur) {
                chain.push(p.to_string());
                cur = p;
            }
            for level in chain.into_iter().rev() {
                if self.labels.iter().all(|l| l.name != level) {
                    if self.labels.len() >= MAX_LABELS {
                        return Err(MiningError::Invalid(format!(
                            "a dataset has at most {MAX_LABELS} labels"
                        )));
                    }
                    self.labels.push(Label {
                        id: self.next_id,
                        name: level,
                    });
                    self.next_id += 1;
                }
            }
        }
        Ok(())
    }

    /// Renames `from` (and the names below it) to `to`, keeping ids. `to` must not exist.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), MiningError> {
        let from = normalize(from)?;
        let to = normalize(to)?;
        if self.labels.iter().all(|l| l.name != from) {
            return Err(MiningError::Invalid(format!("label {from:?} is not in the taxonomy")));
        }
        if from == to {
            return Ok(());
        }
        if self.labels.iter().any(|l| l.name == to) {
            return Err(MiningError::Invalid(format!("label {to:?} exists already")));
        }
        if to.starts_with(&format!("{from}{SEP}")) {
            return Err(MiningError::Invalid(format!("label {from:?} cannot move below itself")));
        }
        let below = format!("{from}{SEP}");
        for l in &mut self.labels {
            if l.name == from {
                l.name = to.clone();
            } else if let Some(rest) = l.name.strip_prefix(&below) {
                l.name = format!("{to}{SEP}{rest}");
            }
        }
        // The new name's parents may be new.
        let missing: Vec<String> = parent_name(&to).map(|p| vec![p.to_string()]).unwrap_or_default();
        self.add(&missing)?;
        if self
            .labels
            .iter()
            .any(|l| l.name.chars().count() > MAX_NAME_CHARS || l.name.split(SEP).count() > MAX_DEPTH)
        {
            return Err(MiningError::Invalid(format!(
                "renaming {from:?} makes a label too long or too deep"
            )));
        }
        self.sort();
        Ok(())
    }

    /// Removes `name` and every label below it; answers their ids.
    pub fn remove(&mut self, name: &str) -> Result<Vec<u32>, MiningError> {
        let n = normalize(name)?;
        let below = format!("{n}{SEP}");
        let gone: Vec<u32> = self
            .labels
            .iter()
            .filter(|l| l.name == n || l.name.starts_with(&below))
            .map(|l| l.id)
            .collect();
        if gone.is_empty() {
            return Err(MiningError::Invalid(format!("label {n:?} is not in the taxonomy")));
        }
        self.labels.retain(|l| !gone.contains(&l.id));
        Ok(gone)
    }

    /// The ids of `names` with every ancestor; an unknown name is an error naming it.
    pub fn resolve(&self, names: &[String]) -> Result<BTreeSet<u32>, MiningError> {
        let mut out = BTreeSet::new();
        for name in names {
            let l = self
                .get(name)
                .ok_or_else(|| MiningError::Invalid(format!("label {name:?} is not in the taxonomy")))?;
            out.extend(self.with_ancestors(l.id));
        }
        Ok(out)
    }

    /// `id` and its ancestors.
    pub fn with_ancestors(&self, id: u32) -> Vec<u32> {
        let mut out = vec![id];
        let mut cur = id;
        while let Some(p) = self.parent(cur) {
            if out.contains(&p) {
                break;
            }
            out.push(p);
            cur = p;
        }
        out
    }

    /// `ids` (those still in the taxonomy) with all their ancestors: what a message with these
    /// labels has.
    pub fn expand(&self, ids: &[u32]) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        for id in ids {
            if self.by_id(*id).is_some() {
                out.extend(self.with_ancestors(*id));
            }
        }
        out
    }

    /// Every label's ancestors, computed once, for expanding many messages' labels.
    pub fn expander(&self) -> Expander {
        Expander {
            up: self.labels.iter().map(|l| (l.id, self.with_ancestors(l.id))).collect(),
        }
    }

    /// `id` and every label below it.
    pub fn with_descendants(&self, id: u32) -> Vec<u32> {
        let Some(l) = self.by_id(id) else { return Vec::new() };
        let below = format!("{}{SEP}", l.name);
        self.labels
            .iter()
            .filter(|x| x.id == id || x.name.starts_with(&below))
            .map(|x| x.id)
            .collect()
    }

    /// Of a set of ids, the ones still in the taxonomy, with ancestors, as names (deepest
    /// first within a branch does not matter: sorted by name).
    pub fn names(&self, ids: &BTreeSet<u32>) -> Vec<String> {
        let mut v: Vec<String> = ids
            .iter()
            .filter_map(|i| self.by_id(*i))
            .map(|l| l.name.clone())
            .collect();
        v.sort();
        v
    }

    /// Row of each label for a model: (ids, parent rows).
    pub fn rows(&self) -> (Vec<u32>, Vec<Option<usize>>) {
        let ids: Vec<u32> = self.labels.iter().map(|l| l.id).collect();
        let pos: HashMap<u32, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let parents = ids
            .iter()
            .map(|id| self.parent(*id).and_then(|p| pos.get(&p).copied()))
            .collect();
        (ids, parents)
    }

    /// Applies a whole new list with renames: labels in `renames` keep their ids under their
    /// new names, the ones in `names` that are new are added, and the others are removed.
    /// Answers the removed ids.
    pub fn replace(&mut self, names: &[String], renames: &BTreeMap<String, String>) -> Result<Vec<u32>, MiningError> {
        let mut next = self.clone();
        for (from, to) in renames {
            next.rename(from, to)?;
        }
        let keep: BTreeSet<String> = {
            let mut t = Taxonomy::default();
            t.add(names)?;
            t.labels.into_iter().map(|l| l.name).collect()
        };
        let mut removed = Vec::new();
        let doomed: Vec<String> = next
            .labels
            .iter()
            .filter(|l| !keep.contains(&l.name))
            .map(|l| l.name.clone())
            .collect();
        for name in doomed {
            if next.labels.iter().any(|l| l.name == name) {
                removed.extend(next.remove(&name)?);
            }
        }
        next.add(names)?;
        next.sort();
        *self = next;
        Ok(removed)
    }

    fn sort(&mut self) {
        self.labels.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

/// Labels with their ancestors, from a map built once ([`Taxonomy::expander`]).
#[derive(Debug, Clone, Default)]
pub struct Expander {
    up: HashMap<u32, Vec<u32>>,
}

impl Expander {
    /// `ids` (those in the taxonomy) with all their ancestors.
    pub fn expand(&self, ids: &[u32]) -> BTreeSet<u32> {
        ids.iter().filter_map(|i| self.up.get(i)).flatten().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn children_bring_their_parents() {
        let t = Taxonomy::new(&s(&["Billing > Refund", "Login"])).unwrap();
        let names: Vec<&str> = t.labels().iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, vec!["Billing", "Billing > Refund", "Login"]);
        let ids = t.resolve(&s(&["Billing>Refund"])).unwrap();
        assert_eq!(t.names(&ids), s(&["Billing", "Billing > Refund"]));
        assert!(t.resolve(&s(&["Nope"])).is_err());
    }

    #[test]
    fn names_are_checked() {
        assert!(normalize("A >  > B").is_err());
        assert!(normalize("").is_err());
        assert!(normalize("a\u{0}b").is_err());
        assert!(normalize(&"x".repeat(300)).is_err());
        assert!(normalize("a>b>c>d>e>f>g").is_err());
        assert_eq!(normalize(" Billing>Refund ").unwrap(), "Billing > Refund");
    }

    #[test]
    fn the_expander_agrees_with_expand() {
        let t = Taxonomy::new(&s(&["A > B > C", "D"])).unwrap();
        let c = t.get("A > B > C").unwrap().id;
        let d = t.get("D").unwrap().id;
        assert_eq!(t.expander().expand(&[c, d, 999]), t.expand(&[c, d, 999]));
        assert_eq!(t.expand(&[c]).len(), 3);
    }

    #[test]
    fn rename_keeps_ids_and_moves_children() {
        let mut t = Taxonomy::new(&s(&["Billing > Refund"])).unwrap();
        let refund = t.get("Billing > Refund").unwrap().id;
        t.rename("Billing", "Payments").unwrap();
        assert_eq!(t.by_id(refund).unwrap().name, "Payments > Refund");
        assert!(t.get("Billing").is_none());
        assert!(t.rename("Payments", "Payments > Refund > X").is_err());
    }

    #[test]
    fn replace_adds_renames_and_removes() {
        let mut t = Taxonomy::new(&s(&["A > B", "C"])).unwrap();
        let b = t.get("A > B").unwrap().id;
        let c = t.get("C").unwrap().id;
        let mut r = BTreeMap::new();
        r.insert("A".to_string(), "Z".to_string());
        let removed = t.replace(&s(&["Z > B", "D"]), &r).unwrap();
        assert_eq!(removed, vec![c]);
        assert_eq!(t.get("Z > B").unwrap().id, b);
        assert!(t.get("D").is_some());
    }
}
