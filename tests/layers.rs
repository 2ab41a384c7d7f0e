//! The direction of dependencies between the crate's top-level modules, as
//! `../shared/docs/design.md` draws it: the entry points (`cli`/`main`, `app`) assemble,
//! `web`, `intake`, `outbound` and `pipeline` serve, `triage` and `reply` decide, `embed`,
//! `index`, `store`, `text`, `catalogue` and `privacy` provide, `config` describes settings and
//! `domain` holds the pure types. A module may use modules of lower layers and the modules
//! listed as its peers, never a higher layer: every `crate::…` path in `src/` is checked.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// Layers from the inside out. Within a layer, modules do not use each other unless
/// [`PEERS`] allows it.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &["config"],
    &["text", "privacy", "embed", "index", "store"],
    &["catalogue"],
    &["triage", "reply"],
    &["pipeline", "intake", "outbound", "webhooks"],
    &["web"],
    &["app"],
];

/// Allowed uses inside one layer (user, used).
const PEERS: &[(&str, &str)] = &[
    // The store persists redacted text and the embedding cache it is given.
    ("store", "privacy"),
    // The pipeline stage hands decided inquiries to intake's acknowledgements and outbound.
    ("pipeline", "intake"),
    ("pipeline", "outbound"),
    // Webhook deliveries are jobs of the pipeline's queue.
    ("pipeline", "webhooks"),
    ("intake", "outbound"),
    // Similar past replies are found with the router's text features.
    ("reply", "triage"),
];

/// Uses against the layering that exist today, each to be removed, never added to. None
/// are left: the IMAP pollers reach the triage stage through `intake::TriageQueue`, which
/// `app` hands them.
const KNOWN: &[(&str, &str)] = &[];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`None` for lib.rs and main.rs).
fn owner(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(m) => Some(m.to_string()),
        // The CLI lives beside main.rs and is an entry point like it.
        None if first == "cli" => None,
        None => Some(first),
    }
}

/// Every top-level module named by `crate::` in `code`, including each member of a
/// `use crate::{a::…, b::{…}}` group.
fn used_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: those at brace depth 0 after a comma or the start.
            let mut depth = 0;
            let mut expect_name = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expect_name = true,
                    c if expect_name && depth == 0 && !c.is_whitespace() => {
                        expect_name = false;
                        found.insert(ident(&group[i..]));
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

#[test]
fn dependencies_point_inward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = owner(&src, file) else {
            continue;
        };
        let code = std::fs::read_to_string(file).unwrap();
        for used in used_modules(&code) {
            if used != module && layer_of(&used).is_some() {
                edges
                    .entry((module.clone(), used))
                    .or_default()
                    .push(file.strip_prefix(&src).unwrap().display().to_string());
            }
        }
    }
    let mut wrong = Vec::new();
    for ((user, used), files) in &edges {
        let (Some(a), Some(b)) = (layer_of(user), layer_of(used)) else {
            wrong.push(format!("{user} is in no layer (add it to LAYERS)"));
            continue;
        };
        let pair = (user.as_str(), used.as_str());
        if KNOWN.contains(&pair) {
            continue;
        }
        if b > a || (a == b && !PEERS.contains(&pair)) {
            wrong.push(format!("{user} uses {used} in {}", files.join(", ")));
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_and_nested_uses() {
    let code = "use crate::{\n    config::X,\n    store::{a, b::{c}},\n    web,\n};\nfn f() { crate::triage::g(); }";
    let got: Vec<String> = used_modules(code).into_iter().collect();
    assert_eq!(got, ["config", "store", "triage", "web"]);
}
