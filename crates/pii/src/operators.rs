//! Anonymization operators, and pseudonymization that a response can be restored from, even
//! when it arrives in chunks that split a placeholder.

use std::collections::HashMap;

use crate::entity::EntityType;
use crate::recognizer::Span;

/// How a detected span is rewritten.
#[derive(Debug, Clone)]
pub enum Operator {
    /// `<ENTITY_TYPE>`.
    Replace,
    /// Every character but the last `keep_last` becomes `ch`.
    Mask {
        /// The masking character.
        ch: char,
        /// Characters kept at the end.
        keep_last: usize,
    },
    /// Removed.
    Redact,
    /// `<ENTITY_TYPE:hmac>`: HMAC-SHA-256 under a key (per tenant), hex, first 16 bytes. Equal
    /// values under one key hash alike; nothing else can be learned from it.
    Hash {
        /// The keyed hash's key.
        key: Vec<u8>,
    },
    /// `<ENTITY_TYPE_N>`, consistent within one [`Pseudonymizer`].
    Pseudonymize,
    /// `<ENTITY_TYPE:enc:…>`: AES-256-GCM under a key (per tenant), random nonce, the entity
    /// type as associated data; [`reveal`] turns it back with the same key.
    Encrypt {
        /// The 256-bit key.
        key: [u8; 32],
    },
}

/// Why encrypted spans could not be revealed.
#[derive(Debug, thiserror::Error)]
pub enum RevealError {
    /// A token does not decrypt under the key (another key, or altered).
    #[error("an encrypted {entity} at byte {offset} does not decrypt under this key (another key, or altered)")]
    WrongKey {
        /// Its type.
        entity: String,
        /// Where it starts.
        offset: usize,
    },
    /// The system random generator failed.
    #[error("cannot draw a nonce: the system random generator failed")]
    Random,
}

const ENC: &str = ":enc:";

fn seal(key: &[u8; 32], entity: EntityType, value: &str) -> Result<String, RevealError> {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
    use base64::Engine;
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| RevealError::Random)?);
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| RevealError::Random)?;
    let mut data = value.as_bytes().to_vec();
    k.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(entity.as_str().as_bytes()),
        &mut data,
    )
    .map_err(|_| RevealError::Random)?;
    let mut token = nonce.to_vec();
    token.extend_from_slice(&data);
    Ok(format!(
        "<{}{ENC}{}>",
        entity.as_str(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token)
    ))
}

/// `text` with every `<ENTITY_TYPE:enc:…>` token decrypted under `key`.
pub fn reveal(text: &str, key: &[u8; 32]) -> Result<String, RevealError> {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
    use base64::Engine;
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| RevealError::Random)?);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(rel) = text[at..].find('<') {
        let open = at + rel;
        out.push_str(&text[at..open]);
        let token = text[open..].find('>').map(|c| &text[open + 1..open + c]);
        let parsed = token.and_then(|t| {
            let (entity, payload) = t.split_once(ENC)?;
            // A custom type written by another process is a type here too: its name is
            // authenticated with the value, so a token under a forged name fails to decrypt.
            let entity = EntityType::declare(entity).ok()?;
            Some((t.len(), entity, payload))
        });
        let Some((len, entity, payload)) = parsed else {
            out.push('<');
            at = open + 1;
            continue;
        };
        let wrong = || RevealError::WrongKey {
            entity: entity.as_str().to_string(),
            offset: open,
        };
        let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| wrong())?;
        if raw.len() < NONCE_LEN {
            return Err(wrong());
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&raw[..NONCE_LEN]);
        let plain = k
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(entity.as_str().as_bytes()),
                &mut raw[NONCE_LEN..],
            )
            .map_err(|_| wrong())?;
        out.push_str(std::str::from_utf8(plain).map_err(|_| wrong())?);
        at = open + len + 2;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// Consistent placeholders for one conversation: the same value gets the same placeholder,
/// and the mapping lives in memory only.
#[derive(Debug, Default)]
pub struct Pseudonymizer {
    forward: HashMap<(EntityType, String), String>,
    reverse: HashMap<String, String>,
    counts: HashMap<EntityType, usize>,
    longest: usize,
}

impl Pseudonymizer {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// The placeholder for `value` of type `entity`, created on first sight.
    pub fn placeholder(&mut self, entity: EntityType, value: &str) -> String {
        if let Some(p) = self.forward.get(&(entity, value.to_string())) {
            return p.clone();
        }
        let n = self.counts.entry(entity).or_insert(0);
        *n += 1;
        let p = format!("<{}_{}>", entity.as_str(), n);
        self.longest = self.longest.max(p.len());
        self.forward.insert((entity, value.to_string()), p.clone());
        self.reverse.insert(p.clone(), value.to_string());
        p
    }

    /// `text` with every known placeholder replaced by its original value.
    pub fn restore(&self, text: &str) -> String {
        let mut r = self.restorer();
        let mut out = r.push(text);
        out.push_str(&r.finish());
        out
    }

    /// A restorer for a response that arrives in chunks.
    pub fn restorer(&self) -> Restorer<'_> {
        Restorer {
            map: self,
            pending: String::new(),
            json: false,
        }
    }

    /// A restorer for text inside a JSON string (streamed tool-call arguments): restored
    /// values are escaped, so the document stays JSON.
    pub fn json_restorer(&self) -> Restorer<'_> {
        Restorer {
            json: true,
            ..self.restorer()
        }
    }
}

/// Restores placeholders in a stream of chunks: text that may be the start of a placeholder
/// is held back until the next chunk says whether it is one.
#[derive(Debug)]
pub struct Restorer<'a> {
    map: &'a Pseudonymizer,
    pending: String,
    json: bool,
}

impl Restorer<'_> {
    /// Takes the next chunk; returns what can be emitted now.
    pub fn push(&mut self, chunk: &str) -> String {
        self.pending.push_str(chunk);
        let mut out = String::with_capacity(self.pending.len());
        let mut rest = self.pending.as_str();
        // A placeholder is at most `longest` bytes, so `>` is looked for only that far: each
        // `<` costs a bounded look, and an answer full of `<` is restored in linear time.
        let window = self.map.longest.max(2);
        while let Some(open) = rest.find('<') {
            out.push_str(&rest[..open]);
            let tail = &rest[open..];
            let near = &tail.as_bytes()[..tail.len().min(window)];
            match near.iter().position(|&b| b == b'>') {
                Some(close) => {
                    let candidate = &tail[..=close];
                    match self.map.reverse.get(candidate) {
                        Some(value) if self.json => {
                            // A JSON string literal without its quotes.
                            let quoted = serde_json::Value::String(value.clone()).to_string();
                            out.push_str(&quoted[1..quoted.len() - 1]);
                            rest = &tail[close + 1..];
                        }
                        Some(value) => {
                            out.push_str(value);
                            rest = &tail[close + 1..];
                        }
                        None => {
                            out.push('<');
                            rest = &tail[1..];
                        }
                    }
                }
                None if tail.len() < self.map.longest.max(2) && could_be_placeholder(tail) => {
                    // Possibly a placeholder split across chunks: keep it for the next one.
                    let kept = tail.to_string();
                    self.pending = kept;
                    return out;
                }
                None => {
                    out.push('<');
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        self.pending.clear();
        out
    }

    /// The end of the stream: whatever was held back, as it is.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }
}

/// Whether `s` (starting with `<`) could still grow into `<ENTITY_TYPE_N>`.
fn could_be_placeholder(s: &str) -> bool {
    s[1..]
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// `text` with every span rewritten by `op`. Spans must not overlap (as the analyzer returns
/// them); byte offsets.
pub fn anonymize(text: &str, spans: &[Span], op: &Operator, pseudo: &mut Pseudonymizer) -> Result<String, RevealError> {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in spans {
        if s.start < at || s.end > text.len() || !text.is_char_boundary(s.start) || !text.is_char_boundary(s.end) {
            continue;
        }
        out.push_str(&text[at..s.start]);
        let value = &text[s.start..s.end];
        match op {
            Operator::Replace => {
                out.push('<');
                out.push_str(s.entity.as_str());
                out.push('>');
            }
            Operator::Mask { ch, keep_last } => {
                let n = value.chars().count();
                let keep = (*keep_last).min(n);
                out.extend(std::iter::repeat_n(*ch, n - keep));
                out.extend(value.chars().skip(n - keep));
            }
            Operator::Redact => {}
            Operator::Hash { key } => {
                let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
                let tag = aws_lc_rs::hmac::sign(&k, value.as_bytes());
                out.push('<');
                out.push_str(s.entity.as_str());
                out.push(':');
                for b in &tag.as_ref()[..16] {
                    out.push_str(&format!("{b:02x}"));
                }
                out.push('>');
            }
            Operator::Pseudonymize => out.push_str(&pseudo.placeholder(s.entity, value)),
            Operator::Encrypt { key } => out.push_str(&seal(key, s.entity, value)?),
        }
        at = s.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::{Analyzer, Options};

    fn run(text: &str, op: &Operator, p: &mut Pseudonymizer) -> String {
        let spans = Analyzer::new().analyze(text, &Options::default());
        anonymize(text, &spans, op, p).unwrap()
    }

    #[test]
    fn encryption_is_reversible_with_the_key_only() {
        let text = "Write to ann@example.com, card 4111 1111 1111 1111 <b>ok</b>.";
        let key = [7u8; 32];
        let mut p = Pseudonymizer::new();
        let sealed = run(text, &Operator::Encrypt { key }, &mut p);
        assert!(sealed.starts_with("Write to <EMAIL_ADDRESS:enc:") && !sealed.contains("ann@"));
        assert_ne!(
            sealed,
            run(text, &Operator::Encrypt { key }, &mut p),
            "a fresh nonce each time"
        );
        assert_eq!(reveal(&sealed, &key).unwrap(), text);
        assert!(matches!(reveal(&sealed, &[8u8; 32]), Err(RevealError::WrongKey { .. })));
        // A token moved to another entity type does not decrypt (the type is authenticated).
        let moved = sealed.replacen("<EMAIL_ADDRESS:enc:", "<URL:enc:", 1);
        assert!(reveal(&moved, &key).is_err());
    }

    #[test]
    fn reveal_knows_custom_types_it_has_not_seen_declared() {
        let key = [7u8; 32];
        let t = seal(&key, EntityType::declare("LOYALTY_NO").unwrap(), "LC-1234").unwrap();
        let text = format!("card {t} ok");
        assert_eq!(reveal(&text, &key).unwrap(), "card LC-1234 ok");
        let forged = text.replace("LOYALTY_NO", "OTHER_TYPE");
        assert!(reveal(&forged, &key).is_err(), "the type name is authenticated");
    }

    #[test]
    fn operators() {
        let text = "Write to ann@example.com or bob@example.org, card 4111 1111 1111 1111.";
        let mut p = Pseudonymizer::new();
        assert_eq!(
            run(text, &Operator::Replace, &mut p),
            "Write to <EMAIL_ADDRESS> or <EMAIL_ADDRESS>, card <CREDIT_CARD>."
        );
        assert_eq!(
            run(text, &Operator::Mask { ch: '*', keep_last: 4 }, &mut p),
            "Write to ***********.com or ***********.org, card ***************1111."
        );
        assert_eq!(run(text, &Operator::Redact, &mut p), "Write to  or , card .");
        let hashed = run(
            text,
            &Operator::Hash {
                key: b"tenant-key".to_vec(),
            },
            &mut p,
        );
        assert!(hashed.starts_with("Write to <EMAIL_ADDRESS:") && !hashed.contains("ann@"));
        let other = run(
            text,
            &Operator::Hash {
                key: b"other-key".to_vec(),
            },
            &mut p,
        );
        assert_ne!(hashed, other, "another tenant's key hashes differently");
    }

    #[test]
    fn pseudonyms_are_consistent_and_restore_across_chunk_boundaries() {
        let mut p = Pseudonymizer::new();
        let masked = run(
            "ann@example.com wrote to bob@example.org; cc ann@example.com",
            &Operator::Pseudonymize,
            &mut p,
        );
        assert_eq!(
            masked,
            "<EMAIL_ADDRESS_1> wrote to <EMAIL_ADDRESS_2>; cc <EMAIL_ADDRESS_1>"
        );
        let response = "Reply to <EMAIL_ADDRESS_2> and <EMAIL_ADDRESS_1>, not <b>bold</b> or 1 < 2.";
        let want = "Reply to bob@example.org and ann@example.com, not <b>bold</b> or 1 < 2.";
        assert_eq!(p.restore(response), want);
        // Every way of cutting the response into two or three chunks restores the same text.
        let bytes: Vec<usize> = (0..=response.len()).filter(|i| response.is_char_boundary(*i)).collect();
        for &i in &bytes {
            for &j in bytes.iter().filter(|&&j| j >= i) {
                let mut r = p.restorer();
                let mut out = r.push(&response[..i]);
                out.push_str(&r.push(&response[i..j]));
                out.push_str(&r.push(&response[j..]));
                out.push_str(&r.finish());
                assert_eq!(out, want, "cut at {i} and {j}");
            }
        }
        // A dangling `<` at the very end is given back, not lost.
        let mut r = p.restorer();
        let mut out = r.push("a <EMAIL_ADD");
        out.push_str(&r.finish());
        assert_eq!(out, "a <EMAIL_ADD");
    }
}
