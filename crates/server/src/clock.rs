//! The deployment's clock. On several nodes it is the database's: each node measures how far
//! PostgreSQL's clock is ahead of its own (the cluster module's `measure_clock`) and dates
//! everything by its own clock plus that offset.

use time::OffsetDateTime;

/// How far the deployment's clock (the database's, on PostgreSQL) is ahead of this machine's,
/// in microseconds; 0 on SQLite. Kept by the cluster module's `measure_clock`.
static CLOCK_OFFSET_US: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Sets how far the deployment's clock is ahead of this machine's.
pub fn set_clock_offset(us: i64) {
    CLOCK_OFFSET_US.store(us, std::sync::atomic::Ordering::Relaxed);
}

/// How far the deployment's clock is ahead of this machine's, in microseconds.
pub fn clock_offset_us() -> i64 {
    CLOCK_OFFSET_US.load(std::sync::atomic::Ordering::Relaxed)
}

/// The current time on the deployment's clock, truncated to microseconds so stored and
/// in-memory times agree. On several nodes this is the database's clock (this machine's plus
/// the offset measured every second), so a node whose clock is off by minutes still dates
/// grants, opt-outs, terminations and records, and decides whether a grant is active, as the
/// others do.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc() + time::Duration::microseconds(clock_offset_us());
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}
