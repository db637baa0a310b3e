//! Integration tests of acr-oci: contract tests against the fake, protocol scenarios.
