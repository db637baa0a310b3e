//! The traits and domain types a caller sees.
