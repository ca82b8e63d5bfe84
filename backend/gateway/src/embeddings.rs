//! `POST /v1/embeddings`.

use bytes::Bytes;
use domain::llm::EmbeddingRequest;

use crate::call::RequestCtx;
use crate::chat::{answered, open};
use crate::dispatch::{dispatch, unsupported};
use crate::telemetry::Endpoint;
use crate::{Answer, Error, Gateway};

/// # Errors
/// Invalid requests, unknown or forbidden models, models without embeddings, upstream failures.
pub(crate) async fn handle(
    gw: &Gateway,
    ctx: &RequestCtx,
    req: EmbeddingRequest,
) -> Result<Answer<Bytes>, Error> {
    req.validate()?;
    let (route, record) = open(gw, ctx, &req.model, Endpoint::Embeddings, false)?;
    let (sent, record) = dispatch(
        ctx,
        route,
        record,
        |provider| provider.capabilities().embeddings,
        || unsupported(route, "embeddings"),
        |provider, call| provider.embed(&req, call),
    )
    .await?;
    let reply = sent.answer;
    answered(record, sent.asked, reply.usage, || {
        (req.input.texts().join("\n"), String::new())
    });
    Ok(Answer {
        body: reply.body,
        headers: sent.headers,
    })
}
