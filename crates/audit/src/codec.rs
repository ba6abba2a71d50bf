//! How an entry's leaf is kept at rest: a compact, lossless encoding of its canonical JSON.
//!
//! The leaf that is hashed, proved, exported and verified is always the canonical JSON
//! ([`crate::Entry::leaf`]); only the stored bytes are packed. Packing is a byte-level
//! transformation that [`unpack`] inverts exactly for *any* input, so nothing depends on the
//! JSON having a particular shape, and an entry written by an older or newer version reads
//! back byte for byte:
//!
//! - the first byte tells the form: `{` is a leaf stored as it is (every entry written before
//!   this encoding existed), [`PACKED_V1`] the packed form below;
//! - in the packed form, a byte below `0x80` is itself; `0x80..=0xF9` is one of the first 122
//!   phrases of [`PHRASES`] (field names with their punctuation, enum values with their
//!   closing quote); `0xFE n` is phrase `122 + n`; `0xFA` is an RFC 3339 UTC time
//!   (`2026-12-05T03:37:08.962375162Z`: the count of fraction digits, then the Unix seconds
//!   and the fraction as LEB128 varints); `0xFB` a run of 5 to 19 decimal digits without a
//!   leading zero (its value as a varint); `0xFC` is followed by the 16 bytes of 32 lowercase
//!   hex digits (the UUID inside `org_…`, `ten_…`, `key_…` ids, keyed hashes); `0xFD` by the
//!   16 bytes of a hyphenated lowercase UUID (request ids); `0xFF` by one byte taken
//!   literally (a byte of `0x80` or more in the input).
//!
//! The encoder uses a time or digits token only when decoding it gives back the very same
//! text (checked as it encodes), so unusual text (a leap second, a leading zero) simply stays
//! literal.
//!
//! [`PHRASES`] is append-only: an index, once written, means its phrase forever. A test pins
//! the digest of the table so that an edit of an existing phrase cannot land unnoticed.
//!
//! An entry of a decision is about 3 times smaller packed (see `docs/BENCHMARKS.md`).

use std::borrow::Cow;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// The first byte of a packed leaf (never the first byte of JSON text).
pub const PACKED_V1: u8 = 0x01;

const PHRASE_ONE_BYTE: usize = 122;
const TAG_TIME: u8 = 0xFA;
const TAG_DIGITS: u8 = 0xFB;
const TAG_EXTENDED: u8 = 0xFE;
const TAG_HEX32: u8 = 0xFC;
const TAG_UUID: u8 = 0xFD;
const TAG_LITERAL: u8 = 0xFF;

/// The phrases, by index. Append only (see the module's documentation).
pub const PHRASES: &[&str] = &[
    // The fields of an entry, in the order serde writes them, with their punctuation.
    "{\"index\":",
    ",\"time\":\"",
    "\",\"actor\":{\"key\":\"key_",
    "\",\"actor\":{\"key\":null,\"role\":null}",
    "\",\"role\":\"",
    "},\"org\":\"org_",
    ",\"org\":\"org_",
    ",\"org\":null",
    ",\"tenant\":\"ten_",
    "\",\"tenant\":\"ten_",
    ",\"tenant\":null",
    ",\"product\":\"",
    "\",\"product\":\"",
    ",\"product\":null",
    ",\"action\":\"",
    "\",\"action\":\"",
    ",\"purpose\":\"",
    ",\"purpose\":null",
    ",\"resources\":[]",
    ",\"resources\":[",
    "{\"record\":\"rec_",
    "{\"grant\":\"grt_",
    "{\"opt_out\":\"opt_",
    "{\"api_key\":\"key_",
    "{\"job\":\"job_",
    "{\"data_key\":",
    "{\"certificate\":\"",
    "{\"count\":",
    ",\"outcome\":\"allowed\"",
    ",\"outcome\":\"denied\"",
    ",\"outcome\":\"error\"",
    ",\"reasons\":[]",
    ",\"reasons\":[\"",
    "\",\"",
    ",\"",
    ",\"request_id\":\"",
    "\",\"request_id\":\"",
    ",\"request_id\":null",
    ",\"region\":\"",
    "\",\"region\":\"",
    ",\"region\":null",
    ",\"correlation\":null",
    ",\"correlation\":\"",
    ",\"call\":{\"model\":\"",
    ",\"call\":{\"provider\":",
    ",\"provider\":\"",
    ",\"provider\":null",
    ",\"status\":\"allowed\"",
    ",\"status\":\"blocked\"",
    ",\"status\":\"masked\"",
    ",\"status\":\"error\"",
    ",\"prompt_tokens\":",
    ",\"completion_tokens\":",
    ",\"total_tokens\":",
    ",\"latency_ms\":",
    ",\"overhead_us\":",
    ",\"feature\":null",
    ",\"feature\":\"",
    ",\"pii_types\":[]",
    ",\"pii_types\":[\"",
    ",\"streamed\":true",
    ",\"error\":\"",
    ",\"retries\":",
    // Roles and purposes (`service"` is both).
    "service\"",
    "platform_admin\"",
    "org_admin\"",
    "auditor\"",
    "support\"",
    "vendor_training\"",
    "third_party_finetune\"",
    "genai\"",
    "support_access\"",
    "telemetry\"",
    // Actions.
    "decision\"",
    "availability\"",
    "content_read\"",
    "record_list\"",
    "record_write\"",
    "record_modify\"",
    "record_delete\"",
    "export\"",
    "purge\"",
    "rows_removed\"",
    "retention_sweep\"",
    "key_create\"",
    "key_rotate\"",
    "key_destroy\"",
    "org_create\"",
    "terms_change\"",
    "termination\"",
    "tenant_change\"",
    "opt_out_record\"",
    "opt_out_revoke\"",
    "ai_settings_change\"",
    "retention_change\"",
    "support_grant_create\"",
    "support_grant_revoke\"",
    "api_key_create\"",
    "api_key_revoke\"",
    "llm_call\"",
    "llm_forward\"",
    "audit_read\"",
    "key_list\"",
    "certificate_read\"",
    "reencrypt\"",
    // Reason codes (the ones that are also a role or a purpose are above).
    "in_region\"",
    "region_mismatch\"",
    "cross_region_llm_allowed\"",
    "service_declared\"",
    "service_not_declared\"",
    "org_terminated\"",
    "org_terminating\"",
    "training_declared\"",
    "training_not_declared\"",
    "data_kind_not_trained\"",
    "no_training_exclusion\"",
    "baa_in_place\"",
    "contract_forbids_training\"",
    "opted_out\"",
    "genai_declared\"",
    "genai_not_declared\"",
    "plan_excludes_genai\"",
    "genai_enabled\"",
    "genai_disabled\"",
    "third_party_finetune_declared\"",
    "third_party_finetune_not_declared\"",
    "third_party_finetune_enabled\"",
    "third_party_finetune_disabled\"",
    "support_grant_active\"",
    "no_support_grant\"",
    "telemetry_content_free\"",
    "no_genai_dependency\"",
    // Index 124 on: two bytes each.
    "genai_allowed\"",
    "content_not_for_telemetry\"",
    "vendor_needs_support_access\"",
    "support_access_is_for_vendor\"",
    "cedar_policy_forbids\"",
    // Closing punctuation and the PII engine's entity types.
    "\"]",
    "\"}]",
    "}]",
    "\"}",
    "EMAIL_ADDRESS\"",
    "PHONE_NUMBER\"",
    "PERSON\"",
    "LOCATION\"",
    "IBAN_CODE\"",
    "CREDIT_CARD\"",
    "IP_ADDRESS\"",
    "URL\"",
    "US_SSN\"",
    "DATE_TIME\"",
    // Training-data governance: actions, resources.
    "training_dataset_create\"",
    "training_dataset_build\"",
    "training_export\"",
    "training_data_used\"",
    "model_register\"",
    "training_read\"",
    "{\"dataset\":\"ds_",
    "{\"model\":\"mdl_",
    // Communications Mining: actions, its datasets.
    "mining_dataset_create\"",
    "mining_dataset_change\"",
    "mining_label\"",
    "mining_train\"",
    "mining_predict\"",
    "mining_stream\"",
    "{\"dataset\":\"mds_",
];

static MATCHER: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        // A full DFA: a few hundred kilobytes for these phrases, the fastest search.
        .kind(Some(AhoCorasickKind::DFA))
        // Phrases start with a few common bytes (`,` `"`): a prefilter would stop at every one.
        .prefilter(false)
        .build(PHRASES)
        .ok()
});

/// A stored leaf that is neither form, or a packed one cut short.
#[derive(Debug, thiserror::Error)]
#[error("a stored audit leaf is not readable: {0}")]
pub struct CodecError(&'static str);

/// The stored form of a leaf.
pub fn pack(leaf: &[u8]) -> Vec<u8> {
    let Some(matcher) = MATCHER.as_ref() else {
        // Cannot happen (the table is valid, a test builds it); the leaf as it is stays readable.
        return leaf.to_vec();
    };
    let mut out = Vec::with_capacity(leaf.len() / 2 + 8);
    out.push(PACKED_V1);
    let mut at = 0;
    for m in matcher.find_iter(leaf) {
        gap(&leaf[at..m.start()], &mut out);
        let i = m.pattern().as_usize();
        if i < PHRASE_ONE_BYTE {
            out.push(0x80 + i as u8);
        } else {
            out.push(TAG_EXTENDED);
            out.push((i - PHRASE_ONE_BYTE) as u8);
        }
        at = m.end();
    }
    gap(&leaf[at..], &mut out);
    out
}

/// Bytes between two phrases: UUIDs and 32-hex runs as 16 bytes, the rest literally.
fn gap(mut s: &[u8], out: &mut Vec<u8>) {
    while let Some(&b) = s.first() {
        // Every token below starts with a hex digit; anything else is a literal at once.
        if hex_digit(b).is_none() {
            if b >= 0x80 {
                out.push(TAG_LITERAL);
            }
            out.push(b);
            s = &s[1..];
        } else if let Some(raw) = hyphenated_uuid(s) {
            out.push(TAG_UUID);
            out.extend_from_slice(&raw);
            s = &s[36..];
        } else if let Some(raw) = hex16(s.get(..32).unwrap_or_default()) {
            out.push(TAG_HEX32);
            out.extend_from_slice(&raw);
            s = &s[32..];
        } else if let Some(used) = time_token(s, out) {
            s = &s[used..];
        } else if let Some(used) = digits_token(s, out) {
            s = &s[used..];
        } else {
            if b >= 0x80 {
                out.push(TAG_LITERAL);
            }
            out.push(b);
            s = &s[1..];
        }
    }
}

/// Appends `n` as an unsigned LEB128 varint.
fn put_varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A varint and what follows it.
fn varint(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut n: u64 = 0;
    for (i, &b) in s.iter().enumerate().take(10) {
        n |= u64::from(b & 0x7F).checked_shl(7 * i as u32)?;
        if b < 0x80 {
            return Some((n, &s[i + 1..]));
        }
    }
    None
}

/// A run of 5 to 19 digits without a leading zero, as a digits token; the bytes it took.
fn digits_token(s: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let n = s.iter().take(19).take_while(|b| b.is_ascii_digit()).count();
    if n < 5 || s[0] == b'0' {
        return None;
    }
    let value: u64 = std::str::from_utf8(&s[..n]).ok()?.parse().ok()?;
    out.push(TAG_DIGITS);
    put_varint(value, out);
    Some(n)
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` from 1970 on, as a time token; the bytes it took. Used only
/// when the token decodes to the same text.
fn time_token(s: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let head = s.get(..19)?;
    let shape = b"dddd-dd-ddTdd:dd:dd";
    if !head
        .iter()
        .zip(shape)
        .all(|(b, p)| if *p == b'd' { b.is_ascii_digit() } else { b == p })
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> { std::str::from_utf8(&head[r]).ok()?.parse().ok() };
    let mut at = 19;
    let (mut digits, mut fraction) = (0u8, 0u64);
    if s.get(at) == Some(&b'.') {
        let n = s[at + 1..].iter().take(10).take_while(|b| b.is_ascii_digit()).count();
        if !(1..=9).contains(&n) {
            return None;
        }
        fraction = std::str::from_utf8(&s[at + 1..at + 1 + n]).ok()?.parse().ok()?;
        digits = n as u8;
        at += 1 + n;
    }
    if s.get(at) != Some(&b'Z') {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(num(0..4)?).ok()?, month, u8::try_from(num(8..10)?).ok()?).ok()?;
    let t = time::Time::from_hms(
        u8::try_from(num(11..13)?).ok()?,
        u8::try_from(num(14..16)?).ok()?,
        u8::try_from(num(17..19)?).ok()?,
    )
    .ok()?;
    let secs = u64::try_from(time::PrimitiveDateTime::new(date, t).assume_utc().unix_timestamp()).ok()?;
    let mut check = Vec::with_capacity(at + 1);
    write_time(digits, secs, fraction, &mut check)?;
    if check != s[..=at] {
        return None;
    }
    out.push(TAG_TIME);
    out.push(digits);
    put_varint(secs, out);
    put_varint(fraction, out);
    Some(at + 1)
}

/// Writes a time token's text; `None` when the values are not a time this codec writes.
fn write_time(digits: u8, secs: u64, fraction: u64, out: &mut Vec<u8>) -> Option<()> {
    use std::io::Write;
    if digits > 9 || fraction >= 10u64.pow(u32::from(digits)) {
        return None;
    }
    let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).ok()?).ok()?;
    if t.year() > 9999 {
        return None;
    }
    write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
    .ok()?;
    if digits > 0 {
        write!(out, ".{:0width$}", fraction, width = usize::from(digits)).ok()?;
    }
    out.push(b'Z');
    Some(())
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// 32 lowercase hex digits as 16 bytes (`None` for anything else, uppercase included, so
/// that unpacking writes back exactly what was there).
fn hex16(s: &[u8]) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut raw = [0u8; 16];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        raw[i] = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
    }
    Some(raw)
}

/// `8-4-4-4-12` lowercase hex digits as 16 bytes.
fn hyphenated_uuid(s: &[u8]) -> Option<[u8; 16]> {
    let s = s.get(..36)?;
    if [8, 13, 18, 23].iter().any(|&i| s[i] != b'-') {
        return None;
    }
    let mut digits = [0u8; 32];
    let mut n = 0;
    for &b in s {
        if b != b'-' {
            *digits.get_mut(n)? = b;
            n += 1;
        }
    }
    if n != 32 { None } else { hex16(&digits) }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(raw: &[u8], out: &mut Vec<u8>) {
    for b in raw {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
}

/// The leaf a stored form holds: borrowed when it was stored as it is.
pub fn unpack(stored: &[u8]) -> Result<Cow<'_, [u8]>, CodecError> {
    match stored.first() {
        Some(b'{') => Ok(Cow::Borrowed(stored)),
        Some(&PACKED_V1) => unpack_v1(&stored[1..]).map(Cow::Owned),
        Some(_) => Err(CodecError("it starts with an unknown form")),
        None => Err(CodecError("it is empty")),
    }
}

fn unpack_v1(mut s: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(s.len() * 3);
    let short = || CodecError("it is cut short");
    while let Some((&b, rest)) = s.split_first() {
        s = rest;
        match b {
            0x00..=0x7F => out.push(b),
            0x80..=0xF9 => out.extend_from_slice(PHRASES[usize::from(b - 0x80)].as_bytes()),
            TAG_TIME => {
                let (&digits, rest) = s.split_first().ok_or_else(short)?;
                let (secs, rest) = varint(rest).ok_or_else(short)?;
                let (fraction, rest) = varint(rest).ok_or_else(short)?;
                s = rest;
                write_time(digits, secs, fraction, &mut out).ok_or(CodecError("it holds an impossible time"))?;
            }
            TAG_DIGITS => {
                let (n, rest) = varint(s).ok_or_else(short)?;
                s = rest;
                out.extend_from_slice(n.to_string().as_bytes());
            }
            TAG_EXTENDED => {
                let (&n, rest) = s.split_first().ok_or_else(short)?;
                s = rest;
                let phrase = PHRASES
                    .get(PHRASE_ONE_BYTE + usize::from(n))
                    .ok_or(CodecError("it names a phrase this version does not know"))?;
                out.extend_from_slice(phrase.as_bytes());
            }
            TAG_HEX32 | TAG_UUID => {
                let raw = s.get(..16).ok_or_else(short)?;
                s = &s[16..];
                if b == TAG_HEX32 {
                    push_hex(raw, &mut out);
                } else {
                    for (i, part) in [&raw[..4], &raw[4..6], &raw[6..8], &raw[8..10], &raw[10..]]
                        .into_iter()
                        .enumerate()
                    {
                        if i > 0 {
                            out.push(b'-');
                        }
                        push_hex(part, &mut out);
                    }
                }
            }
            TAG_LITERAL => {
                let (&lit, rest) = s.split_first().ok_or_else(short)?;
                s = rest;
                out.push(lit);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::entry::{Action, Actor, Entry, Event, LlmCall, Name, Outcome, Resource};
    use datapact_governance::{OrgId, Purpose, ReasonCode, RecordId, Role, TenantId};

    fn decision() -> Entry {
        let mut ev = Event::new(
            Actor {
                key: Some(datapact_governance::KeyId::generate()),
                role: Some(Role::Service),
            },
            Action::Decision,
            Outcome::Allowed,
        );
        ev.org = Some(OrgId::generate());
        ev.tenant = Some(TenantId::generate());
        ev.product = crate::Label::new("communications-mining").ok();
        ev.purpose = Some(Purpose::VendorTraining);
        ev.reasons = vec![
            ReasonCode::InRegion,
            ReasonCode::NoTrainingExclusion,
            ReasonCode::TrainingDeclared,
        ];
        ev.request_id = Some(uuid::Uuid::now_v7());
        ev.region = crate::Label::new("eu").ok();
        Entry {
            index: 123_456_789,
            time: time::OffsetDateTime::now_utc(),
            event: ev,
        }
    }

    #[test]
    fn the_phrase_table_is_append_only() {
        assert!(MATCHER.is_some(), "the phrases build a matcher");
        assert!(PHRASES.len() <= PHRASE_ONE_BYTE + 256);
        // The digest of the first phrases as released. Add phrases at the end only; changing
        // one that data may already use would make stored leaves read back wrong.
        let released = 151;
        let mut h = Sha256::new();
        for p in &PHRASES[..released] {
            h.update(p.as_bytes());
            h.update([0]);
        }
        let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            digest, "faf45adfc35a042ea8808f7f4a7b6669ec24b56c5184409b5a06aa817ab92379",
            "the first {released} phrases changed: they are a stored format"
        );
        let mut seen = std::collections::HashSet::new();
        for p in PHRASES {
            assert!(seen.insert(p), "{p} twice");
            assert!(p.is_ascii() && !p.is_empty());
        }
    }

    #[test]
    fn every_wire_name_has_a_phrase() {
        let has = |w: &str| PHRASES.contains(&format!("{w}\"").as_str());
        for a in Action::ALL {
            assert!(has(a.as_str()), "action {}", a.as_str());
        }
        for p in Purpose::ALL {
            assert!(has(p.as_str()), "purpose {}", p.as_str());
        }
        for r in [
            Role::PlatformAdmin,
            Role::OrgAdmin,
            Role::Auditor,
            Role::Support,
            Role::Service,
        ] {
            assert!(has(r.as_str()), "role {}", r.as_str());
        }
        for r in [
            ReasonCode::InRegion,
            ReasonCode::CedarPolicyForbids,
            ReasonCode::OptedOut,
        ] {
            let w = crate::entry::wire_name(&r);
            assert!(has(&w), "reason {w}");
        }
    }

    #[test]
    fn entries_pack_to_a_third_and_back_exactly() {
        let d = decision();
        let leaf = d.leaf();
        let packed = pack(&leaf);
        assert_eq!(unpack(&packed).unwrap().as_ref(), leaf.as_slice());
        assert!(
            packed.len() * 3 < leaf.len(),
            "{} bytes packed from {}",
            packed.len(),
            leaf.len()
        );

        let mut call = decision();
        call.event.action = Action::LlmCall;
        call.event.resources = vec![Resource::Record(RecordId::generate()), Resource::Count(12)];
        call.event.correlation = Some("ab".repeat(32));
        call.event.call = Some(LlmCall {
            model: Name::new("gpt-4o-mini").ok(),
            provider: Name::new("openai-eu").ok(),
            status: crate::CallStatus::Masked,
            prompt_tokens: Some(812),
            completion_tokens: Some(95),
            total_tokens: Some(907),
            latency_ms: 412,
            overhead_us: 530,
            feature: crate::Label::new("summarize").ok(),
            pii_types: vec![Name::new("EMAIL_ADDRESS").unwrap(), Name::new("PERSON").unwrap()],
            streamed: true,
            error: None,
            retries: Some(1),
        });
        let leaf = call.leaf();
        let packed = pack(&leaf);
        assert_eq!(unpack(&packed).unwrap().as_ref(), leaf.as_slice());
        assert!(
            packed.len() * 2 < leaf.len(),
            "{} bytes packed from {}",
            packed.len(),
            leaf.len()
        );

        let system = Entry {
            index: 0,
            time: time::OffsetDateTime::UNIX_EPOCH,
            event: Event::new(Actor::system(), Action::RowsRemoved, Outcome::Allowed),
        };
        let leaf = system.leaf();
        assert_eq!(unpack(&pack(&leaf)).unwrap().as_ref(), leaf.as_slice());
    }

    /// docs/guide/audit.md alters an entry by these bytes.
    #[test]
    fn outcomes_are_the_bytes_the_guide_names() {
        assert_eq!(pack(b",\"outcome\":\"denied\""), [PACKED_V1, 0x9D]);
        assert_eq!(pack(b",\"outcome\":\"allowed\""), [PACKED_V1, 0x9C]);
    }

    #[test]
    fn a_leaf_stored_as_it_is_reads_as_it_is() {
        let leaf = decision().leaf();
        assert!(matches!(unpack(&leaf).unwrap(), Cow::Borrowed(_)));
        assert!(unpack(b"").is_err());
        assert!(unpack(b"[1]").is_err());
        assert!(unpack(&[PACKED_V1, TAG_HEX32, 1, 2]).is_err());
        assert!(unpack(&[PACKED_V1, TAG_EXTENDED]).is_err());
        assert!(unpack(&[PACKED_V1, TAG_EXTENDED, 255]).is_err());
        assert!(unpack(&[PACKED_V1, TAG_LITERAL]).is_err());
    }

    proptest! {
        /// Lossless for any bytes at all, not only for JSON of entries.
        #[test]
        fn any_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut leaf = b"{".to_vec();
            leaf.extend_from_slice(&bytes);
            let packed = pack(&leaf);
            let back = unpack(&packed).unwrap().into_owned();
            prop_assert_eq!(back, leaf);
        }

        /// Times as serde writes them, and near misses, round trip; real ones become tokens.
        #[test]
        fn times_round_trip(secs in 0i64..253_402_300_799, nanos in 0u32..1_000_000_000, cut in 0usize..4) {
            let t = time::OffsetDateTime::from_unix_timestamp(secs).unwrap() + time::Duration::nanoseconds(i64::from(nanos));
            let text = t.format(&time::format_description::well_known::Rfc3339).unwrap();
            let mut leaf = format!("{{\"time\":\"{text}\"").into_bytes();
            let packed = pack(&leaf);
            prop_assert!(packed.len() < 30, "{} bytes for {text}", packed.len());
            let back = unpack(&packed).unwrap().into_owned();
            prop_assert_eq!(back, leaf.clone());
            // Damaged: a digit replaced, or the zone cut.
            let at = 9 + [3usize, 6, 13, 19][cut];
            leaf[at] = b'9';
            let back = unpack(&pack(&leaf)).unwrap().into_owned();
            prop_assert_eq!(back, leaf);
        }

        /// Text made of the phrases, ids and hex (the shapes the encoder looks for), mixed.
        #[test]
        fn phrase_soup_round_trips(parts in proptest::collection::vec(0usize..(PHRASES.len() + 6), 0..60), seed in any::<u64>()) {
            let mut leaf = b"{".to_vec();
            let mut x = seed;
            for p in parts {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                match p.checked_sub(PHRASES.len()) {
                    None => leaf.extend_from_slice(PHRASES[p].as_bytes()),
                    Some(0) => leaf.extend_from_slice(uuid::Uuid::from_u64_pair(x, !x).hyphenated().to_string().as_bytes()),
                    Some(1) => leaf.extend_from_slice(uuid::Uuid::from_u64_pair(x, x >> 3).simple().to_string().as_bytes()),
                    Some(2) => leaf.extend_from_slice(uuid::Uuid::from_u64_pair(x, 7).simple().to_string().to_uppercase().as_bytes()),
                    Some(3) => leaf.extend_from_slice(&uuid::Uuid::from_u64_pair(x, 1).simple().to_string().as_bytes()[..31]),
                    Some(4) => leaf.extend_from_slice("é\u{1F600}".as_bytes()),
                    _ => leaf.push((x >> 56) as u8),
                }
            }
            let packed = pack(&leaf);
            let back = unpack(&packed).unwrap().into_owned();
            prop_assert_eq!(back, leaf);
        }
    }
}
