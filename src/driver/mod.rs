//! Driver (to be written).
