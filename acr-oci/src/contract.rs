//! The contract suite that the real client passes against the fake.
