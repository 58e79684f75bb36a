//! The architecture as the README draws it, checked on the source: imports between top-level modules only point
//! down the layers, and no two modules (files) import each other, apart from a parent and its own children.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer, lowest first: `domain` (and `locks`) import nothing of the crate, `storage` sits
/// above them (it takes and returns domain types), then the core services, the operations (`ops`), the protocols
/// (`rpc`, `mcp`), the transports (`web`) and the commands. A module may import one of a lower layer, or of its own
/// layer when the two do not import each other.
const LAYERS: &[&[&str]] = &[
    &["domain", "locks"],
    &["config"],
    &["storage"],
    &[
        "embed",
        "llm",
        "live",
        "metrics",
        "logbuf",
        "hooks",
        "templates",
        "load_gate",
    ],
    &["error"],
    &["memory", "bot", "presence"],
    &["actors"],
    &["app", "state"],
    &["ops"],
    &["rpc"],
    &["mcp"],
    &["web"],
    &[
        "server",
        "simulate",
        "scenario",
        "prompt_show",
        "healthcheck",
        "main",
        "lib",
    ],
];

type Module = Vec<String>;

/// Every `.rs` file under `src/` as its module path (`src/storage/sql/mod.rs` → `storage::sql`).
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap().with_extension("");
                let mut module: Module = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
                if matches!(module.last().map(String::as_str), Some("mod" | "lib" | "main")) && module.len() > 1 {
                    module.pop();
                }
                found.insert(module, path);
            }
        }
    }
    found
}

/// The source without comments and without the trailing `#[cfg(test)] mod tests` block.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `crate::…` and `super::…` paths a file names, with `{a, b}` groups expanded one level.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &code[i..];
        let starts = (rest.starts_with("crate::") || rest.starts_with("super::"))
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':'));
        if !starts {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let head: Vec<String> = rest[..end]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if rest[end..].starts_with('{') {
            let close = rest[end..].find('}').map_or(rest.len(), |c| end + c);
            for item in rest[end + 1..close].split(',') {
                let item = item.split(" as ").next().unwrap_or("").trim();
                if !item.is_empty() && item != "self" && !item.contains('{') {
                    let mut path = head.clone();
                    path.extend(item.split("::").map(str::to_string));
                    out.push(path);
                }
            }
        }
        out.push(head);
        i += end.max(1);
    }
    out
}

/// The module a path from `from` (a `mod.rs` when `is_dir`) lands in: its longest prefix that is a file.
fn resolve(from: &Module, is_dir: bool, path: &[String], known: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    let mut absolute: Module = Vec::new();
    let mut parts = path.iter().peekable();
    if parts.peek().map(|s| s.as_str()) == Some("crate") {
        parts.next();
    } else {
        absolute = from.clone();
        if !is_dir {
            absolute.pop();
        }
        let mut first = true;
        while parts.peek().map(|s| s.as_str()) == Some("super") {
            parts.next();
            if !first {
                absolute.pop();
            }
            first = false;
        }
    }
    absolute.extend(parts.cloned());
    (1..=absolute.len())
        .rev()
        .map(|n| absolute[..n].to_vec())
        .find(|m| known.contains_key(m))
}

fn edges() -> BTreeMap<Module, BTreeSet<Module>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known = modules(&src);
    let mut edges = BTreeMap::new();
    for (module, file) in &known {
        let text = std::fs::read_to_string(file).expect("source readable");
        let is_dir = file.file_name().is_some_and(|n| n == "mod.rs");
        let targets: BTreeSet<Module> = paths(&code(&text))
            .iter()
            .filter_map(|p| resolve(module, is_dir, p, &known))
            .filter(|t| t != module)
            .collect();
        edges.insert(module.clone(), targets);
    }
    edges
}

fn related(a: &Module, b: &Module) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

fn layer(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&top))
}

#[test]
fn imports_point_down_the_layers() {
    let edges = edges();
    let mut tops: BTreeSet<(String, String)> = BTreeSet::new();
    for (from, targets) in &edges {
        for to in targets {
            if from[0] != to[0] {
                tops.insert((from[0].clone(), to[0].clone()));
            }
        }
    }
    let mut wrong = Vec::new();
    for (from, to) in &tops {
        match (layer(from), layer(to)) {
            (None, _) => wrong.push(format!(
                "{from} is in no layer: add it to LAYERS in tests/api/layers.rs"
            )),
            (_, None) => wrong.push(format!("{to} is in no layer: add it to LAYERS in tests/api/layers.rs")),
            (Some(a), Some(b)) if b > a => wrong.push(format!("{from} (layer {a}) imports {to} (layer {b})")),
            (Some(a), Some(b)) if a == b && tops.contains(&(to.clone(), from.clone())) => {
                wrong.push(format!("{from} and {to} import each other"))
            }
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_two_modules_import_each_other() {
    let edges = edges();
    let mut both = Vec::new();
    for (from, targets) in &edges {
        for to in targets {
            if from < to && !related(from, to) && edges.get(to).is_some_and(|t| t.contains(from)) {
                both.push(format!("{} <-> {}", from.join("::"), to.join("::")));
            }
        }
    }
    assert!(both.is_empty(), "modules importing each other:\n{}", both.join("\n"));
}

#[test]
fn the_checker_sees_imports() {
    let known: BTreeMap<Module, PathBuf> = [vec!["a".to_string()], vec!["a".into(), "b".into()], vec!["c".into()]]
        .into_iter()
        .map(|m| (m, PathBuf::new()))
        .collect();
    let found = paths("use crate::a::{b::X, Y};\nuse super::c; // crate::zzz\n");
    let from: Module = vec!["a".into(), "b".into()];
    let resolved: BTreeSet<Module> = found.iter().filter_map(|p| resolve(&from, false, p, &known)).collect();
    assert!(
        resolved.contains(&vec!["a".to_string(), "b".to_string()]),
        "{resolved:?}"
    );
    assert!(resolved.contains(&vec!["a".to_string()]), "{resolved:?}");
    assert!(paths(&code("// crate::zzz::q\nlet x = 1;")).is_empty());
}
