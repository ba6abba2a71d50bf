//! Custom recognizers from configuration: a pattern with an optional validator, context words
//! and a score, or a deny-list of terms. A file of them, in TOML:
//!
//! ```toml
//! [[recognizers]]
//! entity = "EMPLOYEE_ID"
//! pattern = '\bEMP-\d{6}\b'
//! context = ["employee", "staff"]
//! score = 0.6
//!
//! [[recognizers]]
//! entity = "PROJECT_NAME"
//! deny_list = ["Bluebird", "Nightjar"]
//! case_insensitive = true
//! ```

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex_automata::Input;
use serde::Deserialize;

use crate::entity::EntityType;
use crate::recognizer::{Check, Options, Recognizer, Scope, Span, Validator, WordIds, date, dea, ok_if};
use crate::validate;

/// One custom recognizer, as configured.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomRecognizer {
    /// The entity type it finds: a built-in name (`PERSON`) or a new one (`EMPLOYEE_ID`).
    pub entity: String,
    /// A regular expression (Rust `regex` syntax: finite automata, no look-around or
    /// back-references), instead of `deny_list`.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Terms to find as whole words, instead of `pattern`.
    #[serde(default)]
    pub deny_list: Option<Vec<String>>,
    /// A built-in validator a pattern's candidate must pass (see [`VALIDATORS`]).
    #[serde(default)]
    pub validator: Option<String>,
    /// Words near a candidate that raise its score.
    #[serde(default)]
    pub context: Vec<String>,
    /// A candidate's score (0 to 1); 0.6 for a pattern, 1.0 for a deny-list.
    #[serde(default)]
    pub score: Option<f32>,
    /// What a context word adds (default 0.35).
    #[serde(default)]
    pub context_boost: Option<f32>,
    /// Match regardless of case: a pattern as if written `(?i)`, a deny-list's terms regardless
    /// of ASCII case.
    #[serde(default)]
    pub case_insensitive: bool,
}

/// A file of custom recognizers.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomConfig {
    /// The recognizers, in order.
    #[serde(default)]
    pub recognizers: Vec<CustomRecognizer>,
}

impl CustomConfig {
    /// Parses a TOML file's text; the error names the line and column.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))
    }
}

/// Why a custom recognizer cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The file is not valid TOML of this shape.
    #[error("{0}")]
    Syntax(String),
    /// A field of one recognizer is wrong.
    #[error("recognizers[{index}].{field}: {message}")]
    Field {
        /// Position of the recognizer in the file, from 0.
        index: usize,
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The context words could not be compiled.
    #[error("context words: {0}")]
    Context(String),
}

/// The validators a custom pattern may name.
pub const VALIDATORS: &[&str] = &[
    "luhn",
    "credit_card",
    "iban",
    "us_ssn",
    "us_itin",
    "uk_nhs",
    "bitcoin",
    "ip",
    "dea",
    "phone",
    "date",
];

fn validator(name: &str) -> Option<Validator> {
    Some(match name {
        "luhn" => |s, _| ok_if(validate::luhn(s)),
        "credit_card" => |s, _| ok_if(validate::credit_card(s)),
        "iban" => |s, _| ok_if(validate::iban(s)),
        "us_ssn" => |s, _| ok_if(validate::us_ssn(s)),
        "us_itin" => |s, _| ok_if(validate::us_itin(s)),
        "uk_nhs" => |s, _| ok_if(validate::uk_nhs(s)),
        "bitcoin" => |s, _| ok_if(validate::bitcoin(s)),
        "ip" => |s, _| ok_if(validate::ip(s)),
        "dea" => |s, _| dea(s),
        "phone" => |s, o: &Options| {
            ok_if(match &o.phone_regions {
                Some(rs) => crate::phone::is_valid(s, rs),
                None => crate::phone::is_valid(s, crate::phone::DEFAULT_REGIONS),
            })
        },
        "date" => |s, _| match date(s) {
            Check::Invalid => Check::Invalid,
            _ => Check::Valid,
        },
        _ => return None,
    })
}

/// A pattern's build error with its cause (the syntax error and where it is), not only
/// "error parsing pattern 0".
fn build_error(e: &regex_automata::meta::BuildError) -> String {
    if let Some(syntax) = e.syntax_error() {
        return syntax.to_string();
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    message
}

/// Largest compiled pattern, so a configuration cannot exhaust memory.
const PATTERN_SIZE_LIMIT: usize = 8 << 20;
/// Most terms in one deny-list.
const MAX_TERMS: usize = 100_000;
/// Longest term.
const MAX_TERM_LEN: usize = 256;

/// A compiled custom recognizer.
pub(crate) enum Compiled {
    Pattern(Recognizer),
    DenyList(DenyList),
}

impl CustomRecognizer {
    /// Checks every field and compiles the recognizer; `index` names it in errors.
    pub(crate) fn compile(&self, index: usize) -> Result<Compiled, ConfigError> {
        let field = |field, message: String| ConfigError::Field { index, field, message };
        let entity = EntityType::declare(&self.entity).map_err(|e| field("entity", e.to_string()))?;
        let unit = |name, v: Option<f32>, default: f32| match v {
            Some(x) if !(0.0..=1.0).contains(&x) => Err(field(name, format!("{x} is not between 0 and 1"))),
            Some(x) => Ok(x),
            None => Ok(default),
        };
        let boost = unit("context_boost", self.context_boost, 0.35)?;
        if self.context_boost.is_some() && self.context.is_empty() {
            return Err(field("context_boost", "only counts with `context` words".to_string()));
        }
        for w in &self.context {
            if w.trim().is_empty() || w.len() > MAX_TERM_LEN {
                return Err(field("context", format!("context word `{w}` is empty or too long")));
            }
        }
        match (&self.pattern, &self.deny_list) {
            (Some(p), None) => {
                let score = unit("score", self.score, 0.6)?;
                let validator = match &self.validator {
                    None => None,
                    Some(name) => Some(validator(name).ok_or_else(|| {
                        field(
                            "validator",
                            format!("unknown validator `{name}`; known: {}", VALIDATORS.join(", ")),
                        )
                    })?),
                };
                let pattern = regex_automata::meta::Regex::builder()
                    .configure(
                        regex_automata::meta::Regex::config()
                            .nfa_size_limit(Some(PATTERN_SIZE_LIMIT))
                            .dfa_size_limit(Some(PATTERN_SIZE_LIMIT)),
                    )
                    .build(&if self.case_insensitive {
                        format!("(?i:{p})")
                    } else {
                        p.clone()
                    })
                    .map_err(|e| field("pattern", build_error(&e)))?;
                if pattern.search(&Input::new("")).is_some() {
                    return Err(field("pattern", "matches the empty string".to_string()));
                }
                Ok(Compiled::Pattern(Recognizer {
                    entity,
                    pattern: crate::recognizer::Pattern::general(pattern),
                    base: score,
                    validated: score,
                    validator,
                    context_words: self.context.iter().map(|w| w.to_lowercase()).collect(),
                    context: WordIds::default(),
                    boost: if self.context.is_empty() { 0.0 } else { boost },
                    scope: Scope::Whole,
                    numeric: false,
                    min_digits: 0,
                    min_run: 0,
                    needs: b"",
                    iban_checksum: false,
                }))
            }
            (None, Some(terms)) => {
                if self.validator.is_some() {
                    return Err(field("validator", "a deny-list has no validator".to_string()));
                }
                if terms.is_empty() || terms.len() > MAX_TERMS {
                    return Err(field("deny_list", format!("needs 1 to {MAX_TERMS} terms")));
                }
                if let Some(t) = terms.iter().find(|t| t.trim().is_empty() || t.len() > MAX_TERM_LEN) {
                    return Err(field(
                        "deny_list",
                        format!("term `{t}` is empty or longer than {MAX_TERM_LEN} bytes"),
                    ));
                }
                let automaton = AhoCorasickBuilder::new()
                    .ascii_case_insensitive(self.case_insensitive)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(terms)
                    .map_err(|e| field("deny_list", e.to_string()))?;
                Ok(Compiled::DenyList(DenyList {
                    entity,
                    automaton,
                    score: unit("score", self.score, 1.0)?,
                }))
            }
            _ => Err(field(
                "pattern",
                "give exactly one of `pattern` and `deny_list`".to_string(),
            )),
        }
    }
}

/// Terms found as whole words.
pub(crate) struct DenyList {
    pub(crate) entity: EntityType,
    automaton: AhoCorasick,
    score: f32,
}

impl DenyList {
    /// Adds a span for every term in `text` that stands as a word of its own.
    pub(crate) fn find(&self, text: &str, min_score: f32, found: &mut Vec<Span>) {
        if self.score < min_score {
            return;
        }
        let word_char = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        for m in self.automaton.find_iter(text) {
            let before = text[..m.start()].chars().next_back();
            let after = text[m.end()..].chars().next();
            // Terms end where characters do: they are whole strings of the configuration.
            if text.is_char_boundary(m.start()) && !word_char(before) && !word_char(after) {
                found.push(Span {
                    start: m.start(),
                    end: m.end(),
                    entity: self.entity,
                    score: self.score,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Analyzer;

    fn analyzer(toml: &str) -> Result<Analyzer, ConfigError> {
        Analyzer::with_custom(&CustomConfig::from_toml(toml)?.recognizers)
    }

    fn found(a: &Analyzer, text: &str) -> Vec<(String, String)> {
        a.analyze(text, &Options::default())
            .into_iter()
            .map(|s| (s.entity.to_string(), text[s.start..s.end].to_string()))
            .collect()
    }

    #[test]
    fn patterns_with_context_and_validators() {
        let a = analyzer(
            r#"
            [[recognizers]]
            entity = "EMPLOYEE_ID"
            pattern = '\bEMP-\d{6}\b'
            score = 0.4
            context = ["employee"]

            [[recognizers]]
            entity = "LOYALTY_CARD"
            pattern = '\bLC\d{8}\b'
            validator = "luhn"
            score = 0.9
            "#,
        )
        .unwrap();
        assert_eq!(found(&a, "id EMP-123456"), vec![]);
        assert_eq!(
            found(&a, "employee EMP-123456"),
            vec![("EMPLOYEE_ID".into(), "EMP-123456".into())]
        );
        // 79927398 passes Luhn, 79927399 does not.
        assert_eq!(
            found(&a, "card LC79927398 and LC79927399"),
            vec![("LOYALTY_CARD".into(), "LC79927398".into())]
        );
    }

    #[test]
    fn deny_lists_find_whole_words() {
        let a = analyzer(
            r#"
            [[recognizers]]
            entity = "PROJECT_NAME"
            deny_list = ["Bluebird", "Night Jar"]
            case_insensitive = true
            "#,
        )
        .unwrap();
        assert_eq!(
            found(&a, "About BLUEBIRD and night jar, not Bluebirds."),
            vec![
                ("PROJECT_NAME".into(), "BLUEBIRD".into()),
                ("PROJECT_NAME".into(), "night jar".into())
            ]
        );
    }

    #[test]
    fn patterns_keep_unicode_word_boundaries_and_can_ignore_case() {
        let a = analyzer(
            "[[recognizers]]\nentity = \"SCHOOL\"\npattern = '\\bÉcole [A-Z]\\w+\\b'\nscore = 0.9\n\n\
             [[recognizers]]\nentity = \"EMPLOYEE_ID\"\npattern = 'emp-\\d+'\ncase_insensitive = true\nscore = 0.9\n",
        )
        .unwrap();
        assert_eq!(
            found(&a, "à l'École Normale, EMP-12"),
            vec![
                ("SCHOOL".into(), "École Normale".into()),
                ("EMPLOYEE_ID".into(), "EMP-12".into())
            ]
        );
    }

    #[test]
    fn bad_configurations_name_the_field() {
        for (toml, want) in [
            (
                "[[recognizers]]\nentity = \"x\"\npattern = 'a'",
                "recognizers[0].entity",
            ),
            (
                "[[recognizers]]\nentity = \"A\"\npattern = '('",
                "recognizers[0].pattern: regex parse error",
            ),
            ("[[recognizers]]\nentity = \"A\"\npattern = '('", "unclosed group"),
            ("[[recognizers]]\nentity = \"A\"\npattern = '(?=a)'", "look-around"),
            (
                "[[recognizers]]\nentity = \"A\"\npattern = 'a'\ncontext_boost = 0.2",
                "only counts with `context`",
            ),
            (
                "[[recognizers]]\nentity = \"A\"\npattern = 'a*'",
                "matches the empty string",
            ),
            (
                "[[recognizers]]\nentity = \"A\"\npattern = 'a'\nvalidator = \"nope\"",
                "unknown validator",
            ),
            (
                "[[recognizers]]\nentity = \"A\"\npattern = 'a'\nscore = 2.0",
                "recognizers[0].score",
            ),
            ("[[recognizers]]\nentity = \"A\"", "exactly one of"),
            (
                "[[recognizers]]\nentity = \"A\"\ndeny_list = []",
                "recognizers[0].deny_list",
            ),
            ("[[recognizers]]\nentity = \"A\"\npatern = 'a'", "unknown field"),
            (
                "[[recognizers]]\nentity = \"A\"\npattern = 'a{1000}{1000}'",
                "recognizers[0].pattern",
            ),
        ] {
            let err = analyzer(toml).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(want), "{toml}: {err}");
        }
    }
}
