//! The architecture contract of `dlp-extract`: module imports form no circle. Reads
//! `src/*.rs`, collects every `crate::x` path outside comments (`use crate::x::...`,
//! `use crate::{x, y}`, inline `crate::x::f()`), and checks them against the module graph line
//! of the crate docs in `src/lib.rs` (the line of `←`-separated layers): every module appears in
//! exactly one layer, and every import goes to a strictly earlier layer, so the graph is a DAG
//! and the documented line is the truth. Nothing may import the crate root (`crate::Item` for
//! an item that is not a module): only `lib` itself sees the whole crate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Source of each module, comment lines and trailing `//` comments removed.
fn modules() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let code: String = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(|l| match l.find(" // ") {
                Some(i) => &l[..i],
                None => l,
            })
            .flat_map(|l| [l, "\n"])
            .collect();
        out.insert(name, code);
    }
    out
}

/// The first path segment of every `crate::` path in `code`, braces expanded.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `dlp_extract::`, not this crate's root
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group: split on commas outside nested braces.
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.insert(ident(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.remove("");
    found
}

/// The layers of the documented graph line (the crate-doc line that is all code):
/// `a ← {b, c} ← d`.
fn documented_layers(lib: &str) -> Vec<Vec<String>> {
    let line = lib
        .lines()
        .find(|l| l.starts_with("//! `") && l.contains('←'))
        .expect("a module graph line (`a ← b`) in the crate docs of src/lib.rs");
    line.trim_start_matches("//!")
        .trim()
        .trim_matches('`')
        .split('←')
        .map(|layer| {
            layer
                .trim()
                .trim_matches(['{', '}'])
                .split(',')
                .map(|m| m.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn extract_module_imports_form_the_documented_dag() {
    let modules = modules();
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let layers = documented_layers(&lib);
    let mut layer_of = BTreeMap::new();
    for (i, layer) in layers.iter().enumerate() {
        for m in layer {
            assert!(
                layer_of.insert(m.clone(), i).is_none(),
                "{m} is listed twice in the graph line"
            );
        }
    }
    let listed: BTreeSet<&String> = layer_of.keys().collect();
    let files: BTreeSet<&String> = modules.keys().collect();
    assert_eq!(
        listed, files,
        "the graph line must list every module of src/"
    );

    let mut problems = Vec::new();
    for (module, code) in &modules {
        for target in crate_paths(code) {
            if target == *module {
                continue;
            }
            match layer_of.get(&target) {
                None => problems.push(format!(
                    "{module} imports crate::{target}, an item of the crate root; \
                     import it from the module that defines it"
                )),
                Some(&t) if t >= layer_of[module] => problems.push(format!(
                    "{module} (layer {}) imports {target} (layer {t}): not an earlier layer",
                    layer_of[module]
                )),
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn extract_crate_paths_are_parsed() {
    let code = "use crate::types::{A, B};\nuse crate::{x, y::{Z, W}, z as q};\n\
                fn f() { crate::decode::decode(b\"\"); dlp_extract::walk(); }";
    let got: Vec<String> = crate_paths(code).into_iter().collect();
    assert_eq!(got, ["decode", "types", "x", "y", "z"]);
}
