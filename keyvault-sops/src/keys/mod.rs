//! Master key implementations and sops' Shamir secret sharing.

pub mod age;
pub mod pgp;
pub mod shamir;
