//! The real implementation(s) speaking the Azure REST contract.
