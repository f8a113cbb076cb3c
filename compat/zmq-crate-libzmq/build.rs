//! Puts ../zmq-crate's examples in one program, twice: as written, and with
//! their tcp endpoints made ipc ones (see ../wrap_examples.rs).

#[path = "../wrap_examples.rs"]
mod wrap_examples;

use std::path::Path;
use wrap_examples::{as_written, module, over_ipc};

fn main() {
    let examples = Path::new("../zmq-crate/examples");
    println!("cargo:rerun-if-changed={}", examples.display());
    println!("cargo:rerun-if-changed=../wrap_examples.rs");
    let out = module(examples, "as_written", as_written) + &module(examples, "over_ipc", over_ipc);
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("examples.rs");
    std::fs::write(dest, out).unwrap();
}
