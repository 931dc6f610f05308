//! Wire formats: DNS messages on hickory-proto, service names, TXT data.

pub mod message;
pub mod service_name;
pub mod txt;
