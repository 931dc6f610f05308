//! TXTRecord* (to be written).
