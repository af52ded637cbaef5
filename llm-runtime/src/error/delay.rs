//! Numbers and times read off the wire (`Retry-After`, `retry-after-ms`,
//! Google's `retryDelay`, the rate-limit families `x-ratelimit-*` and
//! `anthropic-ratelimit-*`): one parser for each form, so no header value can
//! panic or overflow, on a success or an error answer alike.
//!
//! A delay is a number of seconds or milliseconds, a Go duration (`6m0s`) or
//! the time until an RFC 3339 instant. Garbage, negative numbers, NaN,
//! infinities and impossible dates are no delay at all (`None`); a finite
//! value too large for a [`Duration`] saturates at [`MAX_DELAY`], which every
//! retry policy treats as "longer than I will wait". A count is a plain
//! non-negative integer that fits a `u64`, or nothing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName};

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

/// The text of header `name`, trimmed; `None` when absent or not visible ASCII.
pub(crate) fn header_text<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// A count (`x-ratelimit-remaining-tokens: 149984`): ASCII digits only (no
/// sign, fraction or exponent) that fit a `u64`; anything else is `None`.
pub(crate) fn count(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A duration written as Go prints one (`1h2m3.5s`, `6m0s`, `20ms`, `1s`),
/// saturated at [`MAX_DELAY`]; `None` for an empty text, a sign, an unknown
/// unit or a number that does not parse.
pub(crate) fn delay_from_go(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        // Seconds per unit as a multiplier, or units per second as a divisor:
        // both exact for the whole-number inputs servers send.
        let part = match &rest[..unit] {
            "h" => delay_from_f64(value * 3600.0, 1.0),
            "m" => delay_from_f64(value * 60.0, 1.0),
            "s" => delay_from_f64(value, 1.0),
            "ms" => delay_from_f64(value, 1e3),
            "us" | "µs" => delay_from_f64(value, 1e6),
            "ns" => delay_from_f64(value, 1e9),
            _ => None,
        }?;
        rest = &rest[unit..];
        total = total.saturating_add(part).min(MAX_DELAY);
    }
    Some(total)
}

/// The wait until an RFC 3339 instant (`2026-12-01T20:50:00Z`, fractions and
/// offsets allowed); zero when it has passed, [`MAX_DELAY`] at most, `None`
/// when the text is not a valid RFC 3339 date-time.
pub(crate) fn delay_until_rfc3339(text: &str) -> Option<Duration> {
    let at = rfc3339_unix(text.trim())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    let left = at - now;
    if left <= 0.0 {
        return Some(Duration::ZERO);
    }
    delay_from_f64(left, 1.0)
}

/// `n` ASCII digits at `range` of `s`, as a number (no sign, no space).
fn digits(s: &str, range: std::ops::Range<usize>) -> Option<i64> {
    let text = s.get(range)?;
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Seconds since the Unix epoch of an RFC 3339 date-time. Every field is
/// range-checked before any arithmetic (year 0..=9999, offset within a day),
/// so no input can overflow; a field out of range makes the text invalid.
/// No crate in the dependency tree parses RFC 3339 (`httpdate` reads only
/// RFC 9110 dates), and the rate-limit reset is the one place it is needed.
fn rfc3339_unix(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(s, 0..4)?, digits(s, 5..7)?, digits(s, 8..10)?);
    let (hour, minute, second) = (digits(s, 11..13)?, digits(s, 14..16)?, digits(s, 17..19)?);
    let rest = s.get(19..)?;
    let zone_at = rest.find(['Z', 'z', '+', '-'])?;
    let fraction = match &rest[..zone_at] {
        "" => 0.0,
        f => match f.strip_prefix('.') {
            Some(d) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
                f.parse::<f64>().ok()?
            }
            _ => return None,
        },
    };
    let offset = match &rest[zone_at..] {
        "Z" | "z" => 0,
        zone => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let zb = zone.as_bytes();
            if zb.len() != 6 || zb[3] != b':' {
                return None;
            }
            let (h, m) = (digits(zone, 1..3)?, digits(zone, 4..6)?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let whole = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(whole as f64 + fraction)
}

/// The days of `month` (1..=12) in `year` (proleptic Gregorian).
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
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
    fn rfc3339() {
        assert_eq!(rfc3339_unix("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(rfc3339_unix("2000-03-01T00:00:00Z"), Some(951_868_800.0));
        assert_eq!(rfc3339_unix("2000-02-29T00:00:00Z"), Some(951_782_400.0));
        assert_eq!(rfc3339_unix("1970-01-01T01:00:00+01:00"), Some(0.0));
        assert_eq!(rfc3339_unix("1969-12-31T23:00:00-01:00"), Some(0.0));
        assert_eq!(rfc3339_unix("1970-01-01T00:00:00.5Z"), Some(0.5));
        for bad in [
            "1970-13-01T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "1970-01-01T00:00:00+1:00",
            "1970-01-01T00:00:00",
            "1970-01-01T00:00:00+01:00:00",
            "garbage",
        ] {
            assert_eq!(rfc3339_unix(bad), None, "{bad}");
        }
        assert_eq!(count("00042"), Some(42));
        assert_eq!(count(""), None);
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
        fn any_wire_time_is_a_bounded_delay_or_none(text in "[-+0-9:.TZzhmsun µe]{0,40}") {
            for d in [delay_from_go(&text), delay_until_rfc3339(&text)].into_iter().flatten() {
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
