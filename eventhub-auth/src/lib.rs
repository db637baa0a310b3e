#![doc = include_str!("../README.md")]

pub mod api;
pub mod client;
#[cfg(any(test, feature = "fake"))]
pub mod contract;
#[cfg(feature = "fake")]
pub mod fake;
pub mod wire;
