//! A change is a unit of work: one transaction that takes the lock of the organization it changes
//! before anything else, collects the entries it makes in that organization's log, writes them
//! under the lock as it commits, and then wakes the outbox for the mail it queued
//! ([`Change::queue`]). Every change to the data is made through one, so none can forget the lock
//! or its log entries.

use std::future::Future;

use super::{
    audit::{self, Event, Target},
    db::{self, outbox::NewMessage, Locked, Tx},
    error::OrInternal,
    AppState,
};
use crate::domain::AppError;

/// A caller acting on their organization, whose right to act is checked again once its lock is
/// held (the role read when the request was authenticated may have changed since).
pub trait Acting: Sync {
    fn organization_id(&self) -> i64;
    /// Refuses when the caller's role, read again inside `tx`, no longer allows what they do.
    fn recheck(&self, tx: &mut Tx) -> impl Future<Output = Result<(), AppError>> + Send;
}

/// One change in progress; dropped without [`Change::commit`], nothing of it is kept.
pub struct Change<'s> {
    state: &'s AppState,
    tx: Tx,
    organization: Option<Locked>,
    events: Vec<Event>,
    now: i64,
    /// Whether it queued mail: the outbox is woken once it commits.
    queued_mail: bool,
}

impl<'s> Change<'s> {
    async fn begin(state: &'s AppState) -> Result<Self, AppError> {
        let tx = state.db.begin().await.or_internal("starting a change")?;
        Ok(Self {
            state,
            tx,
            organization: None,
            events: Vec::new(),
            now: state.now(),
            queued_mail: false,
        })
    }

    /// A change to `organization_id`, which is locked first (a 404 when it is gone).
    pub async fn to_organization(
        state: &'s AppState,
        organization_id: i64,
    ) -> Result<Self, AppError> {
        Self::to(state, Some(organization_id)).await
    }

    /// A change to what may belong to an organization (a signup or sign-in with an invitation,
    /// an account): that organization is locked first, when there is one.
    pub async fn to(state: &'s AppState, organization_id: Option<i64>) -> Result<Self, AppError> {
        let mut change = Self::begin(state).await?;
        if let Some(id) = organization_id {
            change.organization = Some(audit::lock(&state.db, &mut change.tx, id).await?);
        }
        Ok(change)
    }

    /// A change a member makes to their organization: it is locked first, and their role read
    /// again under the lock must still allow it.
    pub async fn by(state: &'s AppState, me: &impl Acting) -> Result<Self, AppError> {
        let mut change = Self::to_organization(state, me.organization_id()).await?;
        me.recheck(&mut change.tx).await?;
        Ok(change)
    }

    /// A change to an account (its password, sessions, token, address): the organization it
    /// belongs to, if any, is locked first, and records it.
    pub async fn to_account(state: &'s AppState, user_id: i64) -> Result<Self, AppError> {
        let mut change = Self::begin(state).await?;
        let organization = db::memberships::organization_of(&mut *change.tx, user_id)
            .await
            .or_internal("reading a membership")?;
        if let Some(id) = organization {
            change.organization = state
                .db
                .lock_organization(&mut change.tx, id)
                .await
                .or_internal("locking the organization")?;
        }
        Ok(change)
    }

    /// A change whose transaction already took the organization's lock along with what it reads
    /// under it ([`db::Db::lock_organization_and_member`]).
    pub fn locked(state: &'s AppState, tx: Tx, organization: Locked) -> Self {
        Self {
            state,
            tx,
            organization: Some(organization),
            events: Vec::new(),
            now: state.now(),
            queued_mail: false,
        }
    }

    /// The organization this change made: nobody else can see it before the change commits, so
    /// it needs no lock, and its log starts with this change's entries.
    pub fn created(&mut self, organization: Locked) {
        debug_assert!(self.organization.is_none());
        self.organization = Some(organization);
    }

    /// The time of the change: every row it writes carries it.
    pub fn now(&self) -> i64 {
        self.now
    }

    pub fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// The organization locked for this change, as it was read under the lock.
    pub fn organization(&self) -> Option<&Locked> {
        self.organization.as_ref()
    }

    /// The locked organization (`organization_id`) as a log entry names it, with its title at
    /// the lock.
    pub fn organization_target(&self, organization_id: i64) -> Target {
        Target::Organization {
            id: organization_id,
            title: self
                .organization
                .as_ref()
                .map(|o| o.title.clone())
                .unwrap_or_default(),
        }
    }

    /// Records `event` in the log of the locked organization, written as the change commits. A
    /// change to an account in no organization has no log to write it to.
    pub fn record(&mut self, event: Event) {
        if self.organization.is_some() {
            self.events.push(event);
        }
    }

    /// Queues `message` in the outbox with the change; the worker is woken once it commits.
    pub async fn queue(&mut self, message: &NewMessage<'_>) -> Result<(), AppError> {
        db::outbox::enqueue(&mut *self.tx, message)
            .await
            .or_internal("queueing a message")?;
        self.queued_mail = true;
        Ok(())
    }

    /// Writes the recorded entries under the lock, commits, and wakes the outbox when the change
    /// queued mail.
    pub async fn commit(self) -> Result<(), AppError> {
        let Self {
            state,
            mut tx,
            organization,
            events,
            now,
            queued_mail,
        } = self;
        if let Some(mut lock) = organization {
            audit::record_all(&mut tx, &mut lock, events, now).await?;
        }
        tx.commit().await.or_internal("committing a change")?;
        if queued_mail {
            state.outbox_wake.notify_one();
        }
        Ok(())
    }
}
