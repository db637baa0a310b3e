//! The stateful wiremock fake of the service.
