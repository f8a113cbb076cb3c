//! Wraps each of ../zmq-crate's examples in a module of one program:
//! crate-level attributes and inner doc comments become plain comments, and
//! `fn main` is made public for the dispatcher.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let examples = Path::new("../zmq-crate/examples");
    println!("cargo:rerun-if-changed={}", examples.display());
    let mut sources = Vec::new();
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
    let mut out = String::new();
    for (name, path) in &sources {
        let text = std::fs::read_to_string(path).unwrap();
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with("#![crate_name"))
            .map(|l| {
                let l = l.replacen("//!", "//", 1).replacen("/*!", "/*", 1);
                l.replacen("fn main()", "pub fn main()", 1) + "\n"
            })
            .collect();
        writeln!(out, "pub mod {name} {{\n#![allow(dead_code)]\n{text}\n}}").unwrap();
    }
    out += "pub fn run(name: &str) {\n    match name {\n";
    for (name, _) in &sources {
        writeln!(out, "        {name:?} => {name}::main(),").unwrap();
    }
    out += "        _ => panic!(\"no example {}\", name),\n    }\n}\n";
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("examples.rs");
    std::fs::write(dest, out).unwrap();
}
