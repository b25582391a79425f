//! What happens once a credential has proven who someone is. Each way of proving it (a password,
//! signing up, an invitation, a reset link) is a module of its own that ends with a [`Proven`];
//! [`proceed`] decides what comes next and, today always, opens the session.

use super::{
    proven::Proven,
    sessions::{self, NewSession},
};
use crate::domain::AppError;
use crate::server::{change::Change, origin::RequestOrigin, AppState};

/// What comes after a proven credential.
pub enum Next {
    /// Signed in: the session just opened.
    SignedIn(NewSession),
}

/// The step between "credential proven" and "session opened", inside the change that proved it: the session the browser had before ends (a signed-in browser that signs in again keeps one
/// session) and a new one opens for the proven account.
pub async fn proceed(
    state: &AppState,
    change: &mut Change<'_>,
    proven: Proven,
    origin: &RequestOrigin,
    old_session: Option<&str>,
) -> Result<Next, AppError> {
    sessions::end_old(change.tx(), old_session).await?;
    let session = sessions::open(state, change, &proven, origin).await?;
    Ok(Next::SignedIn(session))
}
