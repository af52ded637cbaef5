//! Checks the operation requests' `validate` methods share.

use std::fmt::Display;
use std::ops::RangeInclusive;

use crate::error::{Error, Result};

/// `value`, when set, lies within `range`; otherwise an invalid request
/// naming `field`. One place words the error, so every request's bounds read
/// alike (`n must be between 1 and 10, got 11`).
pub(super) fn in_range<T: PartialOrd + Display>(
    field: &str,
    value: Option<T>,
    range: RangeInclusive<T>,
) -> Result<()> {
    match value {
        Some(value) if !range.contains(&value) => Err(Error::invalid_request(format!(
            "{field} must be between {} and {}, got {value}",
            range.start(),
            range.end()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn only_a_set_value_outside_the_range_is_refused(value in proptest::option::of(-5i64..20)) {
            let checked = in_range("n", value, 1..=10);
            match value {
                Some(v) if !(1..=10).contains(&v) => {
                    let e = checked.expect_err("out of range");
                    prop_assert_eq!(e.kind(), ErrorKind::InvalidRequest);
                    prop_assert_eq!(e.message(), format!("n must be between 1 and 10, got {v}"));
                }
                _ => prop_assert!(checked.is_ok()),
            }
        }
    }
}
