//! The workspace's shape, checked: no import circle between the modules of any crate, no
//! source file over 600 lines without a reason stated at its top, and no HTTP in the
//! application layer. These are read from the source tree, so a change that breaks one fails
//! here rather than in a later reader's head.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod support;

/// Longest source file without a stated reason (`//! Longer than 600 lines because ...`).
const MAX_LINES: usize = 600;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn crates() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(support::repo_root().join("crates"))
        .expect("crates/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("src").is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// `src/a/b.rs` and `src/a/b/mod.rs` → `a::b`; `src/lib.rs`, `src/main.rs` → the root, "".
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts.join("::")
}

fn is_ancestor(a: &str, b: &str) -> bool {
    a.is_empty() || b == a || b.starts_with(&format!("{a}::"))
}

/// The modules a file refers to through `crate::` and `super::` paths (code only: comments
/// and doc links are skipped).
fn references(
    module: &str,
    is_mod_file: bool,
    text: &str,
    known: &BTreeSet<String>,
) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let parent = |m: &str| {
        m.rsplit_once("::")
            .map_or(String::new(), |(p, _)| p.to_string())
    };
    // `super` in `a/b.rs` (module a::b) is `a`; in `a/b/mod.rs` also `a`.
    let _ = is_mod_file;
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        for (prefix, base) in [("crate::", String::new()), ("super::", parent(module))] {
            let mut rest = code;
            while let Some(at) = rest.find(prefix) {
                let tail = &rest[at + prefix.len()..];
                let path: String = tail
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let mut target = base.clone();
                let mut best = base.clone();
                for part in path.split("::").filter(|p| !p.is_empty()) {
                    target = if target.is_empty() {
                        part.to_string()
                    } else {
                        format!("{target}::{part}")
                    };
                    if known.contains(&target) {
                        best = target.clone();
                    }
                }
                // `use super::{a, b}` names several modules at once.
                if let Some(group) = tail.strip_prefix('{') {
                    for part in group.split('}').next().unwrap_or("").split(',') {
                        let name = part.trim().split("::").next().unwrap_or("").trim();
                        let m = if base.is_empty() {
                            name.to_string()
                        } else {
                            format!("{base}::{name}")
                        };
                        if known.contains(&m) {
                            found.insert(m);
                        }
                    }
                }
                found.insert(best);
                rest = &tail[path.len().min(tail.len())..];
            }
        }
    }
    found
}

/// Every cycle-forming pair of modules in one crate, as `a -> b -> ... -> a`.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    // Depth-first search for a back edge, reporting the cycle it closes.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            found.push(cycle.join(" -> "));
            return;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, stack, done, found);
        }
        stack.pop();
        done.insert(node.to_string());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        visit(node, edges, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn no_crate_has_an_import_circle_between_its_modules() {
    let mut problems = Vec::new();
    for krate in crates() {
        let src = krate.join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let known: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let module = module_of(&src, file);
            let text = std::fs::read_to_string(file).expect("source");
            let is_mod = file.file_name().is_some_and(|n| n == "mod.rs");
            for target in references(&module, is_mod, &text, &known) {
                // A parent declaring and using its children, or a child using its parent's
                // items, is the module tree itself, not an import between peers.
                if !is_ancestor(&module, &target) && !is_ancestor(&target, &module) {
                    edges.entry(module.clone()).or_default().insert(target);
                }
            }
        }
        for cycle in cycles(&edges) {
            problems.push(format!("{}: {cycle}", krate.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "import circles:\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_source_file_is_longer_than_a_head_without_saying_why() {
    let mut long = Vec::new();
    let mut files = Vec::new();
    for krate in crates() {
        rust_files(&krate.join("src"), &mut files);
    }
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        let lines = text.lines().count();
        let reason = text
            .lines()
            .take(20)
            .any(|l| l.starts_with("//!") && l.contains(&format!("Longer than {MAX_LINES} lines")));
        if lines > MAX_LINES && !reason {
            long.push(format!("{} ({lines} lines)", file.display()));
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_application_layer_has_no_http_in_it() {
    let root = support::repo_root().join("crates/reelguard-service");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        !manifest.contains("axum"),
        "reelguard-service depends on axum"
    );
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        assert!(
            !text.contains("axum::") && !text.contains("StatusCode"),
            "{} speaks HTTP",
            file.display()
        );
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert!(cycles(&edges).is_empty());
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycles(&edges), vec!["a -> b -> c -> a".to_string()]);
    let known: BTreeSet<String> = ["api", "ui", "ui::pages"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let refs = references(
        "ui::pages",
        false,
        "use crate::api::present::x; // crate::ui",
        &known,
    );
    assert!(refs.contains("api") && !refs.contains("ui"));
}
