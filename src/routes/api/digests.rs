//! `/api/v1/digests`: create, list, show, preview.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::Admin;
use super::pagination::{PageParams, page_request, query_pairs};
use crate::clock;
use crate::digests::{self, Preview, PreviewError};
use crate::domain::{FieldErrors, SubscriberEmail};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::{DigestCreated, DigestView, Page};

/// Queues a digest of everything no earlier digest announced: 202, or 409
/// when there is nothing new (nothing queued then).
#[utoipa::path(post, path = "/digests", tag = "admin", responses(
    (status = 202, description = "Queued.", body = DigestCreated),
    (status = 409, description = "Nothing new to send; nothing queued.", body = ErrorBody),
))]
pub async fn send_digest(_admin: Admin, State(state): State<AppState>) -> ApiResult<(StatusCode, Json<DigestCreated>)> {
    match digests::create(state.store.as_ref(), &state.config.publications, clock::now()).await? {
        Some(digest) => {
            state.worker_wake.notify_one();
            Ok((StatusCode::ACCEPTED, Json(digest)))
        }
        None => Err(ApiError::Conflict(
            "nothing new to send: every publication is already announced, embargoed, or older than DIGEST_MAX_AGE"
                .into(),
        )),
    }
}

/// Digest history, newest first.
#[utoipa::path(get, path = "/digests", tag = "admin", params(PageParams), responses(
    (status = 200, description = "One page of digests.", body = Page<DigestView>),
    (status = 422, description = "A bad `page` or `per_page`.", body = ErrorBody),
))]
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

/// A digest and how far its delivery has come.
#[utoipa::path(get, path = "/digests/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The digest's id.")),
    responses(
        (status = 200, description = "The digest.", body = DigestView),
        (status = 404, description = "No digest with this id.", body = ErrorBody),
    ))]
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
#[utoipa::path(get, path = "/digests/preview", tag = "admin",
    params(("email" = Option<String>, Query, format = "email", max_length = 254,
        description = "Preview as this subscriber would get it.")),
    responses(
        (status = 200, description = "What the next digest would be; nothing queued.", body = Preview),
        (status = 404, description = "No subscriber with this address.", body = ErrorBody),
        (status = 422, description = "Not a valid address.", body = ErrorBody),
    ))]
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
