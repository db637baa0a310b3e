//! Integration tests of flux-objects.
