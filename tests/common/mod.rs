//! Helpers shared by the integration tests.
//!
//! Randomised tests take their seed from an environment variable so that a
//! failure can be replayed exactly, and print the seed they used.

// Every test binary that declares `mod common;` compiles all of it and uses
// only a part.
#![allow(dead_code)]

pub mod stress;

/// The seed named by the environment variable `var` (decimal, or hex with a
/// `0x` prefix), or a fresh random one if it is not set.
///
/// # Panics
///
/// If the variable is set to something that is not a number.
pub fn seed_from_env(var: &str) -> u64 {
    match std::env::var(var) {
        Ok(text) => parse_u64(&text).unwrap_or_else(|| panic!("{var}={text:?} is not a number")),
        Err(_) => fastrand::u64(..),
    }
}

/// The count named by the environment variable `var`, or `default`.
///
/// # Panics
///
/// If the variable is set to something that is not a number.
pub fn count_from_env(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Ok(text) => parse_u64(&text)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or_else(|| panic!("{var}={text:?} is not a count")),
        Err(_) => default,
    }
}

fn parse_u64(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}
