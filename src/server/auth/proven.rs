//! What a credential proves: the account, and how it was proven.

use crate::{domain::SignInMethod, server::invite_token::InviteToken};

/// Who a credential proved someone to be, and how. Only the credentials of `auth` make one, so
/// holding one is the proof.
#[derive(Debug)]
pub struct Proven {
    user_id: i64,
    method: SignInMethod,
    joins: Option<InviteToken>,
}

impl Proven {
    pub(in crate::server::auth) fn new(user_id: i64, method: SignInMethod) -> Self {
        Self {
            user_id,
            method,
            joins: None,
        }
    }

    /// The same proof, with an invitation to accept once the sign-in is complete: after the
    /// second factor, for an account that must give one.
    pub(in crate::server::auth) fn joining(self, token: InviteToken) -> Self {
        Self {
            joins: Some(token),
            ..self
        }
    }

    pub fn joins(&self) -> Option<InviteToken> {
        self.joins
    }

    pub fn user_id(&self) -> i64 {
        self.user_id
    }

    pub fn method(&self) -> SignInMethod {
        self.method
    }
}
