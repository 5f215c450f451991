//! When to poll next.

use std::time::Duration;

use crate::sources::ErrorReason;

const FIRST_RETRY: Duration = Duration::from_secs(1);

/// Delay before the next poll. After a failed connection we retry sooner than the
/// interval (1 s, 2 s, 4 s, … capped at the interval) so that a restarted backend is seen
/// again quickly; any other outcome keeps the regular interval, because retrying a slow
/// or erroring backend faster would only add load to it.
pub fn next_delay(
    interval: Duration,
    last_reason: Option<ErrorReason>,
    consecutive_connect_failures: u32,
) -> Duration {
    match last_reason {
        Some(ErrorReason::Connect) if consecutive_connect_failures > 0 => {
            let exp = consecutive_connect_failures.saturating_sub(1).min(16);
            FIRST_RETRY.saturating_mul(1u32 << exp).min(interval)
        }
        _ => interval,
    }
}

/// The delay before a source's first poll: a random share of a tenth of the interval
/// (at most one second), so sources configured together do not poll in lockstep while
/// `/ready` still turns green within about a second of start.
pub fn initial_offset(interval: Duration) -> Duration {
    let window = (interval / 10).min(Duration::from_secs(1));
    window.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_failures_back_off_exponentially_up_to_the_interval() {
        let i = Duration::from_secs(15);
        let delays: Vec<u64> = (1..=6)
            .map(|n| next_delay(i, Some(ErrorReason::Connect), n).as_secs())
            .collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 15, 15]);
    }

    #[test]
    fn other_outcomes_keep_the_interval() {
        let i = Duration::from_secs(15);
        assert_eq!(next_delay(i, None, 0), i);
        assert_eq!(next_delay(i, Some(ErrorReason::Timeout), 3), i);
        assert_eq!(next_delay(i, Some(ErrorReason::Auth), 3), i);
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        let i = Duration::from_secs(60);
        assert_eq!(next_delay(i, Some(ErrorReason::Connect), u32::MAX), i);
    }

    #[test]
    fn initial_offset_is_bounded() {
        for _ in 0..100 {
            assert!(initial_offset(Duration::from_secs(60)) <= Duration::from_secs(1));
            assert!(initial_offset(Duration::from_secs(2)) <= Duration::from_millis(200));
        }
    }
}
