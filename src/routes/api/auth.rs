//! The `Admin` extractor: a request carrying the admin bearer token.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::routes::client_ip::ClientIp;
use crate::state::AppState;

/// Proof that the request was made with `ADMIN_TOKEN`.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        // Hashing first makes the comparison constant-time whatever the lengths.
        let matches = match (presented, &state.admin_token_hash) {
            (Some(presented), Some(expected)) => {
                let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
                bool::from(presented.ct_eq(expected))
            }
            _ => false,
        };
        if matches {
            return Ok(Admin);
        }
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        match state.limits.admin_failure(ip) {
            Ok(()) => Err(ApiError::Unauthorized),
            Err(retry_after) => {
                tracing::warn!(client_ip = %ip, "too many failed admin authentications");
                Err(ApiError::TooManyRequests { retry_after })
            }
        }
    }
}
