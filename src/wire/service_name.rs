//! Service names (to be written).
