//! The peer clients, called the way their documentation shows, each on a
//! reqwest client built with the runtime's settings (so the transport is the
//! same and the figures compare the libraries): async-openai and genai (its
//! OpenAI adapter, pointed at the loopback upstream by a target resolver).
//!
//! Only built under `RUSTFLAGS="--cfg llm_bench_peers"`.

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, ChatCompletionResponseStream,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use futures_util::StreamExt;
use genai::adapter::AdapterKind;
use genai::chat::{ChatMessage, ChatStreamEvent};
use genai::resolver::{AuthData, Endpoint, ServiceTargetResolver};
use genai::{ModelIden, ServiceTarget};

use crate::fixtures::OPENAI_MODEL;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An async-openai client on `base` (`.../v1`).
#[derive(Clone)]
pub struct AsyncOpenAi {
    client: async_openai::Client<OpenAIConfig>,
}

impl AsyncOpenAi {
    /// A client for `base` with `key`, on `http`.
    pub fn new(base: &str, key: &str, http: reqwest::Client) -> AsyncOpenAi {
        let config = OpenAIConfig::new().with_api_key(key).with_api_base(base);
        AsyncOpenAi {
            client: async_openai::Client::with_config(config).with_http_client(http),
        }
    }

    fn request() -> Result<CreateChatCompletionRequest, BoxError> {
        Ok(CreateChatCompletionRequestArgs::default()
            .model(OPENAI_MODEL)
            .messages([ChatCompletionRequestUserMessageArgs::default()
                .content("Hello")
                .build()?
                .into()])
            .build()?)
    }

    /// One chat call; the length of the answer's text.
    pub async fn chat(&self) -> Result<usize, BoxError> {
        let response = self.client.chat().create(AsyncOpenAi::request()?).await?;
        Ok(response
            .choices
            .first()
            .and_then(|c| c.message.content.as_deref())
            .map_or(0, str::len))
    }

    /// Open a stream.
    pub async fn open_stream(&self) -> Result<ChatCompletionResponseStream, BoxError> {
        Ok(self
            .client
            .chat()
            .create_stream(AsyncOpenAi::request()?)
            .await?)
    }

    /// Consume a whole stream; the number of text deltas.
    pub async fn stream(&self) -> Result<usize, BoxError> {
        let mut stream = self.open_stream().await?;
        let mut text_chunks = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            let text = chunk
                .choices
                .first()
                .and_then(|c| c.delta.content.as_deref())
                .is_some_and(|t| !t.is_empty());
            text_chunks += usize::from(text);
        }
        Ok(text_chunks)
    }
}

/// A genai client whose OpenAI adapter talks to `base`.
#[derive(Clone)]
pub struct Genai {
    client: genai::Client,
}

impl Genai {
    /// A client for `base` (`.../v1`) with `key`, on `http`.
    pub fn new(base: &str, key: &str, http: reqwest::Client) -> Result<Genai, BoxError> {
        let endpoint = format!("{base}/");
        let key = key.to_owned();
        let resolver = ServiceTargetResolver::from_resolver_fn(
            move |target: ServiceTarget| -> Result<ServiceTarget, genai::resolver::Error> {
                Ok(ServiceTarget {
                    endpoint: Endpoint::from_owned(endpoint.clone()),
                    auth: AuthData::from_single(key.clone()),
                    model: ModelIden::new(AdapterKind::OpenAI, target.model.model_name),
                })
            },
        );
        let client = genai::Client::builder()
            .with_reqwest(http)
            .with_service_target_resolver(resolver)
            .build()?;
        Ok(Genai { client })
    }

    fn request() -> genai::chat::ChatRequest {
        genai::chat::ChatRequest::new(vec![ChatMessage::user("Hello")])
    }

    /// One chat call; the length of the answer's text.
    pub async fn chat(&self) -> Result<usize, BoxError> {
        let response = self
            .client
            .exec_chat(OPENAI_MODEL, Genai::request(), None)
            .await?;
        Ok(response.first_text().map_or(0, str::len))
    }

    /// Open a stream.
    pub async fn open_stream(&self) -> Result<genai::chat::ChatStream, BoxError> {
        Ok(self
            .client
            .exec_chat_stream(OPENAI_MODEL, Genai::request(), None)
            .await?
            .stream)
    }

    /// Consume a whole stream; the number of text deltas.
    pub async fn stream(&self) -> Result<usize, BoxError> {
        let mut stream = self.open_stream().await?;
        let mut text_chunks = 0;
        while let Some(event) = stream.next().await {
            if let ChatStreamEvent::Chunk(chunk) = event?
                && !chunk.content.is_empty()
            {
                text_chunks += 1;
            }
        }
        Ok(text_chunks)
    }
}
