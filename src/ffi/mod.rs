//! The `dns_sd.h` C ABI. Every `extern "C"` function and every `unsafe`
//! block that touches C memory lives below this module.

pub mod txt;
pub mod types;
