//! Tidy checks over the workspace's sources, as rust-analyzer's `tidy`:
//! no module imports one that imports it back, and ARCHITECTURE.md's table
//! of IO, global state and `unsafe` per crate says exactly where each is.
//!
//! Both read the sources as text (comments removed), which is what a reader
//! does: an import is a `use` of `crate::`, `super::` or `self::` (resolved
//! through the crate root's re-exports to the module that defines the
//! item), a path like that in code, or a parent naming a child module
//! (`child::f()`); module declarations and re-exports are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask is one level below the workspace").to_path_buf()
}

/// Every source root: the library crates' `src` and xtask's.
fn source_roots() -> Vec<(String, PathBuf)> {
    let root = workspace();
    let mut roots: Vec<(String, PathBuf)> = std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .flatten()
        .map(|entry| (entry.file_name().to_string_lossy().into_owned(), entry.path().join("src")))
        .filter(|(_, src)| src.is_dir())
        .collect();
    roots.push(("xtask".to_owned(), root.join("xtask").join("src")));
    roots.sort();
    roots
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            out.push(path);
        }
    }
}

/// `module path -> file` (`lib.rs`/`main.rs` is `""`, `a/b.rs` is `a::b`).
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .into_iter()
        .map(|file| {
            let relative = file.strip_prefix(src).expect("under src").with_extension("");
            let mut parts: Vec<String> = relative.iter().map(|part| part.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("lib" | "main" | "mod")) {
                parts.pop();
            }
            (parts.join("::"), file)
        })
        .collect()
}

/// The text without `//` comments (doc comments included) and string
/// literals, and with `super::` inside inline modules (`mod tests { .. }`)
/// written as `self::`: there it names the file's own module.
fn code(text: &str) -> String {
    inline_modules_as_self(&strip(text))
}

/// `super::` inside `mod name { ... }` blocks becomes `self::`.
fn inline_modules_as_self(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(found) = find_inline_module(rest) {
        let (before, block) = rest.split_at(found);
        out.push_str(before);
        let open = block.find('{').expect("an inline module has a body");
        let mut depth = 0;
        let mut end = block.len();
        for (at, ch) in block[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + at + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push_str(&block[..end].replace("super::", "self::"));
        rest = &block[end..];
    }
    out.push_str(rest);
    out
}

/// The position of the next `mod name {` (an inline module, not `mod name;`).
fn find_inline_module(code: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = code[from..].find("mod ") {
        let at = from + found;
        from = at + 4;
        if at > 0 && is_ident(code.as_bytes()[at - 1]) {
            continue;
        }
        let after = code[at + 4..].trim_start();
        let name_len = after.bytes().take_while(|&byte| is_ident(byte)).count();
        if name_len > 0 && after[name_len..].trim_start().starts_with('{') {
            return Some(at);
        }
    }
    None
}

/// The text without `//` comments (doc comments included) and string literals.
fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
            continue;
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

fn is_ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The full paths of one `use` tree (`a::{b, c::{d, e as f}}`), `as` renames dropped.
fn expand(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim_end_matches("::").trim();
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let prefix = join(prefix, head);
        let mut depth = 0;
        let mut start = 0;
        for (at, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..at], &prefix, out);
                    start = at + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], &prefix, out);
    } else if !tree.is_empty() {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        out.push(join(prefix, path));
    }
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (_, true) => prefix.to_owned(),
        _ => format!("{prefix}::{path}"),
    }
}

/// `(is pub, path)` of every `use` statement of `code`.
fn use_statements(code: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = &rest[..at];
        let at_statement = before.trim_end().is_empty()
            || before.trim_end().ends_with([';', '{', '}', ']'])
            || before.trim_end().ends_with("pub")
            || before.trim_end().ends_with(')');
        let word_start = at == 0 || !is_ident(rest.as_bytes()[at - 1]);
        let after = &rest[at + 4..];
        let Some(end) = after.find(';') else { break };
        if at_statement && word_start {
            let line_start = before.rfind(['\n', ';', '{', '}']).map_or(0, |index| index + 1);
            let public = before[line_start..].trim_start().starts_with("pub");
            let mut paths = Vec::new();
            expand(&after[..end], "", &mut paths);
            out.extend(paths.into_iter().map(|path| (public, path)));
        }
        rest = &after[end..];
    }
    out
}

/// Paths beginning with `crate::`, `super::` or `self::` anywhere in `code`.
fn code_paths(code: &str) -> Vec<String> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    for prefix in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(prefix) {
            let start = from + found;
            from = start + prefix.len();
            if start > 0 && (is_ident(bytes[start - 1]) || bytes[start - 1] == b':') {
                continue;
            }
            let mut end = start;
            while end < bytes.len() && (is_ident(bytes[end]) || bytes[end] == b':') {
                end += 1;
            }
            let path = code[start..end].trim_end_matches(':');
            // `crate::{...}` in a use statement: its items are read there.
            if path.contains("::") {
                out.push(path.to_owned());
            }
        }
    }
    out
}

struct Crate {
    modules: BTreeMap<String, String>,
    /// Per module, the names it re-exports and the module that defines each.
    exports: BTreeMap<String, BTreeMap<String, String>>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let modules: BTreeMap<String, String> = modules(src)
            .into_iter()
            .map(|(module, file)| (module, code(&std::fs::read_to_string(file).expect("readable"))))
            .collect();
        let mut krate = Crate { modules, exports: BTreeMap::new() };
        // Re-exports, resolved in two rounds (one may name another).
        for _ in 0..2 {
            let mut exports = BTreeMap::new();
            for (module, text) in &krate.modules {
                let mut names = BTreeMap::new();
                for (public, path) in use_statements(text) {
                    if !public {
                        continue;
                    }
                    let name = path.rsplit("::").next().unwrap_or(&path).to_owned();
                    let absolute =
                        if path.starts_with("crate::") || path.starts_with("super::") || path.starts_with("self::") {
                            path.clone()
                        } else {
                            format!("self::{path}")
                        };
                    if let Some(target) = krate.resolve(module, &absolute) {
                        names.insert(name, target);
                    }
                }
                exports.insert(module.clone(), names);
            }
            krate.exports = exports;
        }
        krate
    }

    /// The module `path` (from `module`) names: the longest module prefix,
    /// then through that module's re-exports.
    fn resolve(&self, module: &str, path: &str) -> Option<String> {
        let mut segments: Vec<&str> = path.split("::").collect();
        let mut base: Vec<String> = match segments.first().copied() {
            Some("crate") => Vec::new(),
            Some("self") => module.split("::").filter(|part| !part.is_empty()).map(str::to_owned).collect(),
            Some("super") => {
                let mut base: Vec<String> =
                    module.split("::").filter(|part| !part.is_empty()).map(str::to_owned).collect();
                base.pop();
                while segments.get(1) == Some(&"super") {
                    base.pop();
                    segments.remove(1);
                }
                base
            }
            _ => return None,
        };
        segments.remove(0);
        loop {
            let candidate = base.join("::");
            match segments.first() {
                Some(&next) if self.modules.contains_key(&join(&candidate, next)) => {
                    base.push(next.to_owned());
                    segments.remove(0);
                }
                Some(&next) => {
                    return Some(
                        self.exports.get(&candidate).and_then(|names| names.get(next)).cloned().unwrap_or(candidate),
                    );
                }
                None => return Some(candidate),
            }
        }
    }

    /// Who imports whom.
    fn graph(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, text) in &self.modules {
            let edges = graph.entry(module.clone()).or_default();
            let mut paths: Vec<String> = use_statements(text)
                .into_iter()
                .filter(|(public, _)| !public)
                .map(|(_, path)| path)
                .filter(|path| path.starts_with("crate::") || path.starts_with("super::") || path.starts_with("self::"))
                .collect();
            paths.extend(code_paths(text));
            for path in paths {
                if let Some(target) = self.resolve(module, &path)
                    && target != *module
                    && !(module.is_empty() || target.starts_with(&format!("{module}::")))
                {
                    edges.insert(target);
                }
            }
            // A parent naming one of its children by path in code.
            for child in self.modules.keys() {
                let Some((parent, leaf)) = child.rsplit_once("::").or(Some(("", child.as_str()))) else { continue };
                if parent != module || child == module || child.is_empty() {
                    continue;
                }
                let named = text.lines().map(str::trim).any(|line| {
                    !line.starts_with("mod ")
                        && !line.starts_with("pub mod ")
                        && !line.starts_with("pub use ")
                        && !line.starts_with("pub(crate) use ")
                        && !line.starts_with("#[")
                        && line.match_indices(&format!("{leaf}::")).any(|(at, _)| {
                            at == 0 || !(is_ident(line.as_bytes()[at - 1]) || line.as_bytes()[at - 1] == b':')
                        })
                });
                if named {
                    edges.insert(child.clone());
                }
            }
        }
        graph
    }
}

/// The strongly connected components of more than one module (Tarjan).
fn loops(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(state: &mut State<'g>, node: &'g str) {
        let next = state.index.len();
        state.index.insert(node, next);
        state.low.insert(node, next);
        state.stack.push(node);
        for target in state.graph.get(node).into_iter().flatten() {
            let target = target.as_str();
            if !state.index.contains_key(target) {
                visit(state, target);
                let low = state.low[target].min(state.low[node]);
                state.low.insert(node, low);
            } else if state.stack.contains(&target) {
                let low = state.index[target].min(state.low[node]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                component.push(member.to_owned());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.found.push(component);
            }
        }
    }
    let mut state = State { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), found: Vec::new() };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut found = Vec::new();
    let mut edges = 0;
    for (name, src) in source_roots() {
        let graph = Crate::read(&src).graph();
        edges += graph.values().map(BTreeSet::len).sum::<usize>();
        for component in loops(&graph) {
            found.push(format!("{name}: {}", component.join(" <-> ")));
        }
    }
    assert!(edges > 100, "the scan sees the imports ({edges} edges)");
    assert!(found.is_empty(), "module loops:\n{}", found.join("\n"));
}

/// The checker itself finds a loop through a re-export and one of a parent and its child.
#[test]
fn the_loop_check_sees_loops_through_re_exports_and_parents() {
    let dir = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("parent")).unwrap();
    std::fs::write(dir.join("lib.rs"), "mod a;\nmod b;\nmod parent;\npub use a::Alpha;\npub use b::{Beta, beta};\n")
        .unwrap();
    std::fs::write(dir.join("a.rs"), "use crate::Beta;\npub struct Alpha;\n").unwrap();
    std::fs::write(
        dir.join("b.rs"),
        "/// Not an import: crate::Alpha\npub struct Beta;\npub fn beta() -> crate::Alpha { crate::Alpha }\n",
    )
    .unwrap();
    std::fs::write(dir.join("parent.rs"), "mod child;\npub(crate) struct Shared;\nfn f() { child::g(); }\n").unwrap();
    std::fs::write(dir.join("parent/child.rs"), "use super::Shared;\npub(super) fn g() {}\n").unwrap();
    let graph = Crate::read(&dir).graph();
    let found = loops(&graph);
    assert_eq!(
        found,
        vec![vec!["a".to_owned(), "b".to_owned()], vec!["parent".to_owned(), "parent::child".to_owned()]]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What a source file does that ARCHITECTURE.md must list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Trait {
    Io,
    GlobalState,
    Unsafe,
}

/// Which of the traits `code` (comments and strings removed) has; `use`
/// lines name things, they do nothing, and are not read.
fn traits(code: &str) -> BTreeSet<Trait> {
    let mut code = code.to_owned();
    // Whole `use ...;` statements, multi-line ones included.
    while let Some(start) =
        ["pub use ", "pub(crate) use ", "\nuse ", "\n    use "].iter().filter_map(|needle| code.find(needle)).min()
    {
        let end = code[start..].find(';').map_or(code.len(), |end| start + end + 1);
        code.replace_range(start..end, "\n");
    }
    let code = code.as_str();
    // A whole word: not inside an identifier, not a lifetime (`'static`).
    let words = |needles: &[&str]| {
        needles.iter().any(|needle| {
            code.match_indices(needle)
                .any(|(at, _)| at == 0 || !(is_ident(code.as_bytes()[at - 1]) || code.as_bytes()[at - 1] == b'\''))
        })
    };
    let mut found = BTreeSet::new();
    // Files, the environment, processes, sockets, and the crates that do
    // IO for us (git repositories, /proc, an HTTP server).
    let io = [
        "fs::",
        "File::",
        "OpenOptions",
        "env::var",
        "Command::new",
        "TcpStream",
        "TcpListener",
        "tiny_http::",
        "homodyne_io::",
        "write_atomically",
        "gix::",
        "sysinfo::",
    ];
    if words(&io) {
        found.insert(Trait::Io);
    }
    if words(&["static ", "thread_local!"]) {
        found.insert(Trait::GlobalState);
    }
    if words(&["unsafe ", "unsafe{", "allow(unsafe_code", "expect(unsafe_code"]) {
        found.insert(Trait::Unsafe);
    }
    found
}

/// ARCHITECTURE.md's table `| crate | IO | global state | unsafe |`: per
/// crate, per trait, the files listed (backticked paths under its `src`).
fn architecture_table() -> BTreeMap<(String, Trait), BTreeSet<String>> {
    let text = std::fs::read_to_string(workspace().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let start = text.find("| crate | IO | global state | unsafe |").expect("the table of IO, global state and unsafe");
    let mut table = BTreeMap::new();
    for line in text[start..].lines().skip(2) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let krate = cells[0].trim_matches('`').to_owned();
        for (cell, kind) in cells[1..].iter().zip([Trait::Io, Trait::GlobalState, Trait::Unsafe]) {
            let files: BTreeSet<String> = cell
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|file| Path::new(file).extension().is_some_and(|extension| extension == "rs"))
                .map(str::to_owned)
                .collect();
            table.insert((krate.clone(), kind), files);
        }
    }
    table
}

#[test]
fn architecture_lists_every_file_with_io_global_state_or_unsafe() {
    let table = architecture_table();
    let mut wrong = Vec::new();
    for (name, src) in source_roots() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut actual: BTreeMap<Trait, BTreeSet<String>> = BTreeMap::new();
        for file in files {
            let relative = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            for kind in traits(&code(&std::fs::read_to_string(&file).unwrap())) {
                actual.entry(kind).or_default().insert(relative.clone());
            }
        }
        for kind in [Trait::Io, Trait::GlobalState, Trait::Unsafe] {
            let Some(listed) = table.get(&(name.clone(), kind)) else {
                wrong.push(format!("{name}: no row in ARCHITECTURE.md's table"));
                break;
            };
            let found = actual.remove(&kind).unwrap_or_default();
            if &found != listed {
                wrong.push(format!("{name} {kind:?}: the sources have {found:?}, ARCHITECTURE.md lists {listed:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "ARCHITECTURE.md's table is not true:\n{}", wrong.join("\n"));
}

#[test]
fn the_trait_scan_reads_code_not_comments() {
    assert_eq!(traits(&code("// unsafe { fs::read(x) }\nfn f() {}")), BTreeSet::new());
    assert_eq!(traits(&code("let s = \"static unsafe fs::\";")), BTreeSet::new());
    assert_eq!(
        traits(&code("static X: u8 = 0;\nfn f() { unsafe { std::fs::read(\"p\") }; }")),
        [Trait::Io, Trait::GlobalState, Trait::Unsafe].into_iter().collect()
    );
    assert_eq!(traits(&code("fn unsafely() {} fn my_static() {}")), BTreeSet::new());
    assert_eq!(traits(&code("#![forbid(unsafe_code)]\nfn f(x: &'static str) {}")), BTreeSet::new());
}

/// The facade compiles only what its features ask for: angle filtering
/// alone brings no git library (the tooling's gix).
#[test]
fn the_facade_with_angles_alone_has_no_git() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .current_dir(workspace())
        .args(["tree", "--offline", "-p", "homodyne", "--no-default-features", "--features", "angles", "-e", "normal"])
        .output()
        .expect("cargo tree runs");
    let tree = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(tree.contains("homodyne-angles"), "{tree}");
    for absent in ["gix", "toml", "sysinfo", "homodyne-perf", "homodyne-cache", "lz4"] {
        assert!(!tree.contains(absent), "{absent} in the angles-only facade:\n{tree}");
    }
}
