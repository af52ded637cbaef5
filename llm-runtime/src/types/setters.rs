//! The one macro every builder's plain setters are written with.

/// Builder setters that each set or push one field and give `self` back.
///
/// It exists because the request types, the policies and the router's limits
/// have dozens of setters that differ only in name, argument and field: written
/// out, each is five lines of the same shape, and a new operation's types
/// copied them again. Each entry is the setter's attributes (its doc comment
/// passes through, so `missing_docs` and rustdoc see it as written), its name
/// and arguments, and in braces one statement on `self` without the `self.`:
///
/// ```ignore
/// impl Request {
///     setters! {
///         /// Keep only the `n` most relevant documents.
///         top_n(n: u32) { top_n = Some(n) }
///         /// Add a stop sequence.
///         stop(s: impl Into<String>) { stop.push(s.into()) }
///     }
/// }
/// ```
///
/// expands to `pub fn top_n(mut self, n: u32) -> Self { self.top_n = Some(n); self }`
/// and so on. A setter that checks or reshapes its input stays hand-written.
macro_rules! setters {
    ($(
        $(#[$attr:meta])*
        $name:ident($($arg:ident: $ty:ty),* $(,)?) { $($body:tt)+ }
    )*) => {$(
        $(#[$attr])*
        pub fn $name(mut self $(, $arg: $ty)*) -> Self {
            self.$($body)+;
            self
        }
    )*};
}

pub(crate) use setters;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    #[derive(Debug, Default, PartialEq)]
    struct Target {
        limit: Option<u32>,
        names: Vec<String>,
        strict: bool,
    }

    // The macro writes `pub fn` (the builders it serves are public); this type is private.
    #[allow(unreachable_pub)]
    impl Target {
        setters! {
            /// Sets.
            limit(n: u32) { limit = Some(n) }
            /// Pushes, converting.
            name(name: impl Into<String>) { names.push(name.into()) }
            /// Takes no argument.
            strict() { strict = true }
        }
    }

    proptest! {
        #[test]
        fn each_setter_changes_only_its_field(n in any::<u32>(), names in proptest::collection::vec(".{0,8}", 0..4)) {
            let mut built = Target::default().limit(n);
            for name in &names {
                built = built.name(name.as_str());
            }
            prop_assert_eq!(&built, &Target { limit: Some(n), names: names.clone(), strict: false });
            prop_assert_eq!(built.strict(), Target { limit: Some(n), names, strict: true });
        }
    }
}
