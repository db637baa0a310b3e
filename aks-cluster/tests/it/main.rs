//! Integration tests of aks-cluster: contract tests against the fake, protocol scenarios.
