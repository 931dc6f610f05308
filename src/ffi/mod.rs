//! The `dns_sd.h` C ABI. Every `extern "C"` function and every `unsafe`
//! block that touches C memory lives below this module.
#![allow(non_snake_case, non_upper_case_globals)]

pub(crate) mod queue;
pub(crate) mod refs;
pub mod service;
pub mod txt;
pub mod types;

/// Runs the body of an exported function so that no Rust panic unwinds into
/// C: a panic (always a bug of ours) turns into `on_panic`.
pub(crate) fn guard<R>(on_panic: R, body: impl FnOnce() -> R) -> R {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(on_panic)
}
