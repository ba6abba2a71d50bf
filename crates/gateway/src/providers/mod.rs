//! The provider APIs behind one interface, [`Api`], one file each: [`openai`] (and every
//! OpenAI-compatible server), [`azure`] (Azure OpenAI) and [`anthropic`] (the Messages API,
//! translated both ways). A new API is a new file and a line in [`api`].

pub mod anthropic;
mod api;
pub mod azure;
pub mod openai;

pub use api::{Api, Translate, Wire};

use crate::config::ProviderApi;

/// The implementation of `kind`.
pub fn api(kind: ProviderApi) -> &'static dyn Api {
    match kind {
        ProviderApi::Openai => &openai::OpenAi,
        ProviderApi::AzureOpenai => &azure::AzureOpenAi,
        ProviderApi::Anthropic => &anthropic::Anthropic,
    }
}
