//! The AI trust layer's own state: the configured providers with their connections, the
//! limits and usage counters, and the custom PII recognizer sets, beside the platform it
//! serves (registry, store, vault, audit log), which it reaches through [`Gateway::platform`].

use std::ops::Deref;
use std::sync::Arc;

use super::limits::Limits;
use super::pii::PiiSets;
use super::platform::Platform;
use super::upstream::{self, Breaker, Provider};
use crate::config::{GatewayConfig, PiiConfig, ProviderConfig};
use crate::error::StartError;

/// What the gateway builds from the configuration alone, before any state is loaded: a
/// missing provider key stops the server first.
pub struct Parts {
    providers: Vec<Provider>,
    limits: Limits,
    pii_sets: PiiSets,
}

impl Parts {
    /// Reads the providers' keys, builds their clients, the limits and the recognizer sets.
    pub fn new(providers: &[ProviderConfig], gateway: &GatewayConfig, pii: &PiiConfig) -> Result<Self, StartError> {
        let providers = providers
            .iter()
            .map(|p| {
                Ok(Provider {
                    secret: p.credential()?,
                    client: upstream::client(p).map_err(|e| StartError::Client {
                        provider: p.name.clone(),
                        error: e.to_string(),
                    })?,
                    breaker: Arc::new(Breaker::new(p)),
                    config: Arc::new(p.clone()),
                })
            })
            .collect::<Result<Vec<_>, StartError>>()?;
        if !providers.is_empty() {
            // The PII engine's lexicons and phone metadata take a few hundred milliseconds to
            // build: off the first gateway request, in the background.
            std::thread::spawn(super::pii::warm_up);
        }
        Ok(Self {
            providers,
            limits: Limits::new(gateway),
            pii_sets: PiiSets::load(pii)?,
        })
    }
}

/// Writes usage counts every second until aborted.
pub async fn flusher(st: std::sync::Weak<Gateway>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(st) = st.upgrade() else {
            return;
        };
        if let Err(e) = st.limits.flush(&*st.store).await {
            tracing::warn!(error = %e, "cannot write LLM usage counts; they stay pending");
        }
    }
}

/// The AI trust layer: its state and the platform's.
pub struct Gateway {
    /// The platform: registry, store, vault, audit log.
    pub platform: Platform,
    /// `[gateway]`: limits, the audit mode, concurrency.
    pub config: GatewayConfig,
    /// The configured LLM providers with their API keys, read once at start-up.
    pub providers: Vec<Provider>,
    /// Rate limits, budgets and usage accounting.
    pub limits: Limits,
    /// The custom PII recognizer sets of `[pii.recognizers]`, read at start, and the analyzers
    /// built from them, by the sorted list of sets a call uses.
    pub pii_sets: PiiSets,
}

impl Gateway {
    /// The gateway over `platform`.
    pub fn new(platform: Platform, config: GatewayConfig, parts: Parts) -> Self {
        Self {
            platform,
            config,
            providers: parts.providers,
            limits: parts.limits,
            pii_sets: parts.pii_sets,
        }
    }
}

impl Deref for Gateway {
    type Target = Platform;

    fn deref(&self) -> &Platform {
        &self.platform
    }
}
