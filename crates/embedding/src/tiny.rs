//! A tiny BERT with random weights and a word-piece vocabulary of the words given, written
//! to a directory in the layout `BertEmbedder::load` reads. For tests and demos: it runs the
//! same code path as all-MiniLM-L6-v2 without anything being downloaded. Its vectors carry
//! no meaning beyond telling texts apart.

use std::collections::HashSet;
use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::{BertModel, Config, HiddenAct, PositionEmbeddingType};
use tokenizers::Tokenizer;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::template::TemplateProcessing;

use crate::EmbeddingError;

/// Writes the model: hidden size `dim` (a multiple of 2), two layers, `words` as its
/// vocabulary (lowercased) after `[PAD]`, `[UNK]`, `[CLS]` and `[SEP]`.
pub fn write(dir: &Path, words: &[&str], dim: usize) -> Result<(), EmbeddingError> {
    let fail = |m: String| EmbeddingError::Model {
        path: dir.to_path_buf(),
        message: m,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let mut vocab: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for w in ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        .into_iter()
        .map(str::to_string)
        .chain(words.iter().map(|w| w.to_lowercase()))
    {
        if !w.is_empty() && !w.contains(char::is_whitespace) && seen.insert(w.clone()) {
            vocab.push(w);
        }
    }
    let config = Config {
        vocab_size: vocab.len(),
        hidden_size: dim,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: dim * 2,
        hidden_act: HiddenAct::Gelu,
        hidden_dropout_prob: 0.0,
        max_position_embeddings: 64,
        type_vocab_size: 2,
        initializer_range: 0.02,
        layer_norm_eps: 1e-12,
        pad_token_id: 0,
        position_embedding_type: PositionEmbeddingType::Absolute,
        use_cache: false,
        classifier_dropout: None,
        model_type: Some("bert".into()),
    };
    let config_json = serde_json::json!({
        "vocab_size": config.vocab_size, "hidden_size": dim, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": dim * 2, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0, "max_position_embeddings": 64, "type_vocab_size": 2,
        "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
        "position_embedding_type": "absolute", "model_type": "bert"
    });
    std::fs::write(dir.join("config.json"), config_json.to_string()).map_err(|e| fail(e.to_string()))?;
    // Random weights: the builder creates each tensor the model asks for.
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    BertModel::load(vb, &config).map_err(|e| fail(e.to_string()))?;
    varmap
        .save(dir.join("model.safetensors"))
        .map_err(|e| fail(e.to_string()))?;
    let vocab_path = dir.join("vocab.txt");
    std::fs::write(&vocab_path, vocab.join("\n") + "\n").map_err(|e| fail(e.to_string()))?;
    let wordpiece = WordPiece::from_file(&vocab_path.to_string_lossy())
        .unk_token("[UNK]".into())
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let mut tokenizer = Tokenizer::new(wordpiece);
    tokenizer.with_normalizer(Some(BertNormalizer::default()));
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    let post = TemplateProcessing::builder()
        .try_single("[CLS] $A [SEP]")
        .map_err(|e| fail(e.to_string()))?
        .special_tokens(vec![("[CLS]", 2), ("[SEP]", 3)])
        .build()
        .map_err(|e| fail(e.to_string()))?;
    tokenizer.with_post_processor(Some(post));
    tokenizer
        .save(dir.join("tokenizer.json"), false)
        .map_err(|e| fail(e.to_string()))
}
