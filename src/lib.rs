//! An mDNS / DNS-SD engine (RFC 6762, RFC 6763) that runs inside the calling
//! process, with Apple's `dns_sd.h` C ABI on top (`libdns_sd.so.1`).
//!
//! Layers, each only talking to the one below it:
//! - [`wire`]: DNS messages (on hickory-proto), service names, the TXT codec;
//! - [`core`]: the sans-I/O protocol state machine (no sockets, clock or threads);
//! - [`driver`]: one engine thread with sockets and timers that drives a core;
//! - [`api`]: the safe Rust API (register, browse, resolve);
//! - `ffi`: the `extern "C"` functions of `dns_sd.h`.

pub mod api;
pub mod core;
pub mod driver;
pub mod ffi;
pub mod wire;

pub use api::*;
