//! `GET /api/v1/subscribers` and `DELETE /api/v1/subscribers/{id}`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::Admin;
use crate::clock;
use crate::domain::{FieldErrors, SubscriptionStatus};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{Page, PageRequest, Subscriber, SubscriberFilter};

pub async fn list_subscribers(
    _admin: Admin,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Page<Subscriber>>> {
    let params = ListParams::parse(query.as_deref())?;
    let filter = SubscriberFilter { status: params.status };
    Ok(Json(state.store.list_subscribers(&filter, params.page).await?))
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

/// `?page=&per_page=&status=`, checked with clear messages.
struct ListParams {
    page: PageRequest,
    status: Option<SubscriptionStatus>,
}

impl ListParams {
    const DEFAULT_PER_PAGE: u32 = 50;
    const MAX_PER_PAGE: u32 = 500;

    fn parse(query: Option<&str>) -> ApiResult<ListParams> {
        let mut errors = FieldErrors::default();
        let mut page = PageRequest { page: 1, per_page: Self::DEFAULT_PER_PAGE };
        let mut status = None;
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "page" => match value.parse::<u32>() {
                    Ok(n) if n >= 1 => page.page = n,
                    _ => errors.add("page", "Must be a whole number from 1."),
                },
                "per_page" => match value.parse::<u32>() {
                    Ok(n) if (1..=Self::MAX_PER_PAGE).contains(&n) => page.per_page = n,
                    _ => errors.add("per_page", "Must be a whole number from 1 to 500."),
                },
                "status" => match value.parse::<SubscriptionStatus>() {
                    Ok(s) => status = Some(s),
                    Err(_) => errors.add("status", "Must be pending, confirmed or unsubscribed."),
                },
                _ => {}
            }
        }
        if errors.is_empty() { Ok(ListParams { page, status }) } else { Err(ApiError::Validation(errors)) }
    }
}
