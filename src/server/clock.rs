//! The application's clock: every expiry, window and timestamp reads the time from it, in whole
//! unix seconds. Production runs on the system clock; a manual clock runs with it but can be
//! moved forward, so that a test makes an hour pass without waiting for it.

use std::{
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Wall-clock time in unix seconds. Clones share one clock: moving a manual clock moves every
/// clone of it.
#[derive(Clone, Debug)]
pub struct Clock {
    /// Seconds a manual clock has been moved ahead of the system clock; `None` for the system
    /// clock itself.
    ahead: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { ahead: None }
    }

    /// A clock that shows the system's time until [`Clock::advance`] moves it ahead.
    pub fn manual() -> Self {
        Self {
            ahead: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// Unix seconds now.
    pub fn now(&self) -> i64 {
        let ahead = self
            .ahead
            .as_ref()
            .map_or(0, |ahead| ahead.load(Ordering::SeqCst));
        system_now().saturating_add(ahead)
    }

    /// Moves a manual clock forward by `by` (in whole seconds, rounded up: a wait that has been
    /// moved past has passed). The system clock cannot be moved: only a manual clock can.
    ///
    /// # Panics
    /// On the system clock.
    pub fn advance(&self, by: Duration) {
        let ahead = self
            .ahead
            .as_ref()
            .expect("only a manual clock can be moved (Clock::manual)");
        let seconds = by.as_secs() + u64::from(by.subsec_nanos() > 0);
        ahead.fetch_add(
            i64::try_from(seconds).unwrap_or(i64::MAX / 2),
            Ordering::SeqCst,
        );
    }
}

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2))
        .unwrap_or_default()
}

/// A duration in whole seconds, for timestamps.
pub fn seconds(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_shows_the_systems_time() {
        let before = system_now();
        let now = Clock::system().now();
        let after = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!(
            (before..=after).contains(&now),
            "{before} <= {now} <= {after}"
        );
    }

    #[test]
    fn a_manual_clock_shows_the_systems_time_until_it_is_moved() {
        let clock = Clock::manual();
        let before = Clock::system().now();
        let now = clock.now();
        assert!((before..=Clock::system().now()).contains(&now));
    }

    #[test]
    fn advancing_moves_now_and_every_clone_with_it() {
        let clock = Clock::manual();
        let other = clock.clone();
        let before = Clock::system().now();
        clock.advance(Duration::from_secs(3600));
        assert!(other.now() >= before + 3600);
        assert!(other.now() <= Clock::system().now() + 3600);
        clock.advance(Duration::from_secs(24 * 60 * 60));
        assert!(clock.now() >= before + 3600 + 86_400);
    }

    #[test]
    fn part_of_a_second_moves_the_clock_a_whole_second() {
        let clock = Clock::manual();
        let before = Clock::system().now();
        clock.advance(Duration::from_millis(1));
        assert!(clock.now() > before);
        clock.advance(Duration::ZERO);
        assert!(clock.now() <= Clock::system().now() + 1);
    }

    #[test]
    #[should_panic(expected = "only a manual clock can be moved")]
    fn the_system_clock_cannot_be_moved() {
        Clock::system().advance(Duration::from_secs(1));
    }
}
