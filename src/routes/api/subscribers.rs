//! `GET /api/v1/subscribers` and `DELETE /api/v1/subscribers/{id}`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::Admin;
use super::pagination::{PageParams, page_request, query_pairs};
use crate::clock;
use crate::domain::{FieldErrors, SubscriptionStatus};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use crate::store::{Page, Subscriber, SubscriberFilter};

/// Subscribers, newest first.
#[utoipa::path(get, path = "/subscribers", tag = "admin",
    params(PageParams, ("status" = Option<SubscriptionStatus>, Query, description = "Only subscribers with this status.")),
    responses(
        (status = 200, description = "One page of subscribers.", body = Page<Subscriber>),
        (status = 422, description = "A bad `page`, `per_page` or `status`.", body = ErrorBody),
    ))]
pub async fn list_subscribers(
    _admin: Admin,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Page<Subscriber>>> {
    let mut errors = FieldErrors::default();
    let page = page_request(query.as_deref(), &mut errors);
    let mut filter = SubscriberFilter::default();
    for (key, value) in query_pairs(query.as_deref()) {
        if key == "status" {
            match value.parse::<SubscriptionStatus>() {
                Ok(status) => filter.status = Some(status),
                Err(_) => errors.add("status", "Must be pending, confirmed or unsubscribed."),
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Json(state.store.list_subscribers(&filter, page).await?))
}

/// Erases a subscriber's personal data (GDPR); only a hash of the address
/// stays, on the suppression list.
#[utoipa::path(delete, path = "/subscribers/{id}", tag = "admin",
    params(("id" = i64, Path, description = "The subscriber's id.")),
    responses(
        (status = 204, description = "Erased."),
        (status = 404, description = "No subscriber with this id.", body = ErrorBody),
    ))]
pub async fn erase_subscriber(
    _admin: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let missing = || ApiError::NotFound(format!("no subscriber with id {id}"));
    let subscriber_id: i64 = id.parse().map_err(|_| missing())?;
    if state.store.erase_subscriber(subscriber_id, clock::now()).await? {
        tracing::info!(subscriber_id, "subscriber erased");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(missing())
    }
}
