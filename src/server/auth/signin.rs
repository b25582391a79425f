//! What happens once a credential has proven who someone is. Each way of proving it (a password,
//! signing up, an invitation, a reset link, single sign-on, a passkey) is a module of its own that
//! ends with a [`Proven`]; [`proceed`] decides what comes next: the session, or first the second
//! factor of an account that has one.

use super::{
    proven::Proven,
    sessions::{self, NewSession},
    two_factor::{self, pending::PendingSignIn},
};
use crate::domain::AppError;
use crate::server::{change::Change, origin::RequestOrigin, AppState};

/// What comes after a proven credential.
pub enum Next {
    /// Signed in: the session just opened.
    SignedIn(NewSession),
    /// The account has a second factor and the credential proved only something known (a
    /// password, a reset link): the browser holds a pending sign-in and goes to
    /// [`two_factor::pending::PAGE`].
    SecondFactor(PendingSignIn),
}

impl Next {
    /// The `Set-Cookie` value to answer with.
    pub fn set_cookie(&self) -> &str {
        match self {
            Next::SignedIn(session) => session.set_cookie(),
            Next::SecondFactor(pending) => pending.set_cookie(),
        }
    }

    /// Where the browser goes next.
    pub fn landing(&self) -> &'static str {
        match self {
            Next::SignedIn(_) => "/",
            Next::SecondFactor(_) => two_factor::pending::PAGE,
        }
    }
}

/// The step between "credential proven" and "session opened", inside the change that proved it:
/// the session the browser had before ends (a signed-in browser that signs in again keeps one
/// session), and either a new one opens for the proven account or, when it must give its second
/// factor first, a pending sign-in does (with the invitation the proof carries, accepted once the
/// factor is given: [`Proven::joining`]).
pub async fn proceed(
    state: &AppState,
    change: &mut Change<'_>,
    proven: Proven,
    origin: &RequestOrigin,
    old_session: Option<&str>,
) -> Result<Next, AppError> {
    sessions::end_old(change.tx(), old_session).await?;
    if proven.method().asks_second_factor()
        && two_factor::has_factor(change.tx(), proven.user_id()).await?
    {
        let pending = two_factor::pending::begin(change, &proven, origin).await?;
        return Ok(Next::SecondFactor(pending));
    }
    if proven.joins().is_some() {
        // An invitation waits only for a second factor; any other is accepted before this.
        return Err(crate::server::error::internal(
            "signing in",
            "an invitation waits for a second factor the account does not have",
        ));
    }
    let session = sessions::open(state, change, &proven, origin).await?;
    Ok(Next::SignedIn(session))
}
