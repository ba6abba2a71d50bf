//! Secrets and credentials: vendors' API keys and tokens by their documented formats (a fixed
//! prefix, a length, an alphabet), private keys by their PEM armour, JWTs by a header that
//! decodes to JSON naming an algorithm, connection strings by their grammar, and passwords
//! and other secrets by the key they are assigned to. Structure, not entropy: an entropy
//! threshold misses short human-chosen passwords and flags every hash, digest and UUID, which
//! are no secrets; here a hash is never a secret unless a key such as `api_key=` says so.
//!
//! One Aho-Corasick pass finds every anchor (a prefix such as `ghp_`, a key such as
//! `password`, the `://` of a URL): the analyzer's pass over the text that also finds its
//! context words. Each anchor's own check then reads a few bytes around it.

use std::sync::LazyLock;

#[cfg(test)]
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input};

use crate::entity::EntityType;
use crate::recognizer::{Options, Span};

/// What an anchor starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    AwsKeyId,
    AwsSecretKey,
    GcpKey,
    Pem,
    Jwt,
    Github,
    GithubPat,
    Gitlab,
    Slack,
    SlackApp,
    SlackHook,
    Stripe,
    StripeWebhook,
    Anthropic,
    OpenAi,
    SchemeSep,
    Jdbc,
    AzureKey,
    Password,
    Secret,
    Bearer,
    MysqlPassword,
}

/// Anchors: the bytes that start (or key) each kind of secret. Vendor prefixes are matched
/// case-sensitively after the case-insensitive pass; keys in any case.
const ANCHORS: &[(&str, Anchor)] = &[
    ("AKIA", Anchor::AwsKeyId),
    ("ASIA", Anchor::AwsKeyId),
    ("ABIA", Anchor::AwsKeyId),
    ("ACCA", Anchor::AwsKeyId),
    ("AIDA", Anchor::AwsKeyId),
    ("AROA", Anchor::AwsKeyId),
    ("AIPA", Anchor::AwsKeyId),
    ("ANPA", Anchor::AwsKeyId),
    ("ANVA", Anchor::AwsKeyId),
    ("AGPA", Anchor::AwsKeyId),
    ("aws_secret_access_key", Anchor::AwsSecretKey),
    ("aws_secret_key", Anchor::AwsSecretKey),
    ("secret_access_key", Anchor::AwsSecretKey),
    ("secretaccesskey", Anchor::AwsSecretKey),
    ("AIza", Anchor::GcpKey),
    ("-----BEGIN ", Anchor::Pem),
    ("eyJ", Anchor::Jwt),
    ("ghp_", Anchor::Github),
    ("gho_", Anchor::Github),
    ("ghu_", Anchor::Github),
    ("ghs_", Anchor::Github),
    ("ghr_", Anchor::Github),
    ("github_pat_", Anchor::GithubPat),
    ("glpat-", Anchor::Gitlab),
    ("gldt-", Anchor::Gitlab),
    ("glrt-", Anchor::Gitlab),
    ("glptt-", Anchor::Gitlab),
    ("glft-", Anchor::Gitlab),
    ("glcbt-", Anchor::Gitlab),
    ("glimt-", Anchor::Gitlab),
    ("glsoat-", Anchor::Gitlab),
    ("gloas-", Anchor::Gitlab),
    ("glagent-", Anchor::Gitlab),
    ("xoxa-", Anchor::Slack),
    ("xoxb-", Anchor::Slack),
    ("xoxp-", Anchor::Slack),
    ("xoxo-", Anchor::Slack),
    ("xoxs-", Anchor::Slack),
    ("xoxr-", Anchor::Slack),
    ("xoxe-", Anchor::Slack),
    ("xoxe.xoxp-", Anchor::Slack),
    ("xapp-", Anchor::SlackApp),
    ("hooks.slack.com/", Anchor::SlackHook),
    ("sk_live_", Anchor::Stripe),
    ("sk_test_", Anchor::Stripe),
    ("rk_live_", Anchor::Stripe),
    ("rk_test_", Anchor::Stripe),
    ("whsec_", Anchor::StripeWebhook),
    ("sk-ant-", Anchor::Anthropic),
    ("sk-", Anchor::OpenAi),
    ("://", Anchor::SchemeSep),
    ("jdbc:", Anchor::Jdbc),
    ("accountkey=", Anchor::AzureKey),
    ("sharedaccesskey=", Anchor::AzureKey),
    ("password", Anchor::Password),
    ("passwd", Anchor::Password),
    ("pwd", Anchor::Password),
    ("pass", Anchor::Password),
    ("pw", Anchor::Password),
    ("passwort", Anchor::Password),
    ("kennwort", Anchor::Password),
    ("wachtwoord", Anchor::Password),
    ("mot de passe", Anchor::Password),
    ("mot_de_passe", Anchor::Password),
    ("mdp", Anchor::Password),
    ("contraseña", Anchor::Password),
    ("contrasena", Anchor::Password),
    ("senha", Anchor::Password),
    ("api_key", Anchor::Secret),
    ("apikey", Anchor::Secret),
    ("api-key", Anchor::Secret),
    ("client_secret", Anchor::Secret),
    ("clientsecret", Anchor::Secret),
    ("secret_key", Anchor::Secret),
    ("secretkey", Anchor::Secret),
    ("secret", Anchor::Secret),
    ("auth_token", Anchor::Secret),
    ("authtoken", Anchor::Secret),
    ("access_token", Anchor::Secret),
    ("accesstoken", Anchor::Secret),
    ("refresh_token", Anchor::Secret),
    ("token", Anchor::Secret),
    ("private_key", Anchor::Secret),
    ("app_secret", Anchor::Secret),
    ("consumer_secret", Anchor::Secret),
    ("signing_secret", Anchor::Secret),
    ("webhook_secret", Anchor::Secret),
    ("encryption_key", Anchor::Secret),
    ("master_key", Anchor::Secret),
    ("auth_key", Anchor::Secret),
    ("nonce_key", Anchor::Secret),
    ("logged_in_key", Anchor::Secret),
    ("auth_salt", Anchor::Secret),
    ("nonce_salt", Anchor::Secret),
    ("logged_in_salt", Anchor::Secret),
    (" -p", Anchor::MysqlPassword),
    ("bearer ", Anchor::Bearer),
    ("basic ", Anchor::Bearer),
];

struct Patterns {
    #[cfg(test)]
    anchors: AhoCorasick,
    aws_key_id: Regex,
    gcp_key: Regex,
    pem_begin: Regex,
    jwt: Regex,
    github: Regex,
    github_pat: Regex,
    gitlab: Regex,
    slack: Regex,
    slack_app: Regex,
    slack_hook: Regex,
    stripe: Regex,
    stripe_webhook: Regex,
    anthropic: Regex,
    openai: Regex,
}

/// The patterns are fixed and covered by tests; one that does not compile is a bug.
#[allow(clippy::expect_used)]
fn re(p: &str) -> Regex {
    Regex::new(p).expect("built-in secret pattern")
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    // The anchors are fixed; building their automaton cannot fail. (The analyzer finds them
    // with its context words; this automaton serves the module's own tests.)
    #[cfg(test)]
    #[allow(clippy::expect_used)]
    let anchors = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        // A full DFA: every text scanned runs through it once.
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(ANCHORS.iter().map(|(a, _)| a))
        .expect("secret anchors");
    Patterns {
        #[cfg(test)]
        anchors,
        aws_key_id: re(r"(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA)[A-Z0-9]{16}"),
        gcp_key: re(r"AIza[0-9A-Za-z_\-]{35}"),
        pem_begin: re(r"-----BEGIN ((?:[A-Z0-9]+ ){0,3})PRIVATE KEY(?: BLOCK)?-----"),
        jwt: re(r"eyJ[A-Za-z0-9_\-]{8,4000}\.[A-Za-z0-9_\-]{2,16000}\.[A-Za-z0-9_\-]{0,4000}"),
        github: re(r"gh[pousr]_[A-Za-z0-9]{36,251}"),
        github_pat: re(r"github_pat_[A-Za-z0-9_]{22,251}"),
        gitlab: re(r"gl(?:pat|dt|rt|ptt|ft|cbt|imt|soat|oas|agent)-[0-9A-Za-z_.\-]{20,255}"),
        slack: re(r"xox(?:[abposre]|e\.xoxp)-[0-9A-Za-z\-]{10,250}"),
        slack_app: re(r"xapp-[0-9]-[0-9A-Za-z\-]{10,250}"),
        slack_hook: re(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{16,250}"),
        stripe: re(r"[sr]k_(?:live|test)_[0-9A-Za-z]{20,247}"),
        stripe_webhook: re(r"whsec_[0-9A-Za-z+/=]{24,100}"),
        anthropic: re(r"sk-ant-(?:api|admin|sid|oat|ort)[0-9]{2}-[A-Za-z0-9_\-]{20,250}"),
        openai: re(r"sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_\-]{20,250}"),
    }
});

/// Loads the patterns now rather than on the first scan.
pub(crate) fn warm_up() {
    LazyLock::force(&PATTERNS);
}

/// The end of `re`'s match starting exactly at `at`, if one does.
fn match_at(re: &Regex, text: &str, at: usize) -> Option<usize> {
    let limit = (at + 20_000).min(text.len());
    re.search(&Input::new(text).range(at..limit).anchored(Anchored::Yes))
        .map(|m| m.end())
}

/// Whether a token may start at `i` (no letter or digit before it).
fn starts_word(b: &[u8], i: usize) -> bool {
    i == 0 || !b[i - 1].is_ascii_alphanumeric()
}

/// Whether a token ending at `i` ends there: no letter, digit, `_` or `-` runs on.
fn ends_token(b: &[u8], i: usize) -> bool {
    b.get(i)
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-')))
}

/// Finds secrets in `text`.
#[cfg(test)]
pub(crate) fn find(text: &str, opts: &Options, found: &mut Vec<Span>) {
    if !EntityType::SECRETS.iter().any(|t| opts.wants(*t)) {
        return;
    }
    let anchors: Vec<(usize, usize, usize)> = PATTERNS
        .anchors
        .find_overlapping_iter(text.as_bytes())
        .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
        .collect();
    find_anchored(text, opts, found, &anchors);
}

/// The anchors' texts, by index (what `find_anchored` takes the indices of).
pub(crate) fn anchor_texts() -> impl Iterator<Item = &'static str> {
    ANCHORS.iter().map(|(a, _)| *a)
}

/// As `find`, given the anchors in `text` (start, end, index into [`ANCHORS`]) in the order
/// an overlapping search over [`ANCHORS`] reports them (the analyzer finds them in the same
/// pass as its context words).
pub(crate) fn find_anchored(text: &str, opts: &Options, found: &mut Vec<Span>, anchors: &[(usize, usize, usize)]) {
    if !EntityType::SECRETS.iter().any(|t| opts.wants(*t)) {
        return;
    }
    let p = &*PATTERNS;
    let b = text.as_bytes();
    let mut out: Vec<Span> = Vec::new();
    let mut emit = |start: usize, end: usize, entity: EntityType, score: f32| {
        let token = !matches!(
            entity,
            EntityType::PrivateKey | EntityType::DbConnectionString | EntityType::AzureConnectionString
        );
        if end > start && score >= opts.min_score && opts.wants(entity) && !(token && filler(&text[start..end])) {
            out.push(Span {
                start,
                end,
                entity,
                score,
            });
        }
    };
    // The end of the last span reported per kind of anchor handled by position, so that
    // overlapping anchors inside one secret do not each re-read it.
    let mut covered_to = 0usize;
    // How far the anchors that read ahead have read, so that anchors inside what one of them
    // read are not read again (every scan stays linear in the text).
    let (mut token_run_end, mut url_read_to, mut chain_read_to, mut pem_headers) = (0usize, 0usize, 0usize, 0u32);
    for &(s, e, k) in anchors {
        let Some(&(anchor_text, anchor)) = ANCHORS.get(k) else {
            continue;
        };
        let exact = || &text[s..e] == anchor_text;
        match anchor {
            Anchor::AwsKeyId if exact() && starts_word(b, s) => {
                if let Some(end) =
                    match_at(&p.aws_key_id, text, s).filter(|&x| !b.get(x).is_some_and(u8::is_ascii_alphanumeric))
                {
                    emit(s, end, EntityType::AwsAccessKeyId, 0.95);
                    // The secret key usually follows its key id (a CSV row, a config block).
                    if let Some((a, z)) = aws_secret_near(text, end) {
                        emit(a, z, EntityType::AwsSecretAccessKey, 0.9);
                    }
                }
            }
            Anchor::AwsSecretKey if key_boundaries(b, s, e) => {
                if let Some((a, z, _)) = assigned_value(text, e, true)
                    && is_aws_secret(&text[a..z])
                {
                    emit(a, z, EntityType::AwsSecretAccessKey, 0.95);
                }
            }
            Anchor::GcpKey if exact() && starts_word(b, s) => {
                if let Some(end) = match_at(&p.gcp_key, text, s).filter(|&x| ends_token(b, x)) {
                    emit(s, end, EntityType::GcpApiKey, 0.95);
                }
            }
            Anchor::Pem if exact() && s >= covered_to && pem_headers < 64 => {
                // Each header searches up to 64 KiB for its END line: a bounded number of them.
                pem_headers += 1;
                if let Some(end) = pem_block(text, s) {
                    emit(s, end, EntityType::PrivateKey, 1.0);
                    covered_to = end;
                }
            }
            Anchor::Jwt if exact() && starts_word(b, s) && s >= covered_to && s >= token_run_end => {
                // The run of base64url characters and dots once: no `eyJ` inside it is read again.
                token_run_end = s + b[s..]
                    .iter()
                    .take(24_000)
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'='))
                    .count();
                if let Some(end) = match_at(&p.jwt, text, s).filter(|&x| ends_token(b, x))
                    && jwt_header_ok(&text[s..end])
                {
                    emit(s, end, EntityType::Jwt, 0.95);
                }
            }
            Anchor::Github if exact() && starts_word(b, s) => {
                if let Some(end) = match_at(&p.github, text, s).filter(|&x| ends_token(b, x)) {
                    emit(s, end, EntityType::GithubToken, 0.95);
                }
            }
            Anchor::GithubPat if exact() && starts_word(b, s) => {
                if let Some(end) = match_at(&p.github_pat, text, s).filter(|&x| ends_token(b, x)) {
                    emit(s, end, EntityType::GithubToken, 0.95);
                }
            }
            Anchor::Gitlab if exact() && starts_word(b, s) => {
                if let Some(end) = match_at(&p.gitlab, text, s) {
                    emit(s, trim_sentence_end(text, s, end), EntityType::GitlabToken, 0.95);
                }
            }
            Anchor::Slack if exact() && starts_word(b, s) => {
                if let Some(end) = match_at(&p.slack, text, s).filter(|&x| has_digit(&text[s..x])) {
                    emit(s, trim_sentence_end(text, s, end), EntityType::SlackToken, 0.95);
                }
            }
            Anchor::SlackApp if exact() && starts_word(b, s) => {
                if let Some(end) = match_at(&p.slack_app, text, s) {
                    emit(s, trim_sentence_end(text, s, end), EntityType::SlackToken, 0.95);
                }
            }
            Anchor::SlackHook if exact() && s >= 8 && b[..s].ends_with(b"https://") => {
                if let Some(end) = match_at(&p.slack_hook, text, s - 8) {
                    emit(s - 8, trim_sentence_end(text, s - 8, end), EntityType::SlackToken, 0.95);
                }
            }
            Anchor::Stripe if exact() && starts_word(b, s) => {
                if let Some(end) = match_at(&p.stripe, text, s).filter(|&x| ends_token(b, x)) {
                    emit(s, end, EntityType::StripeKey, 0.95);
                }
            }
            Anchor::StripeWebhook if exact() && starts_word(b, s) => {
                if let Some(end) = match_at(&p.stripe_webhook, text, s).filter(|&x| ends_token(b, x)) {
                    emit(s, end, EntityType::StripeKey, 0.95);
                }
            }
            Anchor::Anthropic if exact() && starts_word(b, s) => {
                if let Some(end) = match_at(&p.anthropic, text, s).filter(|&x| ends_token(b, x)) {
                    emit(s, end, EntityType::AnthropicApiKey, 0.97);
                }
            }
            Anchor::OpenAi if exact() && starts_word(b, s) && !text[s..].starts_with("sk-ant-") => {
                if let Some(end) = match_at(&p.openai, text, s).filter(|&x| ends_token(b, x)) {
                    let key = &text[s..end];
                    let body = key.rsplit('-').next().unwrap_or(key);
                    if key.contains("T3BlbkFJ")
                        || (["sk-proj-", "sk-svcacct-", "sk-admin-"]
                            .iter()
                            .any(|p| key.starts_with(p))
                            && key.len() >= 40)
                    {
                        emit(s, end, EntityType::OpenaiApiKey, 0.97);
                    } else if key.len() >= 35 && random_looking(body) {
                        // `sk-` keys of other providers (and OpenAI's oldest): a secret still.
                        emit(s, end, EntityType::GenericSecret, 0.8);
                    }
                }
            }
            Anchor::SchemeSep if s >= url_read_to => {
                url_read_to = url_end(text, e);
                if let Some((a, z, entity)) = url_credentials(text, s) {
                    emit(a, z, entity, if entity == EntityType::Password { 0.9 } else { 1.0 });
                }
            }
            Anchor::Jdbc if starts_word(b, s) && s >= url_read_to => {
                let end = url_end(text, e);
                url_read_to = end;
                let url = &text[s..end];
                if contains_ci(url.as_bytes(), b"password=") || contains_ci(url.as_bytes(), b"pwd=") {
                    emit(s, end, EntityType::DbConnectionString, 1.0);
                }
            }
            Anchor::AzureKey
                if s >= covered_to
                    && s >= chain_read_to
                    && !b.get(s.wrapping_sub(1)).is_some_and(u8::is_ascii_alphanumeric) =>
            {
                let r = key_value_chain(text, s);
                chain_read_to = r.map_or_else(|| memchr::memchr(b'\n', &b[s..]).map_or(b.len(), |n| s + n), |c| c.1);
                if let Some((a, z, entity)) = r {
                    emit(a, z, entity, 1.0);
                    covered_to = z;
                }
            }
            Anchor::Password if key_boundaries(b, s, e) && s >= covered_to => {
                // A connection string's `Password=` key: its segment read once.
                let chain = if s >= chain_read_to && b.get(skip_blank(b, e)) == Some(&b'=') {
                    let r = key_value_chain(text, s);
                    chain_read_to =
                        r.map_or_else(|| memchr::memchr(b'\n', &b[s..]).map_or(b.len(), |n| s + n), |c| c.1);
                    r
                } else {
                    None
                };
                if let Some((a, z, entity)) = chain {
                    emit(a, z, entity, 1.0);
                    covered_to = z;
                } else if let Some((a, z, strong)) = assigned_value(text, e, false)
                    && password_like(&text[a..z], strong, &text[s..e])
                {
                    emit(a, z, EntityType::Password, 0.9);
                }
            }
            Anchor::Secret if key_boundaries(b, s, e) => {
                if let Some((a, z, _)) = assigned_value(text, e, true)
                    && !text[a..z].starts_with("-----BEGIN")
                    && secret_like(&text[a..z])
                {
                    emit(a, z, EntityType::GenericSecret, 0.85);
                }
            }
            Anchor::MysqlPassword if &text[s..e] == " -p" => {
                // `mysql -u root -pSECRET`: the password glued to the flag, on a line that runs
                // a MySQL client.
                let from = s.saturating_sub(256);
                let line_start = memchr::memrchr(b'\n', &b[from..s]).map_or(from, |n| from + n + 1);
                let on_mysql = contains_ci(&b[line_start..s], b"mysql");
                let mut z = e + b[e..]
                    .iter()
                    .take(256)
                    .take_while(|c| !c.is_ascii_whitespace() && !matches!(c, b'"' | b'\''))
                    .count();
                while !text.is_char_boundary(z) {
                    z -= 1;
                }
                if on_mysql && z - e >= 3 && !placeholder(&text[e..z]) {
                    emit(e, z, EntityType::Password, 0.9);
                }
            }
            Anchor::Bearer if starts_word(b, s) => {
                let basic = text[s..e].eq_ignore_ascii_case("basic ");
                // `Basic` credentials only in an Authorization header: the word is common.
                if basic && !contains_ci(&b[s.saturating_sub(24)..s], b"authorization") {
                    continue;
                }
                let z = e + b[e..]
                    .iter()
                    .take(4096)
                    .take_while(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'~' | b'+' | b'/' | b'-' | b'=')
                    })
                    .count();
                if z - e >= 16 && random_looking(&text[e..z]) {
                    emit(e, z, EntityType::GenericSecret, 0.85);
                }
            }
            _ => {}
        }
    }
    found.extend(out);
}

/// Whether a key's characters after its prefix are filler (`sk_test_xxxxxxxx`, `ghp_0000…`):
/// a placeholder in documentation, no key.
fn filler(v: &str) -> bool {
    // AWS's and Google's documentation keys (`AKIAIOSFODNN7EXAMPLE`).
    if v.ends_with("EXAMPLE") || v.ends_with("EXAMPLEKEY") {
        return true;
    }
    let body = v.rsplit(['_', '-']).next().unwrap_or(v);
    // Keys whose prefix has no separator: `AKIA…`, `ASIA…`, `AIza…`.
    let body = if body.len() == v.len() && v.len() > 4 && v.is_char_boundary(4) {
        &v[4..]
    } else {
        body
    };
    if body.len() < 12 {
        return false;
    }
    let mut seen = [false; 256];
    let mut distinct = 0;
    for c in body.bytes() {
        if !seen[c as usize] {
            seen[c as usize] = true;
            distinct += 1;
        }
    }
    distinct <= 2
}

/// Whether `haystack` contains `needle` (ASCII, any case). Bytes, so a window taken at any
/// offset of a text is fine.
fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

fn has_digit(s: &str) -> bool {
    s.bytes().any(|c| c.is_ascii_digit())
}

/// `end` without a sentence's final period or comma (tokens whose alphabet holds `.` or `-`).
fn trim_sentence_end(text: &str, start: usize, mut end: usize) -> usize {
    while end > start && matches!(text.as_bytes()[end - 1], b'.' | b'-' | b',') {
        end -= 1;
    }
    end
}

/// Whether a key found at `s..e` stands as a key: no letter before it, and after it no
/// letter or digit (so `password_hash` and `tokenizer` are other keys, `DB_PASSWORD` is one).
fn key_boundaries(b: &[u8], s: usize, e: usize) -> bool {
    // After a letter only inside a camelCase name (`signingSecret`) or an environment
    // variable in capitals (`PGPASSWORD`).
    let camel = s > 0 && b[s].is_ascii_uppercase() && b[s - 1].is_ascii_lowercase();
    let env = s > 0 && b[s..e].iter().all(|c| !c.is_ascii_lowercase()) && b[s - 1].is_ascii_uppercase();
    let before_ok = s == 0 || !b[s - 1].is_ascii_alphabetic() || camel || env;
    let last = b[e - 1];
    // Keys ending in a space or `=` carry their own boundary.
    let after_ok = matches!(last, b' ' | b'=') || b.get(e).is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'));
    before_ok && after_ok
}

/// The value assigned after a key ending at `e`: `= v`, `: v`, `:= v`, `=> v`, `"key": "v"`,
/// `key is v` (when `strict` is false), quoted or not. Returns its bounds and whether the
/// assignment was explicit (`=`, `:=`, `=>`, or a quoted value), as in code and configuration.
fn assigned_value(text: &str, e: usize, strict: bool) -> Option<(usize, usize, bool)> {
    let b = text.as_bytes();
    let mut i = e;
    // The key's closing quote (`"password": ...`).
    let key_quoted = matches!(b.get(i), Some(b'"' | b'\''));
    if key_quoted {
        i += 1;
    }
    // A key named in a list of pairs: `{"key": "client_secret", "value": "..."}`.
    if key_quoted && let Some(n) = pair_value(&b[i..]) {
        i += n;
        return value_at(text, i, true);
    }
    // PHP's `define('DB_PASSWORD', '...')`.
    if key_quoted && b.get(skip_blank(b, i)) == Some(&b',') {
        let v = skip_blank(b, skip_blank(b, i) + 1);
        if matches!(b.get(v), Some(b'"' | b'\'')) {
            return value_at(text, v, true);
        }
    }
    // The query string of a URL: `&` ends a value there, not in a configuration file.
    let in_query = {
        let mut k = e;
        while k > 0 && (b[k - 1].is_ascii_alphanumeric() || b[k - 1] == b'_') {
            k -= 1;
        }
        k > 0 && matches!(b[k - 1], b'?' | b'&')
    };
    let skip_spaces = |mut i: usize| {
        let from = i;
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') && i - from < 8 {
            i += 1;
        }
        i
    };
    i = skip_spaces(i);
    let mut strong = true;
    if b[i..].starts_with(b":=") || b[i..].starts_with(b"=>") {
        i += 2;
    } else if b.get(i) == Some(&b'=') {
        i += 1;
    } else if b.get(i) == Some(&b':') {
        i += 1;
        strong = key_quoted;
    } else if !strict
        && i > e
        && (b[i..].starts_with(b"is ")
            || b[i..].starts_with(b"ist ")
            || b[i..].starts_with(b"est ")
            || b[i..].starts_with(b"es ")
            || b[i..].starts_with(b"era "))
    {
        i += b[i..].iter().position(|&c| c == b' ')? + 1;
        strong = false;
    } else {
        return None;
    }
    i = skip_spaces(i);
    let (start, end, quoted) = value_bounds(b, i, in_query)?;
    Some((start, end, strong || quoted))
}

/// Spaces and tabs skipped from `i`.
fn skip_blank(b: &[u8], mut i: usize) -> usize {
    let from = i;
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') && i - from < 24 {
        i += 1;
    }
    i
}

/// The bytes after a quoted key that lead to its value in a list of pairs (`", "value": "`).
fn pair_value(b: &[u8]) -> Option<usize> {
    let mut i = skip_blank(b, 0);
    if b.get(i) != Some(&b',') {
        return None;
    }
    i = skip_blank(b, i + 1);
    let rest = b.get(i..)?;
    let label = [&b"\"value\""[..], b"\"secret\"", b"\"val\""]
        .into_iter()
        .find(|l| rest.starts_with(l))?;
    i = skip_blank(b, i + label.len());
    if b.get(i) != Some(&b':') {
        return None;
    }
    Some(skip_blank(b, i + 1))
}

/// A value starting at `i` (quoted or not), as an explicit assignment.
fn value_at(text: &str, i: usize, strong: bool) -> Option<(usize, usize, bool)> {
    let (start, end, quoted) = value_bounds(text.as_bytes(), i, false)?;
    Some((start, end, strong || quoted))
}

/// The bounds of a value at `i`: up to its closing quote, or, unquoted, to a space or a
/// separator; and whether it was quoted.
fn value_bounds(b: &[u8], mut i: usize, in_query: bool) -> Option<(usize, usize, bool)> {
    let quote = match b.get(i) {
        Some(&q @ (b'"' | b'\'' | b'`')) => {
            i += 1;
            Some(q)
        }
        _ => None,
    };
    let start = i;
    let end = match quote {
        Some(q) => {
            let n = b[start..].iter().take(513).position(|&c| c == q || c == b'\n')?;
            if b[start + n] != q {
                return None;
            }
            start + n
        }
        None => {
            let mut end = start;
            while end < b.len() && end - start <= 512 {
                let c = b[end];
                let query_joint = c == b'&' && in_query && {
                    // `&next=` in a query string ends the value; `&` inside a password does not.
                    let rest = &b[end + 1..(end + 40).min(b.len())];
                    let key = rest
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                        .count();
                    key > 0 && rest.get(key) == Some(&b'=')
                };
                if c.is_ascii_whitespace()
                    || query_joint
                    || matches!(c, b',' | b';' | b')' | b']' | b'}' | b'>' | b'"' | b'\'' | b'<')
                {
                    break;
                }
                end += 1;
            }
            // A sentence's period after an unquoted value.
            while end > start && matches!(b[end - 1], b'.' | b':') {
                end -= 1;
            }
            end
        }
    };
    if end <= start || end - start > 512 {
        return None;
    }
    Some((start, end, quote.is_some()))
}

/// Whether `v` reads as a call in code (`getpass()`, `os.getenv("X")`): a name, then `(`.
fn is_call(v: &str) -> bool {
    v.find('(').is_some_and(|p| {
        p > 0
            && v[..p]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':'))
    })
}

/// Values that stand for a secret without being one.
fn placeholder(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let first = v.as_bytes()[0];
    let printf = first == b'%' && (v.len() <= 3 || v.ends_with('%') || v.starts_with("%("));
    if matches!(first, b'<' | b'$' | b'{' | b'[' | b'(')
        || printf
        || v.contains("{{")
        || is_call(v)
        || v.bytes().all(|c| c == v.as_bytes()[0])
        || v.chars()
            .all(|c| matches!(c, '*' | '•' | 'x' | 'X' | '.' | '-' | '_' | '#'))
    {
        return true;
    }
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "token",
        "changeme",
        "change_me",
        "changeit",
        "redacted",
        "removed",
        "hidden",
        "masked",
        "null",
        "none",
        "nil",
        "undefined",
        "true",
        "false",
        "required",
        "optional",
        "string",
        "str",
        "text",
        "example",
        "your_password",
        "yourpassword",
        "your-password",
        "mypassword",
        "your_api_key",
        "your-api-key",
        "your_token",
        "api_key",
        "apikey",
        "todo",
        "tbd",
        "n/a",
        "na",
        "empty",
        "blank",
        "default",
        "dummy",
        "test",
        "sample",
        "placeholder",
        "xxx",
        "secret_key",
        "env",
        "process.env",
        "reset",
        "expired",
        "incorrect",
        "wrong",
        "invalid",
        "required.",
        "protected",
        "please",
        "type",
        "bearer",
        "basic",
        "field",
        "input",
        "value",
        "here",
        "same",
        "sent",
        "set",
        "updated",
        "changed",
    ];
    if WORDS.contains(&lower.as_str()) || lower.starts_with("your") || lower.starts_with("my_") {
        return true;
    }
    // A dotted lowercase name in code (`config.password`, `os.environ`, `args.pwd`).
    let dotted = v.contains('.')
        && v.split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'));
    dotted || lower.starts_with("os.") || lower.starts_with("process.") || lower.starts_with("env.")
}

/// Whether `v` reads as a password: any non-placeholder value after an explicit assignment;
/// in prose (`password: ...`, `password is ...`) one with a digit or a symbol, so that words
/// ("Password: reset") are not taken for one.
fn password_like(v: &str, strong: bool, key: &str) -> bool {
    if v.len() < 3 || v.eq_ignore_ascii_case(key) || placeholder(v) {
        return false;
    }
    // `PWD=/srv/app` in a shell's log is the working directory.
    if key.eq_ignore_ascii_case("pwd") && (v.starts_with('/') || v.starts_with('~')) {
        return false;
    }
    if strong {
        return true;
    }
    let symbol_or_digit = v
        .bytes()
        .any(|c| c.is_ascii_digit() || (c.is_ascii_punctuation() && c != b'.'));
    v.chars().count() >= 6 && symbol_or_digit && !v.contains("://")
}

/// Whether `v` reads as a random secret: long enough, letters and digits mixed, no spaces.
fn secret_like(v: &str) -> bool {
    v.len() >= 12 && !placeholder(v) && random_looking(v)
}

/// Letters and digits both present and no whitespace: what generated keys look like, and
/// what words, sentences and file paths do not.
fn random_looking(v: &str) -> bool {
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    let letters = v.bytes().filter(u8::is_ascii_alphabetic).count();
    digits >= 2 && letters >= 4 && !v.bytes().any(|c| c.is_ascii_whitespace()) && !v.contains("://")
}

/// An AWS secret access key: 40 characters of base64 with letters of both cases (a SHA-1
/// digest in hex has one case only).
fn is_aws_secret(v: &str) -> bool {
    v.len() == 40
        && v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+')
        && v.bytes().any(|c| c.is_ascii_lowercase())
        && v.bytes().any(|c| c.is_ascii_uppercase())
}

/// An AWS secret access key within a few lines after its key id ending at `from`.
fn aws_secret_near(text: &str, from: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let to = (from + 300).min(b.len());
    let mut i = from;
    while i < to {
        if b[i].is_ascii_alphanumeric() || b[i] == b'/' || b[i] == b'+' {
            let start = i;
            while i < b.len() && i - start <= 41 && (b[i].is_ascii_alphanumeric() || b[i] == b'/' || b[i] == b'+') {
                i += 1;
            }
            let boundary = !b.get(i).is_some_and(|c| *c == b'_' || *c == b'-');
            if boundary && (start == 0 || !matches!(b[start - 1], b'_' | b'-')) && is_aws_secret(&text[start..i]) {
                return Some((start, i));
            }
        } else {
            i += 1;
        }
    }
    None
}

/// A PEM private key block starting at `s`: through its END line, or through its base64
/// body when the END line is missing (a truncated paste).
fn pem_block(text: &str, s: usize) -> Option<usize> {
    let p = &*PATTERNS;
    let m = p.pem_begin.search(
        &Input::new(text)
            .range(s..(s + 80).min(text.len()))
            .anchored(Anchored::Yes),
    )?;
    let header = &text[s..m.end()];
    let label = header.trim_start_matches("-----BEGIN ").trim_end_matches("-----");
    let end_line = format!("-----END {label}-----");
    let limit = (m.end() + 64 * 1024).min(text.len());
    let mut limit_at = limit;
    while !text.is_char_boundary(limit_at) {
        limit_at -= 1;
    }
    if let Some(n) = text[m.end()..limit_at].find(&end_line) {
        return Some(m.end() + n + end_line.len());
    }
    // No END line: the base64 body (its lines, or `\n` escapes inside JSON).
    let b = text.as_bytes();
    let mut i = m.end();
    let mut last = m.end();
    while i < limit_at {
        let c = b[i];
        if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=') {
            i += 1;
            last = i;
        } else if c == b'\n' || c == b'\r' || (c == b'\\' && b.get(i + 1) == Some(&b'n')) {
            i += if c == b'\\' { 2 } else { 1 };
        } else {
            break;
        }
    }
    (last > m.end() + 16).then_some(last)
}

/// Whether a JWT's first segment decodes to a JSON object that names an algorithm.
fn jwt_header_ok(token: &str) -> bool {
    let Some(header) = token.split('.').next() else {
        return false;
    };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header.trim_end_matches('=')) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.as_object().map(|o| o.contains_key("alg")))
        .unwrap_or(false)
}

/// Schemes of databases and brokers whose URLs carry their credentials.
const DB_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "postgresql+psycopg2",
    "postgresql+asyncpg",
    "mysql",
    "mysql+pymysql",
    "mariadb",
    "mongodb",
    "mongodb+srv",
    "redis",
    "rediss",
    "amqp",
    "amqps",
    "mssql",
    "sqlserver",
    "oracle",
    "cockroachdb",
    "clickhouse",
    "cassandra",
    "neo4j",
    "neo4j+s",
    "couchbase",
    "db2",
    "snowflake",
];

/// Where a URL starting before `from` ends: at whitespace, a quote or an angle bracket, less
/// a sentence's trailing punctuation.
fn url_end(text: &str, from: usize) -> usize {
    let b = text.as_bytes();
    let n = b[from..]
        .iter()
        .take(4096)
        .take_while(|&&c| !c.is_ascii_whitespace() && !matches!(c, b'"' | b'\'' | b'`' | b'<' | b'>'))
        .count();
    let mut end = from + n;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    while end > from && matches!(b[end - 1], b'.' | b',' | b';' | b')' | b']' | b'}') {
        end -= 1;
    }
    end
}

/// Credentials in the URL whose `://` is at `sep`: a database URL with them is a connection
/// string (the whole URL); another URL's password is a password (its characters only).
fn url_credentials(text: &str, sep: usize) -> Option<(usize, usize, EntityType)> {
    let b = text.as_bytes();
    let mut a = sep;
    while a > 0 && sep - a < 40 && (b[a - 1].is_ascii_alphanumeric() || matches!(b[a - 1], b'+' | b'.' | b'-')) {
        a -= 1;
    }
    if a == sep {
        return None;
    }
    let scheme = text[a..sep].to_ascii_lowercase();
    let jdbc = a >= 5 && b[a - 5..a].eq_ignore_ascii_case(b"jdbc:");
    let start = if jdbc { a - 5 } else { a };
    let end = url_end(text, sep + 3);
    let rest = &text[sep + 3..end];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let userinfo = authority.rfind('@').map(|at| &authority[..at]);
    let password = userinfo.and_then(|u| u.find(':').map(|c| (c, &u[c + 1..])));
    let is_db = DB_SCHEMES.contains(&scheme.as_str()) || jdbc;
    match password {
        Some((c, pw)) if !pw.is_empty() && !placeholder(pw) => {
            if is_db {
                Some((start, end, EntityType::DbConnectionString))
            } else {
                let pw_start = sep + 3 + c + 1;
                Some((pw_start, pw_start + pw.len(), EntityType::Password))
            }
        }
        _ if is_db && (contains_ci(rest.as_bytes(), b"password=") || contains_ci(rest.as_bytes(), b"pwd=")) => {
            Some((start, end, EntityType::DbConnectionString))
        }
        _ => None,
    }
}

/// Keys that start a connection string of `key=value;` pairs.
const CHAIN_STARTS: &[&str] = &[
    "server=",
    "data source=",
    "datasource=",
    "host=",
    "address=",
    "addr=",
    "network address=",
    "provider=",
    "driver=",
    "dsn=",
    "defaultendpointsprotocol=",
    "endpoint=",
    "accountname=",
    "hostname=",
    "user id=",
    "uid=",
    "username=",
    "database=",
    "initial catalog=",
];

/// A connection string of `key=value;` pairs around `at` (a `Password=` or `AccountKey=`
/// key): an Azure one when it holds an account or shared access key, a database one when it
/// names a server. `None` for a lone assignment.
fn key_value_chain(text: &str, at: usize) -> Option<(usize, usize, EntityType)> {
    let b = text.as_bytes();
    // The segment: the line (or quoted string) holding `at`, at most 1 KiB each way.
    let stop = |c: u8| matches!(c, b'\n' | b'\r' | b'"' | b'\'' | b'`');
    let mut seg_start = at;
    while seg_start > 0 && at - seg_start < 1024 && !stop(b[seg_start - 1]) {
        seg_start -= 1;
    }
    let mut seg_end = at;
    while seg_end < b.len() && seg_end - at < 1024 && !stop(b[seg_end]) {
        seg_end += 1;
    }
    while !text.is_char_boundary(seg_start) {
        seg_start += 1;
    }
    while !text.is_char_boundary(seg_end) {
        seg_end -= 1;
    }
    let seg = &text[seg_start..seg_end];
    if !seg[at - seg_start..].contains('=') || !seg.contains(';') {
        return None;
    }
    let lower = seg.to_ascii_lowercase();
    // The chain starts at the first starting key before `at` that stands as a key.
    let rel = at - seg_start;
    let first = CHAIN_STARTS
        .iter()
        .filter_map(|k| {
            lower[..=rel.min(lower.len() - 1)]
                .match_indices(k)
                .map(|(i, _)| i)
                .find(|&i| i == 0 || matches!(lower.as_bytes()[i - 1], b';' | b' ' | b'=' | b'\t' | b':' | b'('))
        })
        .min()
        .unwrap_or(rel);
    // Walk the pairs from there: each `key=value`, separated by `;`.
    let mut end = first;
    let mut offset = first;
    let mut pairs = 0;
    let mut names_server = false;
    let mut has_secret = false;
    let mut azure = false;
    let mut has_password = false;
    for piece in seg[first..].split_inclusive(';') {
        let body = piece.trim_end_matches(';');
        let Some(eq) = body.find('=') else { break };
        let key = body[..eq].trim().to_ascii_lowercase();
        let value = body[eq + 1..].trim();
        let key_ok = !key.is_empty()
            && key.len() <= 40
            && key
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b' ' | b'_' | b'.' | b'-'));
        if !key_ok {
            break;
        }
        pairs += 1;
        match key.as_str() {
            "server" | "data source" | "datasource" | "host" | "address" | "addr" | "network address" | "hostname" => {
                names_server = true
            }
            "accountkey" | "sharedaccesskey" if value.len() >= 20 => {
                has_secret = true;
                azure = true;
            }
            "defaultendpointsprotocol" | "accountname" | "endpoint" | "sharedaccesskeyname" | "endpointsuffix" => {
                azure = true
            }
            "password" | "pwd" if !value.is_empty() && !placeholder(value) => has_password = true,
            _ => {}
        }
        end = seg_start + offset + piece.trim_end().len();
        if !piece.ends_with(';') {
            // A last value that runs on past a space is prose after the string.
            let keeps_spaces = matches!(
                key.as_str(),
                "provider" | "password" | "pwd" | "accountkey" | "sharedaccesskey"
            );
            if let Some(sp) = body[eq + 1..].find(' ').filter(|_| !keeps_spaces) {
                end = seg_start + offset + eq + 1 + sp;
            }
            break;
        }
        offset += piece.len();
    }
    if pairs < 2 || end <= seg_start + first {
        return None;
    }
    let start = seg_start + first;
    if azure && has_secret {
        Some((start, end, EntityType::AzureConnectionString))
    } else if names_server && has_password {
        Some((start, end, EntityType::DbConnectionString))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(EntityType, String)> {
        let mut spans = Vec::new();
        find(text, &Options::default(), &mut spans);
        spans.sort_by_key(|s| s.start);
        spans
            .into_iter()
            .map(|s| (s.entity, text[s.start..s.end].to_string()))
            .collect()
    }

    fn has(text: &str, entity: EntityType, value: &str) -> bool {
        let f = found(text);
        let ok = f.iter().any(|(e, v)| *e == entity && v == value);
        if !ok {
            eprintln!("{text:?}: {f:?}");
        }
        ok
    }

    #[test]
    fn vendor_keys_by_their_formats() {
        use EntityType::*;
        assert!(has(
            "export AWS_ACCESS_KEY_ID=AKIAZ3MHQ7PLX2TV5BRN",
            AwsAccessKeyId,
            "AKIAZ3MHQ7PLX2TV5BRN"
        ));
        assert!(has(
            "aws_secret_access_key = Vb3x9Kq2LmN8pR4tW7yZ1aC5eG0iJ6oU2sD8fH3k",
            AwsSecretAccessKey,
            "Vb3x9Kq2LmN8pR4tW7yZ1aC5eG0iJ6oU2sD8fH3k"
        ));
        assert!(has(
            "AKIAZ3MHQ7PLX2TV5BRN,Vb3x9Kq2LmN8pR4tW7yZ1aC5eG0iJ6oU2sD8fH3k",
            AwsSecretAccessKey,
            "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"
        ));
        assert!(has(
            "key=AIzaSyD4f8Kq1Lm9Nx2Pz7Rt5Vw3Yb6Cd0Ef1Gh",
            GcpApiKey,
            "AIzaSyD4f8Kq1Lm9Nx2Pz7Rt5Vw3Yb6Cd0Ef1Gh"
        ));
        assert!(has(
            "token ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8 expired",
            GithubToken,
            "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
        ));
        assert!(has(
            "GITLAB_TOKEN=glpat-Xy7Kp2Lm9Qr4St1Vw8Zb",
            GitlabToken,
            "glpat-Xy7Kp2Lm9Qr4St1Vw8Zb"
        ));
        assert!(has(
            "SLACK_BOT_TOKEN=xoxb-2048123456-4096123456789-AbCdEfGhIjKlMnOpQrStUvWx",
            SlackToken,
            "xoxb-2048123456-4096123456789-AbCdEfGhIjKlMnOpQrStUvWx"
        ));
        assert!(has(
            "post to https://hooks.slack.com/services/T01ABCD2EFG/B02HIJK3LMN/aBcDeFgHiJkLmNoPqRsTuVwX.",
            SlackToken,
            "https://hooks.slack.com/services/T01ABCD2EFG/B02HIJK3LMN/aBcDeFgHiJkLmNoPqRsTuVwX"
        ));
        assert!(has(
            "stripe.api_key = 'sk_live_51Hx9Kq2LmN8pR4tW7yZ1aC5e'",
            StripeKey,
            "sk_live_51Hx9Kq2LmN8pR4tW7yZ1aC5e"
        ));
        assert!(has(
            "OPENAI_API_KEY=sk-proj-Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9No2Qr5Tu8",
            OpenaiApiKey,
            "sk-proj-Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9No2Qr5Tu8"
        ));
        assert!(has(
            "key sk-Ab3De6Gh9Jk2Mn5Pq8StT3BlbkFJ1Vw4Yz7Bc0Ef3Hi6Kl9No2",
            OpenaiApiKey,
            "sk-Ab3De6Gh9Jk2Mn5Pq8StT3BlbkFJ1Vw4Yz7Bc0Ef3Hi6Kl9No2"
        ));
        let ant = "sk-ant-api03-Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9No2Qr5Tu8Wx1Za4Cd7Fg0Ij3Lm6Op9Rs2Uv5Xy8Ab1De4Gh7Jk0Mn3Pq6StAA";
        assert!(has(&format!("ANTHROPIC_API_KEY=\"{ant}\""), AnthropicApiKey, ant));
    }

    #[test]
    fn private_keys_jwts_and_connection_strings() {
        use EntityType::*;
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx3k9\nq8Lm2Pz==\n-----END RSA PRIVATE KEY-----";
        assert!(has(&format!("here:\n{pem}\nthanks"), PrivateKey, pem));
        let escaped = r"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
        let json = format!("{{\"type\": \"service_account\", \"private_key\": \"{escaped}\"}}");
        assert!(has(
            &json,
            PrivateKey,
            r"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
        ));
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert!(has(&format!("Authorization: Bearer {jwt}"), Jwt, jwt));
        assert!(has(
            "DATABASE_URL=postgres://app:S3cr3t!pw@db.internal:5432/orders",
            DbConnectionString,
            "postgres://app:S3cr3t!pw@db.internal:5432/orders"
        ));
        assert!(has(
            "conn = \"Server=tcp:sql1.example.net,1433;Database=crm;User Id=sa;Password=Winter2025!;\"",
            DbConnectionString,
            "Server=tcp:sql1.example.net,1433;Database=crm;User Id=sa;Password=Winter2025!;"
        ));
        let azure = "DefaultEndpointsProtocol=https;AccountName=stprod01;AccountKey=q8Lm2Pz7Xv4Kt9Rw1Ys6Bn3Ud0Hf5Jc8Ga2Me7Wo4Ti1==;EndpointSuffix=core.windows.net";
        assert!(has(
            &format!("AZURE_STORAGE_CONNECTION_STRING={azure}"),
            AzureConnectionString,
            azure
        ));
        assert!(has(
            "git clone https://deploy:hunter2x@git.example.com/repo.git",
            Password,
            "hunter2x"
        ));
    }

    #[test]
    fn passwords_by_their_keys() {
        use EntityType::*;
        assert!(has("DB_PASSWORD=Summer2024!", Password, "Summer2024!"));
        assert!(has("{\"password\": \"correct horse\"}", Password, "correct horse"));
        assert!(has("user: admin pw: Welcome123", Password, "Welcome123"));
        assert!(has("my password is Tr0ub4dor&3 btw", Password, "Tr0ub4dor&3"));
        assert!(has("Passwort: Sommer2024#", Password, "Sommer2024#"));
        assert!(has("mot de passe : Soleil!77", Password, "Soleil!77"));
        assert!(has("contraseña=Madrid_2023", Password, "Madrid_2023"));
        assert!(has(
            "define( 'DB_PASSWORD',   '*b=Chi2j&tYwz%Uac8fx4' );",
            Password,
            "*b=Chi2j&tYwz%Uac8fx4"
        ));
        assert!(has(
            "$ mysql -h db -u root -psonne123 shop < dump.sql",
            Password,
            "sonne123"
        ));
        assert!(has("$ PGPASSWORD='U%V_UoPq2' psql -h db", Password, "U%V_UoPq2"));
        assert!(has(
            "spring.mail.password=NFOD6&n6RbiB=2VO5Uh",
            Password,
            "NFOD6&n6RbiB=2VO5Uh"
        ));
        assert!(has(
            "    signingSecret: '5411ae2eef1d49b2a73d3206b769aa11',",
            GenericSecret,
            "5411ae2eef1d49b2a73d3206b769aa11"
        ));
        assert!(has(
            "{ \"key\": \"client_secret\", \"value\": \"wnXlVsxqnybIJ2KAWhhZv6uk\" }",
            GenericSecret,
            "wnXlVsxqnybIJ2KAWhhZv6uk"
        ));
        assert!(has(
            "      JWT_SECRET: 6DU7o8q5aFFyhVAxViBYwQWG4cllryTT",
            GenericSecret,
            "6DU7o8q5aFFyhVAxViBYwQWG4cllryTT"
        ));
        assert!(has(
            "api_key = \"9f8e7d6c5b4a39281706f5e4d3c2b1a0\"",
            GenericSecret,
            "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
        ));
    }

    /// A credential is never cut by another type's span inside it, whatever that one scores.
    #[test]
    fn a_secret_wins_over_what_overlaps_it() {
        let a = crate::Analyzer::new();
        let opts = Options::default();
        let t = "git clone https://deploy:Tr0ub4dor&3@git.example.com/r.git";
        let spans = a.analyze(t, &opts);
        assert!(
            spans
                .iter()
                .any(|s| s.entity == EntityType::Password && &t[s.start..s.end] == "Tr0ub4dor&3"),
            "{spans:?}"
        );
        let t = "conn: Server=db;User Id=sa;Password=correct horse battery";
        let spans = a.analyze(t, &opts);
        assert!(
            spans
                .iter()
                .any(|s| s.entity == EntityType::DbConnectionString && t[s.start..s.end].ends_with("battery")),
            "{spans:?}"
        );
        let deny =
            crate::CustomConfig::from_toml("[[recognizers]]\nentity = \"PROJECT\"\ndeny_list = [\"acme\"]\n").unwrap();
        let a = crate::Analyzer::with_custom(&deny.recognizers).unwrap();
        let t = "password: acme-2024!";
        let spans = a.analyze(t, &opts);
        assert!(
            spans
                .iter()
                .any(|s| s.entity == EntityType::Password && &t[s.start..s.end] == "acme-2024!"),
            "{spans:?}"
        );
    }

    #[test]
    fn look_alikes_are_no_secrets() {
        for text in [
            "Your password was reset yesterday.",
            "Password: reset successful",
            "password = os.environ['DB_PASSWORD']",
            "password: ${DB_PASSWORD}",
            "password=<your password>",
            "PASSWORD=changeme",
            "commit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39 fixed it",
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "id 123e4567-e89b-12d3-a456-426614174000",
            "pk_live_51Hx9Kq2LmN8pR4tW7yZ1aC5e is the publishable key",
            "STRIPE_SECRET_KEY=sk_test_xxxxxxxxxxxxxxxxxxxxxxxx",
            "AKIAIOSFODNN7EXAMPLE is the documentation's key",
            "AKIAXXXXXXXXXXXXXXXX",
            "PWD=/srv/app ; USER=root",
            "the task-sk-force met; the token count is 4096",
            "password_hash = $2b$12$abcdefghijklmnopqrstuv",
            "AKIAIOSFODNN7EXAMPL is too short",
            "see https://example.com/user:name@x",
            "risk-averse and desk-bound",
        ] {
            let f = found(text);
            assert!(f.is_empty(), "{text}: {f:?}");
        }
    }

    #[test]
    fn long_and_odd_inputs_are_bounded() {
        let t = "password=".repeat(20_000);
        let _ = found(&t);
        let t = format!("-----BEGIN PRIVATE KEY-----\n{}", "A".repeat(200_000));
        let f = found(&t);
        assert_eq!(f.len(), 1);
        let t = "Server=a;".repeat(10_000) + "Password=x1";
        let _ = found(&t);
        let _ = found("pw");
        let _ = found("password: \"");
        let _ = found("ñpasswordñ=ñ");
        // Byte windows before an anchor never split a character.
        let _ = found("ééééééééééééééééééé basic QWxhZGRpbjpvcGVuIHNlc2FtZTEyMzQ1Njc4OTA=");
        let _ = found("éépostgres://u:p@h/db");
        let _ = found("ééé://u:p@h");
    }
}
