//! Integration tests of eventhub-auth: contract tests against the fake, protocol scenarios.
