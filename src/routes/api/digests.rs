//! `/api/v1/digests`: create, list, show, preview.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Admin;
use super::pagination::{page_request, query_pairs};
use crate::digests::{self, Preview, PreviewError};
use crate::domain::{FieldErrors, SubscriberEmail};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::{clock, store::DigestView, store::Page};

/// Queues a digest of everything no earlier digest announced: 202, or 409
/// when there is nothing new (nothing queued then).
pub async fn send_digest(_admin: Admin, State(state): State<AppState>) -> ApiResult<(StatusCode, Json<Value>)> {
    match digests::create(state.store.as_ref(), &state.config.publications, clock::now()).await? {
        Some(digest) => {
            state.worker_wake.notify_one();
            let body = json!({ "id": digest.id, "publications": digest.publications, "recipients": digest.recipients });
            Ok((StatusCode::ACCEPTED, Json(body)))
        }
        None => Err(ApiError::Conflict(
            "nothing new to send: every publication is already announced, embargoed, or older than DIGEST_MAX_AGE"
                .into(),
        )),
    }
}

pub async fn list_digests(
    _admin: Admin,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Page<DigestView>>> {
    let mut errors = FieldErrors::default();
    let page = page_request(query.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Json(state.store.list_digests(page).await?))
}

pub async fn show_digest(
    _admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<DigestView>> {
    let missing = || ApiError::NotFound(format!("no digest with id {id}"));
    let digest_id: i64 = id.parse().map_err(|_| missing())?;
    state.store.digest(digest_id).await?.map(Json).ok_or_else(missing)
}

/// `?email=` previews the email that subscriber would get; without it, the
/// email of a reader who wants everything.
pub async fn preview_digest(
    _admin: Admin,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Preview>> {
    let email = match query_pairs(query.as_deref()).into_iter().find(|(k, _)| k == "email") {
        None => None,
        Some((_, raw)) => {
            Some(SubscriberEmail::parse(&raw).map_err(|e| ApiError::Validation(FieldErrors::single("email", e)))?)
        }
    };
    let preview = digests::preview(
        state.store.as_ref(),
        &state.composer,
        &state.config.publications,
        email.as_ref(),
        clock::now(),
    )
    .await
    .map_err(|error| match error {
        PreviewError::UnknownReader => ApiError::NotFound("no subscriber with this address".into()),
        PreviewError::Store(error) => error.into(),
        PreviewError::Compose(error) => ApiError::Internal(error.into()),
    })?;
    Ok(Json(preview))
}
