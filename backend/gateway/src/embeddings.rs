//! `POST /v1/embeddings`.

use std::time::Instant;

use domain::llm::EmbeddingRequest;

use crate::call::RequestCtx;
use crate::chat::{Opened, answered, failed, open};
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
    let Opened {
        route,
        record,
        provider,
        call,
    } = open(gw, ctx, &req.model, Endpoint::Embeddings, false)?;
    if !provider.capabilities().embeddings {
        let error = Error::new(
            ErrorKind::UnsupportedEndpoint,
            format!("the model `{}` does not serve embeddings", route.alias),
        )
        .with_param("model");
        return Err(failed(record, error));
    }
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
