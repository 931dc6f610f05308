//! TXT codec (to be written).
