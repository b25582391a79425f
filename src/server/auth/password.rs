//! Argon2id password hashing (the crate's defaults are OWASP's: 19 MiB, 2 passes, 1 lane), within
//! a budget: at most one hash per core at once, each on one of a fixed set of hasher threads (so
//! that the 19 MiB blocks are reused by as many allocator arenas as there are hashers, never one
//! per thread of the blocking pool), and a bounded queue, so that a flood of logins cannot exhaust
//! memory or stall the async runtime. A signup is admitted only when its hash would start within
//! about one hash's time ([`HashBudget::has_room_soon`]).

mod confirm;
mod sign_in;

pub(in crate::server::auth) use confirm::record_failure;
pub use confirm::{confirm, Claimant, Confirmed};
pub use sign_in::{sign_in, LOGIN_MISMATCH};

use std::sync::{
    atomic::{AtomicU64, AtomicUsize, Ordering},
    mpsc, Arc, Mutex, OnceLock,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

use crate::{
    domain::{AppError, Password},
    server::error::OrInternal,
};

/// How much lower than the threads that serve requests the hashers run (a nice value): when a
/// flood of logins keeps every hasher busy, the kernel still gives a core to a request the
/// moment it has work, so the requests beside the flood wait for CPU in microseconds rather than
/// behind a hash. The hashers keep every core that nothing else wants.
const HASHER_NICENESS: i32 = 10;

/// Lowers the calling thread's priority to [`HASHER_NICENESS`] (on Linux a thread has its own
/// nice value; elsewhere nothing changes).
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority only reads its arguments; `0` names the calling thread.
        let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HASHER_NICENESS) } != 0;
        if failed {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "could not lower a password hasher's priority"
            );
        }
    }
}

/// How many hashes may run at once, and how many more may wait for a turn.
pub struct HashBudget {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    /// How many hashes run at once.
    hashers: usize,
    computed: AtomicU64,
    /// Work for the hasher threads; they stop when it is dropped.
    jobs: Mutex<mpsc::Sender<Job>>,
}

type Job = Box<dyn FnOnce() + Send>;

/// A hash's place in the queue, given up when its wait ends however it ends: with a turn, or
/// dropped with the request when its client goes away (as a flood's do when it stops).
struct PlaceInQueue<'a>(&'a AtomicUsize);

impl Drop for PlaceInQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashBudget {
    pub fn new(concurrency: usize, queue: usize) -> Self {
        let concurrency = concurrency.max(1);
        let (jobs, inbox) = mpsc::channel::<Job>();
        let inbox = Arc::new(Mutex::new(inbox));
        for n in 0..concurrency {
            let inbox = Arc::clone(&inbox);
            let spawned = std::thread::Builder::new()
                .name(format!("password-hasher-{n}"))
                .spawn(move || {
                    yield_to_requests();
                    loop {
                        let job = match inbox.lock() {
                            Ok(inbox) => inbox.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hasher thread");
            }
        }
        Self {
            running: Arc::new(Semaphore::new(concurrency)),
            waiting: AtomicUsize::new(0),
            queue,
            hashers: concurrency,
            computed: AtomicU64::new(0),
            jobs: Mutex::new(jobs),
        }
    }

    /// Whether a hash asked for now would be admitted (run or queued); a cheap early answer for
    /// a flood, before any other work. [`HashBudget::turn`] decides for good.
    pub fn has_room(&self) -> bool {
        self.running.available_permits() > 0 || self.waiting.load(Ordering::Acquire) < self.queue
    }

    /// Whether a hash asked for now would start within about one hash's time: a hasher is free,
    /// or fewer wait than there are hashers. A signup asks this, so that a storm of them is told
    /// to come back at once instead of each waiting behind the whole queue; a login may wait in
    /// all of it.
    pub fn has_room_soon(&self) -> bool {
        self.running.available_permits() > 0
            || self.waiting.load(Ordering::Acquire) < self.hashers.min(self.queue)
    }

    /// Runs `work` on a hasher thread (the caller holds a turn) and hands back its result.
    async fn run<T: Send + 'static>(
        &self,
        turn: OwnedSemaphorePermit,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let result = work();
            // The turn ends before the answer is told, so the caller's next hash finds it free.
            drop(turn);
            let _ = done.send(result);
        });
        self.jobs
            .lock()
            .map_err(|_| crate::server::error::internal("password hasher", "poisoned"))?
            .send(job)
            .or_internal("handing a password to the hasher")?;
        result.await.or_internal("waiting for the password hasher")
    }

    /// How many hashes have been computed (or verified) so far.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// A turn to hash: at once if a core is free, after a wait if the queue has room, else a 503
    /// that tells the client to come back in a second. Hashing takes its turn itself; a test may
    /// hold one to keep the hashers busy.
    pub async fn turn(&self) -> Result<OwnedSemaphorePermit, AppError> {
        if let Ok(permit) = self.running.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        let _place = PlaceInQueue(&self.waiting);
        self.running
            .clone()
            .acquire_owned()
            .await
            .or_internal("waiting for the password hasher")
    }

    async fn start(&self) -> Result<OwnedSemaphorePermit, AppError> {
        let turn = self.turn().await?;
        self.computed.fetch_add(1, Ordering::Relaxed);
        Ok(turn)
    }
}

pub async fn hash(budget: &HashBudget, password: Password) -> Result<String, AppError> {
    let turn = budget.start().await?;
    budget
        .run(turn, move || {
            Argon2::default()
                .hash_password(
                    password.expose().as_bytes(),
                    &SaltString::generate(&mut OsRng),
                )
                .map(|h| h.to_string())
        })
        .await?
        .or_internal("hashing a password")
}

/// Checks a password against a stored hash. With no hash (unknown account) it checks against a
/// fixed one, so that a wrong email takes as long as a wrong password.
pub async fn verify(
    budget: &HashBudget,
    stored: Option<String>,
    password: String,
) -> Result<bool, AppError> {
    let turn = budget.start().await?;
    budget
        .run(turn, move || {
            let known = stored.is_some();
            let Ok(parsed) = PasswordHash::new(stored.as_deref().unwrap_or_else(|| dummy_hash()))
            else {
                return false;
            };
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            known && matches
        })
        .await
}

/// The answer when the hashers and their queue are full: 503, back in a second.
pub fn busy() -> AppError {
    AppError::Unavailable {
        message: "The server is busy checking passwords. Try again in a moment.".into(),
        retry_after: 1,
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(
                b"no account has this password",
                &SaltString::generate(&mut OsRng),
            )
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let budget = HashBudget::new(1, 0);
        let stored = hash(&budget, Password::parse("correct horse").unwrap())
            .await
            .unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify(&budget, Some(stored.clone()), "correct horse".into())
                .await
                .unwrap()
        );
        assert!(!verify(&budget, Some(stored), "wrong horse!".into())
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        assert!(!verify(
            &HashBudget::new(1, 0),
            None,
            "no account has this password".into()
        )
        .await
        .unwrap());
    }

    #[tokio::test]
    async fn a_hash_given_up_while_waiting_leaves_the_queue() {
        use futures::FutureExt;

        let budget = HashBudget::new(1, 1);
        let running = budget.turn().await.unwrap();
        // Requests whose clients went away while they waited: each future is dropped mid-wait.
        for _ in 0..3 {
            assert!(budget.turn().now_or_never().is_none(), "it waits");
        }
        assert!(budget.has_room());
        drop(running);
        let next = budget.turn().now_or_never();
        assert!(
            matches!(next, Some(Ok(_))),
            "the freed hasher takes the next at once"
        );
    }

    #[tokio::test]
    async fn beyond_the_running_and_waiting_hashes_the_answer_is_busy_at_once() {
        let budget = HashBudget::new(1, 1);
        let running = budget.turn().await.unwrap();
        let waiting = async { budget.turn().await.map(drop) };
        let refused = async {
            // Let the waiter take its place in the queue first.
            tokio::task::yield_now().await;
            budget.turn().await.map(drop)
        };
        let release = async {
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            drop(running);
        };
        let (waited, refused, ()) = tokio::join!(waiting, refused, release);
        assert!(waited.is_ok(), "a waiting hash gets its turn");
        let refused = refused.unwrap_err();
        assert_eq!(
            (refused.status_code(), refused.retry_after()),
            (503, Some(1))
        );
    }
}
