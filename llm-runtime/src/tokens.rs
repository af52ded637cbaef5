//! Token counting before a call, and trimming a conversation to a budget.
//!
//! OpenAI-family models are counted exactly, offline, with the BPE vocabularies
//! that ship inside `tiktoken-rs` (`o200k_base` for gpt-4o, gpt-4.1, gpt-5 and the
//! o-series; `cl100k_base` for gpt-4, gpt-3.5 and the v3 embeddings), including
//! the per-message framing OpenAI documents in its cookbook ("How to count tokens
//! with tiktoken"): 3 tokens per message, plus 3 that prime the reply.
//!
//! Every other model gets an estimate, and says so: `TokenCount.exact` is
//! `false`. The estimate is the `o200k_base` count plus 10% headroom, because
//! other vendors' tokenizers (Claude, Gemini, Llama, Mistral) usually split text
//! a little finer than `o200k_base`, and a budget should err on the safe side.
//! Images, tool calls and tool definitions are always estimates: providers do not
//! publish how they frame them.
//!
//! The vocabularies are compiled in and sizeable: they sit behind the default-on
//! `tokens` cargo feature. Without it every count is a flagged estimate (about
//! four bytes a token) and nothing of `tiktoken-rs` is built.
//!
//! ```
//! # #[cfg(feature = "tokens")] {
//! use llm_runtime::tokens::{count_text, count_messages};
//! use llm_runtime::Message;
//!
//! let n = count_text("gpt-4o", "hello world");
//! assert_eq!((n.tokens, n.exact), (2, true));
//!
//! let n = count_messages("openai/gpt-4o-mini", &[Message::user("hello world")]);
//! assert_eq!(n.tokens, 3 + 1 + 2 + 3); // framing + role + text + reply priming
//!
//! assert!(!count_text("claude-sonnet-4-5", "hello world").exact);
//! # }
//! ```

use self::vocab::Bpe;
use crate::error::{Error, ErrorKind, Result};
use crate::types::{ChatRequest, Message, Part, Role};

/// Tokens every chat message costs on top of its content (OpenAI cookbook).
pub const TOKENS_PER_MESSAGE: usize = 3;
/// Tokens that prime the assistant's reply, counted once per request (OpenAI cookbook).
pub const REPLY_PRIMING_TOKENS: usize = 3;
/// The estimate for one image whose size is unknown: a 1024x1024 image at high
/// detail on OpenAI's tiling scheme (85 + 4 x 170).
pub const IMAGE_ESTIMATE_TOKENS: usize = 765;

/// How many tokens something is, and whether that number is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenCount {
    /// The number of tokens.
    pub tokens: usize,
    /// `true` when counted with the model's own tokenizer; `false` for an estimate.
    pub exact: bool,
}

impl TokenCount {
    /// An exact count.
    pub const fn exact(tokens: usize) -> Self {
        TokenCount {
            tokens,
            exact: true,
        }
    }

    /// An estimate.
    pub const fn estimate(tokens: usize) -> Self {
        TokenCount {
            tokens,
            exact: false,
        }
    }

    /// The sum of two counts; exact only if both are.
    #[must_use]
    pub const fn plus(self, other: TokenCount) -> Self {
        TokenCount {
            tokens: self.tokens + other.tokens,
            exact: self.exact && other.exact,
        }
    }

    fn add_estimate(&mut self, tokens: usize) {
        self.tokens += tokens;
        self.exact = false;
    }
}

/// The BPE vocabulary a model is counted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// gpt-4o, gpt-4.1, gpt-5 and the o-series.
    O200kBase,
    /// gpt-4, gpt-3.5-turbo and the v3 embedding models.
    Cl100kBase,
}

impl Encoding {
    /// The encoding an OpenAI model uses, or `None` for a model tiktoken does not know.
    /// A `provider/` prefix (`openai/gpt-4o`, `openrouter/openai/gpt-4o`) is ignored.
    pub fn for_model(model: &str) -> Option<Encoding> {
        vocab::encoding(model.rsplit('/').next().unwrap_or(model))
    }

    /// The vocabulary `model` is counted with, and whether it is the
    /// model's own (exact) or `o200k_base` standing in (an estimate).
    fn counted_with(model: &str) -> (Encoding, bool) {
        match Encoding::for_model(model) {
            Some(own) => (own, true),
            None => (Encoding::O200kBase, false),
        }
    }

    /// The vocabulary, built on first use and kept for the life of the process.
    fn bpe(self) -> Option<&'static Bpe> {
        vocab::bpe(self)
    }
}

/// The vocabularies, from `tiktoken-rs` (feature `tokens`).
#[cfg(feature = "tokens")]
mod vocab {
    use std::sync::OnceLock;

    use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};

    use super::Encoding;

    pub(super) type Bpe = tiktoken_rs::CoreBPE;

    pub(super) fn encoding(name: &str) -> Option<Encoding> {
        match get_tokenizer(name)? {
            Tokenizer::O200kBase => Some(Encoding::O200kBase),
            Tokenizer::Cl100kBase => Some(Encoding::Cl100kBase),
            _ => None,
        }
    }

    /// Building one takes a noticeable fraction of a second: once per process.
    pub(super) fn bpe(encoding: Encoding) -> Option<&'static Bpe> {
        static O200K: OnceLock<Option<Bpe>> = OnceLock::new();
        static CL100K: OnceLock<Option<Bpe>> = OnceLock::new();
        match encoding {
            Encoding::O200kBase => O200K
                .get_or_init(|| tiktoken_rs::o200k_base().ok())
                .as_ref(),
            Encoding::Cl100kBase => CL100K
                .get_or_init(|| tiktoken_rs::cl100k_base().ok())
                .as_ref(),
        }
    }

    pub(super) fn count(bpe: &Bpe, text: &str) -> usize {
        bpe.encode_ordinary(text).len()
    }
}

/// Without the `tokens` feature: no vocabulary, so every count is an estimate.
#[cfg(not(feature = "tokens"))]
mod vocab {
    use super::Encoding;

    /// No vocabulary exists: the type has no values.
    pub(super) enum Bpe {}

    pub(super) fn encoding(_name: &str) -> Option<Encoding> {
        None
    }

    pub(super) fn bpe(_encoding: Encoding) -> Option<&'static Bpe> {
        None
    }

    pub(super) fn count(bpe: &Bpe, _text: &str) -> usize {
        match *bpe {}
    }
}

/// Counts text for one model: exactly with its own vocabulary, or as a flagged estimate.
#[derive(Clone, Copy)]
struct Counter {
    bpe: Option<&'static Bpe>,
    exact: bool,
}

impl Counter {
    fn for_model(model: &str) -> Self {
        let (encoding, own) = Encoding::counted_with(model);
        let bpe = encoding.bpe();
        Counter {
            bpe,
            exact: own && bpe.is_some(),
        }
    }

    fn text(self, text: &str) -> TokenCount {
        match (self.bpe, self.exact) {
            (Some(bpe), true) => TokenCount::exact(vocab::count(bpe, text)),
            // Other tokenizers split finer than o200k_base: add 10% headroom.
            (Some(bpe), false) => TokenCount::estimate(with_headroom(vocab::count(bpe, text))),
            // No vocabulary at all: about four bytes a token in English.
            (None, _) => TokenCount::estimate(text.len().div_ceil(4)),
        }
    }

    fn message(self, message: &Message) -> TokenCount {
        let mut count = TokenCount {
            tokens: TOKENS_PER_MESSAGE,
            exact: self.exact,
        };
        count = count.plus(self.text(role_name(message.role)));
        let text_parts = message
            .content
            .iter()
            .filter(|p| matches!(p, Part::Text { .. }))
            .count();
        for part in &message.content {
            match part {
                Part::Text { text } => count = count.plus(self.text(text)),
                Part::Image { .. } => count.add_estimate(IMAGE_ESTIMATE_TOKENS),
            }
        }
        // The cookbook's framing covers a message whose content is one string;
        // arrays of parts, tool calls and tool results are framed in ways OpenAI does not publish.
        if text_parts > 1 {
            count.exact = false;
        }
        for call in &message.tool_calls {
            let call_tokens = self.text(&call.name).tokens + self.text(&call.arguments).tokens + 1;
            count.add_estimate(call_tokens);
        }
        if let Some(id) = &message.tool_call_id {
            count.add_estimate(self.text(id).tokens);
        }
        count
    }
}

fn with_headroom(tokens: usize) -> usize {
    tokens + tokens.div_ceil(10)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// Build now the vocabularies `models` are counted with (each model's own,
/// or `o200k_base` for an estimate), so that the first count does not wait
/// for one: building one takes a fraction of a second and blocks its thread,
/// and it is kept for the life of the process either way. What a server
/// that counts every call calls at start. Returns the vocabularies in
/// memory for these models, each once (none without the `tokens` feature).
///
/// ```
/// let built = llm_runtime::tokens::preload(["gpt-4o", "claude-sonnet-4"]);
/// assert!(built.len() <= 1); // both are counted with o200k_base
/// ```
pub fn preload<'a>(models: impl IntoIterator<Item = &'a str>) -> Vec<Encoding> {
    let mut built = Vec::new();
    for model in models {
        let (encoding, _) = Encoding::counted_with(model);
        if !built.contains(&encoding) && encoding.bpe().is_some() {
            built.push(encoding);
        }
    }
    built
}

/// The tokens of `text` for `model`.
///
/// ```
/// let n = llm_runtime::tokens::count_text("gpt-4.1", "hello world");
/// assert_eq!(n.tokens, 2);
/// assert!(n.exact);
/// ```
pub fn count_text(model: &str, text: &str) -> TokenCount {
    Counter::for_model(model).text(text)
}

/// The prompt tokens of a conversation for `model`: per-message framing, roles,
/// content, and the tokens that prime the reply.
pub fn count_messages(model: &str, messages: &[Message]) -> TokenCount {
    let counter = Counter::for_model(model);
    let mut total = TokenCount {
        tokens: REPLY_PRIMING_TOKENS,
        exact: counter.exact,
    };
    for message in messages {
        total = total.plus(counter.message(message));
    }
    total
}

/// The prompt tokens of a whole request: its messages, plus an estimate for its
/// tool definitions (their JSON, as the model sees a description of them).
pub fn count_request(request: &ChatRequest) -> TokenCount {
    count_request_for(request, &request.model)
}

/// [`count_request`] as `model` would see the request (the router counts one
/// request for each model of a group).
pub(crate) fn count_request_for(request: &ChatRequest, model: &str) -> TokenCount {
    let counter = Counter::for_model(model);
    let mut total = count_messages(model, &request.messages);
    for tool in &request.tools {
        let json = serde_json::to_string(&tool.parameters).unwrap_or_default();
        let tokens = counter.text(&tool.name).tokens
            + tool
                .description
                .as_deref()
                .map_or(0, |d| counter.text(d).tokens)
            + counter.text(&json).tokens
            + TOKENS_PER_MESSAGE;
        total.add_estimate(tokens);
    }
    total
}

/// At least what [`count_request`] gives for `request`, for any model, from
/// lengths alone (no tokenizer): a token covers at least one byte, and the
/// estimates add at most 10%. The router decides its context-window
/// pre-check with it, counting only a prompt that may not fit.
pub(crate) fn request_upper_bound(request: &ChatRequest) -> usize {
    let text = |s: &str| with_headroom(s.len());
    let role = text("assistant");
    let mut total = REPLY_PRIMING_TOKENS;
    for message in &request.messages {
        total += TOKENS_PER_MESSAGE + role;
        for part in &message.content {
            total += match part {
                Part::Text { text: t } => text(t),
                Part::Image { .. } => IMAGE_ESTIMATE_TOKENS,
            };
        }
        for call in &message.tool_calls {
            total += text(&call.name) + text(&call.arguments) + 1;
        }
        total += message.tool_call_id.as_deref().map_or(0, text);
    }
    for tool in &request.tools {
        let json = serde_json::to_string(&tool.parameters).unwrap_or_default();
        total += text(&tool.name)
            + tool.description.as_deref().map_or(0, text)
            + text(&json)
            + TOKENS_PER_MESSAGE;
    }
    total
}

/// Drop the oldest turns of a conversation until it fits in `budget` prompt tokens
/// for `model` (as [`count_messages`] counts them).
///
/// - Every system message is kept.
/// - The newest messages are kept; what is dropped is a prefix of the history, so
///   the kept turns stay contiguous.
/// - An assistant message that made tool calls and the tool results answering it
///   are kept or dropped together, never split.
///
/// Fails with [`ErrorKind::ContextWindowExceeded`] when the system messages and
/// the newest turn alone do not fit.
///
/// ```
/// use llm_runtime::{Message, tokens::{count_messages, truncate_to_budget}};
///
/// let history = vec![
///     Message::system("Be brief."),
///     Message::user("first question, long ago"),
///     Message::assistant("first answer"),
///     Message::user("latest question"),
/// ];
/// let budget = count_messages("gpt-4o", &[history[0].clone(), history[3].clone()]).tokens;
/// let kept = truncate_to_budget(&history, budget, "gpt-4o")?;
/// assert_eq!(kept, vec![history[0].clone(), history[3].clone()]);
/// # Ok::<(), llm_runtime::Error>(())
/// ```
pub fn truncate_to_budget(
    messages: &[Message],
    budget: usize,
    model: &str,
) -> Result<Vec<Message>> {
    let counter = Counter::for_model(model);
    let mut used = REPLY_PRIMING_TOKENS;
    for m in messages.iter().filter(|m| m.role == Role::System) {
        used += counter.message(m).tokens;
    }
    if used > budget {
        return Err(Error::new(
            ErrorKind::ContextWindowExceeded,
            format!("the system messages alone take {used} tokens, over the budget of {budget}"),
        )
        .with_model(model));
    }

    let groups = turn_groups(messages);
    let mut keep = vec![false; messages.len()];
    let mut kept_any = groups.is_empty();
    for group in groups.iter().rev() {
        let cost: usize = group
            .iter()
            .map(|&i| counter.message(&messages[i]).tokens)
            .sum();
        if used + cost > budget {
            break;
        }
        used += cost;
        kept_any = true;
        for &i in group {
            keep[i] = true;
        }
    }
    if !kept_any {
        return Err(Error::new(
            ErrorKind::ContextWindowExceeded,
            format!("the newest turn does not fit in the budget of {budget} tokens together with the system messages"),
        )
        .with_model(model));
    }
    Ok(messages
        .iter()
        .zip(&keep)
        .filter(|(m, k)| **k || m.role == Role::System)
        .map(|(m, _)| m.clone())
        .collect())
}

/// The non-system messages as indivisible groups, oldest first: an assistant
/// message with tool calls together with the tool results that follow it; any
/// other message alone.
fn turn_groups(messages: &[Message]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut open_call_group = false;
    for (i, m) in messages.iter().enumerate() {
        match m.role {
            Role::System => {}
            Role::Tool if open_call_group => {
                if let Some(g) = groups.last_mut() {
                    g.push(i);
                }
            }
            Role::Assistant if !m.tool_calls.is_empty() => {
                groups.push(vec![i]);
                open_call_group = true;
            }
            _ => {
                groups.push(vec![i]);
                open_call_group = false;
            }
        }
    }
    groups
}

#[cfg(all(test, feature = "tokens"))]
mod tests {
    #[cfg(feature = "tokens")]
    #[test]
    fn preload_builds_each_vocabulary_a_model_is_counted_with_once() {
        use super::{Encoding, preload};
        let built = preload(["gpt-4o", "openai/gpt-4.1", "gpt-4", "claude-sonnet-4", "m"]);
        assert_eq!(built, [Encoding::O200kBase, Encoding::Cl100kBase]);
        assert_eq!(preload(std::iter::empty()), []);
        // Counting then finds them built.
        assert!(super::count_text("gpt-4", "hello world").exact);
    }

    use super::*;
    use crate::types::ToolCall;

    #[test]
    fn encodings_by_model() {
        assert_eq!(Encoding::for_model("gpt-4o"), Some(Encoding::O200kBase));
        assert_eq!(
            Encoding::for_model("gpt-4o-mini-2024-07-18"),
            Some(Encoding::O200kBase)
        );
        assert_eq!(
            Encoding::for_model("gpt-4.1-nano"),
            Some(Encoding::O200kBase)
        );
        assert_eq!(Encoding::for_model("o3"), Some(Encoding::O200kBase));
        assert_eq!(Encoding::for_model("o4-mini"), Some(Encoding::O200kBase));
        assert_eq!(Encoding::for_model("gpt-5-mini"), Some(Encoding::O200kBase));
        assert_eq!(
            Encoding::for_model("openrouter/openai/gpt-4o"),
            Some(Encoding::O200kBase)
        );
        assert_eq!(Encoding::for_model("gpt-4"), Some(Encoding::Cl100kBase));
        assert_eq!(
            Encoding::for_model("gpt-3.5-turbo"),
            Some(Encoding::Cl100kBase)
        );
        assert_eq!(Encoding::for_model("claude-sonnet-4-5"), None);
        assert_eq!(Encoding::for_model("gemini-2.5-pro"), None);
    }

    #[test]
    fn estimates_add_headroom_and_say_so() {
        let exact = count_text("gpt-4o", "The quick brown fox jumps over the lazy dog.");
        let est = count_text(
            "mistral-large-latest",
            "The quick brown fox jumps over the lazy dog.",
        );
        assert!(exact.exact && !est.exact);
        assert_eq!(exact.tokens, 10);
        assert_eq!(est.tokens, 11);
    }

    #[test]
    fn matches_tiktoken_rs_chat_counting() {
        // tiktoken-rs implements the same cookbook formula independently.
        let ours = count_messages(
            "gpt-4o",
            &[
                Message::system("You are a helpful assistant."),
                Message::user("What is 2 + 2?"),
            ],
        );
        let theirs = tiktoken_rs::num_tokens_from_messages(
            "gpt-4o",
            &[
                tiktoken_rs::ChatCompletionRequestMessage {
                    role: "system".into(),
                    content: Some("You are a helpful assistant.".into()),
                    ..Default::default()
                },
                tiktoken_rs::ChatCompletionRequestMessage {
                    role: "user".into(),
                    content: Some("What is 2 + 2?".into()),
                    ..Default::default()
                },
            ],
        )
        .expect("gpt-4o is a chat model");
        assert_eq!(ours, TokenCount::exact(theirs));
    }

    #[test]
    fn tool_calls_and_images_make_an_estimate() {
        let call = Message::assistant_tool_calls(
            None,
            vec![ToolCall::function("c1", "weather", "{\"city\":\"Paris\"}")],
        );
        assert!(!count_messages("gpt-4o", &[call]).exact);
        let image = Message::user_parts(vec![Part::image_url("https://x/y.png")]);
        let n = count_messages("gpt-4o", &[image]);
        assert!(!n.exact);
        assert!(n.tokens >= IMAGE_ESTIMATE_TOKENS);
    }

    #[test]
    fn groups_keep_calls_with_results() {
        let call = Message::assistant_tool_calls(None, vec![ToolCall::function("c1", "f", "{}")]);
        let msgs = vec![
            Message::system("s"),
            Message::user("u"),
            call,
            Message::tool_result("c1", "r"),
            Message::assistant("a"),
        ];
        assert_eq!(turn_groups(&msgs), vec![vec![1], vec![2, 3], vec![4]]);
    }
}
