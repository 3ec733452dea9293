//! `/preferences`: from the link at the foot of every digest, a reader
//! changes their name and topics, or unsubscribes.
//!
//! The link carries the subscription's unsubscribe token, not a token of its
//! own (as listmonk and Mailman do): the page offers "Unsubscribe", so its
//! link holds that power anyway, and a second token would mean a second hash
//! per subscriber and a second secret in every email for no separation worth
//! having. What the page adds (name and topics) is less than unsubscribing
//! takes away; the address is never shown nor changed here.
//!
//! GET changes nothing (mail scanners fetch links). POST carries the token in
//! its body and the token is the authority, as for unsubscribe: a page on
//! another site cannot know it, so neither a CSRF token nor an `Origin` check
//! would add anything (the other public forms do not check `Origin` either).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use minijinja::context;

use super::link_token::LinkToken;
use super::preference_form::{PreferenceForm, topic_choices};
use super::subscriptions_confirm::LinkProblemPages;
use crate::clock;
use crate::domain::{FieldErrors, SubscriptionStatus, Token};
use crate::email::public_url;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Preferences;

/// The form as the API description shows it (`topics` repeated, one per
/// ticked box; none ticked means everything).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PreferencesRequest {
    /// The token from the link.
    token: String,
    #[schema(max_length = 100, pattern = r"^[^\x00-\x1F\x7F-\x9F\u2028\u2029\u202A-\u202E\u2066-\u2069]*$")]
    name: Option<String>,
    /// Categories to receive, from those offered.
    #[schema(schema_with = crate::routes::openapi::topic_list)]
    topics: Option<Vec<String>>,
}

/// The reader's name and topics, in a form; changes nothing.
#[utoipa::path(get, path = "/preferences", tag = "public",
    params(("token" = String, Query, description = "The token from the link at the foot of a digest.")),
    responses(
        (status = 200, description = "The form with the reader's name and topics.", content_type = "text/html", body = String),
        LinkProblemPages,
    ))]
pub async fn show_preferences(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let token = match LinkToken::from_query(query.as_deref()) {
        LinkToken::Valid(token) => token,
        LinkToken::Missing => return link_problem(&state, Problem::Missing),
        LinkToken::Malformed => return link_problem(&state, Problem::Unknown),
    };
    let current = match active_preferences(&state, &token).await {
        Ok(current) => current,
        Err(response) => return response,
    };
    let values = PreferenceForm::from_current(&current);
    preference_form(&state, StatusCode::OK, &token, &values, &current, None).await
}

/// Saves the name and topics; they apply from the next digest.
#[utoipa::path(post, path = "/preferences", tag = "public",
    request_body(content((PreferencesRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Saved.", content_type = "text/html", body = String),
        (status = 415, description = "Not a form.", content_type = "text/html", body = String),
        (status = 422, description = "Invalid fields: the form again with the errors.", content_type = "text/html",
            body = String),
        LinkProblemPages,
    ))]
pub async fn save_preferences(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
        return state.pages.error(ApiError::UnsupportedMediaType("send the form as a web browser does".into()));
    }
    let form = PreferenceForm::parse(&body);
    let token = match form.token.as_deref() {
        None => return link_problem(&state, Problem::Missing),
        Some(text) => match Token::parse(text.trim()) {
            Some(token) => token,
            None => return link_problem(&state, Problem::Unknown),
        },
    };
    let current = match active_preferences(&state, &token).await {
        Ok(current) => current,
        Err(response) => return response,
    };
    let offered = offered_topics(&state, &current).await;
    let update = match form.validate(&offered) {
        Ok(update) => update,
        Err(errors) => {
            return preference_form(&state, StatusCode::UNPROCESSABLE_ENTITY, &token, &form, &current, Some(&errors))
                .await;
        }
    };
    match state.store.update_preferences(&token.hash(), &update, clock::now()).await {
        Ok(true) => {
            tracing::info!(topics = update.topics.iter().count(), "reader preferences saved");
            let preferences_url = public_url(&state.config.http.base_url, "preferences", &[("token", token.as_str())]);
            let page = context! { topics => update.topics.names(), preferences_url };
            state.pages.ok("pages/preferences_saved.html", page)
        }
        // Unsubscribed between the lookup and the update.
        Ok(false) => link_problem(&state, Problem::Ended),
        Err(error) => state.pages.error(error.into()),
    }
}

/// The subscription behind the token, if it is confirmed; otherwise the page to answer with.
async fn active_preferences(state: &AppState, token: &Token) -> Result<Preferences, Response> {
    match state.store.preferences(&token.hash()).await {
        Ok(Some(current)) if current.status == SubscriptionStatus::Confirmed => Ok(current),
        Ok(Some(_)) => Err(link_problem(state, Problem::Ended)),
        Ok(None) => Err(link_problem(state, Problem::Unknown)),
        Err(error) => Err(state.pages.error(error.into())),
    }
}

/// The topics a reader may pick: every known category, and whatever they
/// chose before (a topic may have no publication yet).
async fn offered_topics(state: &AppState, current: &Preferences) -> Vec<String> {
    // The page still works without the categories if the database cannot list them.
    let mut offered = state.store.known_categories().await.unwrap_or_else(|error| {
        tracing::warn!(error = %error, "cannot list the categories for the preference page");
        Vec::new()
    });
    for topic in current.topics.iter() {
        if !offered.iter().any(|known| known.to_lowercase() == topic.key()) {
            offered.push(topic.as_str().to_owned());
        }
    }
    offered
}

async fn preference_form(
    state: &AppState,
    status: StatusCode,
    token: &Token,
    values: &PreferenceForm,
    current: &Preferences,
    errors: Option<&FieldErrors>,
) -> Response {
    let offered = offered_topics(state, current).await;
    let query = [("token", token.as_str())];
    let page = context! {
        token => token.as_str(),
        values => context! { name => values.name.as_deref().unwrap_or("") },
        topics => minijinja::value::Serde(topic_choices(&offered, &values.topics)),
        errors => errors.map(minijinja::value::Serde),
        unsubscribe_action => format!("{}/unsubscribe?{}", state.pages.base_path(), encode(&query)),
    };
    state.pages.render(status, "pages/preferences.html", page)
}

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

enum Problem {
    Missing,
    Unknown,
    /// Unsubscribed, or never confirmed: there is nothing to manage.
    Ended,
}

/// The page the confirmation and unsubscribe links' problems use, with a
/// 4xx status. It says nothing about any address: tokens cannot be guessed.
fn link_problem(state: &AppState, problem: Problem) -> Response {
    let (status, title, message) = match problem {
        Problem::Missing => (
            StatusCode::BAD_REQUEST,
            "This link is incomplete",
            "The link to your preferences is missing its code. Open it again from the bottom of one of our emails.",
        ),
        Problem::Unknown => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "We could not find this link. It may have been copied only in part, or the subscription was removed.",
        ),
        Problem::Ended => (
            StatusCode::GONE,
            "This subscription is not active",
            "There is no active subscription behind this link, so there are no preferences to change. Sign up again to receive our emails.",
        ),
    };
    state.pages.render(status, "pages/link_problem.html", context! { title, message })
}
