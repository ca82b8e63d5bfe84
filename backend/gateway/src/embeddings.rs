//! `POST /v1/embeddings`.

use bytes::Bytes;
use domain::llm::EmbeddingRequest;

use crate::call::RequestCtx;
use crate::chat::{answered, open};
use crate::dispatch::{dispatch, unsupported};
use crate::headers::ResponseHeaders;
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
    let mut record = crate::admit::admit(gw, ctx, route, record, || {
        crate::admit::Demand::of(&req.input.texts().join("\n"), Some(0))
    })
    .await?;
    ctx.identify(route, req.user.as_deref());
    let cached = gw
        .cache
        .lookup(ctx, route, Endpoint::Embeddings, &req)
        .await;
    if let Some(entry) = &cached.hit {
        record.served_from_cache(&entry.deployment);
        let usage = providers::UsageReport {
            counts: entry.counts,
            raw: None,
            complete: true,
        };
        let mut headers = ResponseHeaders::default();
        headers.set(
            crate::headers::DEPLOYMENT,
            crate::cache::deployment_header(route, entry),
        );
        let body = answered(
            record,
            std::time::Instant::now(),
            Some(usage),
            (entry.body.clone(), None),
            &mut headers,
            || (String::new(), String::new()),
        );
        cached.mark(&mut headers);
        return Ok(Answer { body, headers });
    }
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
    cached.keep(
        &gw.cache,
        &reply.body,
        reply.usage.as_ref(),
        &sent.deployment,
    );
    let mut headers = sent.headers;
    let body = answered(
        record,
        sent.asked,
        reply.usage,
        (reply.body, reply.usage_at),
        &mut headers,
        || (req.input.texts().join("\n"), String::new()),
    );
    cached.mark(&mut headers);
    Ok(Answer { body, headers })
}
