//! Server-sent events as the data plane streams them (`data: <json>` lines, a blank line
//! between events, `data: [DONE]` at the end), decoded from the response body's reads.
//!
//! Reads end anywhere, even inside a line or a multi-byte character, so the decoder keeps the
//! unfinished tail in bytes and only decodes whole lines.

/// One decoded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseEvent {
    /// The `data` of an event (its lines joined with `\n`).
    Data(String),
    /// `data: [DONE]`: the stream is complete.
    Done,
}

/// Turns the body's reads into events.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes after the last line break.
    partial: Vec<u8>,
    /// `data` lines of the event being read.
    data: Vec<String>,
}

impl SseDecoder {
    pub fn new() -> Self {
        SseDecoder::default()
    }

    /// Feeds one read; returns the events it completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let mut rest = bytes;
        while let Some(at) = rest.iter().position(|b| *b == b'\n') {
            self.partial.extend_from_slice(&rest[..at]);
            rest = &rest[at + 1..];
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut events);
        }
        self.partial.extend_from_slice(rest);
        events
    }

    /// The body ended: an event without its closing blank line still counts.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut events);
        }
        self.dispatch(&mut events);
        events
    }

    fn line(&mut self, raw: &[u8], events: &mut Vec<SseEvent>) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            self.dispatch(events);
            return;
        }
        let line = String::from_utf8_lossy(raw);
        // Comments (`: keep-alive`) and the fields we do not use (`event`, `id`, `retry`).
        if let Some(value) = line.strip_prefix("data:") {
            let value = value.strip_prefix(' ').unwrap_or(value);
            self.data.push(value.to_owned());
        }
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        if self.data.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.data).join("\n");
        events.push(if data.trim() == "[DONE]" {
            SseEvent::Done
        } else {
            SseEvent::Data(data)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str =
        "data: {\"a\":\"é🦀\"}\n\n: keep-alive\n\ndata: {\"b\":2}\r\n\r\ndata: [DONE]\n\n";

    fn expected() -> Vec<SseEvent> {
        vec![
            SseEvent::Data("{\"a\":\"é🦀\"}".into()),
            SseEvent::Data("{\"b\":2}".into()),
            SseEvent::Done,
        ]
    }

    #[test]
    fn a_whole_body_in_one_read() {
        let mut decoder = SseDecoder::new();
        let mut events = decoder.push(BODY.as_bytes());
        events.extend(decoder.finish());
        assert_eq!(events, expected());
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let bytes = BODY.as_bytes();
        for at in 0..=bytes.len() {
            let mut decoder = SseDecoder::new();
            let mut events = decoder.push(&bytes[..at]);
            events.extend(decoder.push(&bytes[at..]));
            events.extend(decoder.finish());
            assert_eq!(events, expected(), "split at {at}");
        }
    }

    #[test]
    fn byte_by_byte_reads_keep_multi_byte_characters_whole() {
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        for byte in BODY.as_bytes() {
            events.extend(decoder.push(std::slice::from_ref(byte)));
        }
        assert_eq!(events, expected());
    }

    #[test]
    fn multi_line_data_and_an_unterminated_last_event() {
        let mut decoder = SseDecoder::new();
        let mut events = decoder.push(b"event: x\ndata: one\ndata:two\n\ndata: last");
        events.extend(decoder.finish());
        assert_eq!(
            events,
            vec![
                SseEvent::Data("one\ntwo".into()),
                SseEvent::Data("last".into())
            ]
        );
    }
}
