//! Integration tests of devops-git: contract tests against the fake, protocol scenarios.
