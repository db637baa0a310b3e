//! The stateful wiremock fake of the service.
//!
//! Reserved for the Event Hubs fake (built on azflux-core's fake cloud). It can check SAS `Authorization`
//! headers with [`SasVerifier::verify_for`](crate::SasVerifier::verify_for) on the fake's clock.
