//! The route table: which scripted response answers `METHOD /path`.

use std::collections::VecDeque;

use super::response::MockResponse;

/// The routes of one mock server, consulted once per request.
#[derive(Debug, Default)]
pub(super) struct Script {
    /// Few routes per test: a linear scan keeps the order of registration visible in Debug.
    routes: Vec<Route>,
    fallback: Option<MockResponse>,
}

#[derive(Debug)]
struct Route {
    method: String,
    path: String,
    /// Never empty: served front to back, the last one repeats.
    queue: VecDeque<MockResponse>,
}

impl Script {
    /// Installs the responses for `method path`, replacing an earlier route;
    /// an empty sequence removes the route.
    pub(super) fn set_route(&mut self, method: &str, path: &str, responses: Vec<MockResponse>) {
        let method = method.to_ascii_uppercase();
        self.routes
            .retain(|route| !(route.method == method && route.path == path));
        if !responses.is_empty() {
            self.routes.push(Route {
                method,
                path: path.to_owned(),
                queue: responses.into(),
            });
        }
    }

    /// Answers every request no route matches.
    pub(super) fn set_fallback(&mut self, response: MockResponse) {
        self.fallback = Some(response);
    }

    /// The response for `method path` (`path` without the query), advancing the
    /// route's queue; a 404 naming the request when nothing matches.
    pub(super) fn respond(&mut self, method: &str, path: &str) -> MockResponse {
        let route = self
            .routes
            .iter_mut()
            .find(|route| route.method == method && route.path == path);
        if let Some(route) = route {
            if route.queue.len() > 1
                && let Some(next) = route.queue.pop_front()
            {
                return next;
            }
            if let Some(last) = route.queue.front() {
                return last.clone();
            }
        }
        match &self.fallback {
            Some(fallback) => fallback.clone(),
            None => MockResponse::json(
                404,
                serde_json::json!({
                    "error": { "message": format!("no mock route for {method} {path}") }
                }),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(script: &mut Script, method: &str, path: &str) -> u16 {
        script.respond(method, path).status
    }

    #[test]
    fn sequence_is_served_in_order_and_the_last_repeats() {
        let mut script = Script::default();
        let responses = vec![
            MockResponse::empty(500),
            MockResponse::empty(429),
            MockResponse::empty(200),
        ];
        script.set_route("post", "/v1/x", responses);
        let served: Vec<u16> = (0..5)
            .map(|_| status_of(&mut script, "POST", "/v1/x"))
            .collect();
        assert_eq!(served, [500, 429, 200, 200, 200]);
    }

    #[test]
    fn unmatched_gives_404_then_fallback() {
        let mut script = Script::default();
        script.set_route("GET", "/a", vec![MockResponse::empty(200)]);
        assert_eq!(status_of(&mut script, "POST", "/a"), 404);
        assert_eq!(status_of(&mut script, "GET", "/b"), 404);
        script.set_fallback(MockResponse::empty(503));
        assert_eq!(status_of(&mut script, "GET", "/b"), 503);
        assert_eq!(status_of(&mut script, "GET", "/a"), 200);
    }

    #[test]
    fn a_later_route_replaces_and_an_empty_one_removes() {
        let mut script = Script::default();
        script.set_route("GET", "/a", vec![MockResponse::empty(200)]);
        script.set_route("GET", "/a", vec![MockResponse::empty(201)]);
        assert_eq!(status_of(&mut script, "GET", "/a"), 201);
        script.set_route("GET", "/a", Vec::new());
        assert_eq!(status_of(&mut script, "GET", "/a"), 404);
    }
}
