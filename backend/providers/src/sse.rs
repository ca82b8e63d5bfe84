//! A zero-copy Server-Sent Events decoder for upstream streams.
//!
//! Hand-written rather than taken from a crate because it sits on the streaming hot path: the
//! usual crates copy every read into a `String` and re-split their buffer per line, while this
//! one slices event data out of the read buffer as `Bytes` without copying. It follows the
//! WHATWG event-stream rules: `\n`, `\r\n` and `\r` line ends, comments, multi-line `data`,
//! one optional space after the colon, and a blank line ends an event.

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use crate::error::ProviderError;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; empty when the upstream sent none (a `message` event).
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: Bytes,
}

/// Incremental decoder: feed it bytes as they arrive, take events as they complete.
#[derive(Debug, Default)]
pub struct SseDecoder {
    buf: BytesMut,
    event: String,
    data: Option<Bytes>,
    /// Set when the previous line ended in `\r` at the end of the buffer, so that a `\n`
    /// arriving first in the next read is not taken for an empty line.
    skip_lf: bool,
}

impl SseDecoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete event, if the buffer holds one.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        loop {
            if self.skip_lf && !self.buf.is_empty() {
                if self.buf[0] == b'\n' {
                    self.buf.advance(1);
                }
                self.skip_lf = false;
            }
            let end = self.buf.iter().position(|&b| b == b'\n' || b == b'\r')?;
            let line = self.buf.split_to(end).freeze();
            let terminator = self.buf[0];
            self.buf.advance(1);
            if terminator == b'\r' {
                if self.buf.is_empty() {
                    self.skip_lf = true;
                } else if self.buf[0] == b'\n' {
                    self.buf.advance(1);
                }
            }
            if let Some(event) = self.take_line(line) {
                return Some(event);
            }
        }
    }

    /// Flushes what is left when the upstream closed: a last event without its blank line is
    /// still delivered (some upstreams end with `data: [DONE]\n` and close).
    pub fn finish(&mut self) -> Option<SseEvent> {
        if !self.buf.is_empty() {
            let line = self.buf.split().freeze();
            if let Some(event) = self.take_line(line) {
                return Some(event);
            }
        }
        self.dispatch()
    }

    fn take_line(&mut self, line: Bytes) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line[0] == b':' {
            return None;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let mut value = line.slice(colon + 1..);
                if value.first() == Some(&b' ') {
                    value.advance(1);
                }
                (line.slice(..colon), value)
            }
            None => (line.clone(), Bytes::new()),
        };
        match &field[..] {
            b"data" => {
                self.data = Some(match self.data.take() {
                    None => value,
                    Some(previous) => {
                        let mut joined = BytesMut::with_capacity(previous.len() + 1 + value.len());
                        joined.extend_from_slice(&previous);
                        joined.extend_from_slice(b"\n");
                        joined.extend_from_slice(&value);
                        joined.freeze()
                    }
                });
            }
            b"event" => self.event = String::from_utf8_lossy(&value).into_owned(),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = std::mem::take(&mut self.event);
        let data = self.data.take()?;
        Some(SseEvent { event, data })
    }
}

/// Turns an upstream body into a stream of events; transport errors end it with an error.
pub fn events<S, E>(body: S) -> impl Stream<Item = Result<SseEvent, ProviderError>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: Into<ProviderError>,
{
    futures_util::stream::unfold(
        (body, SseDecoder::default(), false),
        |(mut body, mut decoder, done)| async move {
            if done {
                return None;
            }
            loop {
                if let Some(event) = decoder.next_event() {
                    return Some((Ok(event), (body, decoder, false)));
                }
                match body.next().await {
                    Some(Ok(bytes)) => decoder.push(&bytes),
                    Some(Err(e)) => return Some((Err(e.into()), (body, decoder, true))),
                    None => {
                        return decoder
                            .finish()
                            .map(|event| (Ok(event), (body, decoder, true)));
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> Vec<(String, String)> {
        let mut decoder = SseDecoder::default();
        let mut res = Vec::new();
        for chunk in input.chunks(piece) {
            decoder.push(chunk);
            while let Some(event) = decoder.next_event() {
                res.push((event.event, String::from_utf8(event.data.to_vec()).unwrap()));
            }
        }
        if let Some(event) = decoder.finish() {
            res.push((event.event, String::from_utf8(event.data.to_vec()).unwrap()));
        }
        res
    }

    #[test]
    fn events_survive_every_split_point() {
        let input = "event: message_start\r\ndata: {\"a\":\"é中\"}\r\n\r\n: keep-alive\n\ndata:x\ndata: y\n\nevent: ping\ndata: {}\r\rdata: [DONE]\n\n";
        let expected = vec![
            ("message_start".to_owned(), "{\"a\":\"é中\"}".to_owned()),
            (String::new(), "x\ny".to_owned()),
            ("ping".to_owned(), "{}".to_owned()),
            (String::new(), "[DONE]".to_owned()),
        ];
        for piece in 1..=input.len() {
            assert_eq!(
                decode_in_pieces(input.as_bytes(), piece),
                expected,
                "piece size {piece}"
            );
        }
    }

    #[test]
    fn last_event_without_blank_line_is_delivered_at_close() {
        assert_eq!(
            decode_in_pieces(b"data: a\n\ndata: [DONE]\n", 4),
            vec![
                (String::new(), "a".to_owned()),
                (String::new(), "[DONE]".to_owned())
            ]
        );
        assert_eq!(
            decode_in_pieces(b"data: [DONE]", 3),
            vec![(String::new(), "[DONE]".to_owned())]
        );
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        assert_eq!(
            decode_in_pieces(b"event: ping\n\n: comment\n\nretry: 10\n\n", 5),
            vec![]
        );
    }
}
