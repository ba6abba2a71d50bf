//! Server-sent events as providers send them: bytes arrive in arbitrary pieces, events end
//! with a blank line, and only the `event` and `data` fields matter here.

/// What one provider event means for the client.
#[derive(Debug)]
pub enum Item {
    /// A chat-completion chunk.
    Chunk(serde_json::Value),
    /// The provider finished the stream.
    Done,
    /// The provider failed or sent something that is not its API's stream.
    Failed {
        /// datapact's code.
        code: &'static str,
        /// What happened.
        message: String,
    },
}

/// One event: its type (`event:`, empty when absent) and its data lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` field.
    pub event: String,
    /// The `data:` fields, joined.
    pub data: String,
}

/// Why a stream cannot be read as events.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SseError {
    /// A line is not UTF-8.
    #[error("the event stream is not UTF-8")]
    NotUtf8,
    /// One event grew beyond the limit without ending.
    #[error("an event in the stream exceeds {0} bytes")]
    TooLong(usize),
}

/// Splits a byte stream into events.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    cur: Partial,
}

/// The fields of the event being read.
#[derive(Debug, Default)]
struct Partial {
    event: String,
    data: String,
    has_data: bool,
}

/// The largest event accepted: a provider that never ends an event must not grow memory.
pub const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

impl Parser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next bytes; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Event>, SseError> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|&b| b == b'\n' || b == b'\r') {
            let end = start + nl;
            // A CR may be followed by LF in the next piece: wait for it unless more follows.
            if self.buf[end] == b'\r' && end + 1 == self.buf.len() {
                break;
            }
            let line = std::str::from_utf8(&self.buf[start..end]).map_err(|_| SseError::NotUtf8)?;
            let skip = if self.buf[end] == b'\r' && self.buf.get(end + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            if let Some(ev) = self.cur.line(line) {
                out.push(ev);
            }
            start = end + skip;
        }
        self.buf.drain(..start);
        if self.buf.len() + self.cur.data.len() > MAX_EVENT_BYTES {
            return Err(SseError::TooLong(MAX_EVENT_BYTES));
        }
        Ok(out)
    }

    /// The end of the stream: an event not closed by a blank line still counts.
    pub fn finish(&mut self) -> Result<Option<Event>, SseError> {
        let rest = std::mem::take(&mut self.buf);
        let mut ev = None;
        if !rest.is_empty() {
            let line = std::str::from_utf8(&rest)
                .map_err(|_| SseError::NotUtf8)?
                .trim_end_matches('\r')
                .to_string();
            ev = self.cur.line(&line);
        }
        Ok(ev.or_else(|| self.cur.line("")))
    }
}

impl Partial {
    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            if !self.has_data {
                self.event.clear();
                return None;
            }
            self.has_data = false;
            return Some(Event {
                event: std::mem::take(&mut self.event),
                data: std::mem::take(&mut self.data),
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STREAM: &str = ": comment\nevent: message_start\ndata: {\"a\":1}\n\ndata: one\r\ndata: two\r\n\r\n\
                          data: [DONE]\n\nevent: ping\n\n";

    fn all(pieces: &[&[u8]]) -> Vec<Event> {
        let mut p = Parser::new();
        let mut out = Vec::new();
        for piece in pieces {
            out.extend(p.push(piece).unwrap());
        }
        out.extend(p.finish().unwrap());
        out
    }

    #[test]
    fn events_with_types_multi_line_data_and_crlf() {
        let evs = all(&[STREAM.as_bytes()]);
        assert_eq!(evs.len(), 3, "{evs:?}");
        assert_eq!(evs[0].event, "message_start");
        assert_eq!(evs[0].data, "{\"a\":1}");
        assert_eq!(evs[1].data, "one\ntwo");
        assert_eq!(evs[1].event, "");
        assert_eq!(evs[2].data, "[DONE]");
    }

    #[test]
    fn an_unterminated_last_event_counts() {
        let evs = all(&[b"data: x"]);
        assert_eq!(evs[0].data, "x");
    }

    #[test]
    fn an_endless_event_is_refused() {
        let mut p = Parser::new();
        let big = vec![b'a'; MAX_EVENT_BYTES + 1];
        assert!(p.push(b"data: ").is_ok());
        assert_eq!(p.push(&big), Err(SseError::TooLong(MAX_EVENT_BYTES)));
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_events(cuts in proptest::collection::vec(0usize..STREAM.len(), 0..12)) {
            let bytes = STREAM.as_bytes();
            let mut cuts = cuts;
            cuts.sort_unstable();
            let mut pieces: Vec<&[u8]> = Vec::new();
            let mut at = 0;
            for c in cuts {
                pieces.push(&bytes[at..c.max(at)]);
                at = c.max(at);
            }
            pieces.push(&bytes[at..]);
            prop_assert_eq!(all(&pieces), all(&[bytes]));
        }
    }
}
