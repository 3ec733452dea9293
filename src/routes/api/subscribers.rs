//! `GET /api/v1/subscribers` and `DELETE /api/v1/subscribers/{id}`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::Admin;
use super::pagination::{page_request, query_pairs};
use crate::clock;
use crate::domain::{FieldErrors, SubscriptionStatus};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{Page, Subscriber, SubscriberFilter};

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
