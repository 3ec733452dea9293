//! Per-IP request limits: signups (`SIGNUP_RATE_PER_IP`) and failed admin
//! logins (`ADMIN_AUTH_FAILURES_PER_IP`). Token buckets kept in memory, per process.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::client_ip::ClientIp;
use crate::config::{HttpConfig, Rate};
use crate::error::ApiError;
use crate::state::AppState;

pub struct Limits {
    signups: Option<IpRateLimiter>,
    admin_failures: Option<IpRateLimiter>,
}

impl Limits {
    pub fn new(config: &HttpConfig) -> Limits {
        Limits {
            signups: config.signup_rate_per_ip.map(IpRateLimiter::new),
            admin_failures: config.admin_failures_per_ip.map(IpRateLimiter::new),
        }
    }

    /// Counts a failed admin authentication; `Err` once the IP has failed too often.
    pub fn admin_failure(&self, ip: IpAddr) -> Result<(), Duration> {
        self.admin_failures.as_ref().map_or(Ok(()), |limiter| limiter.check(ip))
    }
}

/// A keyed token bucket. IPv6 clients are keyed by their /64: one
/// subscriber line gets a whole /64, so single addresses are free to forge.
pub struct IpRateLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl IpRateLimiter {
    pub fn new(rate: Rate) -> IpRateLimiter {
        let burst = NonZeroU32::new(rate.count).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(rate.period / burst.get())
            .unwrap_or_else(|| Quota::per_second(burst))
            .allow_burst(burst);
        IpRateLimiter { limiter: RateLimiter::keyed(quota), checks: AtomicU64::new(0) }
    }

    /// `Err(wait)` when the bucket for `ip` is empty.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        // Forget idle clients now and then, so memory does not grow with
        // the number of addresses ever seen.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&bucket_key(ip))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The key a client is limited by: its IPv4 address, or its IPv6 /64.
pub fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::from(segments)
            }
        },
    }
}

/// Middleware for `POST /subscriptions`: every request counts, valid or not.
pub async fn limit_signups(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    request: Request,
    next: Next,
) -> Response {
    let Some(limiter) = &state.limits.signups else { return next.run(request).await };
    match limiter.check(ip) {
        Ok(()) => next.run(request).await,
        Err(retry_after) => {
            tracing::info!(client_ip = %ip, "signup rate limit reached");
            let error = ApiError::TooManyRequests { retry_after };
            let wants_json = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            if wants_json { error.into_response() } else { state.pages.error(error) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let limiter = IpRateLimiter::new(Rate { count: 3, period: Duration::from_secs(60) });
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(ip).is_ok());
        }
        let wait = limiter.check(ip).unwrap_err();
        assert!(wait > Duration::from_secs(10) && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(limiter.check("192.0.2.8".parse().unwrap()).is_ok(), "other clients have their own bucket");
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket_key(a), bucket_key(b));
        assert_ne!(bucket_key(a), bucket_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(bucket_key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }
}
