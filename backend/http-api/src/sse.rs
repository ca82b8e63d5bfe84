//! Server-Sent Events framing of a gateway stream, as OpenAI sends it: `data: <json>` per
//! chunk, `data: [DONE]` at the end, and an error envelope (then close) when the upstream fails.

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use gateway::{AccountedStream, StreamItem};

use crate::error;

fn frame(json: &[u8]) -> Bytes {
    let mut res = BytesMut::with_capacity(json.len() + 8);
    res.put_slice(b"data: ");
    res.put_slice(json);
    res.put_slice(b"\n\n");
    res.freeze()
}

/// The SSE body for a committed stream.
pub(crate) fn body(
    stream: Box<AccountedStream>,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    stream.map(|item| {
        Ok(match item {
            StreamItem::Chunk(json) => frame(&json),
            StreamItem::Done => Bytes::from_static(b"data: [DONE]\n\n"),
            StreamItem::Error(e) => {
                error::log(&e);
                frame(&error::error_json(&e))
            }
        })
    })
}
