//! The one place that reads the wall clock.
//!
//! Timestamps are truncated to microseconds because that is what Postgres
//! stores: a value read back from either backend then equals the value written.

use chrono::{DateTime, SubsecRound, Utc};

/// Current time at the precision both backends keep.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
