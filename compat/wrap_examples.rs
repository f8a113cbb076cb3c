//! Shared by the build scripts of `zmq-crate` and `zmq-crate-libzmq`: puts
//! the `zmq` crate's examples (`zmq-crate/examples/`) into one program, each
//! in a module of its own, the one to run named by the environment variable
//! `ZMQ_EXAMPLE`. Crate-level attributes and inner doc comments become plain
//! comments, and `fn main` is made public for the dispatcher.
//!
//! The examples name their endpoints in string literals, tcp ones mostly.
//! [`over_ipc`] rewrites a copy so that each `"tcp://HOST:PORT"` reads
//! `"ipc://PORT.ipc"`, a path relative to the working directory: the copy
//! runs over ipc wherever its run is started, and the examples users read
//! stay as the zmq crate wrote them.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Every example's name (as zmq-crate's Cargo.toml names it) and source,
/// sorted by name.
pub fn sources(examples: &Path) -> Vec<(String, PathBuf)> {
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(examples.join("stream")).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap();
        sources.push((format!("stream-{stem}"), path));
    }
    for dir in ["zguide", ""] {
        for entry in std::fs::read_dir(examples.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let main = path.join("main.rs");
            if main.exists() {
                let name = path.file_name().unwrap().to_str().unwrap().to_owned();
                sources.push((name, main));
            }
        }
    }
    sources.sort();
    sources
}

/// A module `module` holding every example, each rewritten by `rewrite`,
/// and its `run(name)`.
pub fn module(examples: &Path, module: &str, rewrite: fn(&str) -> String) -> String {
    let sources = sources(examples);
    let mut out = format!("pub mod {module} {{\n");
    let ident = |name: &str| name.replace('-', "_");
    for (name, path) in &sources {
        let text = rewrite(&std::fs::read_to_string(path).unwrap());
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with("#![crate_name"))
            .map(|l| {
                let l = l.replacen("//!", "//", 1).replacen("/*!", "/*", 1);
                l.replacen("fn main()", "pub fn main()", 1) + "\n"
            })
            .collect();
        let module = ident(name);
        writeln!(out, "pub mod {module} {{\n#![allow(dead_code)]\n{text}\n}}").unwrap();
    }
    out += "pub fn run(name: &str) {\n    match name {\n";
    for (name, _) in &sources {
        writeln!(out, "        {name:?} => {}::main(),", ident(name)).unwrap();
    }
    out += "        _ => panic!(\"no example {}\", name),\n    }\n}\n}\n";
    out
}

/// The source as written.
pub fn as_written(text: &str) -> String {
    text.to_owned()
}

/// The source with every `"tcp://HOST:PORT"` literal made `"ipc://PORT.ipc"`.
pub fn over_ipc(text: &str) -> String {
    const TCP: &str = "\"tcp://";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(TCP) {
        out += &rest[..at];
        let literal = &rest[at + TCP.len()..];
        let end = literal
            .find('"')
            .expect("an unterminated tcp endpoint literal");
        let port = literal[..end]
            .rsplit(':')
            .next()
            .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or_else(|| panic!("no port in \"tcp://{}\"", &literal[..end]));
        write!(out, "\"ipc://{port}.ipc\"").unwrap();
        rest = &literal[end + 1..];
    }
    out + rest
}
