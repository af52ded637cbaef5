//! Before dispatch: the prompt counted (once per model), the context-window
//! pre-check, and the order the group's strategy tries the rest in.

use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::types::ChatRequest;
use crate::types::{RouteOutcome, RoutingTrace};

use super::GroupEntry;
use super::outcome::{Skips, step};
use super::state::RouterState;
use super::strategy::{Candidate, Strategy, weighted_order};

/// The deployments to try, in order, and the prompt's tokens.
pub(super) struct Plan {
    pub(super) order: Vec<usize>,
    pub(super) prompts: Prompts,
}

/// The prompt's tokens for each deployment of a group (by index), counted
/// on first need and once per model; until then, an upper bound from
/// lengths alone. Counting tokenizes the whole prompt, the largest cost of
/// routing: a group without limits whose windows plainly hold the prompt
/// never counts it.
pub(super) struct Prompts {
    counted: Vec<Option<u64>>,
    bound: u64,
}

impl Prompts {
    fn new(entry: &GroupEntry, request: &ChatRequest) -> Self {
        Prompts {
            counted: vec![None; entry.group.deployments.len()],
            bound: crate::tokens::request_upper_bound(request) as u64,
        }
    }

    /// The counted prompt of deployment `i` (with `request`'s model replaced by its own).
    pub(super) fn count(&mut self, entry: &GroupEntry, i: usize, request: &ChatRequest) -> u64 {
        if let Some(n) = self.counted[i] {
            return n;
        }
        let deployments = &entry.group.deployments;
        let model = &deployments[i].model;
        let same_model = deployments
            .iter()
            .zip(&self.counted)
            .find_map(|(d, n)| n.filter(|_| d.model == *model));
        let n = same_model.unwrap_or_else(|| count_prompt(request, model));
        self.counted[i] = Some(n);
        n
    }

    /// The count for deployment `i` if one was made, else the upper bound.
    pub(super) fn known(&self, i: usize) -> u64 {
        self.counted[i].unwrap_or(self.bound)
    }
}

/// Skip the deployments whose context window cannot hold the prompt plus
/// `max_tokens` (in `trace` and `skips`), and order the rest.
pub(super) fn plan(
    entry: &GroupEntry,
    request: &ChatRequest,
    shared: Option<&dyn RouterState>,
    trace: &mut RoutingTrace,
    skips: &mut Skips,
) -> Plan {
    let group = &entry.group;
    let max_tokens = u64::from(request.max_tokens.unwrap_or(0));
    let mut prompts = Prompts::new(entry, request);
    let mut eligible = Vec::with_capacity(group.deployments.len());
    for (i, d) in group.deployments.iter().enumerate() {
        let Some(window) = entry.windows[i] else {
            eligible.push(i);
            continue;
        };
        if prompts.bound + max_tokens <= window {
            eligible.push(i);
            continue;
        }
        let needed = prompts.count(entry, i, request) + max_tokens;
        if needed <= window {
            eligible.push(i);
            continue;
        }
        step(
            trace,
            group.name(),
            &d.id,
            RouteOutcome::ContextWindowTooSmall { needed, window },
        );
        let largest = skips.too_small.map_or(window, |(w, _)| w.max(window));
        skips.too_small = Some((largest, needed));
    }
    Plan {
        order: order(entry, eligible, shared),
        prompts,
    }
}

fn count_prompt(request: &ChatRequest, model: &str) -> u64 {
    crate::tokens::count_request_for(request, model).tokens as u64
}

/// `eligible` (deployment indices) in the strategy's order. One deployment
/// needs no strategy; weighted random needs only the weights (no candidate
/// is built, no lock taken).
fn order(
    entry: &GroupEntry,
    mut eligible: Vec<usize>,
    shared: Option<&dyn RouterState>,
) -> Vec<usize> {
    let deployments = &entry.group.deployments;
    match &entry.group.strategy {
        _ if eligible.len() < 2 => eligible,
        Strategy::WeightedRandom => {
            weighted_order(&mut eligible, |i| deployments[i].effective_weight());
            eligible
        }
        strategy => {
            let now = Instant::now();
            let candidates: Vec<Candidate<'_>> = eligible
                .iter()
                .map(|&i| candidate(entry, i, now, shared))
                .collect();
            let mut order = Vec::with_capacity(candidates.len());
            strategy.order(&candidates, &mut order);
            order
                .into_iter()
                .filter_map(|k| eligible.get(k).copied())
                .collect()
        }
    }
}

/// What the strategy knows of deployment `i`; its latency is every
/// process's average when a shared state reports one, else this process's.
fn candidate<'e>(
    entry: &'e GroupEntry,
    i: usize,
    now: Instant,
    shared: Option<&dyn RouterState>,
) -> Candidate<'e> {
    let health = &entry.health[i];
    let latency = shared
        .and_then(|s| s.shared_latency(&entry.keys[i]))
        .or_else(|| health.latency());
    let (recent_requests, recent_tokens) = health.recent_usage(now);
    Candidate {
        deployment: &entry.group.deployments[i],
        in_flight: health.in_flight.load(Ordering::Relaxed),
        latency,
        recent_requests,
        recent_tokens,
        upstream: health.upstream(),
        price: entry.prices[i],
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::tokens::{count_request_for, request_upper_bound};
    use crate::types::{ChatRequest, Message, Part, Tool, ToolCall};

    fn message() -> impl Strategy<Value = Message> {
        (
            0..3usize,
            proptest::collection::vec(("\\PC{0,60}", any::<bool>()), 0..4),
            proptest::collection::vec(("[a-z_]{0,12}", "\\PC{0,40}"), 0..2),
            proptest::option::of("[a-z0-9_]{0,16}"),
        )
            .prop_map(|(role, parts, calls, id)| {
                let mut m = match role {
                    0 => Message::user(""),
                    1 => Message::assistant(""),
                    _ => Message::system(""),
                };
                m.content = parts
                    .into_iter()
                    .map(|(text, image)| match image {
                        true => Part::image_url(text),
                        false => Part::text(text),
                    })
                    .collect();
                m.tool_calls = calls
                    .into_iter()
                    .map(|(name, args)| ToolCall::function("c", name, args))
                    .collect();
                m.tool_call_id = id;
                m
            })
    }

    proptest! {
        /// The bound the pre-check decides with is never below the count,
        /// for a model with a vocabulary and for one without.
        #[test]
        fn the_upper_bound_is_at_least_the_count(
            messages in proptest::collection::vec(message(), 0..5),
            tools in proptest::collection::vec(("[a-z]{0,10}", "\\PC{0,30}", "\\PC{0,30}"), 0..2),
        ) {
            let mut request = ChatRequest::new("gpt-4o");
            request.messages = messages;
            request.tools = tools
                .into_iter()
                .map(|(name, description, field)| {
                    Tool::function(name, description, serde_json::json!({ "type": "object", "title": field }))
                })
                .collect();
            let bound = request_upper_bound(&request);
            for model in ["gpt-4o", "gpt-3.5-turbo", "claude-3-5-sonnet", "no-such-model"] {
                let count = count_request_for(&request, model).tokens;
                prop_assert!(bound >= count, "{model}: bound {bound} < count {count}");
            }
        }
    }
}
