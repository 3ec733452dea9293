//! `/admin/digests`: history, the next digest's preview, sending it behind a
//! confirmation, and one digest's progress (live through `admin.js`, or on
//! reload), failures and retry.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use minijinja::context;
use serde_json::json;

use super::session::AdminUser;
use super::subscribers::CsrfOnly;
use crate::clock;
use crate::digests::{self, PreviewError};
use crate::domain::{FieldErrors, Topics};
use crate::error::ApiError;
use crate::routes::api::pagination::{page_request, query_pairs};
use crate::state::AppState;
use crate::store::{DigestView, TestDigest};

pub async fn list(State(state): State<AppState>, user: AdminUser, RawQuery(query): RawQuery) -> Response {
    let mut errors = FieldErrors::default();
    let mut page = page_request(query.as_deref(), &mut errors);
    page.per_page = 50;
    let page = match state.store.list_digests(page).await {
        Ok(page) => page,
        Err(error) => return state.pages.error(error.into()),
    };
    let link = |n: u32| format!("{}/admin/digests?page={n}", state.pages.base_path());
    let pager = super::pager(&page, link);
    let context =
        context! { digests => super::ser(&page.items), page => super::ser(&page), table_id => "digests", ..pager };
    super::page(&state, &user, "admin/digests.html", context)
}

fn preview_error(error: PreviewError) -> ApiError {
    match error {
        PreviewError::UnknownReader => ApiError::NotFound("no subscriber with this address".into()),
        PreviewError::Store(error) => error.into(),
        PreviewError::Compose(error) => ApiError::Internal(error.into()),
    }
}

/// `?topics=<JSON list>` (one of the readers' topic sets; empty: all
/// topics) and `?format=html|text`.
pub async fn next(State(state): State<AppState>, user: AdminUser, RawQuery(query): RawQuery) -> Response {
    let pairs = query_pairs(query.as_deref());
    let param = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let (topics, format) = (param("topics"), param("format"));
    let flash =
        (!param("test_sent").is_empty()).then(|| format!("A test email is on its way to {}.", user.session.email));
    let format = if format == "text" { "text" } else { "html" };
    let reader_topics = if topics.is_empty() { Topics::default() } else { Topics::from_json(&topics) };
    let sets = match state.store.reader_topic_sets(50).await {
        Ok(sets) => sets,
        Err(error) => return state.pages.error(error.into()),
    };
    let mut topic_sets = vec![json!({ "value": "", "label": "all topics (and readers who chose none)" })];
    for set in sets.into_iter().filter(|s| !Topics::from_json(s).is_empty()) {
        topic_sets.push(json!({ "label": Topics::from_json(&set).names().join(", "), "value": set }));
    }
    let reader = digests::sample_reader(reader_topics);
    let config = &state.config.publications;
    match digests::preview_for(state.store.as_ref(), &state.composer, config, &reader, clock::now()).await {
        Ok(preview) => {
            let context = context! {
                publications => super::ser(&preview.publications), recipients => preview.recipients,
                email => super::ser(&preview.email), topic_sets => super::ser(&topic_sets), topics, format, flash,
            };
            super::page(&state, &user, "admin/next_digest.html", context)
        }
        Err(error) => state.pages.error(preview_error(error)),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct TestForm {
    #[serde(default)]
    csrf_token: String,
    /// The topic set being previewed (stored JSON), empty for all topics.
    #[serde(default)]
    topics: String,
}

/// "Send test to me": queues the previewed email to the logged-in admin.
/// It belongs to no digest: nothing is announced, no digest counts it.
pub async fn send_test(State(state): State<AppState>, user: AdminUser, Form(form): Form<TestForm>) -> Response {
    if let Some(refused) = user.check_csrf(&state, &form.csrf_token) {
        return refused;
    }
    let topics = if form.topics.is_empty() { Topics::default() } else { Topics::from_json(&form.topics) };
    let now = clock::now();
    let window = digests::window(&state.config.publications, now);
    let publications = match state.store.digest_candidates(&window).await {
        Ok(publications) => publications,
        Err(error) => return state.pages.error(error.into()),
    };
    let base = state.pages.base_path();
    let query: String =
        url::form_urlencoded::Serializer::new(String::new()).append_pair("topics", &form.topics).finish();
    if publications.is_empty() {
        return Redirect::to(&format!("{base}/admin/digests/next?{query}")).into_response();
    }
    let test = TestDigest {
        to: user.session.email.clone(),
        topics: topics.names(),
        publication_ids: publications.iter().map(|p| p.id).collect(),
    };
    match state.store.queue_test_digest(&test, now).await {
        Ok(()) => {
            state.worker_wake.notify_one();
            tracing::info!(admin = %user.session.email, "test digest queued");
            Redirect::to(&format!("{base}/admin/digests/next?{query}&test_sent=1")).into_response()
        }
        Err(error) => state.pages.error(error.into()),
    }
}

pub async fn confirm_send(State(state): State<AppState>, user: AdminUser) -> Response {
    let reader = digests::sample_reader(Topics::default());
    let config = &state.config.publications;
    match digests::preview_for(state.store.as_ref(), &state.composer, config, &reader, clock::now()).await {
        Ok(preview) => {
            let context = context! { publications => preview.publications.len(), recipients => preview.recipients };
            super::page(&state, &user, "admin/send_confirm.html", context)
        }
        Err(error) => state.pages.error(preview_error(error)),
    }
}

/// Creates the digest exactly like `POST /api/v1/digests`.
pub async fn send(State(state): State<AppState>, user: AdminUser, Form(form): Form<CsrfOnly>) -> Response {
    if let Some(refused) = user.check_csrf(&state, &form.csrf_token) {
        return refused;
    }
    match digests::create(state.store.as_ref(), &state.config.publications, clock::now()).await {
        Ok(Some(digest)) => {
            state.worker_wake.notify_one();
            tracing::info!(digest_id = digest.id, admin = %user.session.email, "digest sent from the dashboard");
            Redirect::to(&format!("{}/admin/digests/{}", state.pages.base_path(), digest.id)).into_response()
        }
        Ok(None) => {
            let context = context! {
                publications => 0, recipients => 0,
                error => "Nothing new to send: every publication is already announced, embargoed, or too old. Nothing was queued.",
            };
            super::render(&state, &user, StatusCode::CONFLICT, "admin/send_confirm.html", context)
        }
        Err(error) => state.pages.error(error.into()),
    }
}

async fn find(state: &AppState, id: &str) -> Result<DigestView, ApiError> {
    let missing = || ApiError::NotFound(format!("no digest with id {id}"));
    let digest_id: i64 = id.parse().map_err(|_| missing())?;
    state.store.digest(digest_id).await?.ok_or_else(missing)
}

/// Deliveries that end up sent or failed (cancelled ones never will).
fn total(digest: &DigestView) -> i64 {
    digest.sent + digest.failed + digest.pending
}

pub async fn show(
    State(state): State<AppState>,
    user: AdminUser,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let digest = match find(&state, &id).await {
        Ok(digest) => digest,
        Err(error) => return state.pages.error(error),
    };
    let flash = query_pairs(query.as_deref())
        .into_iter()
        .find(|(k, _)| k == "retried")
        .map(|(_, n)| format!("{n} failed deliveries were queued again."));
    match state.store.digest_failures(digest.id, 500).await {
        Ok(failures) => {
            let context = context! { total => total(&digest), digest => super::ser(&digest), failures => super::ser(&failures), flash };
            super::page(&state, &user, "admin/digest.html", context)
        }
        Err(error) => state.pages.error(error.into()),
    }
}

/// What `admin.js` polls: the digest's counts.
pub async fn progress(State(state): State<AppState>, _user: AdminUser, Path(id): Path<String>) -> Response {
    match find(&state, &id).await {
        Ok(d) => Json(json!({
            "status": d.status, "total": total(&d), "sent": d.sent, "failed": d.failed, "pending": d.pending,
        }))
        .into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn retry(
    State(state): State<AppState>,
    user: AdminUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = user.check_csrf(&state, &form.csrf_token) {
        return refused;
    }
    let digest = match find(&state, &id).await {
        Ok(digest) => digest,
        Err(error) => return state.pages.error(error),
    };
    match state.store.retry_failed_deliveries(digest.id, clock::now()).await {
        Ok(requeued) => {
            state.worker_wake.notify_one();
            tracing::info!(digest_id = digest.id, requeued, admin = %user.session.email, "failed deliveries queued again");
            Redirect::to(&format!("{}/admin/digests/{}?retried={requeued}", state.pages.base_path(), digest.id))
                .into_response()
        }
        Err(error) => state.pages.error(error.into()),
    }
}
