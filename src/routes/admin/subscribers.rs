//! `/admin/subscribers`: search, one subscriber's record, erase, CSV export.

use axum::Form;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::StreamExt;
use minijinja::context;
use serde::Deserialize;

use super::session::AdminUser;
use crate::cli::subscribers::{EXPORT_COLUMNS, export_record};
use crate::clock;
use crate::domain::{FieldErrors, SubscriptionStatus};
use crate::error::ApiError;
use crate::routes::api::pagination::{page_request, query_pairs};
use crate::state::AppState;
use crate::store::{Subscriber, SubscriberSearch};

pub async fn list(State(state): State<AppState>, user: AdminUser, RawQuery(query): RawQuery) -> Response {
    let mut errors = FieldErrors::default();
    let mut page = page_request(query.as_deref(), &mut errors);
    page.per_page = 50;
    let mut search = SubscriberSearch::default();
    let (mut q, mut status, mut topic) = (String::new(), String::new(), String::new());
    let mut flash = None;
    for (key, value) in query_pairs(query.as_deref()) {
        let value = value.trim().to_owned();
        match key.as_str() {
            "q" if !value.is_empty() => (search.address, q) = (Some(value.clone()), value),
            "status" if !value.is_empty() => match value.parse::<SubscriptionStatus>() {
                Ok(parsed) => (search.status, status) = (Some(parsed), value),
                Err(_) => errors.add("status", "Status must be pending, confirmed or unsubscribed."),
            },
            "topic" if !value.is_empty() => (search.topic, topic) = (Some(value.clone()), value),
            "erased" => flash = Some("The subscriber was erased."),
            _ => {}
        }
    }
    let error = super::first_error(&errors);
    let status_code = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = match state.store.search_subscribers(&search, page).await {
        Ok(page) => page,
        Err(error) => return state.pages.error(error.into()),
    };
    let link = |n: u32| {
        let pairs = [("q", q.as_str()), ("status", status.as_str()), ("topic", topic.as_str())];
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            url.append_pair(key, value);
        }
        url.append_pair("page", &n.to_string());
        format!("{}/admin/subscribers?{}", state.pages.base_path(), url.finish())
    };
    let pager = super::pager(&page, link);
    let context = context! { page => super::ser(&page), q, status, topic, error, flash, ..pager };
    super::render(&state, &user, status_code, "admin/subscribers.html", context)
}

async fn find(state: &AppState, id: &str) -> Result<Subscriber, ApiError> {
    let missing = || ApiError::NotFound(format!("no subscriber with id {id}"));
    let subscriber_id: i64 = id.parse().map_err(|_| missing())?;
    state.store.subscriber(subscriber_id).await?.ok_or_else(missing)
}

pub async fn show(State(state): State<AppState>, user: AdminUser, Path(id): Path<String>) -> Response {
    let subscriber = match find(&state, &id).await {
        Ok(subscriber) => subscriber,
        Err(error) => return state.pages.error(error),
    };
    match state.store.subscriber_deliveries(subscriber.id, 100).await {
        Ok(deliveries) => super::page(
            &state,
            &user,
            "admin/subscriber.html",
            context! { s => super::ser(&subscriber), deliveries => super::ser(&deliveries) },
        ),
        Err(error) => state.pages.error(error.into()),
    }
}

pub async fn confirm_erase(State(state): State<AppState>, user: AdminUser, Path(id): Path<String>) -> Response {
    match find(&state, &id).await {
        Ok(subscriber) => super::page(&state, &user, "admin/erase.html", context! { s => super::ser(&subscriber) }),
        Err(error) => state.pages.error(error),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf_token: String,
}

/// The same erase as `DELETE /api/v1/subscribers/{id}`.
pub async fn erase(
    State(state): State<AppState>,
    user: AdminUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = user.check_csrf(&state, &form.csrf_token) {
        return refused;
    }
    let subscriber = match find(&state, &id).await {
        Ok(subscriber) => subscriber,
        Err(error) => return state.pages.error(error),
    };
    match state.store.erase_subscriber(subscriber.id, clock::now()).await {
        Ok(_) => {
            tracing::info!(subscriber_id = subscriber.id, admin = %user.session.email, "subscriber erased");
            let url = format!("{}/admin/subscribers?erased=1", state.pages.base_path());
            Redirect::to(&url).into_response()
        }
        Err(error) => state.pages.error(error.into()),
    }
}

/// Every subscriber as CSV (the columns of `bulletin subscribers export`),
/// streamed a thousand rows at a time.
pub async fn export(State(state): State<AppState>, _user: AdminUser) -> Response {
    let header_row = csv_line(EXPORT_COLUMNS.map(str::to_owned));
    let rows = futures_util::stream::unfold(Some(0i64), move |after| {
        let store = state.store.clone();
        async move {
            let after = after?;
            match store.subscribers_after(after, 1000).await {
                Ok(batch) if batch.is_empty() => None,
                Ok(batch) => {
                    let last = batch.last().map_or(after, |s| s.id);
                    let chunk: String = batch.iter().map(|s| csv_line(export_record(s))).collect();
                    Some((Ok::<_, std::io::Error>(chunk), Some(last)))
                }
                Err(error) => Some((Err(std::io::Error::other(error)), None)),
            }
        }
    });
    let body = futures_util::stream::iter([Ok(header_row)]).chain(rows);
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
        (header::CONTENT_DISPOSITION, "attachment; filename=\"subscribers.csv\""),
    ];
    (headers, Body::from_stream(body)).into_response()
}

fn csv_line(record: [String; 8]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(&record);
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}
