//! libzmq.so's soname is libzmq.so.5: programs linked against this library
//! then look for libzmq.so.5 at run time, as they do for libzmq.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libzmq.so.5");
    println!("cargo:rerun-if-changed=build.rs");
}
