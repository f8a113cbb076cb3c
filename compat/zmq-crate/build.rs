//! The copy of the examples whose tcp endpoints are ipc ones, in one
//! program: the example `over_ipc` (see ../wrap_examples.rs).

#[path = "../wrap_examples.rs"]
mod wrap_examples;

use std::path::Path;
use wrap_examples::{module, over_ipc};

fn main() {
    let examples = Path::new("examples");
    println!("cargo:rerun-if-changed={}", examples.display());
    println!("cargo:rerun-if-changed=../wrap_examples.rs");
    let out = module(examples, "over_ipc", over_ipc);
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("examples.rs");
    std::fs::write(dest, out).unwrap();
}
