//! No two files of a crate import each other in a circle: for every crate of the workspace,
//! the graph of its modules (one per file) and the `crate::…`, `super::…` and child-module
//! paths each one uses (outside its tests) has no cycle. Tarjan's algorithm over that graph;
//! a failure names the modules of each cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file is: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `lib.rs` and
/// `main.rs` the root.
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The identifier starting at `s` (lowercase module names).
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The modules a file's code (its tests left out) refers to.
fn uses(module: &Module, text: &str, modules: &BTreeSet<Module>) -> BTreeSet<Module> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let known = |m: Module, out: &mut BTreeSet<Module>| {
        // The deepest known module on the path.
        let mut m = m;
        while !m.is_empty() {
            if modules.contains(&m) {
                out.insert(m);
                return;
            }
            m.pop();
        }
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + 7..];
        let first = ident(rest);
        if first.is_empty() {
            continue;
        }
        let after = &rest[first.len()..];
        if let Some(list) = after.strip_prefix("::{") {
            // `crate::a::{b, c}`: each named module, else `a`.
            let list = &list[..list.find('}').unwrap_or(list.len())];
            for name in list.split(',').map(|n| ident(n.trim())) {
                known(vec![first.to_string(), name.to_string()], &mut out);
            }
        } else {
            let second = after.strip_prefix("::").map(ident).unwrap_or("");
            let mut m = vec![first.to_string()];
            if !second.is_empty() {
                m.push(second.to_string());
            }
            known(m, &mut out);
        }
    }
    let parent: Module = module[..module.len().saturating_sub(1)].to_vec();
    for (i, _) in code.match_indices("super::") {
        let rest = &code[i + 7..];
        // `super::{a, b}` names siblings (or items of the parent); `super::a` one.
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(list) => list[..list.find('}').unwrap_or(list.len())]
                .split(',')
                .map(|n| ident(n.trim()))
                .collect(),
            None => vec![ident(rest)],
        };
        for name in names {
            let mut m = parent.clone();
            m.push(name.to_string());
            if modules.contains(&m) {
                out.insert(m);
            } else {
                out.insert(parent.clone());
            }
        }
    }
    // A parent naming its child modules (`child::item`).
    for child in modules
        .iter()
        .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
    {
        let name = format!("{}::", child[child.len() - 1]);
        if code.match_indices(&name).any(|(i, _)| {
            !code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') && !code[..i].ends_with("mod ")
        }) {
            out.insert(child.clone());
        }
    }
    out.remove(module);
    out
}

/// The strongly connected components with more than one module.
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct T<'g> {
        graph: &'g BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<Module, usize>,
        low: BTreeMap<Module, usize>,
        stack: Vec<Module>,
        on: BTreeSet<Module>,
        next: usize,
        found: Vec<Vec<Module>>,
    }
    fn visit(t: &mut T, v: &Module) {
        t.index.insert(v.clone(), t.next);
        t.low.insert(v.clone(), t.next);
        t.next += 1;
        t.stack.push(v.clone());
        t.on.insert(v.clone());
        for w in t.graph.get(v).into_iter().flatten() {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(&w);
                let done = &w == v;
                comp.push(w);
                if done {
                    break;
                }
            }
            if comp.len() > 1 {
                t.found.push(comp);
            }
        }
    }
    let mut t = T {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.found
}

#[test]
fn no_crate_imports_its_own_files_in_a_circle() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let src = entry.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeMap<Module, PathBuf> = files.into_iter().map(|f| (module_of(&src, &f), f)).collect();
        let names: BTreeSet<Module> = modules.keys().cloned().collect();
        let graph: BTreeMap<Module, BTreeSet<Module>> = modules
            .iter()
            .map(|(m, f)| (m.clone(), uses(m, &std::fs::read_to_string(f).unwrap(), &names)))
            .collect();
        checked += graph.len();
        for c in cycles(&graph) {
            let names: Vec<String> = c
                .iter()
                .map(|m| if m.is_empty() { "(root)".into() } else { m.join("::") })
                .collect();
            found.push(format!("{}: {}", src.parent().unwrap().display(), names.join(" <-> ")));
        }
    }
    assert!(checked > 50, "only {checked} modules found");
    assert!(
        found.is_empty(),
        "modules importing each other in a circle:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_a_circle() {
    let a: Module = vec!["a".into()];
    let b: Module = vec!["b".into()];
    let names: BTreeSet<Module> = [a.clone(), b.clone()].into();
    let graph: BTreeMap<Module, BTreeSet<Module>> = [
        (a.clone(), uses(&a, "use crate::b::Thing;", &names)),
        (
            b.clone(),
            uses(&b, "fn f() { crate::a::g() }\n#[cfg(test)]\nuse crate::b;", &names),
        ),
    ]
    .into();
    assert_eq!(cycles(&graph).len(), 1);
}
