//! Where a sentence-embedding model plugs in. A deployment that has one (for example
//! all-MiniLM-L6-v2 run in process) implements `Embedder`; its vectors join the hashed
//! features and the same linear training runs over both. Without one, the classifier uses the
//! hashed features alone.

/// A text to a dense vector of fixed length.
pub trait Embedder: Send + Sync {
    /// A stable name, stored with each model trained with it (a model is only used with the
    /// embedder it was trained with).
    fn name(&self) -> &str;
    /// Length of every vector.
    fn dim(&self) -> usize;
    /// The vector of one text (`dim()` values).
    fn embed(&self, text: &str) -> Vec<f32>;
}
