//! Safe API (to be written).
