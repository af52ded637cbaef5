//! Assembling tool calls that arrive in pieces over a stream.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::types::{StreamEvent, ToolCall};

/// The most tool calls one answer may make; a stream that begins more fails
/// with [`ErrorKind::Decode`](crate::ErrorKind::Decode) rather than growing
/// without bound (a model asked for tools makes a handful).
pub const MAX_TOOL_CALLS: usize = 1024;

/// The most bytes of tool-call arguments one answer may stream, all calls
/// together: 64 MiB, the default cap on a whole response body, so a streamed
/// answer holds no more than a non-streamed one could. Past it the stream
/// fails with [`ErrorKind::Decode`](crate::ErrorKind::Decode).
pub const MAX_TOOL_ARGUMENT_BYTES: usize = 64 * 1024 * 1024;

/// Assembles streamed tool calls (OpenAI-style deltas) into whole [`ToolCall`]s.
///
/// Every chunk names its call by the provider's `index`; the assembler also
/// copes with what real servers send:
/// - a missing index: the chunk continues the call with its id if one is known,
///   else the last call, unless it carries a new id (then a new call starts
///   after the highest index seen); the first call is index 0;
/// - the id repeated on continuation chunks: same call (a different non-empty
///   id at a known index starts a new call: a server that reuses an index);
/// - an empty or missing name on continuation chunks: the first non-empty name is kept;
/// - arguments split over any number of chunks: they are concatenated.
///
/// Calls are numbered by *position*, the order in which they first appeared
/// (0, 1, 2...), as [`StreamEvent::ToolCallStart::index`](StreamEvent::ToolCallStart)
/// wants; for OpenAI the position is the wire index. A dialect calls
/// [`push_events`](Self::push_events) for each tool-call delta of a frame, or
/// [`begins_call`](Self::begins_call) and [`push`](Self::push) to emit events of
/// its own, or [`push_whole`](Self::push_whole) for APIs that send whole calls.
///
/// Each chunk costs O(1) whatever the number of calls (an index and an id map
/// point at the calls), and an answer is held to [`MAX_TOOL_CALLS`] calls and
/// [`MAX_TOOL_ARGUMENT_BYTES`] of arguments: past either, the chunk is an
/// [`ErrorKind::Decode`](crate::ErrorKind::Decode) error that names the cap.
///
/// ```
/// use llm_runtime::StreamEvent;
/// use llm_runtime::stream::ToolCallAssembler;
///
/// let mut calls = ToolCallAssembler::new();
/// let mut events = Vec::new();
/// calls.push_events(Some(0), Some("call_1"), Some("weather"), "{\"city\":", &mut events)?;
/// calls.push_events(Some(0), Some("call_1"), Some(""), "\"Paris\"}", &mut events)?;
/// calls.push_events(None, None, None, "", &mut events)?; // a keep-alive delta
///
/// let starts = events.iter().filter(|e| matches!(e, StreamEvent::ToolCallStart { .. }));
/// assert_eq!(starts.count(), 1);
/// let done = calls.finish();
/// assert_eq!((done[0].id.as_str(), done[0].name.as_str()), ("call_1", "weather"));
/// assert_eq!(done[0].arguments, "{\"city\":\"Paris\"}");
/// # Ok::<(), llm_runtime::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct ToolCallAssembler {
    /// In order of first appearance: the position is the vector index.
    calls: Vec<OpenCall>,
    /// Each provider index's latest call.
    by_key: HashMap<usize, usize>,
    /// Each id's latest call.
    by_id: HashMap<String, usize>,
    /// The key of the next call that comes without an index: one past the highest key.
    next_key: usize,
    /// Argument bytes taken so far, all calls together.
    argument_bytes: usize,
}

#[derive(Debug)]
struct OpenCall {
    /// The provider's index (or the one given to an unindexed call).
    key: usize,
    call: ToolCall,
}

/// Where a chunk goes.
enum Route {
    /// The call at this position.
    Existing(usize),
    /// A new call with this key.
    New(usize),
}

impl ToolCallAssembler {
    /// An assembler with no calls.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a chunk with this `index` and `id` would begin a new call, i.e.
    /// whether [`push`](Self::push) with them would return a new position.
    ///
    /// Ask before pushing; [`push_events`](Self::push_events) does both.
    pub fn begins_call(&self, index: Option<usize>, id: Option<&str>) -> bool {
        matches!(self.route(index, id), Route::New(_))
    }

    /// The position of the call a chunk with this `index` and `id` continues,
    /// or `None` when it would begin a new one.
    pub fn find(&self, index: Option<usize>, id: Option<&str>) -> Option<usize> {
        match self.route(index, id) {
            Route::Existing(position) => Some(position),
            Route::New(_) => None,
        }
    }

    /// Add a chunk of a streamed tool call and return the call's position.
    ///
    /// `id` and `name` are taken where the call has none yet (empty strings
    /// count as absent); `arguments` is appended.
    ///
    /// # Errors
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) when the chunk would
    /// begin call number [`MAX_TOOL_CALLS`] + 1 or take the arguments past
    /// [`MAX_TOOL_ARGUMENT_BYTES`]; the assembler is unchanged then.
    pub fn push(
        &mut self,
        index: Option<usize>,
        id: Option<&str>,
        name: Option<&str>,
        arguments: &str,
    ) -> Result<usize> {
        self.take_bytes(arguments.len())?;
        let position = match self.route(index, id) {
            Route::Existing(position) => position,
            Route::New(key) => self.open(key)?,
        };
        // `route` returned a position in `calls`, or `open` the call it pushed.
        if let Some(open) = self.calls.get_mut(position) {
            let call = &mut open.call;
            if let Some(id) = id.filter(|id| call.id.is_empty() && !id.is_empty()) {
                id.clone_into(&mut call.id);
                self.by_id.insert(id.to_owned(), position);
            }
            if let Some(name) = name.filter(|name| call.name.is_empty() && !name.is_empty()) {
                name.clone_into(&mut call.name);
            }
            call.arguments.push_str(arguments);
        }
        self.argument_bytes += arguments.len();
        Ok(position)
    }

    /// [`push`](Self::push) a chunk and write its events to `out`:
    /// [`StreamEvent::ToolCallStart`] once, on the first chunk of a call (with
    /// the id and name known then), and [`StreamEvent::ToolCallDelta`] for
    /// non-empty `arguments`. Returns the call's position.
    ///
    /// # Errors
    /// As [`push`](Self::push); nothing is written to `out` then.
    pub fn push_events(
        &mut self,
        index: Option<usize>,
        id: Option<&str>,
        name: Option<&str>,
        arguments: &str,
        out: &mut Vec<StreamEvent>,
    ) -> Result<usize> {
        let new = self.begins_call(index, id);
        let known = |this: &Self, at: Option<usize>| {
            at.and_then(|p| this.calls.get(p))
                .map(|o| (!o.call.id.is_empty(), !o.call.name.is_empty()))
        };
        let before = if new {
            None
        } else {
            known(self, self.find(index, id))
        };
        let position = self.push(index, id, name, arguments)?;
        let after = known(self, Some(position));
        // A call's first chunk starts it; a later chunk that brings the id or
        // name the first one lacked (`"function": null` first) starts it again
        // with them, and the accumulator fills in what was missing.
        let filled = matches!((before, after), (Some(b), Some(a)) if a != b);
        if let (true, Some(open)) = (new || filled, self.calls.get(position)) {
            out.push(StreamEvent::ToolCallStart {
                index: position,
                id: open.call.id.clone(),
                name: open.call.name.clone(),
            });
        }
        if !arguments.is_empty() {
            out.push(StreamEvent::ToolCallDelta {
                index: position,
                arguments: arguments.to_owned(),
            });
        }
        Ok(position)
    }

    /// Add a call that arrived whole (Gemini, Ollama) as a new call after the
    /// others, and write its [`StreamEvent::ToolCallStart`] and
    /// [`StreamEvent::ToolCallDelta`] to `out`. Returns its position.
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub fn push_whole(&mut self, call: ToolCall, out: &mut Vec<StreamEvent>) -> Result<usize> {
        self.take_bytes(call.arguments.len())?;
        let position = self.open(self.next_key)?;
        if let Some(open) = self.calls.get_mut(position) {
            self.argument_bytes += call.arguments.len();
            if !call.id.is_empty() {
                self.by_id.insert(call.id.clone(), position);
            }
            out.push(StreamEvent::ToolCallStart {
                index: position,
                id: call.id.clone(),
                name: call.name.clone(),
            });
            out.push(StreamEvent::ToolCallDelta {
                index: position,
                arguments: call.arguments.clone(),
            });
            open.call = call;
        }
        Ok(position)
    }

    /// The call at `position`, as assembled so far.
    pub fn get(&self, position: usize) -> Option<&ToolCall> {
        self.calls.get(position).map(|open| &open.call)
    }

    /// How many calls have begun.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call has begun.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The finished calls, in the provider's index order (calls that share an
    /// index stay in the order they appeared).
    pub fn finish(self) -> Vec<ToolCall> {
        let mut calls = self.calls;
        calls.sort_by_key(|open| open.key);
        calls.into_iter().map(|open| open.call).collect()
    }

    /// `arguments` without insignificant whitespace, every key, number and
    /// string exactly as sent (no re-encoding: key order, number text and
    /// escapes stay), or `None` when it is not one JSON value.
    ///
    /// The text is validated without building a tree (`IgnoredAny`), so the
    /// 64 MiB of arguments a stream may carry cost one copy at the end, not a
    /// `serde_json::Value` of them (tens of bytes per number). For a dialect
    /// whose non-streamed answer is compact JSON, to give the streamed
    /// arguments the same form.
    ///
    /// ```
    /// use llm_runtime::stream::ToolCallAssembler;
    /// let text = "{ \"b\": [1.50, 2e3],\n  \"a\": \"x y\" }";
    /// assert_eq!(
    ///     ToolCallAssembler::compact_arguments(text).as_deref(),
    ///     Some("{\"b\":[1.50,2e3],\"a\":\"x y\"}")
    /// );
    /// assert_eq!(ToolCallAssembler::compact_arguments("{\"a\":"), None);
    /// ```
    pub fn compact_arguments(arguments: &str) -> Option<String> {
        serde_json::from_str::<serde::de::IgnoredAny>(arguments).ok()?;
        let mut out = Vec::with_capacity(arguments.len());
        let (mut in_string, mut escaped) = (false, false);
        for &b in arguments.as_bytes() {
            if in_string {
                // Inside a string every byte stays; only its end is tracked.
                out.push(b);
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
            } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                in_string = b == b'"';
                out.push(b);
            }
        }
        // Only ASCII whitespace between tokens was dropped: still UTF-8.
        String::from_utf8(out).ok()
    }

    /// Check that `more` argument bytes stay within [`MAX_TOOL_ARGUMENT_BYTES`].
    fn take_bytes(&self, more: usize) -> Result<()> {
        if self.argument_bytes.saturating_add(more) > MAX_TOOL_ARGUMENT_BYTES {
            return Err(Error::decode(format!(
                "the answer streamed more than {MAX_TOOL_ARGUMENT_BYTES} bytes of tool-call arguments (MAX_TOOL_ARGUMENT_BYTES)"
            )));
        }
        Ok(())
    }

    /// Begin a call with `key`; its position.
    fn open(&mut self, key: usize) -> Result<usize> {
        if self.calls.len() >= MAX_TOOL_CALLS {
            return Err(Error::decode(format!(
                "the answer began more than {MAX_TOOL_CALLS} tool calls (MAX_TOOL_CALLS)"
            )));
        }
        let position = self.calls.len();
        self.calls.push(OpenCall {
            key,
            call: ToolCall::default(),
        });
        self.by_key.insert(key, position);
        self.next_key = self.next_key.max(key.saturating_add(1));
        Ok(position)
    }

    fn route(&self, index: Option<usize>, id: Option<&str>) -> Route {
        let id = id.filter(|id| !id.is_empty());
        let conflicts = |position: usize| matches!((id, self.calls.get(position)), (Some(id), Some(open)) if !open.call.id.is_empty() && open.call.id != id);
        if let Some(key) = index {
            return match self.by_key.get(&key) {
                Some(&position) if !conflicts(position) => Route::Existing(position),
                _ => Route::New(key),
            };
        }
        if let Some(&position) = id.and_then(|id| self.by_id.get(id)) {
            return Route::Existing(position);
        }
        match self.calls.len().checked_sub(1) {
            Some(last) if !conflicts(last) => Route::Existing(last),
            _ => Route::New(self.next_key),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
        ToolCall::function(id, name, arguments)
    }

    #[test]
    fn openai_two_calls_with_split_arguments() {
        let mut a = ToolCallAssembler::new();
        assert_eq!(a.push(Some(0), Some("c1"), Some("f"), "").unwrap(), 0);
        a.push(Some(0), None, None, "{\"x\"").unwrap();
        assert_eq!(a.push(Some(1), Some("c2"), Some("g"), "{}").unwrap(), 1);
        a.push(Some(0), None, None, ":1}").unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(
            a.finish(),
            [call("c1", "f", "{\"x\":1}"), call("c2", "g", "{}")]
        );
    }

    #[test]
    fn repeated_id_and_empty_name_continue_the_call() {
        let mut a = ToolCallAssembler::new();
        a.push(Some(0), Some("c1"), Some("f"), "[").unwrap();
        assert!(!a.begins_call(Some(0), Some("c1")));
        a.push(Some(0), Some("c1"), Some(""), "1").unwrap();
        a.push(Some(0), Some(""), Some("other"), "]").unwrap();
        assert_eq!(a.finish(), [call("c1", "f", "[1]")]);
    }

    #[test]
    fn missing_index_continues_the_last_call_or_starts_at_zero() {
        let mut a = ToolCallAssembler::new();
        assert!(a.begins_call(None, None));
        assert_eq!(a.push(None, Some("c1"), Some("f"), "{").unwrap(), 0);
        assert_eq!(a.push(None, None, None, "}").unwrap(), 0);
        // A new id without an index is a new call, after the highest index.
        assert!(a.begins_call(None, Some("c2")));
        assert_eq!(a.push(None, Some("c2"), Some("g"), "{").unwrap(), 1);
        // An id seen before routes back to its call.
        assert_eq!(a.push(None, Some("c1"), None, " ").unwrap(), 0);
        assert_eq!(a.push(Some(1), None, None, "}").unwrap(), 1);
        assert_eq!(a.finish(), [call("c1", "f", "{} "), call("c2", "g", "{}")]);
    }

    #[test]
    fn id_and_name_arriving_late_are_filled_in() {
        let mut a = ToolCallAssembler::new();
        a.push(Some(0), None, None, "{").unwrap();
        assert!(!a.begins_call(Some(0), Some("c1")));
        a.push(Some(0), Some("c1"), Some("f"), "}").unwrap();
        assert_eq!(a.get(0), Some(&call("c1", "f", "{}")));
    }

    #[test]
    fn a_reused_index_with_a_new_id_is_a_new_call() {
        let mut a = ToolCallAssembler::new();
        a.push(Some(0), Some("c1"), Some("f"), "{}").unwrap();
        assert!(a.begins_call(Some(0), Some("c2")));
        assert_eq!(a.push(Some(0), Some("c2"), Some("g"), "{").unwrap(), 1);
        assert_eq!(a.push(Some(0), None, None, "}").unwrap(), 1);
        assert_eq!(a.finish(), [call("c1", "f", "{}"), call("c2", "g", "{}")]);
    }

    #[test]
    fn finish_orders_by_index_and_positions_follow_appearance() {
        // Anthropic-style content-block indices: sparse, text block at 0.
        let mut a = ToolCallAssembler::new();
        assert_eq!(a.push(Some(3), Some("b"), Some("g"), "2").unwrap(), 0);
        assert_eq!(a.push(Some(1), Some("a"), Some("f"), "1").unwrap(), 1);
        let names: Vec<String> = a.finish().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["f", "g"]);
    }

    #[test]
    fn push_events_emits_one_start_per_call() {
        let mut a = ToolCallAssembler::new();
        let mut out = Vec::new();
        a.push_events(Some(0), Some("c1"), Some("f"), "", &mut out)
            .unwrap();
        a.push_events(Some(0), Some("c1"), Some(""), "{}", &mut out)
            .unwrap();
        a.push_events(Some(1), Some("c2"), Some("g"), "[]", &mut out)
            .unwrap();
        assert_eq!(
            out,
            [
                StreamEvent::ToolCallStart {
                    index: 0,
                    id: "c1".into(),
                    name: "f".into()
                },
                StreamEvent::ToolCallDelta {
                    index: 0,
                    arguments: "{}".into()
                },
                StreamEvent::ToolCallStart {
                    index: 1,
                    id: "c2".into(),
                    name: "g".into()
                },
                StreamEvent::ToolCallDelta {
                    index: 1,
                    arguments: "[]".into()
                },
            ]
        );
    }

    #[test]
    fn the_number_of_calls_is_capped() {
        let mut a = ToolCallAssembler::new();
        let mut out = Vec::new();
        for i in 0..MAX_TOOL_CALLS {
            a.push_events(Some(i), None, Some("f"), "", &mut out)
                .unwrap();
        }
        // Continuing a known call is still fine; beginning one more is not.
        a.push(Some(0), None, None, "{}").unwrap();
        let before = out.len();
        let e = a
            .push_events(Some(MAX_TOOL_CALLS), None, Some("f"), "x", &mut out)
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Decode);
        assert!(e.message().contains("1024 tool calls"), "{}", e.message());
        assert_eq!(out.len(), before);
        let e = a.push_whole(call("c", "f", "{}"), &mut out).unwrap_err();
        assert!(e.message().contains("MAX_TOOL_CALLS"), "{}", e.message());
        // A huge wire index is a key like any other, not arithmetic that overflows.
        let mut a = ToolCallAssembler::new();
        assert_eq!(a.push(Some(usize::MAX), Some("x"), None, "").unwrap(), 0);
        assert_eq!(a.push(None, Some("y"), None, "").unwrap(), 1);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn argument_bytes_are_capped() {
        let mut a = ToolCallAssembler::new();
        let piece = "x".repeat(MAX_TOOL_ARGUMENT_BYTES / 4);
        for _ in 0..4 {
            a.push(Some(0), None, None, &piece).unwrap();
        }
        let e = a.push(Some(0), None, None, "y").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Decode);
        assert!(
            e.message().contains("MAX_TOOL_ARGUMENT_BYTES"),
            "{}",
            e.message()
        );
        assert_eq!(
            a.get(0).map(|c| c.arguments.len()),
            Some(MAX_TOOL_ARGUMENT_BYTES)
        );
    }

    #[test]
    fn whole_calls_follow_streamed_ones_and_find_routes_without_adding() {
        let mut a = ToolCallAssembler::new();
        let mut out = Vec::new();
        a.push(Some(4), Some("s"), Some("f"), "{}").unwrap();
        assert_eq!(a.push_whole(call("w", "g", "[]"), &mut out).unwrap(), 1);
        assert_eq!(
            out,
            [
                StreamEvent::ToolCallStart {
                    index: 1,
                    id: "w".into(),
                    name: "g".into()
                },
                StreamEvent::ToolCallDelta {
                    index: 1,
                    arguments: "[]".into()
                },
            ]
        );
        assert_eq!(a.find(Some(4), None), Some(0));
        assert_eq!(a.find(None, Some("w")), Some(1));
        assert_eq!(a.find(Some(9), None), None);
        assert_eq!(a.len(), 2);
        assert_eq!(a.finish(), [call("s", "f", "{}"), call("w", "g", "[]")]);
    }

    #[test]
    fn many_calls_in_one_frame_take_linear_time() {
        // 150k continuation chunks over the largest number of calls: each is an
        // O(1) look-up, so this is quick even unoptimized (a scan would be 10^8 steps).
        let mut a = ToolCallAssembler::new();
        for i in 0..150_000 {
            a.push(Some(i % MAX_TOOL_CALLS), None, None, "").unwrap();
        }
        assert_eq!(a.len(), MAX_TOOL_CALLS);
    }

    #[test]
    fn compact_arguments_keep_the_text_and_build_no_tree() {
        let rows: &[(&str, Option<&str>)] = &[
            ("{}", Some("{}")),
            (" { } ", Some("{}")),
            (
                "{\"z\": -98533050.73064269, \"a\": 18446744073709551616}",
                Some("{\"z\":-98533050.73064269,\"a\":18446744073709551616}"),
            ),
            (
                "{\"s\": \" a \\\" b \\\\\", \"u\": \"\\u00e9 é\"}",
                Some("{\"s\":\" a \\\" b \\\\\",\"u\":\"\\u00e9 é\"}"),
            ),
            ("[1, 2]\n", Some("[1,2]")),
            ("", None),
            ("{\"a\":1} {}", None),
            ("{\"a\":}", None),
        ];
        for (text, expected) in rows {
            assert_eq!(
                ToolCallAssembler::compact_arguments(text).as_deref(),
                *expected,
                "{text}"
            );
        }
        // 60 MiB of `[0,0,...]`: validated and copied, no tree (a `Value` of
        // it would take about a gigabyte; the bench `bounds` measures it).
        let mut big = String::from("{\"a\":[0");
        big.push_str(&",0".repeat(30 * 1024 * 1024));
        big.push_str("]}");
        assert_eq!(
            ToolCallAssembler::compact_arguments(&big).map(|c| c.len()),
            Some(big.len())
        );
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "[ -~é\"\\\\\n]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z\" ]{0,4}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// How a continuation chunk is written: (index given, id repeated, name as "" / repeated / absent).
    fn continuation() -> impl Strategy<Value = (bool, bool, u8)> {
        (any::<bool>(), any::<bool>(), 0u8..3)
    }

    proptest! {
        #[test]
        fn compacting_pretty_json_gives_the_compact_text(value in json_value()) {
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            let compact = serde_json::to_string(&value).unwrap();
            prop_assert_eq!(ToolCallAssembler::compact_arguments(&pretty), Some(compact.clone()));
            prop_assert_eq!(ToolCallAssembler::compact_arguments(&compact), Some(compact));
        }

        #[test]
        fn calls_survive_any_chunking(
            calls in prop::collection::vec(("[a-z_]{1,8}", "[ -~é日😀]{0,40}"), 1..5),
            cuts in prop::collection::vec(prop::collection::vec(any::<usize>(), 0..6), 5),
            styles in prop::collection::vec(continuation(), 32),
        ) {
            let expected: Vec<ToolCall> = calls.iter().enumerate()
                .map(|(i, (name, args))| call(&format!("call_{i}"), name, args))
                .collect();
            let mut a = ToolCallAssembler::new();
            let mut events = Vec::new();
            let mut style = styles.iter().cycle();
            for (i, c) in expected.iter().enumerate() {
                let mut points: Vec<usize> = cuts[i].iter()
                    .map(|p| p % (c.arguments.len() + 1))
                    .filter(|p| c.arguments.is_char_boundary(*p))
                    .collect();
                points.sort_unstable();
                points.push(c.arguments.len());
                let mut start = 0;
                for (n, end) in points.into_iter().enumerate() {
                    let piece = &c.arguments[start..end];
                    start = end;
                    if n == 0 {
                        a.push_events(Some(i), Some(&c.id), Some(&c.name), piece, &mut events).unwrap();
                        continue;
                    }
                    let &(indexed, repeat_id, name) = style.next().unwrap_or(&(true, false, 0));
                    let name = [Some(""), Some(c.name.as_str()), None][usize::from(name)];
                    let id = repeat_id.then_some(c.id.as_str());
                    a.push_events(indexed.then_some(i), id, name, piece, &mut events).unwrap();
                }
            }
            let starts = events.iter().filter(|e| matches!(e, StreamEvent::ToolCallStart { .. })).count();
            prop_assert_eq!(starts, expected.len());
            for (i, c) in expected.iter().enumerate() {
                let streamed: String = events.iter().filter_map(|e| match e {
                    StreamEvent::ToolCallDelta { index, arguments } if *index == i => Some(arguments.as_str()),
                    _ => None,
                }).collect();
                prop_assert_eq!(&streamed, &c.arguments);
            }
            prop_assert_eq!(a.finish(), expected);
        }
    }
}
