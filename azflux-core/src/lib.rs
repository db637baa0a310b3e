//! azflux-core
