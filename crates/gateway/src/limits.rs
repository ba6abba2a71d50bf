//! Rate limits and token budgets of the AI trust layer, and usage accounting.
//!
//! - Rates (GCRA): the server's per-tenant rate (`[gateway] tenant_requests_per_second`),
//!   and each tenant's rate per product from the limits in force (AI settings, the
//!   organization's terms; `datapact_governance::settings::effective_limits`).
//! - Token budgets per tenant and product, per UTC day and month: the server's
//!   `[[gateway.budgets]]` and the limits in force, whichever is lower.
//! - A budget is checked and charged in one step: a call reserves its worst case (the bytes
//!   of the prompt it sends, which no byte-level tokenizer exceeds, plus the completion tokens
//!   it may produce, which the gateway caps in the request) under the same lock that checks
//!   what is spent and reserved, and the reservation is settled with the provider's count when
//!   the call ends. Concurrent calls therefore cannot together exceed a budget.
//! - The counts behind them are kept in memory and written to the store every second.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use datapact_governance::AiLimits;
use datapact_governance::TenantId;
use datapact_store::{Store, StoreError, UsageRow};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use time::{Date, OffsetDateTime};

use super::call::{CallRecord, GatewayCaller};
use crate::config::{BudgetConfig, BudgetPeriod, GatewayConfig};

/// Why a call is over a limit, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Over {
    /// The tenant's request rate (the server's, or the limits in force for the product).
    Rate {
        /// When a request would conform.
        retry_after: Duration,
    },
    /// The budget has less room left than the call's prompt alone could take.
    TooLarge {
        /// The period of the budget with the least room.
        period: BudgetPeriod,
        /// Tokens left in it.
        room: u64,
        /// The call's prompt, as an upper bound of its tokens.
        prompt: u64,
        /// When the period ends.
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

impl Over {
    /// `budget` of `product` has no room left at `now`.
    fn exhausted(product: &str, budget: Budget, now: OffsetDateTime) -> Self {
        Over::Budget {
            product: product.to_string(),
            period: budget.period,
            tokens: budget.tokens,
            retry_after: until_period_end(now, budget.period),
        }
    }
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
    /// Tokens reserved by calls under way, per tenant and product.
    reserved: HashMap<(TenantId, String), u64>,
    /// Tenants whose month so far has been read from the store.
    loaded: HashSet<(TenantId, Date)>,
}

impl Book {
    /// Gives back `amount` reserved tokens of `key`.
    fn release(&mut self, key: &(TenantId, String), amount: u64) {
        if let Some(held) = self.reserved.get_mut(key) {
            *held = held.saturating_sub(amount);
            if *held == 0 {
                self.reserved.remove(key);
            }
        }
    }

    /// Tokens of `product` the tenant spent from `from` to `to`, inclusive.
    fn spent(&self, tenant: TenantId, product: &str, from: Date, to: Date) -> u64 {
        let mut used = 0u64;
        let mut d = from;
        loop {
            used = used.saturating_add(self.spent.get(&(tenant, product.to_string(), d)).copied().unwrap_or(0));
            match d.next_day() {
                Some(n) if n <= to => d = n,
                _ => return used,
            }
        }
    }
}

/// A budget that applies to one call: its period and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Day or month.
    pub period: BudgetPeriod,
    /// Tokens per period.
    pub tokens: u64,
}

/// Tokens a call holds against its budgets until it ends: released when dropped, replaced by
/// the provider's count when settled.
pub struct Reservation {
    book: Arc<std::sync::Mutex<Book>>,
    key: (TenantId, String),
    amount: u64,
    /// The completion tokens the call may produce (the cap put in its request).
    pub completion_cap: Option<u64>,
    /// On a shared database: the slices of the deployment's budgets the call reserved from.
    slices: Option<(Arc<std::sync::Mutex<Slices>>, Vec<SliceKey>)>,
}

/// A slice of a deployment-wide budget: `(scope, period)` as the store's quotas name them.
type SliceKey = (String, String);

/// What this node holds of one budget (several nodes on one database): `held` tokens taken
/// from the database's quota and not given back, of which `reserved` are reserved by calls under
/// way and `used` were spent by finished ones (reported when the slice is given back).
#[derive(Debug, Default, Clone, Copy)]
struct Slice {
    held: u64,
    reserved: u64,
    used: u64,
    /// The budget's size when last taken from (for giving back).
    limit: u64,
}

impl Slice {
    fn free(&self) -> u64 {
        self.held.saturating_sub(self.reserved).saturating_sub(self.used)
    }
}

/// The slices this node holds, by budget and period.
#[derive(Debug, Default)]
struct Slices(HashMap<SliceKey, Slice>);

impl Slices {
    /// A call that reserved `amount` from `keys` ended having spent `spent`.
    fn settle(&mut self, keys: &[SliceKey], amount: u64, spent: u64) {
        for k in keys {
            if let Some(s) = self.0.get_mut(k) {
                s.reserved = s.reserved.saturating_sub(amount);
                s.used = s.used.saturating_add(spent);
            }
        }
    }
}

impl Reservation {
    /// Tokens reserved.
    pub fn amount(&self) -> u64 {
        self.amount
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Ok(mut b) = self.book.lock() {
            b.release(&self.key, self.amount);
        }
        if let Some((slices, keys)) = &self.slices
            && let Ok(mut s) = slices.lock()
        {
            s.settle(keys, self.amount, 0);
        }
    }
}

/// A tenant's rate for one product, as the limits in force set it.
struct ProductRate {
    quota: (u32, u32),
    limiter: DefaultDirectRateLimiter,
    used: std::time::Instant,
}

/// The gateway's limits and usage counters.
pub struct Limits {
    /// Calls under way at once, across tenants.
    calls: Arc<tokio::sync::Semaphore>,
    /// The server's per-tenant rate and burst as configured, for the deployment.
    tenant_rate: Option<(NonZeroU32, NonZeroU32)>,
    /// This node's share of it (see [`Limits::set_nodes`]).
    rate: std::sync::RwLock<Option<Arc<DefaultKeyedRateLimiter<TenantId>>>>,
    /// The live nodes of the deployment, among which rates are divided.
    nodes: std::sync::atomic::AtomicU32,
    /// Rates per tenant and product from the limits in force, made when first needed.
    rates: std::sync::Mutex<HashMap<(TenantId, String), ProductRate>>,
    budgets: Vec<BudgetConfig>,
    book: Arc<std::sync::Mutex<Book>>,
    /// Serializes writing pending counts with reading a tenant's month, so none is counted twice.
    io: tokio::sync::Mutex<()>,
    /// Several nodes share the database: budgets are the deployment's, held as slices of the
    /// store's quotas (see [`Limits::set_shared`]).
    shared: std::sync::atomic::AtomicBool,
    slices: Arc<std::sync::Mutex<Slices>>,
    /// Held while slices go back to the database and while a call tops its slices up from it:
    /// a slice given back leaves this node before the database has it, and a call taking from
    /// the database in that moment would find neither and be refused with room in the budget.
    quota_gate: tokio::sync::Mutex<()>,
    /// The deployment's clock (see [`Limits::set_clock`]).
    clock: std::sync::OnceLock<fn() -> OffsetDateTime>,
}

/// What a call of `prompt` tokens (and at most `completion` more) may reserve when the tightest
/// budget `b` has `room` left: refused when nothing is left, or not even the prompt fits.
/// Returns the amount to reserve and the completion tokens it leaves the call.
fn grant(
    product: &str,
    b: Budget,
    now: OffsetDateTime,
    room: u64,
    prompt: u64,
    completion: Option<u64>,
) -> Result<(u64, u64), Over> {
    if room == 0 {
        return Err(Over::exhausted(product, b, now));
    }
    if room <= prompt {
        return Err(Over::TooLarge {
            period: b.period,
            room,
            prompt,
            retry_after: until_period_end(now, b.period),
        });
    }
    let cap = completion.map_or(room - prompt, |c| c.min(room - prompt));
    Ok((prompt + cap, cap))
}

/// One node's share of `v` among `nodes`: at least one.
fn share(v: NonZeroU32, nodes: u32) -> NonZeroU32 {
    NonZeroU32::new(v.get() / nodes.max(1)).unwrap_or(NonZeroU32::MIN)
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
        let tenant_rate = cfg.tenant_requests_per_second.and_then(NonZeroU32::new).map(|rps| {
            let burst = cfg.tenant_burst.and_then(NonZeroU32::new).unwrap_or(rps);
            (rps, burst)
        });
        let rate =
            tenant_rate.map(|(rps, burst)| Arc::new(RateLimiter::keyed(Quota::per_second(rps).allow_burst(burst))));
        let calls = cfg
            .max_concurrent_calls
            .unwrap_or(GatewayConfig::DEFAULT_MAX_CONCURRENT_CALLS) as usize;
        Self {
            calls: Arc::new(tokio::sync::Semaphore::new(calls)),
            tenant_rate,
            rate: std::sync::RwLock::new(rate),
            nodes: std::sync::atomic::AtomicU32::new(1),
            rates: std::sync::Mutex::new(HashMap::new()),
            budgets: cfg.budgets.clone(),
            book: Arc::new(std::sync::Mutex::new(Book::default())),
            io: tokio::sync::Mutex::new(()),
            shared: std::sync::atomic::AtomicBool::new(false),
            slices: Arc::new(std::sync::Mutex::new(Slices::default())),
            quota_gate: tokio::sync::Mutex::new(()),
            clock: std::sync::OnceLock::new(),
        }
    }

    /// Makes budgets hold for a deployment of several nodes on one database: a call reserves
    /// from a slice this node took from the budget's quota in the database (atomically against
    /// every node), and slices go back with what was spent at every flush. The deployment never
    /// spends more than a budget; a call can be refused while another node holds an unused
    /// slice, until that node's next flush (at most a second) gives it back.
    pub fn set_shared(&self, shared: bool) {
        self.shared.store(shared, std::sync::atomic::Ordering::Relaxed);
    }

    /// Divides request rates among `nodes` live nodes of the deployment (each node's share:
    /// the rate and burst divided by the node count, at least one request per second). With
    /// calls spread over the nodes the deployment admits the configured rate; a tenant whose
    /// calls all reach one node gets that node's share, never more. While the count changes
    /// (a node joins, or one died and its lease has not expired) the deployment can admit up to
    /// one node's share more for the few seconds until every node has read the new count.
    pub fn set_nodes(&self, nodes: u32) {
        let nodes = nodes.max(1);
        if self.nodes.swap(nodes, std::sync::atomic::Ordering::Relaxed) == nodes {
            return;
        }
        let limiter = self.tenant_rate.map(|(rps, burst)| {
            Arc::new(RateLimiter::keyed(
                Quota::per_second(share(rps, nodes)).allow_burst(share(burst, nodes)),
            ))
        });
        if let Ok(mut rate) = self.rate.write() {
            *rate = limiter;
        }
    }

    /// The live nodes rates are divided among.
    pub fn nodes(&self) -> u32 {
        self.nodes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Dates budget periods and usage days by the deployment's clock (on several nodes, the
    /// database's) instead of this machine's. Set once.
    pub fn set_clock(&self, clock: fn() -> OffsetDateTime) {
        let _ = self.clock.set(clock);
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.get().map_or_else(OffsetDateTime::now_utc, |f| f())
    }

    fn is_shared(&self) -> bool {
        self.shared.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Takes one request from the tenant's rate.
    /// A place among the calls under way, held until the call (its stream included) ends;
    /// `None` when every place is taken.
    pub fn admit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.calls).try_acquire_owned().ok()
    }

    pub fn check_rate(&self, tenant: TenantId) -> Result<(), Over> {
        let Some(rate) = self.rate.read().ok().and_then(|r| r.clone()) else {
            return Ok(());
        };
        rate.check_key(&tenant).map_err(|not_until| Over::Rate {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }

    /// The server's own ceilings for a product (see [`server_limits`]).
    pub fn server_limits(&self, product: &str) -> AiLimits {
        server_limits(&self.budgets, product)
    }

    /// Takes one request from the tenant's rate for `product`, as `limits` set it.
    pub fn check_product_rate(&self, tenant: TenantId, product: &str, limits: &AiLimits) -> Result<(), Over> {
        let Some(rps) = limits.requests_per_second.and_then(NonZeroU32::new) else {
            return Ok(());
        };
        let burst = limits.burst.and_then(NonZeroU32::new).unwrap_or(rps);
        let nodes = self.nodes();
        let (rps, burst) = (share(rps, nodes), share(burst, nodes));
        let Ok(mut rates) = self.rates.lock() else {
            return Ok(());
        };
        let key = (tenant, product.to_string());
        let quota = (rps.get(), burst.get());
        let entry = rates.entry(key).or_insert_with(|| ProductRate {
            quota,
            limiter: RateLimiter::direct(Quota::per_second(rps).allow_burst(burst)),
            used: std::time::Instant::now(),
        });
        if entry.quota != quota {
            // The limits changed: the new rate starts with a full burst.
            entry.quota = quota;
            entry.limiter = RateLimiter::direct(Quota::per_second(rps).allow_burst(burst));
        }
        entry.used = std::time::Instant::now();
        entry.limiter.check().map_err(|not_until| Over::Rate {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }

    /// The budgets `limits` set.
    pub fn budgets(limits: &AiLimits) -> Vec<Budget> {
        let mut v = Vec::new();
        if let Some(tokens) = limits.tokens_per_day {
            v.push(Budget {
                period: BudgetPeriod::Day,
                tokens,
            });
        }
        if let Some(tokens) = limits.tokens_per_month {
            v.push(Budget {
                period: BudgetPeriod::Month,
                tokens,
            });
        }
        v
    }

    /// Reads the tenant's month from the store once, so its budgets count what earlier
    /// processes spent.
    async fn ensure_loaded(&self, store: &dyn Store, tenant: TenantId) {
        let today = self.now().date();
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
    }

    /// The least room any of `budgets` has (spent and reserved taken out), with that budget;
    /// `None` without budgets.
    fn room(
        book: &Book,
        tenant: TenantId,
        product: &str,
        budgets: &[Budget],
        now: OffsetDateTime,
    ) -> Option<(u64, Budget)> {
        let today = now.date();
        let reserved = book.reserved.get(&(tenant, product.to_string())).copied().unwrap_or(0);
        budgets
            .iter()
            .map(|b| {
                let from = match b.period {
                    BudgetPeriod::Day => today,
                    BudgetPeriod::Month => month_start(today),
                };
                let used = book.spent(tenant, product, from, today).saturating_add(reserved);
                (b.tokens.saturating_sub(used), *b)
            })
            .min_by_key(|(room, _)| *room)
    }

    /// Whether the tenant has tokens left in every budget of `product` (a first, cheap check;
    /// [`Limits::reserve`] is the one that counts).
    pub async fn check_budget(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        product: &str,
        budgets: &[Budget],
    ) -> Result<(), Over> {
        if budgets.is_empty() || self.is_shared() {
            // Shared: the reservation, against the deployment's quota, is the check.
            return Ok(());
        }
        self.ensure_loaded(store, tenant).await;
        let now = self.now();
        let Ok(book) = self.book.lock() else {
            return Ok(());
        };
        match Self::room(&book, tenant, product, budgets, now) {
            Some((0, b)) => Err(Over::exhausted(product, b, now)),
            _ => Ok(()),
        }
    }

    /// Reserves a call's worst case against every budget in one step: `prompt` tokens (an
    /// upper bound) and the completion, capped at `completion` if the client set a cap, and
    /// always at what the budgets have left. Refused when even the prompt does not fit.
    pub async fn reserve(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        product: &str,
        budgets: &[Budget],
        prompt: u64,
        completion: Option<u64>,
    ) -> Result<Option<Reservation>, Over> {
        if budgets.is_empty() {
            return Ok(None);
        }
        if self.is_shared() {
            return self
                .reserve_shared(store, tenant, product, budgets, prompt, completion)
                .await;
        }
        self.ensure_loaded(store, tenant).await;
        self.reserve_now(tenant, product, budgets, prompt, completion)
    }

    /// The slice key of `budget` for `tenant`'s `product` now.
    fn slice_key(tenant: TenantId, product: &str, b: &Budget, now: OffsetDateTime) -> SliceKey {
        let period = match b.period {
            BudgetPeriod::Day => format!("day:{}", now.date()),
            BudgetPeriod::Month => {
                let d = now.date();
                format!("month:{}-{:02}", d.year(), u8::from(d.month()))
            }
        };
        (format!("llm-tokens/{tenant}/{product}"), period)
    }

    /// [`Limits::reserve`] on a shared database: from this node's slices, taking more from the
    /// database's quotas when they run short.
    async fn reserve_shared(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        product: &str,
        budgets: &[Budget],
        prompt: u64,
        completion: Option<u64>,
    ) -> Result<Option<Reservation>, Over> {
        let now = self.now();
        let keys: Vec<SliceKey> = budgets
            .iter()
            .map(|b| Self::slice_key(tenant, product, b, now))
            .collect();
        let wanted = prompt.saturating_add(completion.unwrap_or(0)).max(prompt + 1);
        // Top each slice up to what this call wants (and a share of the budget, so the next
        // calls need no round trip); taken without holding the lock, added under it.
        for (b, key) in budgets.iter().zip(&keys) {
            let free = || match self.slices.lock() {
                Ok(s) => Some(s.0.get(key).map_or(0, Slice::free)),
                Err(_) => None,
            };
            if free().is_none_or(|f| f >= wanted) {
                continue;
            }
            // Not while slices are on their way back (see `quota_gate`); what is free is read
            // again once they are in the database.
            let _gate = self.quota_gate.lock().await;
            let Some(free) = free() else {
                return Ok(None);
            };
            if free >= wanted {
                continue;
            }
            let want = (wanted - free).max(b.tokens / 20);
            match store.take_quota(&key.0, &key.1, want, b.tokens).await {
                Ok(got) => {
                    if let Ok(mut s) = self.slices.lock() {
                        let slice = s.0.entry(key.clone()).or_default();
                        slice.held += got;
                        slice.limit = b.tokens;
                    }
                }
                Err(e) => {
                    // As when usage cannot be read: the call goes on unbudgeted rather than
                    // every call being refused (the audit log, on the same database, refuses
                    // the call anyway if the database is down).
                    tracing::warn!(error = %e, %tenant, "cannot take from a token budget's quota; the call is not budgeted");
                    return Ok(None);
                }
            }
        }
        let Ok(mut s) = self.slices.lock() else {
            return Ok(None);
        };
        let (room, b) = budgets
            .iter()
            .zip(&keys)
            .map(|(b, k)| (s.0.get(k).map_or(0, Slice::free), *b))
            .min_by_key(|(room, _)| *room)
            .unwrap_or((0, budgets[0]));
        let (amount, cap) = grant(product, b, now, room, prompt, completion)?;
        for k in &keys {
            if let Some(slice) = s.0.get_mut(k) {
                slice.reserved += amount;
            }
        }
        Ok(Some(Reservation {
            book: Arc::clone(&self.book),
            key: (tenant, product.to_string()),
            amount,
            completion_cap: Some(cap),
            slices: Some((Arc::clone(&self.slices), keys)),
        }))
    }

    /// Gives every slice back to the database with what was spent from it (the part reserved
    /// by calls under way stays held).
    async fn give_back(&self, store: &dyn Store) -> Result<(), StoreError> {
        let _gate = self.quota_gate.lock().await;
        let returns: Vec<(SliceKey, u64, u64)> = match self.slices.lock() {
            Ok(mut s) => {
                s.0.iter_mut()
                    .filter_map(|(k, slice)| {
                        let give = slice.held.saturating_sub(slice.reserved);
                        let used = slice.used;
                        if give == 0 && used == 0 {
                            return None;
                        }
                        slice.held -= give;
                        slice.used = 0;
                        Some((k.clone(), give, used))
                    })
                    .collect()
            }
            Err(_) => return Ok(()),
        };
        let mut failed = None;
        for ((scope, period), give, used) in returns {
            if let Err(e) = store.return_quota(&scope, &period, give, used).await {
                // Kept, to be given back at the next flush.
                if let Ok(mut s) = self.slices.lock() {
                    let slice = s.0.entry((scope, period)).or_default();
                    slice.held += give;
                    slice.used += used;
                }
                failed = Some(e);
            }
        }
        if let Ok(mut s) = self.slices.lock() {
            s.0.retain(|_, slice| slice.held > 0 || slice.reserved > 0 || slice.used > 0);
        }
        failed.map_or(Ok(()), Err)
    }

    /// [`Limits::reserve`] once the tenant's month is loaded: one step under the book's lock.
    fn reserve_now(
        &self,
        tenant: TenantId,
        product: &str,
        budgets: &[Budget],
        prompt: u64,
        completion: Option<u64>,
    ) -> Result<Option<Reservation>, Over> {
        let now = self.now();
        let Ok(mut book) = self.book.lock() else {
            return Ok(None);
        };
        let Some((room, b)) = Self::room(&book, tenant, product, budgets, now) else {
            return Ok(None);
        };
        let (amount, cap) = grant(product, b, now, room, prompt, completion)?;
        *book.reserved.entry((tenant, product.to_string())).or_default() += amount;
        Ok(Some(Reservation {
            book: Arc::clone(&self.book),
            key: (tenant, product.to_string()),
            amount,
            completion_cap: Some(cap),
            slices: None,
        }))
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

    /// Counts a finished call (one that reached a provider) and settles its reservation:
    /// the provider's count replaces it, or, when the provider gave none, the reservation is
    /// charged whole (it is the call's upper bound).
    pub fn account(&self, caller: &GatewayCaller, record: &CallRecord, reservation: Option<Reservation>) {
        let reached = record.provider.is_some() && record.status != datapact_audit::CallStatus::Blocked;
        let usage = record.usage.map(|n| n.map(u64::from));
        self.settle(
            (caller.tenant.id, &caller.product, &record.model),
            reached,
            usage,
            reservation,
        );
    }

    /// Counts a call of `(tenant, product, model)` with the provider's `[prompt, completion,
    /// total]` counts (each if given), replacing its reservation.
    fn settle(
        &self,
        (tenant, product, model): (TenantId, &str, &str),
        reached: bool,
        [p, c, t]: [Option<u64>; 3],
        mut reservation: Option<Reservation>,
    ) {
        let counted = match (t, p, c) {
            (Some(t), _, _) if t > 0 => Some(t),
            (_, Some(p), c) => Some(p + c.unwrap_or(0)),
            _ => None,
        };
        // No count (a stream broken off, a provider that reports none): the call may have
        // cost up to what it reserved, so that is what it is charged.
        let total = match (&reservation, counted) {
            (_, Some(n)) => n,
            (Some(r), None) if reached => r.amount,
            _ => 0,
        };
        let (p, c) = (p.unwrap_or(0), c.unwrap_or(0));
        let day = self.now().date();
        let Ok(mut book) = self.book.lock() else {
            return;
        };
        if reached {
            book.pending
                .entry((tenant, product.to_string(), model.to_string(), day))
                .or_default()
                .add(&Counts {
                    requests: 1,
                    prompt: p,
                    completion: c,
                    total,
                });
            if book.loaded.contains(&(tenant, month_start(day))) {
                *book.spent.entry((tenant, product.to_string(), day)).or_default() += total;
            }
        }
        // The reservation gives way to the count under the same lock: no check ever sees the
        // call counted twice or not at all.
        if let Some(r) = reservation.as_mut() {
            book.release(&r.key, r.amount);
            if let Some((slices, keys)) = &r.slices
                && let Ok(mut s) = slices.lock()
            {
                s.settle(keys, r.amount, if reached { total } else { 0 });
            }
            r.amount = 0;
        }
    }

    /// Writes pending counts to the store; on failure they stay pending for the next try.
    pub async fn flush(&self, store: &dyn Store) -> Result<(), StoreError> {
        let given_back = self.give_back(store).await;
        let _io = self.io.lock().await;
        let pending = match self.book.lock() {
            Ok(mut b) => std::mem::take(&mut b.pending),
            Err(_) => return Ok(()),
        };
        if pending.is_empty() {
            return given_back;
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
        let month = month_start(self.now().date());
        if let Ok(mut b) = self.book.lock() {
            b.loaded.retain(|(_, m)| *m == month);
            b.spent.retain(|(_, _, d), _| *d >= month);
        }
        if let Some(rate) = self.rate.read().ok().and_then(|r| r.clone()) {
            rate.retain_recent();
        }
        // A rate unused for a minute is back at its full burst (bursts above a minute's worth
        // excepted, and those only lose what they had used): nothing is lost by dropping it.
        if let Ok(mut rates) = self.rates.lock() {
            rates.retain(|_, r| r.used.elapsed() < Duration::from_secs(60));
        }
        given_back
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

    /// How much of each of `budgets` the tenant has used on `product`, with when its period ends.
    pub async fn budget_status(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        product: &str,
        budgets: &[Budget],
    ) -> Vec<(Budget, u64, Duration)> {
        let now = self.now();
        let today = now.date();
        let mut out = Vec::new();
        for b in budgets {
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
            out.push((*b, used, until_period_end(now, b.period)));
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

/// The limits in force for the caller's product: its AI settings, its organization's terms and
/// the server's budgets, each the lowest.
pub fn effective_limits(limits: &Limits, caller: &GatewayCaller) -> datapact_governance::AiLimits {
    datapact_governance::settings::effective_limits(
        &caller.org.ai,
        &caller.tenant.ai,
        &caller.product,
        &caller.org.ai_limits,
        limits.server_limits(&caller.product),
    )
    .value
}

/// The server's own ceilings for a product: its `[[gateway.budgets]]` (for the product or
/// `*`), the lowest of each period.
pub fn server_limits(budgets: &[BudgetConfig], product: &str) -> AiLimits {
    let mut l = AiLimits::default();
    for b in budgets.iter().filter(|b| b.product == "*" || b.product == product) {
        let slot = match b.period {
            BudgetPeriod::Day => &mut l.tokens_per_day,
            BudgetPeriod::Month => &mut l.tokens_per_month,
        };
        *slot = Some(slot.map_or(b.tokens, |t| t.min(b.tokens)));
    }
    l
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

    use proptest::prelude::*;

    /// One call of the property test: the prompt bound it reserves, the completion cap it asks
    /// for, and how much of what it was allowed it really uses (percent).
    #[derive(Debug, Clone)]
    struct Call {
        prompt: u64,
        completion: Option<u64>,
        used_pct: u64,
    }

    fn arb_call() -> impl Strategy<Value = Call> {
        (1u64..300, proptest::option::of(0u64..600), 0u64..=100).prop_map(|(prompt, completion, used_pct)| Call {
            prompt,
            completion,
            used_pct,
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Calls on several threads at once, each reserving, then settling with what it used
        /// (never more than its prompt bound and its cap, as a provider honouring the cap
        /// does): the tokens spent never exceed the budget, at any moment or at the end.
        #[test]
        fn concurrent_calls_never_overshoot_a_budget(
            tokens in 1u64..5_000,
            month in proptest::option::of(1u64..8_000),
            calls in proptest::collection::vec(arb_call(), 1..120),
            threads in 2usize..6,
        ) {
            let l = Arc::new(Limits::new(&GatewayConfig::default()));
            let tenant = TenantId::generate();
            let today = OffsetDateTime::now_utc().date();
            l.book.lock().unwrap().loaded.insert((tenant, month_start(today)));
            let mut budgets = vec![Budget { period: BudgetPeriod::Day, tokens }];
            if let Some(m) = month {
                budgets.push(Budget { period: BudgetPeriod::Month, tokens: m });
            }
            let limit = budgets.iter().map(|b| b.tokens).min().unwrap();
            let chunks: Vec<Vec<Call>> = calls.chunks(calls.len().div_ceil(threads)).map(|c| c.to_vec()).collect();
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| {
                    let (l, budgets) = (Arc::clone(&l), budgets.clone());
                    std::thread::spawn(move || {
                        let mut admitted = 0u64;
                        for call in chunk {
                            let Ok(Some(r)) = l.reserve_now(tenant, "p", &budgets, call.prompt, call.completion) else {
                                continue;
                            };
                            admitted += 1;
                            let cap = r.completion_cap.unwrap_or(0);
                            let prompt = call.prompt * call.used_pct / 100;
                            let completion = cap * call.used_pct / 100;
                            std::thread::yield_now();
                            l.settle((tenant, "p", "m"), true, [Some(prompt), Some(completion), None], Some(r));
                            let b = l.book.lock().unwrap();
                            let spent = b.spent(tenant, "p", month_start(today), today);
                            let reserved = b.reserved.get(&(tenant, "p".to_string())).copied().unwrap_or(0);
                            assert!(spent + reserved <= limit, "spent {spent} + reserved {reserved} > {limit}");
                        }
                        admitted
                    })
                })
                .collect();
            let admitted: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
            let b = l.book.lock().unwrap();
            prop_assert!(b.spent(tenant, "p", month_start(today), today) <= limit);
            prop_assert!(b.reserved.is_empty(), "every reservation settled");
            prop_assert!(admitted > 0 || calls.iter().all(|c| c.prompt >= limit));
        }
    }

    #[test]
    fn a_dropped_reservation_gives_its_tokens_back_and_an_unknown_count_charges_it_whole() {
        let l = Limits::new(&GatewayConfig::default());
        let tenant = TenantId::generate();
        let today = OffsetDateTime::now_utc().date();
        l.book.lock().unwrap().loaded.insert((tenant, month_start(today)));
        let budgets = [Budget {
            period: BudgetPeriod::Day,
            tokens: 100,
        }];
        let r = l.reserve_now(tenant, "p", &budgets, 30, None).unwrap().unwrap();
        assert_eq!(
            (r.amount(), r.completion_cap),
            (100, Some(70)),
            "the cap is what is left"
        );
        assert!(matches!(
            l.reserve_now(tenant, "p", &budgets, 1, None),
            Err(Over::Budget { .. })
        ));
        drop(r);
        let r = l.reserve_now(tenant, "p", &budgets, 30, Some(10)).unwrap().unwrap();
        assert_eq!(r.amount(), 40);
        // A stream broken off without a count: charged what it reserved.
        l.settle((tenant, "p", "m"), true, [None, None, None], Some(r));
        assert!(matches!(
            l.reserve_now(tenant, "p", &budgets, 60, None),
            Err(Over::TooLarge { room: 60, .. })
        ));
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

    /// Three nodes, each admitting its share of a tenant's rate: together they admit the
    /// deployment's burst, not three times it; back to one node, the whole rate.
    #[test]
    fn rates_are_divided_among_live_nodes() {
        let cfg = GatewayConfig {
            tenant_requests_per_second: Some(30),
            tenant_burst: Some(30),
            ..GatewayConfig::default()
        };
        let nodes: Vec<Limits> = (0..3).map(|_| Limits::new(&cfg)).collect();
        let limits = AiLimits {
            requests_per_second: Some(9),
            burst: Some(9),
            ..AiLimits::default()
        };
        for n in &nodes {
            // The product's rate is taken first, at its full burst, then divided.
            assert!(n.check_product_rate(TenantId::generate(), "p", &limits).is_ok());
            n.set_nodes(3);
            assert_eq!(n.nodes(), 3);
        }
        let tenant = TenantId::generate();
        let admitted: usize = nodes
            .iter()
            .map(|n| (0..100).filter(|_| n.check_rate(tenant).is_ok()).count())
            .sum();
        assert_eq!(admitted, 30, "the deployment's burst, across three nodes");
        let product: usize = nodes
            .iter()
            .map(|n| {
                (0..100)
                    .filter(|_| n.check_product_rate(tenant, "p", &limits).is_ok())
                    .count()
            })
            .sum();
        assert_eq!(product, 9, "the product's burst, across three nodes");
        nodes[0].set_nodes(1);
        let t = TenantId::generate();
        assert_eq!(
            (0..100).filter(|_| nodes[0].check_rate(t).is_ok()).count(),
            30,
            "alone again"
        );
        // A share never falls to zero: more nodes than requests per second leaves one each.
        nodes[1].set_nodes(100);
        let t = TenantId::generate();
        assert_eq!((0..100).filter(|_| nodes[1].check_rate(t).is_ok()).count(), 1);
    }

    /// Two nodes share one budget through the store's quota: from eight tasks at once, calls
    /// reserve, spend up to what they reserved and settle (some are dropped unsettled), with
    /// every flush giving slices back. The deployment never spends more than the budget, what
    /// was spent is counted exactly once, and the budget runs out (the last call is refused
    /// only when nothing, or less than its prompt, is left).
    async fn two_nodes_never_overshoot_one_budget(store: Arc<dyn Store>) {
        let nodes: Vec<Arc<Limits>> = (0..2)
            .map(|_| {
                let l = Arc::new(Limits::new(&GatewayConfig::default()));
                l.set_shared(true);
                l
            })
            .collect();
        let tenant = TenantId::generate();
        let budgets = [
            Budget {
                period: BudgetPeriod::Day,
                tokens: 20_000,
            },
            Budget {
                period: BudgetPeriod::Month,
                tokens: 50_000,
            },
        ];
        let spent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut tasks = Vec::new();
        for t in 0..8u64 {
            let (node, store, spent) = (
                Arc::clone(&nodes[(t % 2) as usize]),
                Arc::clone(&store),
                Arc::clone(&spent),
            );
            tasks.push(tokio::spawn(async move {
                let mut refused = 0;
                for i in 0..400u64 {
                    match node.reserve(&*store, tenant, "p", &budgets, 20 + i % 7, Some(60)).await {
                        Ok(Some(r)) => {
                            if i % 11 == 0 {
                                drop(r); // failed before the provider: nothing spent
                            } else {
                                let used = (r.amount() * (1 + (i + t) % 4)) / 4;
                                spent.fetch_add(used, std::sync::atomic::Ordering::SeqCst);
                                node.settle((tenant, "p", "m"), true, [None, None, Some(used)], Some(r));
                            }
                        }
                        Ok(None) => panic!("a budgeted call was not reserved"),
                        Err(_) => refused += 1,
                    }
                    if i % 50 == 0 {
                        node.flush(&*store).await.unwrap();
                    }
                }
                refused
            }));
        }
        let mut refused = 0;
        for t in tasks {
            refused += t.await.unwrap();
        }
        for n in &nodes {
            n.flush(&*store).await.unwrap();
        }
        let now = OffsetDateTime::now_utc();
        let day = store
            .quota(
                &Limits::slice_key(tenant, "p", &budgets[0], now).0,
                &Limits::slice_key(tenant, "p", &budgets[0], now).1,
            )
            .await
            .unwrap();
        let spent = spent.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(day.spent, spent, "what was spent is counted once");
        assert_eq!(day.taken, 0, "every slice was given back");
        assert!(spent <= 20_000, "the deployment spent {spent} of a 20,000-token budget");
        assert!(refused > 0, "the budget ran out");
        assert!(
            spent > 20_000 - 100,
            "calls were refused with {} tokens left",
            20_000 - spent
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_share_a_budget_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(datapact_store::SqliteStore::open(dir.path()).unwrap());
        two_nodes_never_overshoot_one_budget(store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_share_a_budget_on_postgres() {
        let Some(cluster) = datapact_pgtest::Cluster::start() else {
            return;
        };
        let url = cluster.database("budgets").await;
        let store: Arc<dyn Store> = Arc::new(datapact_store::PostgresStore::connect(&url).await.unwrap());
        two_nodes_never_overshoot_one_budget(store).await;
    }
}
