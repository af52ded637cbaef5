//! Delays read off the wire (`Retry-After`, `retry-after-ms`, Google's
//! `retryDelay`): one parser, so no header value can panic or overflow.
//!
//! A delay is a number of seconds or milliseconds. Garbage, negative numbers,
//! NaN and infinities are no delay at all (`None`); a finite number too large
//! for a [`Duration`] saturates at [`MAX_DELAY`], which every retry policy
//! treats as "longer than I will wait".

use std::time::{Duration, SystemTime};

/// The longest delay a wire value is read as (about 136 years): any value past
/// it means "very long". Finite, so adding it to an `Instant` with
/// `checked_add` is well-defined, and far past any sane `max_retry_after`.
pub const MAX_DELAY: Duration = Duration::from_secs(u32::MAX as u64);

/// A delay of `text` seconds (`"2"`, `"1.5"`, `" 30 "`), saturated at [`MAX_DELAY`].
pub(crate) fn delay_from_secs(text: &str) -> Option<Duration> {
    let text = text.trim();
    match text.parse::<u64>() {
        Ok(n) => Some(Duration::from_secs(n).min(MAX_DELAY)),
        Err(_) => delay_from_f64(text.parse::<f64>().ok()?, 1.0),
    }
}

/// A delay of `text` milliseconds (`"1500"`, `"0.5"`), saturated at [`MAX_DELAY`].
pub(crate) fn delay_from_millis(text: &str) -> Option<Duration> {
    let text = text.trim();
    match text.parse::<u64>() {
        Ok(n) => Some(Duration::from_millis(n).min(MAX_DELAY)),
        Err(_) => delay_from_f64(text.parse::<f64>().ok()?, 1000.0),
    }
}

/// The wait until an HTTP-date; a date in the past is no wait at all.
pub(crate) fn delay_until(when: SystemTime, now: SystemTime) -> Duration {
    when.duration_since(now)
        .unwrap_or(Duration::ZERO)
        .min(MAX_DELAY)
}

/// `value` units of `1 / per_sec` seconds; a division, so `1500 / 1000` is exactly 1.5.
fn delay_from_f64(value: f64, per_sec: f64) -> Option<Duration> {
    // NaN is neither finite nor negative; `-0.0` is zero.
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let secs = value / per_sec;
    Some(
        Duration::try_from_secs_f64(secs)
            .unwrap_or(MAX_DELAY)
            .min(MAX_DELAY),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let secs = |s: u64| Some(Duration::from_secs(s));
        // (text, as seconds, as milliseconds)
        let rows: &[(&str, Option<Duration>, Option<Duration>)] = &[
            ("0", secs(0), secs(0)),
            ("2", secs(2), Some(Duration::from_millis(2))),
            (
                " 1.5 ",
                Some(Duration::from_millis(1500)),
                Some(Duration::from_micros(1500)),
            ),
            ("-0", secs(0), secs(0)),
            ("1e20", Some(MAX_DELAY), Some(MAX_DELAY)),
            ("1e23", Some(MAX_DELAY), Some(MAX_DELAY)),
            ("18446744073709551616", Some(MAX_DELAY), Some(MAX_DELAY)),
            ("1e308", Some(MAX_DELAY), Some(MAX_DELAY)),
            (
                "4294967296",
                Some(MAX_DELAY),
                Some(Duration::from_millis(4_294_967_296)),
            ),
            ("-1", None, None),
            ("-1e20", None, None),
            ("NaN", None, None),
            ("nan", None, None),
            ("inf", None, None),
            ("-inf", None, None),
            ("infinity", None, None),
            ("", None, None),
            ("soon", None, None),
            ("1s", None, None),
            ("0x10", None, None),
        ];
        for (text, as_secs, as_millis) in rows {
            assert_eq!(delay_from_secs(text), *as_secs, "secs {text:?}");
            assert_eq!(delay_from_millis(text), *as_millis, "millis {text:?}");
        }
    }

    #[test]
    fn dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            delay_until(now - Duration::from_secs(5), now),
            Duration::ZERO
        );
        assert_eq!(
            delay_until(now + Duration::from_secs(5), now),
            Duration::from_secs(5)
        );
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799); // 9999-12-31
        assert_eq!(delay_until(far, now), MAX_DELAY);
    }

    proptest! {
        #[test]
        fn any_text_is_a_bounded_delay_or_none(text in any::<String>()) {
            for d in [delay_from_secs(&text), delay_from_millis(&text)].into_iter().flatten() {
                prop_assert!(d <= MAX_DELAY);
            }
        }

        #[test]
        fn any_number_is_a_bounded_delay_or_none(x in any::<f64>()) {
            for d in [delay_from_secs(&x.to_string()), delay_from_millis(&format!("{x:e}"))]
                .into_iter()
                .flatten()
            {
                prop_assert!(d <= MAX_DELAY);
            }
        }
    }
}
