//! Rate limits and token budgets of the AI trust layer, and usage accounting: requests per
//! second per tenant (GCRA), tokens per tenant and product per day or month, and the counts
//! behind them, kept in memory and written to the store every second.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use datapact_governance::TenantId;
use datapact_store::{Store, StoreError, UsageRow};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use time::{Date, OffsetDateTime};

use super::{CallRecord, GatewayCaller};
use crate::config::{BudgetConfig, BudgetPeriod, GatewayConfig};

/// Why a call is over a limit, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Over {
    /// The tenant's request rate.
    Rate {
        /// When a request would conform.
        retry_after: Duration,
    },
    /// A token budget.
    Budget {
        /// The budget's product (or `*`).
        product: String,
        /// Its period.
        period: BudgetPeriod,
        /// Its size.
        tokens: u64,
        /// When the period ends.
        retry_after: Duration,
    },
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    requests: u64,
    prompt: u64,
    completion: u64,
    total: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.prompt += o.prompt;
        self.completion += o.completion;
        self.total += o.total;
    }
}

type DayKey = (TenantId, String, String, Date);

/// A stored row from counted usage.
fn row((tenant, product, model, day): &DayKey, c: &Counts) -> UsageRow {
    UsageRow {
        tenant: *tenant,
        product: product.clone(),
        model: model.clone(),
        day: *day,
        requests: c.requests,
        prompt_tokens: c.prompt,
        completion_tokens: c.completion,
        total_tokens: c.total,
    }
}

#[derive(Debug, Default)]
struct Book {
    /// Counted, not yet written to the store.
    pending: HashMap<DayKey, Counts>,
    /// Tokens per tenant, product and day, for budgets: only tenants in `loaded`.
    spent: HashMap<(TenantId, String, Date), u64>,
    /// Tenants whose month so far has been read from the store.
    loaded: HashSet<(TenantId, Date)>,
}

/// The gateway's limits and usage counters.
pub struct Limits {
    /// Calls under way at once, across tenants.
    calls: Arc<tokio::sync::Semaphore>,
    rate: Option<DefaultKeyedRateLimiter<TenantId>>,
    budgets: Vec<BudgetConfig>,
    book: std::sync::Mutex<Book>,
    /// Serializes writing pending counts with reading a tenant's month, so none is counted twice.
    io: tokio::sync::Mutex<()>,
}

fn month_start(d: Date) -> Date {
    d.replace_day(1).unwrap_or(d)
}

/// Time from `now` to the end of the budget's period.
fn until_period_end(now: OffsetDateTime, period: BudgetPeriod) -> Duration {
    Duration::try_from(period_end(now, period) - now).unwrap_or(Duration::from_secs(1))
}

/// When the budget period holding `now` ends (UTC midnight).
pub fn period_end(now: OffsetDateTime, period: BudgetPeriod) -> OffsetDateTime {
    let d = now.date();
    let next = match period {
        BudgetPeriod::Day => d.next_day(),
        BudgetPeriod::Month => {
            let (y, m) = (d.year(), d.month());
            let (y, m) = if m == time::Month::December {
                (y + 1, time::Month::January)
            } else {
                (y, m.next())
            };
            Date::from_calendar_date(y, m, 1).ok()
        }
    };
    next.map_or(now + Duration::from_secs(3600), |n| n.midnight().assume_utc())
}

impl Limits {
    /// Limits as configured in `[gateway]`.
    pub fn new(cfg: &GatewayConfig) -> Self {
        let rate = cfg.tenant_requests_per_second.and_then(NonZeroU32::new).map(|rps| {
            let burst = cfg.tenant_burst.and_then(NonZeroU32::new).unwrap_or(rps);
            RateLimiter::keyed(Quota::per_second(rps).allow_burst(burst))
        });
        let calls = cfg
            .max_concurrent_calls
            .unwrap_or(GatewayConfig::DEFAULT_MAX_CONCURRENT_CALLS) as usize;
        Self {
            calls: Arc::new(tokio::sync::Semaphore::new(calls)),
            rate,
            budgets: cfg.budgets.clone(),
            book: std::sync::Mutex::new(Book::default()),
            io: tokio::sync::Mutex::new(()),
        }
    }

    /// Takes one request from the tenant's rate.
    /// A place among the calls under way, held until the call (its stream included) ends;
    /// `None` when every place is taken.
    pub fn admit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.calls).try_acquire_owned().ok()
    }

    pub fn check_rate(&self, tenant: TenantId) -> Result<(), Over> {
        let Some(rate) = &self.rate else {
            return Ok(());
        };
        rate.check_key(&tenant).map_err(|not_until| Over::Rate {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }

    fn budgets_for<'a>(&'a self, product: &'a str) -> impl Iterator<Item = &'a BudgetConfig> + 'a {
        self.budgets
            .iter()
            .filter(move |b| b.product == "*" || b.product == product)
    }

    /// Whether the tenant has tokens left in every budget of `product`.
    pub async fn check_budget(&self, store: &dyn Store, tenant: TenantId, product: &str) -> Result<(), Over> {
        if self.budgets_for(product).next().is_none() {
            return Ok(());
        }
        let now = OffsetDateTime::now_utc();
        let today = now.date();
        let month = month_start(today);
        let loaded = self
            .book
            .lock()
            .map(|b| b.loaded.contains(&(tenant, month)))
            .unwrap_or(false);
        if !loaded {
            // Budgets fail open on a storage error: the counts of this process still apply,
            // and refusing every call because usage could not be read would be worse.
            if let Err(e) = self.load(store, tenant, month, today).await {
                tracing::warn!(error = %e, %tenant, "cannot read stored LLM usage; budgets use this process's counts");
            }
        }
        let Ok(book) = self.book.lock() else {
            return Ok(());
        };
        for b in self.budgets_for(product) {
            let days = match b.period {
                BudgetPeriod::Day => today..=today,
                BudgetPeriod::Month => month..=today,
            };
            let mut used = 0u64;
            let mut d = *days.start();
            loop {
                used = used.saturating_add(book.spent.get(&(tenant, product.to_string(), d)).copied().unwrap_or(0));
                match d.next_day() {
                    Some(n) if n <= *days.end() => d = n,
                    _ => break,
                }
            }
            if used >= b.tokens {
                return Err(Over::Budget {
                    product: b.product.clone(),
                    period: b.period,
                    tokens: b.tokens,
                    retry_after: until_period_end(now, b.period),
                });
            }
        }
        Ok(())
    }

    async fn load(&self, store: &dyn Store, tenant: TenantId, month: Date, today: Date) -> Result<(), StoreError> {
        let _io = self.io.lock().await;
        if self
            .book
            .lock()
            .map(|b| b.loaded.contains(&(tenant, month)))
            .unwrap_or(true)
        {
            return Ok(());
        }
        let rows = store.usage(tenant, month, today).await?;
        if let Ok(mut book) = self.book.lock() {
            let book = &mut *book;
            // Counts of this tenant that have been written since it was last loaded are in
            // `rows`; those not yet written are in `pending`. Rebuild from both.
            book.spent.retain(|(t, _, _), _| *t != tenant);
            for r in rows {
                *book.spent.entry((tenant, r.product, r.day)).or_default() += r.total_tokens;
            }
            for ((t, p, _, d), c) in &book.pending {
                if *t == tenant && *d >= month {
                    *book.spent.entry((tenant, p.clone(), *d)).or_default() += c.total;
                }
            }
            book.loaded.insert((tenant, month));
        }
        Ok(())
    }

    /// Counts a finished call (one that reached a provider).
    pub fn account(&self, caller: &GatewayCaller, record: &CallRecord) {
        if record.provider.is_none() || record.status == datapact_audit::CallStatus::Blocked {
            return;
        }
        let [p, c, t] = record.usage.map(|n| u64::from(n.unwrap_or(0)));
        let total = if t == 0 { p + c } else { t };
        let day = OffsetDateTime::now_utc().date();
        let Ok(mut book) = self.book.lock() else {
            return;
        };
        book.pending
            .entry((caller.tenant.id, caller.product.clone(), record.model.clone(), day))
            .or_default()
            .add(&Counts {
                requests: 1,
                prompt: p,
                completion: c,
                total,
            });
        if book.loaded.contains(&(caller.tenant.id, month_start(day))) {
            *book
                .spent
                .entry((caller.tenant.id, caller.product.clone(), day))
                .or_default() += total;
        }
    }

    /// Writes pending counts to the store; on failure they stay pending for the next try.
    pub async fn flush(&self, store: &dyn Store) -> Result<(), StoreError> {
        let _io = self.io.lock().await;
        let pending = match self.book.lock() {
            Ok(mut b) => std::mem::take(&mut b.pending),
            Err(_) => return Ok(()),
        };
        if pending.is_empty() {
            return Ok(());
        }
        let rows: Vec<UsageRow> = pending.iter().map(|(k, c)| row(k, c)).collect();
        if let Err(e) = store.add_usage(&rows).await {
            if let Ok(mut b) = self.book.lock() {
                for (k, c) in pending {
                    b.pending.entry(k).or_default().add(&c);
                }
            }
            return Err(e);
        }
        // A new month starts from the store again; old days are no use to budgets.
        let month = month_start(OffsetDateTime::now_utc().date());
        if let Ok(mut b) = self.book.lock() {
            b.loaded.retain(|(_, m)| *m == month);
            b.spent.retain(|(_, _, d), _| *d >= month);
        }
        if let Some(rate) = &self.rate {
            rate.retain_recent();
        }
        Ok(())
    }

    /// A tenant's usage from `from` to `to`: what the store holds plus what is not yet written.
    pub async fn usage(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        from: Date,
        to: Date,
    ) -> Result<Vec<UsageRow>, StoreError> {
        let _io = self.io.lock().await;
        let mut rows = store.usage(tenant, from, to).await?;
        if let Ok(b) = self.book.lock() {
            for (k, c) in &b.pending {
                let (t, product, model, day) = k;
                if *t != tenant || *day < from || *day > to {
                    continue;
                }
                match rows
                    .iter_mut()
                    .find(|r| r.day == *day && r.product == *product && r.model == *model)
                {
                    Some(r) => {
                        let mut sum = Counts {
                            requests: r.requests,
                            prompt: r.prompt_tokens,
                            completion: r.completion_tokens,
                            total: r.total_tokens,
                        };
                        sum.add(c);
                        *r = row(k, &sum);
                    }
                    None => rows.push(row(k, c)),
                }
            }
        }
        rows.sort_by(|a, b| (a.day, &a.product, &a.model).cmp(&(b.day, &b.product, &b.model)));
        Ok(rows)
    }

    /// The budgets that apply to `product` and how much of each the tenant has used.
    pub async fn budget_status(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        product: &str,
    ) -> Vec<(BudgetConfig, u64, Duration)> {
        let now = OffsetDateTime::now_utc();
        let today = now.date();
        let mut out = Vec::new();
        for b in self.budgets_for(product) {
            let from = match b.period {
                BudgetPeriod::Day => today,
                BudgetPeriod::Month => month_start(today),
            };
            let used = self
                .usage(store, tenant, from, today)
                .await
                .map(|rows| {
                    rows.iter()
                        .filter(|r| r.product == product)
                        .map(|r| r.total_tokens)
                        .sum()
                })
                .unwrap_or(0);
            out.push((b.clone(), used, until_period_end(now, b.period)));
        }
        out
    }

    /// Products named by budgets (`*` excluded).
    pub fn budget_products(&self) -> Vec<String> {
        let mut p: Vec<String> = self
            .budgets
            .iter()
            .filter(|b| b.product != "*")
            .map(|b| b.product.clone())
            .collect();
        p.sort();
        p.dedup();
        p
    }
}

/// Writes usage counts every second until aborted.
pub async fn flusher(st: std::sync::Weak<crate::state::AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_end_at_utc_midnight_and_month_end() {
        let t = time::macros::datetime!(2026-11-30 23:00 UTC);
        assert_eq!(until_period_end(t, BudgetPeriod::Day), Duration::from_secs(3600));
        assert_eq!(until_period_end(t, BudgetPeriod::Month), Duration::from_secs(3600));
        let t = time::macros::datetime!(2026-12-31 00:00 UTC);
        assert_eq!(until_period_end(t, BudgetPeriod::Month), Duration::from_secs(86_400));
    }

    #[test]
    fn rate_limits_per_tenant_with_burst() {
        let l = Limits::new(&GatewayConfig {
            tenant_requests_per_second: Some(2),
            tenant_burst: Some(2),
            ..GatewayConfig::default()
        });
        let (a, b) = (TenantId::generate(), TenantId::generate());
        assert!(l.check_rate(a).is_ok() && l.check_rate(a).is_ok());
        match l.check_rate(a) {
            Err(Over::Rate { retry_after }) => assert!(retry_after <= Duration::from_millis(500)),
            other => panic!("{other:?}"),
        }
        assert!(l.check_rate(b).is_ok(), "another tenant has its own rate");
    }
}
