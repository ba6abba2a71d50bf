//! `datapact pii scan`, `mask`, `reveal`: the PII engine over files or standard input, line by
//! line, so inputs of any size run in bounded memory; `pii corpus` and `pii score`: the labeled
//! evaluation corpus and a scorer for any detector's output in the same JSONL form.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use datapact_pii::eval::{Labeled, Scores};
use datapact_pii::{
    Analyzer, CustomConfig, EntityType, Operator, Options, Pseudonymizer, Span, anonymize, to_char_offsets,
};
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Subcommand)]
pub enum PiiCmd {
    /// Find personal data. Text input: a listing; `--jsonl`: one `{"spans": [...]}` line per
    /// input line, with Unicode code point offsets (as Python string indices).
    Scan(ScanArgs),
    /// Rewrite personal data with an operator.
    Mask(MaskArgs),
    /// Decrypt what `pii mask --operator encrypt` wrote, with the same key.
    Reveal(RevealArgs),
    /// Write the generated labeled corpus as JSONL: `{"text": ..., "spans": [{"start", "end",
    /// "type"}]}`, code point offsets.
    Corpus(CorpusArgs),
    /// Score a detector's spans (JSONL, one `{"spans": [...]}` line per corpus line, as `pii
    /// scan --jsonl` writes them) against a labeled corpus: precision, recall and F1 per type.
    Score(ScoreArgs),
}

#[derive(Args)]
pub struct CorpusArgs {
    /// How many texts.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Seed: the same seed gives the same corpus.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
}

#[derive(Args)]
pub struct ScoreArgs {
    /// The labeled corpus (JSONL with `spans`).
    gold: PathBuf,
    /// The detector's output (JSONL with `spans`), line for line.
    predicted: PathBuf,
    /// Only spans scoring at least this count (0 to 1; spans without a score always count).
    #[arg(long, default_value_t = 0.0)]
    min_score: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RevealArgs {
    /// Input file, or `-` (the default) for standard input.
    #[arg(default_value = "-")]
    file: PathBuf,
    /// The 256-bit key, base64.
    #[arg(long, env = "DATAPACT_PII_ENCRYPT_KEY", hide_env_values = true)]
    encrypt_key: Option<String>,
}

/// A 256-bit key from base64, or an error naming where it came from.
fn encrypt_key(b64: Option<&str>) -> Result<[u8; 32]> {
    use base64::Engine;
    let b64 = b64.ok_or_else(|| anyhow!("needs --encrypt-key (or DATAPACT_PII_ENCRYPT_KEY): 32 bytes, base64"))?;
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .ok_or_else(|| anyhow!("--encrypt-key must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)"))
}

#[derive(Args)]
pub struct Input {
    /// Input file, or `-` (the default) for standard input.
    #[arg(default_value = "-")]
    file: PathBuf,
    /// Each line is a JSON object; the text is in `--field`.
    #[arg(long)]
    jsonl: bool,
    /// The field holding the text, with --jsonl.
    #[arg(long, default_value = "text", requires = "jsonl")]
    field: String,
    /// Only these entity types (comma-separated, Presidio names, e.g. EMAIL_ADDRESS,PHONE_NUMBER).
    #[arg(long, value_delimiter = ',')]
    entities: Vec<String>,
    /// Drop spans scoring below this (0 to 1).
    #[arg(long, default_value_t = 0.5)]
    min_score: f32,
    /// Replace invalid UTF-8 instead of stopping at it.
    #[arg(long)]
    lossy: bool,
    /// Custom recognizers (TOML: `[[recognizers]]` with `entity` and `pattern` or `deny_list`).
    #[arg(long, value_name = "FILE")]
    recognizers: Option<PathBuf>,
    /// Regions whose national phone formats count (ISO codes, comma-separated; international
    /// numbers count everywhere).
    #[arg(long, value_delimiter = ',', default_values = datapact_pii::phone::DEFAULT_REGIONS)]
    phone_regions: Vec<String>,
}

#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    input: Input,
}

#[derive(Copy, Clone, ValueEnum)]
pub enum OperatorArg {
    /// `<ENTITY_TYPE>`.
    Replace,
    /// `*` for every character but the last four.
    Mask,
    /// Removed.
    Redact,
    /// `<ENTITY_TYPE:keyed hash>`; needs --hash-key or DATAPACT_PII_HASH_KEY.
    Hash,
    /// `<ENTITY_TYPE_N>`, the same value always the same placeholder within this input.
    Pseudonymize,
    /// `<ENTITY_TYPE:enc:…>`, reversible with `pii reveal`; needs --encrypt-key.
    Encrypt,
}

#[derive(Args)]
pub struct MaskArgs {
    #[command(flatten)]
    input: Input,
    /// How spans are rewritten.
    #[arg(long, value_enum, default_value = "replace")]
    operator: OperatorArg,
    /// Key of the keyed hash (e.g. per tenant), for --operator hash.
    #[arg(long, env = "DATAPACT_PII_HASH_KEY", hide_env_values = true)]
    hash_key: Option<String>,
    /// 256-bit key (base64) for --operator encrypt.
    #[arg(long, env = "DATAPACT_PII_ENCRYPT_KEY", hide_env_values = true)]
    encrypt_key: Option<String>,
}

impl Input {
    fn options(&self) -> Result<Options> {
        if !(0.0..=1.0).contains(&self.min_score) {
            bail!("--min-score must be between 0 and 1");
        }
        let entities = if self.entities.is_empty() {
            None
        } else {
            Some(
                self.entities
                    .iter()
                    .map(|e| {
                        e.trim().parse::<EntityType>().map_err(|err| {
                            let all: Vec<&str> = EntityType::ALL.iter().map(|e| e.as_str()).collect();
                            anyhow!("--entities: {err}; known: {}", all.join(", "))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
            )
        };
        let mut regions = Vec::with_capacity(self.phone_regions.len());
        for r in &self.phone_regions {
            let code = r.trim().to_ascii_uppercase();
            if !datapact_pii::phone::is_region(&code) {
                let hint = if code == "UK" {
                    " (the United Kingdom is GB)"
                } else {
                    ""
                };
                bail!(
                    "--phone-regions: `{}` is not a region of the phone numbering plan{hint}; use ISO 3166 codes such as US, GB, DE",
                    r.trim()
                );
            }
            regions.push(code);
        }
        Ok(Options {
            entities,
            min_score: self.min_score,
            phone_regions: Some(regions),
        })
    }

    /// The analyzer, with the custom recognizers of `--recognizers` if given. Their entity
    /// types are declared here, so `--entities` (checked after) may name them.
    fn analyzer(&self) -> Result<Analyzer> {
        let Some(path) = &self.recognizers else {
            return Ok(Analyzer::new());
        };
        let name = path.display();
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
        let config = CustomConfig::from_toml(&text).map_err(|e| anyhow!("{name}: {e}"))?;
        Analyzer::with_custom(&config.recognizers).map_err(|e| anyhow!("{name}: {e}"))
    }

    fn name(&self) -> String {
        if self.file.as_os_str() == "-" {
            "standard input".into()
        } else {
            self.file.display().to_string()
        }
    }

    /// Calls `f` with each line (without its line ending), its 1-based number, and its ending
    /// (`"\r\n"`, `"\n"`, or `""` for a last line without one), so output can keep them.
    fn lines(&self, mut f: impl FnMut(&str, usize, &str) -> Result<()>) -> Result<()> {
        let name = self.name();
        let reader: Box<dyn BufRead> = if self.file.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::io::BufReader::new(
                std::fs::File::open(&self.file).with_context(|| format!("cannot read {name}"))?,
            ))
        };
        let mut reader = reader;
        let mut buf = Vec::new();
        let (mut line_no, mut offset) = (0usize, 0usize);
        loop {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .with_context(|| format!("cannot read {name}"))?;
            if n == 0 {
                return Ok(());
            }
            line_no += 1;
            let (body, ending) = match buf.strip_suffix(b"\n") {
                Some(b) => match b.strip_suffix(b"\r") {
                    Some(b) => (b, "\r\n"),
                    None => (b, "\n"),
                },
                None => (&buf[..], ""),
            };
            let text = match std::str::from_utf8(body) {
                Ok(t) => std::borrow::Cow::Borrowed(t),
                Err(_) if self.lossy => String::from_utf8_lossy(body),
                Err(e) => bail!(
                    "{name}: line {line_no}: invalid UTF-8 at byte {} (pass --lossy to replace it)",
                    offset + e.valid_up_to()
                ),
            };
            f(&text, line_no, ending)?;
            offset += n;
        }
    }

    /// Calls `f` with each paragraph of the input: lines up to a blank line (which ends the
    /// paragraph it follows and is passed on as one of its own), with their endings, at most
    /// [`PARAGRAPH_BYTES`] (a longer line is a paragraph by itself). Names, addresses and their
    /// cues run across lines; a paragraph keeps them in one text.
    fn paragraphs(&self, mut f: impl FnMut(&Paragraph) -> Result<()>) -> Result<()> {
        let mut para = Paragraph::default();
        self.lines(|line, line_no, ending| {
            let blank = line.trim().is_empty();
            if !para.text.is_empty() && (blank || para.text.len() + line.len() + ending.len() > PARAGRAPH_BYTES) {
                f(&para)?;
                para.clear();
            }
            para.push(line, line_no, ending);
            if blank {
                f(&para)?;
                para.clear();
            }
            Ok(())
        })?;
        if !para.text.is_empty() {
            f(&para)?;
        }
        Ok(())
    }

    /// The text of a JSON line's field.
    fn field_of(&self, line: &str, line_no: usize) -> Result<(Value, String)> {
        let name = self.name();
        let v: Value =
            serde_json::from_str(line).map_err(|e| anyhow!("{name}: line {line_no}: not a JSON object: {e}"))?;
        let text = v
            .get(&self.field)
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("{name}: line {line_no}: no string field `{}`", self.field))?
            .to_string();
        Ok((v, text))
    }
}

pub fn run(cmd: PiiCmd) -> Result<ExitCode> {
    match scan_or_mask(cmd) {
        // A reader that went away (`| head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        other => other,
    }
}

fn scan_or_mask(cmd: PiiCmd) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match cmd {
        PiiCmd::Corpus(a) => {
            for sample in datapact_pii::eval::corpus(a.samples, a.seed) {
                let spans = sample
                    .gold_chars()
                    .into_iter()
                    .map(|(start, end, entity)| GoldSpan { start, end, entity })
                    .collect();
                let line = GoldLine {
                    text: &sample.text,
                    spans,
                };
                writeln!(out, "{}", serde_json::to_string(&line)?)?;
            }
        }
        PiiCmd::Score(a) => {
            if !(0.0..=1.0).contains(&a.min_score) {
                bail!("--min-score must be between 0 and 1");
            }
            let (gold, lengths) = read_spans(&a.gold, None, None)?;
            let (predicted, _) = read_spans(&a.predicted, Some(a.min_score), Some(&lengths))?;
            if gold.len() != predicted.len() {
                bail!(
                    "{} has {} lines but {} has {}: the output must have one line per corpus line",
                    a.gold.display(),
                    gold.len(),
                    a.predicted.display(),
                    predicted.len()
                );
            }
            let decoys = read_decoys(&a.gold)?;
            let scores = datapact_pii::eval::score(&gold, &predicted);
            let summary = datapact_pii::eval::summarize(&scores, &gold, &predicted, &decoys);
            print_scores(&mut out, &scores, &summary, a.json)?;
        }
        PiiCmd::Scan(a) if !a.input.jsonl => {
            // Text: a paragraph at a time, so what runs across lines keeps its context (an
            // address's postcode on the next line, a name below its sign-off).
            let analyzer = a.input.analyzer()?;
            let opts = a.input.options()?;
            a.input.paragraphs(|para| {
                let spans = analyzer.analyze(&para.text, &opts);
                for (s, (line_no, col)) in spans.iter().zip(para.positions(&spans)) {
                    let shown = para.text[s.start..s.end].replace("\r\n", "\\n").replace('\n', "\\n");
                    writeln!(out, "{line_no}:{col}\t{}\t{:.2}\t{shown}", s.entity, s.score)?;
                }
                Ok(())
            })?;
        }
        PiiCmd::Scan(a) => {
            let analyzer = a.input.analyzer()?;
            let opts = a.input.options()?;
            // `--jsonl`: each line's field is one text.
            a.input.lines(|line, line_no, _| {
                if line.trim().is_empty() {
                    // One output line per input line, so outputs line up with inputs.
                    writeln!(out, "{{\"spans\":[]}}")?;
                    return Ok(());
                }
                let (_, text) = a.input.field_of(line, line_no)?;
                let mut spans = analyzer.analyze(&text, &opts);
                to_char_offsets(&text, &mut spans);
                let spans: Vec<OutSpan> = spans
                    .iter()
                    .map(|s| OutSpan {
                        start: s.start,
                        end: s.end,
                        entity: s.entity.as_str(),
                        score: round(s.score),
                    })
                    .collect();
                // Serialized from the struct, so fields keep their order.
                writeln!(out, "{}", serde_json::to_string(&SpansLine { spans })?)?;
                Ok(())
            })?;
        }
        PiiCmd::Reveal(a) => {
            let key = encrypt_key(a.encrypt_key.as_deref())?;
            let input = Input {
                file: a.file,
                jsonl: false,
                field: String::new(),
                entities: Vec::new(),
                min_score: 0.5,
                lossy: false,
                recognizers: None,
                phone_regions: Vec::new(),
            };
            let name = input.name();
            input.lines(|line, line_no, ending| {
                let plain = datapact_pii::reveal(line, &key).map_err(|e| anyhow!("{name}: line {line_no}: {e}"))?;
                write!(out, "{plain}{ending}")?;
                Ok(())
            })?;
        }
        PiiCmd::Mask(a) => {
            let analyzer = a.input.analyzer()?;
            let opts = a.input.options()?;
            let op = match a.operator {
                OperatorArg::Replace => Operator::Replace,
                OperatorArg::Mask => Operator::Mask { ch: '*', keep_last: 4 },
                OperatorArg::Redact => Operator::Redact,
                OperatorArg::Hash => Operator::Hash {
                    key: a
                        .hash_key
                        .clone()
                        .filter(|k| k.len() >= 16)
                        .ok_or_else(|| {
                            anyhow!(
                                "--operator hash needs --hash-key (or DATAPACT_PII_HASH_KEY) of at least 16 characters"
                            )
                        })?
                        .into_bytes(),
                },
                OperatorArg::Pseudonymize => Operator::Pseudonymize,
                OperatorArg::Encrypt => Operator::Encrypt {
                    key: encrypt_key(a.encrypt_key.as_deref())?,
                },
            };
            let mut pseudo = Pseudonymizer::new();
            if !a.input.jsonl {
                // Text: a paragraph at a time, as `scan` reads it; a span across a line break is
                // replaced line by line, so the output keeps its lines.
                a.input.paragraphs(|para| {
                    let spans = para.split_at_lines(&analyzer.analyze(&para.text, &opts));
                    write!(out, "{}", anonymize(&para.text, &spans, &op, &mut pseudo)?)?;
                    Ok(())
                })?;
            } else {
                a.input.lines(|line, line_no, ending| {
                    if line.trim().is_empty() {
                        write!(out, "{ending}")?;
                        return Ok(());
                    }
                    // Only the text field changes: the other members keep their order and
                    // their exact values (large integers, `1.10`).
                    let name = a.input.name();
                    let at = |e: String| anyhow!("{name}: line {line_no}: {e}");
                    let OrderedObject(mut members) =
                        serde_json::from_str(line).map_err(|e| at(format!("not a JSON object: {e}")))?;
                    let slot = members
                        .iter_mut()
                        .find(|(k, _)| *k == a.input.field)
                        .ok_or_else(|| at(format!("no string field `{}`", a.input.field)))?;
                    let text: String = serde_json::from_str(slot.1.get())
                        .map_err(|_| at(format!("no string field `{}`", a.input.field)))?;
                    let spans: Vec<Span> = analyzer.analyze(&text, &opts);
                    let masked = anonymize(&text, &spans, &op, &mut pseudo)?;
                    slot.1 = RawValue::from_string(serde_json::to_string(&masked)?)?;
                    write!(out, "{{")?;
                    for (i, (k, v)) in members.iter().enumerate() {
                        let sep = if i == 0 { "" } else { "," };
                        write!(out, "{sep}{}:{}", serde_json::to_string(k)?, v.get())?;
                    }
                    write!(out, "}}{ending}")?;
                    Ok(())
                })?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A JSON object's members in their order, their values as written.
struct OrderedObject(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut members = Vec::new();
                while let Some(kv) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push(kv);
                }
                Ok(OrderedObject(members))
            }
        }
        d.deserialize_map(Members)
    }
}

/// One line of `pii corpus`.
#[derive(serde::Serialize)]
struct GoldLine<'a> {
    text: &'a str,
    spans: Vec<GoldSpan>,
}

/// A labeled span: code point offsets, end exclusive.
#[derive(serde::Serialize)]
struct GoldSpan {
    start: usize,
    end: usize,
    #[serde(rename = "type")]
    entity: String,
}

/// One output line of `pii scan --jsonl`.
#[derive(serde::Serialize)]
struct SpansLine {
    spans: Vec<OutSpan>,
}

/// A span as `pii scan --jsonl` writes it: code point offsets, end exclusive.
#[derive(serde::Serialize)]
struct OutSpan {
    start: usize,
    end: usize,
    #[serde(rename = "type")]
    entity: &'static str,
    score: f64,
}

/// Each span's column in `line` (1-based, in characters), in one pass over the line.
/// The most bytes of lines a paragraph of the text input holds before it is scanned.
const PARAGRAPH_BYTES: usize = 64 * 1024;

/// Lines of the text input scanned as one text: the lines with their endings, and where each
/// starts (its number, its byte offset and its offset in characters).
#[derive(Default)]
struct Paragraph {
    text: String,
    lines: Vec<(usize, usize, usize)>,
    chars: usize,
}

impl Paragraph {
    fn push(&mut self, line: &str, line_no: usize, ending: &str) {
        self.lines.push((line_no, self.text.len(), self.chars));
        self.text.push_str(line);
        self.text.push_str(ending);
        self.chars += line.chars().count() + ending.len();
    }

    fn clear(&mut self) {
        self.text.clear();
        self.lines.clear();
        self.chars = 0;
    }

    /// The line number and 1-based column (in characters) where each span starts; the spans
    /// are in order of start, so the characters are counted in one pass.
    fn positions(&self, spans: &[Span]) -> Vec<(usize, usize)> {
        let mut chars = spans.to_vec();
        to_char_offsets(&self.text, &mut chars);
        spans
            .iter()
            .zip(&chars)
            .map(|(s, c)| {
                let k = self
                    .lines
                    .partition_point(|&(_, at, _)| at <= s.start)
                    .saturating_sub(1);
                let (line_no, _, line_chars) = self.lines.get(k).copied().unwrap_or((1, 0, 0));
                (line_no, c.start - line_chars + 1)
            })
            .collect()
    }

    /// `spans` cut at the line breaks inside them: each part within one line, without the
    /// line's ending (so replacing them keeps the text's lines).
    fn split_at_lines(&self, spans: &[Span]) -> Vec<Span> {
        let mut out = Vec::with_capacity(spans.len());
        for s in spans {
            let mut start = s.start;
            for (i, _) in self.text[s.start..s.end].match_indices('\n') {
                let at = s.start + i;
                let end = if at > start && self.text.as_bytes()[at - 1] == b'\r' {
                    at - 1
                } else {
                    at
                };
                if end > start {
                    out.push(Span { start, end, ..*s });
                }
                start = at + 1;
            }
            if s.end > start {
                out.push(Span { start, ..*s });
            }
        }
        out
    }
}

fn round(x: f32) -> f64 {
    (x as f64 * 100.0).round() / 100.0
}

/// Each line's spans, and each line's text length in code points (when it has a text).
type SpansFile = (Vec<Vec<Labeled>>, Vec<Option<usize>>);

/// The spans of each line of a JSONL file (`{"spans": [{"start", "end", "type", "score"?}]}`),
/// keeping those scoring at least `min_score` when given, and the length in code points of each
/// line's `text` (when it has one). Spans must lie within their text: the line's own, or the
/// corpus line's (`lengths`).
fn read_spans(path: &std::path::Path, min_score: Option<f64>, lengths: Option<&[Option<usize>]>) -> Result<SpansFile> {
    let name = path.display();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
    let mut all = Vec::new();
    let mut own = Vec::new();
    let mut offset = 0;
    for (i, raw) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let at = |what: String| anyhow!("{name}: line {}: {what}", i + 1);
        let line =
            std::str::from_utf8(raw).map_err(|e| at(format!("invalid UTF-8 at byte {}", offset + e.valid_up_to())))?;
        offset += raw.len();
        let line = line.trim_end_matches(['\n', '\r']);
        let v: Value = serde_json::from_str(line).map_err(|e| at(format!("not a JSON object: {e}")))?;
        let text_len = v.get("text").and_then(Value::as_str).map(|t| t.chars().count());
        let limit = text_len.or_else(|| lengths.and_then(|l| l.get(i).copied().flatten()));
        let spans = v
            .get("spans")
            .and_then(Value::as_array)
            .ok_or_else(|| at("no `spans` array".into()))?;
        let mut out = Vec::with_capacity(spans.len());
        for (k, s) in spans.iter().enumerate() {
            let field = |f: &str| at(format!("spans[{k}].{f} is missing or of the wrong type"));
            let start = s.get("start").and_then(Value::as_u64).ok_or_else(|| field("start"))? as usize;
            let end = s.get("end").and_then(Value::as_u64).ok_or_else(|| field("end"))? as usize;
            let t = s.get("type").and_then(Value::as_str).ok_or_else(|| field("type"))?;
            if end <= start {
                return Err(at(format!("spans[{k}]: end {end} is not after start {start}")));
            }
            if let Some(len) = limit
                && end > len
            {
                return Err(at(format!("spans[{k}]: end {end} is past the text's {len} characters")));
            }
            let score = match s.get("score") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_f64().ok_or_else(|| field("score"))?),
            };
            if min_score.is_none_or(|m| score.is_none_or(|x| x >= m)) {
                out.push((start, end, t.to_string()));
            }
        }
        all.push(out);
        own.push(text_len);
    }
    Ok((all, own))
}

/// The look-alikes labeled in each line of a corpus (`"decoys": [{"start", "end", "kind"}]`;
/// none when a line has no such field). The corpus was read once already, so its lines parse.
fn read_decoys(path: &std::path::Path) -> Result<Vec<Vec<Labeled>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut all = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).map_err(|e| anyhow!("{}: line {}: {e}", path.display(), i + 1))?;
        let mut out = Vec::new();
        for (k, d) in v
            .get("decoys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let field = |f: &str| {
                anyhow!(
                    "{}: line {}: decoys[{k}].{f} is missing or of the wrong type",
                    path.display(),
                    i + 1
                )
            };
            let start = d.get("start").and_then(Value::as_u64).ok_or_else(|| field("start"))? as usize;
            let end = d.get("end").and_then(Value::as_u64).ok_or_else(|| field("end"))? as usize;
            let kind = d.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
            out.push((start, end, kind));
        }
        all.push(out);
    }
    Ok(all)
}

fn scores_json(s: &Scores) -> Value {
    serde_json::json!({
        "labeled": s.true_positives + s.false_negatives,
        "reported": s.reported,
        "precision": s.precision(),
        "recall": s.recall(),
        "f1": s.f1(),
        "masking_recall": s.masking_recall(),
    })
}

fn percent(a: usize, b: usize) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{a} of {b} ({:.1} %)", 100.0 * a as f64 / b as f64)
    }
}

fn print_scores(
    out: &mut impl Write,
    scores: &std::collections::BTreeMap<String, Scores>,
    summary: &datapact_pii::eval::Summary,
    json: bool,
) -> Result<()> {
    if json {
        let mut rows: serde_json::Map<String, Value> = scores
            .iter()
            .map(|(t, s)| {
                let v = serde_json::json!({
                    "labeled": s.true_positives + s.false_negatives,
                    "reported": s.reported,
                    "true_positives": s.true_positives,
                    "false_positives": s.false_positives,
                    "false_negatives": s.false_negatives,
                    "precision": s.precision(),
                    "recall": s.recall(),
                    "f1": s.f1(),
                    "overlap_f1": s.overlap_f1(),
                    "masking_recall": s.masking_recall(),
                });
                (t.clone(), v)
            })
            .collect();
        // Lowercase, so it cannot be an entity type's name.
        let mut overall = serde_json::to_value(summary)?;
        overall["all"] = scores_json(&summary.all);
        overall["personal"] = scores_json(&summary.personal);
        overall["secrets"] = scores_json(&summary.secrets);
        rows.insert("overall".into(), overall);
        writeln!(out, "{}", Value::Object(rows))?;
        return Ok(());
    }
    let mut t = crate::output::table(&[
        "type",
        "labeled",
        "reported",
        "precision",
        "recall",
        "F1",
        "overlap F1",
        "masking recall",
    ]);
    for (e, s) in scores {
        t.add_row(vec![
            e.clone(),
            (s.true_positives + s.false_negatives).to_string(),
            s.reported.to_string(),
            format!("{:.3}", s.precision()),
            format!("{:.3}", s.recall()),
            format!("{:.3}", s.f1()),
            format!("{:.3}", s.overlap_f1()),
            format!("{:.4}", s.masking_recall()),
        ]);
    }
    writeln!(out, "{t}")?;
    let mut t = crate::output::table(&[
        "pooled",
        "labeled",
        "reported",
        "precision",
        "recall",
        "F1",
        "masking recall",
    ]);
    for (name, s) in [
        ("all types", &summary.all),
        ("personal data", &summary.personal),
        ("secrets", &summary.secrets),
    ] {
        t.add_row(vec![
            name.to_string(),
            (s.true_positives + s.false_negatives).to_string(),
            s.reported.to_string(),
            format!("{:.3}", s.precision()),
            format!("{:.3}", s.recall()),
            format!("{:.3}", s.f1()),
            format!("{:.4}", s.masking_recall()),
        ]);
    }
    writeln!(out, "{t}")?;
    writeln!(
        out,
        "texts without labels flagged: {}",
        percent(summary.clean_texts_flagged, summary.clean_texts)
    )?;
    writeln!(
        out,
        "look-alikes flagged: {}",
        percent(summary.decoys_flagged, summary.decoys)
    )?;
    writeln!(
        out,
        "hashes and UUIDs flagged as secrets: {}",
        percent(summary.hash_decoys_flagged_as_secret, summary.hash_decoys)
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans_every(line: &str, step: usize) -> Vec<Span> {
        (0..line.len())
            .step_by(step)
            .filter(|&i| line.is_char_boundary(i))
            .map(|i| Span {
                start: i,
                end: i,
                entity: EntityType::Person,
                score: 1.0,
            })
            .collect()
    }

    #[test]
    fn columns_count_characters_from_the_line_start() {
        assert_eq!(columns("", &[]), Vec::<usize>::new());
        let line = "Zoë Müller, Ana";
        let spans = [(0, 4), (5, 12), (14, 17)].map(|(start, end)| Span {
            start,
            end,
            entity: EntityType::Person,
            score: 1.0,
        });
        assert_eq!(columns(line, &spans), vec![1, 5, 13]);
    }

    /// The columns of one line's spans, read as a paragraph of that line.
    fn columns(line: &str, spans: &[Span]) -> Vec<usize> {
        let mut p = Paragraph::default();
        p.push(line, 1, "");
        p.positions(spans).into_iter().map(|(_, c)| c).collect()
    }

    /// A paragraph's spans are placed on their own lines, and cut at line breaks (a CRLF's
    /// carriage return outside every part).
    #[test]
    fn paragraphs_place_and_cut_spans_by_line() {
        let mut p = Paragraph::default();
        p.push("Anschrift: Zoë", 7, "\r\n");
        p.push("Hauptstraße 5", 8, "\n");
        p.push("10115 Berlin", 9, "");
        let at = |s: &str| p.text.find(s).unwrap();
        let span = |start: usize, end: usize| Span {
            start,
            end,
            entity: EntityType::StreetAddress,
            score: 1.0,
        };
        let address = span(at("Hauptstraße"), p.text.len());
        let name = span(at("Zoë"), at("Zoë") + "Zoë".len());
        assert_eq!(p.positions(&[name, address]), vec![(7, 12), (8, 1)]);
        let parts = p.split_at_lines(&[span(at("Zoë"), p.text.len())]);
        let texts: Vec<&str> = parts.iter().map(|s| &p.text[s.start..s.end]).collect();
        assert_eq!(texts, ["Zoë", "Hauptstraße 5", "10115 Berlin"]);
    }

    #[test]
    fn columns_of_a_long_line_take_time_in_proportion_to_it() {
        // One line of a few megabytes with a span every few bytes (a pasted log): four times
        // the line must not take sixteen times as long (a ratio, not a wall-clock limit).
        let time = |n: usize| {
            let line = "Anna Müller, 030 1234; ".repeat(n);
            let spans = spans_every(&line, 8);
            let t = std::time::Instant::now();
            std::hint::black_box(columns(&line, &spans));
            t.elapsed().as_secs_f64()
        };
        let (small, large) = (time(2_000), time(8_000));
        let ratio = large / small.max(1e-6);
        assert!(
            ratio < 9.0,
            "4x the line took {ratio:.1}x the time ({small:.4}s, {large:.4}s)"
        );
    }
}
