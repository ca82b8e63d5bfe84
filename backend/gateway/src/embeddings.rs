//! `POST /v1/embeddings`.

use std::time::Instant;

use domain::llm::EmbeddingRequest;

use crate::call::{CallRecord, RequestCtx};
use crate::chat::{answered, failed};
use crate::telemetry::Endpoint;
use crate::{Error, ErrorKind, Gateway};

/// # Errors
/// Invalid requests, unknown or forbidden models, models without embeddings, upstream failures.
pub(crate) async fn handle(
    gw: &Gateway,
    ctx: &RequestCtx,
    req: EmbeddingRequest,
) -> Result<bytes::Bytes, Error> {
    req.validate()?;
    let route = gw.authorize(ctx, Endpoint::Embeddings, &req.model)?;
    let record = CallRecord::new(gw.usage.clone(), ctx, route, Endpoint::Embeddings, false);
    let provider = match ctx.principal.provider_for(route) {
        Ok(provider) => provider,
        Err(e) => return Err(failed(record, e)),
    };
    if !provider.capabilities().embeddings {
        let error = Error::new(
            ErrorKind::UnsupportedEndpoint,
            format!("the model `{}` does not serve embeddings", route.alias),
        )
        .with_param("model");
        return Err(failed(record, error));
    }
    let call = ctx.upstream_call(route, provider);
    let asked = Instant::now();
    match provider.embed(&req, call).await {
        Ok(reply) => {
            answered(record, asked, reply.usage, || {
                (req.input.texts().join("\n"), String::new())
            });
            Ok(reply.body)
        }
        Err(e) => Err(failed(record, e.into())),
    }
}
