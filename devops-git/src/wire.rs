//! Serde request/response bodies, URL builders and response parsing: no I/O.
