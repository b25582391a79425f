//! What a credential proves: the account, and how it was proven.

use crate::domain::SignInMethod;

/// Who a credential proved someone to be, and how. Only the credentials of `auth` make one, so
/// holding one is the proof.
#[derive(Debug)]
pub struct Proven {
    user_id: i64,
    method: SignInMethod,
}

impl Proven {
    pub(in crate::server::auth) fn new(user_id: i64, method: SignInMethod) -> Self {
        Self { user_id, method }
    }

    pub fn user_id(&self) -> i64 {
        self.user_id
    }

    pub fn method(&self) -> SignInMethod {
        self.method
    }
}
