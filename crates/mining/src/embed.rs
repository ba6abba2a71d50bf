//! Where a sentence-embedding model plugs in. A deployment that has one (for example
//! all-MiniLM-L6-v2 run in process by `datapact-embedding`) implements `Embedder`; its
//! vectors join the hashed features and the same linear training runs over both. Without
//! one, the classifier uses the hashed features alone. A model remembers the embedder it was
//! trained with and is only ever scored with that one.

use crate::MiningError;

/// Texts handed to an embedder at once.
pub const BATCH: usize = 32;

/// Texts to dense vectors of a fixed length.
pub trait Embedder: Send + Sync {
    /// A stable name, stored with each model trained with it (a model is only used with the
    /// embedder it was trained with): it changes when the weights do.
    fn name(&self) -> &str;
    /// Length of every vector.
    fn dim(&self) -> usize;
    /// The vectors of `texts`, one per text, in order, each `dim()` long.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, MiningError>;
}

/// The vectors of many texts (in order), each checked for its length. Texts of similar
/// length are handed over together, `BATCH` at a time, so a batch's padding stays small.
pub fn embed_all(e: &dyn Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>, MiningError> {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|i| texts[*i].len());
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
    for chunk in order.chunks(BATCH) {
        let batch: Vec<&str> = chunk.iter().map(|i| texts[*i]).collect();
        let vs = e.embed(&batch)?;
        if vs.len() != batch.len() || vs.iter().any(|v| v.len() != e.dim()) {
            return Err(MiningError::Embedder(format!(
                "{} answered vectors of the wrong number or length",
                e.name()
            )));
        }
        for (i, v) in chunk.iter().zip(vs) {
            out[*i] = v;
        }
    }
    Ok(out)
}
