//! `Client::from_env()` registers exactly the built-ins whose variables are set.
//!
//! The environment is process-wide (and setting it is `unsafe`, which this
//! workspace forbids), so each scenario runs this binary again as a child
//! process with exactly the variables it needs; the child runs
//! [`from_env_child`], which is ignored in a normal run.

mod common;

use common::run_child;
use llm_runtime::Client;
use llm_runtime::testing::{MockResponse, MockServer};
use serde_json::json;

/// The child's expectations travel in this variable: the registered providers, comma-separated.
const EXPECT: &str = "CLIENT_FROM_ENV_EXPECT";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_env_registers_the_built_ins_whose_key_is_set() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(
            200,
            json!({"id": "1", "object": "chat.completion", "model": "gpt-4o-mini",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "from env"}, "finish_reason": "stop"}]}),
        ),
    );
    let base = format!("{}/v1", server.url());
    let scenarios: Vec<Vec<(&str, String)>> = vec![
        // Two keys: three providers (OpenAI's key serves both of its APIs), and
        // `openai` follows its base-URL variable to the mock.
        vec![
            ("OPENAI_API_KEY", "sk-from-env".into()),
            ("OPENAI_BASE_URL", base.clone()),
            ("GROQ_API_KEY", "gsk-from-env".into()),
            (EXPECT, "groq,openai,openai_responses".into()),
        ],
        // Ollama has no key: its base-URL variable asks for it.
        vec![
            ("OLLAMA_BASE_URL", "http://127.0.0.1:11434".into()),
            (EXPECT, "ollama".into()),
        ],
        // An empty variable is not set.
        vec![
            ("OPENAI_API_KEY", String::new()),
            ("MISTRAL_API_KEY", "m-key".into()),
            (EXPECT, "mistral".into()),
        ],
        // Nothing set: an empty client.
        vec![(EXPECT, String::new())],
        // New built-ins register from their own variables, and only from those.
        vec![
            ("DEEPINFRA_API_KEY", "di-key".into()),
            ("HF_TOKEN", "hf_key".into()),
            ("VLLM_BASE_URL", "http://127.0.0.1:8000/v1".into()),
            (EXPECT, "deepinfra,huggingface,vllm".into()),
        ],
        // An account-scoped provider needs its placeholder's variable too: the key
        // alone registers nothing (and is no error), the pair registers it.
        vec![
            ("CLOUDFLARE_API_KEY", "cf-key".into()),
            (EXPECT, String::new()),
        ],
        vec![
            ("CLOUDFLARE_API_KEY", "cf-key".into()),
            ("CLOUDFLARE_ACCOUNT_ID", "acct-1".into()),
            ("SNOWFLAKE_PAT", "pat".into()),
            (EXPECT, "cloudflare".into()),
        ],
        // A base-URL variable replaces the whole URL, so it stands in for the placeholder's.
        vec![
            ("DATABRICKS_TOKEN", "dapi-1".into()),
            (
                "DATABRICKS_BASE_URL",
                "https://adb-1.azuredatabricks.net/serving-endpoints".into(),
            ),
            (EXPECT, "databricks".into()),
        ],
    ];
    for vars in scenarios {
        tokio::task::spawn_blocking(move || {
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            run_child(&vars);
        })
        .await
        .expect("the child ran");
    }
    // Only the first scenario calls the mock.
    assert_eq!(server.request_count(), 1);
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer sk-from-env")
    );
}

#[tokio::test]
#[ignore = "run in a child process by from_env_registers_the_built_ins_whose_key_is_set"]
async fn from_env_child() {
    let Ok(expected) = std::env::var(EXPECT) else {
        return; // run by hand with --ignored: nothing to check
    };
    let client = Client::from_env().expect("from_env");
    let names: Vec<&str> = client.providers().collect();
    let expected: Vec<&str> = expected.split(',').filter(|s| !s.is_empty()).collect();
    assert_eq!(names, expected);
    if let Ok(account) = std::env::var("CLOUDFLARE_ACCOUNT_ID") {
        let base = client
            .provider("cloudflare")
            .expect("registered")
            .info()
            .base_url;
        assert_eq!(
            base,
            format!("https://api.cloudflare.com/client/v4/accounts/{account}/ai/v1")
        );
    }
    if std::env::var("OPENAI_BASE_URL").is_ok() {
        let reply = client
            .chat(
                "openai/gpt-4o-mini",
                llm_runtime::ChatRequest::new("").user("hi"),
            )
            .await
            .expect("the mock answers");
        assert_eq!(
            (reply.provider.as_str(), reply.text().as_str()),
            ("openai", "from env")
        );
    }
}
