//! The contract suite every [`TokenSource`] passes (the real SAS and AAD sources in this crate's tests, and
//! any fake a user writes).

use crate::api::TokenSource;
use azflux_core::clock::Clock;

/// A token source issues a non-empty token that is valid now, with a non-empty `address`, and two calls
/// give tokens that do not expire earlier than the first.
pub async fn issues_valid_tokens(source: &dyn TokenSource, clock: &dyn Clock) {
    use secrecy::ExposeSecret;
    let first = source
        .token()
        .await
        .unwrap_or_else(|e| panic!("{} failed: {e}", source.describe()));
    assert!(
        !first.token.expose_secret().is_empty(),
        "{}: empty token",
        source.describe()
    );
    assert!(
        !first.address.is_empty(),
        "{}: empty address",
        source.describe()
    );
    assert!(
        !first.is_expired_at(clock.now()),
        "{}: token already expired",
        source.describe()
    );
    let second = source
        .token()
        .await
        .unwrap_or_else(|e| panic!("{} failed: {e}", source.describe()));
    assert!(
        second.expires_on >= first.expires_on,
        "{}: later token expires earlier",
        source.describe()
    );
    let debug = format!("{first:?}");
    assert!(
        !debug.contains(first.token.expose_secret()),
        "{}: Debug shows the token",
        source.describe()
    );
}
