//! Integration tests of keyvault-sops: contract tests against the fake, protocol scenarios.
