//! Checks the operation types share: a request's bounds, an answer's indices.

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

/// The answer's `indices` each point at one of the `count` items sent, none
/// twice; otherwise what is wrong, `label` naming an index (`vector index`)
/// and `items` what was sent (`input`). Embeddings and rerank answers both
/// number their entries by the request's positions.
pub(super) fn distinct_indices(
    indices: impl IntoIterator<Item = usize>,
    count: usize,
    label: &str,
    items: &str,
) -> std::result::Result<(), String> {
    let mut seen = vec![false; count];
    for index in indices {
        match seen.get_mut(index) {
            None => {
                return Err(format!(
                    "{label} {index} is out of range for {count} {items}(s)"
                ));
            }
            Some(true) => return Err(format!("{label} {index} appears twice")),
            Some(slot) => *slot = true,
        }
    }
    Ok(())
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

        #[test]
        fn indices_pass_only_when_in_range_and_distinct(
            indices in proptest::collection::vec(0usize..8, 0..8),
            count in 0usize..8,
        ) {
            let checked = distinct_indices(indices.iter().copied(), count, "index", "document");
            let first_bad = indices.iter().enumerate().find(|&(at, &i)| i >= count || indices[..at].contains(&i));
            match first_bad {
                None => prop_assert_eq!(checked, Ok(())),
                Some((_, &i)) if i >= count => prop_assert_eq!(
                    checked,
                    Err(format!("index {i} is out of range for {count} document(s)"))
                ),
                Some((_, &i)) => prop_assert_eq!(checked, Err(format!("index {i} appears twice"))),
            }
        }
    }
}
