#![allow(dead_code)]

pub extern crate timebomb;

use std::sync::Once;

static LOGGER_INIT: Once = Once::new();

#[macro_export]
macro_rules! test {
    ($name:ident, $block:block) => {
        #[test]
        fn $name() {
            // zeroring: the one change to the zmq crate's harness.
            if let Some(why) = $crate::common::skipped(stringify!($name)) {
                eprintln!("skipped {}: {}", stringify!($name), why);
                return;
            }
            $crate::common::ensure_env_logger_initialized();
            $crate::common::timebomb::timeout_ms(|| $block, 10000);
        }
    };
}

/// zeroring: the zmq crate's tests this build cannot pass, and why.
pub fn skipped(name: &str) -> Option<&'static str> {
    // None: STREAM came, and the CURVE/GSSAPI tests are not copied.
    const SKIPPED: &[(&str, &str)] = &[];
    SKIPPED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| *why)
}

#[macro_export]
macro_rules! test_capability {
    ($name:ident, $capability:literal, $block:block) => {
        #[test]
        fn $name() {
            if zmq::has($capability).unwrap() {
                $crate::common::ensure_env_logger_initialized();
                $crate::common::timebomb::timeout_ms(|| $block, 10000);
            }
        }
    };
}

pub fn ensure_env_logger_initialized() {
    LOGGER_INIT.call_once(env_logger::init);
}
