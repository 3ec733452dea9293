//! `/subscriptions/confirm?token=…`: GET shows one "Confirm" button (mail
//! scanners fetch every link, so a GET changes nothing); POST confirms.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

use super::link_token::LinkToken;
use crate::clock;
use crate::domain::Token;
use crate::state::AppState;
use crate::store::{ConfirmationRecord, TokenState};

/// The pages a confirmation link can lead to besides success, for the API
/// description (see `link_problem`).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(super) enum LinkProblemPages {
    #[response(status = 400, description = "The link has no token.", content_type = "text/html")]
    Missing(String),
    #[response(status = 404, description = "Unknown token.", content_type = "text/html")]
    Unknown(String),
    #[response(status = 410, description = "Expired or already used token.", content_type = "text/html")]
    Gone(String),
    #[response(status = 503, description = "The database is unavailable.", content_type = "text/html",
        headers(("Retry-After" = u64)))]
    Unavailable(String),
}

/// A page with one "Confirm" button (a GET changes nothing: mail scanners
/// fetch every link).
#[utoipa::path(get, path = "/subscriptions/confirm", tag = "public",
    params(("token" = String, Query, description = "The token from the confirmation email.")),
    responses(
        (status = 200, description = "The page with the \"Confirm\" button.", content_type = "text/html", body = String),
        LinkProblemPages,
    ))]
pub async fn show_confirm_page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let token = match LinkToken::from_query(query.as_deref()) {
        LinkToken::Valid(token) => token,
        other => return link_problem(&state, problem_for(&other)),
    };
    match state.store.confirmation_state(&token.hash(), clock::now()).await {
        Ok(TokenState::Confirmable | TokenState::Confirmed) => {
            let action = confirm_action(&state, &token);
            state.pages.ok("pages/confirm.html", context! { action })
        }
        Ok(other) => link_problem(&state, Problem::from(other)),
        Err(error) => state.pages.error(error.into()),
    }
}

/// Confirms the subscription; confirming again shows the same page.
#[utoipa::path(post, path = "/subscriptions/confirm", tag = "public",
    params(("token" = String, Query, description = "The token from the confirmation email.")),
    responses(
        (status = 200, description = "Confirmed.", content_type = "text/html", body = String),
        LinkProblemPages,
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    super::client_ip::ClientIp(ip): super::client_ip::ClientIp,
    headers: axum::http::HeaderMap,
) -> Response {
    let token = match LinkToken::from_query(query.as_deref()) {
        LinkToken::Valid(token) => token,
        other => return link_problem(&state, problem_for(&other)),
    };
    let record = ConfirmationRecord {
        now: clock::now(),
        ip: Some(ip.to_string()),
        user_agent: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(512).collect()),
    };
    match state.store.confirm(&token.hash(), &record).await {
        Ok(TokenState::Confirmed) => {
            tracing::info!("subscription confirmed");
            state.pages.ok("pages/confirmed.html", context! {})
        }
        Ok(other) => link_problem(&state, Problem::from(other)),
        Err(error) => state.pages.error(error.into()),
    }
}

/// The form posts back to the same link (tokens are URL-safe as they are).
fn confirm_action(state: &AppState, token: &Token) -> String {
    format!("{}/subscriptions/confirm?token={}", state.pages.base_path(), token.as_str())
}

enum Problem {
    Missing,
    Unknown,
    Expired,
    Used,
}

fn problem_for(token: &LinkToken) -> Problem {
    match token {
        LinkToken::Missing => Problem::Missing,
        _ => Problem::Unknown,
    }
}

impl From<TokenState> for Problem {
    fn from(state: TokenState) -> Problem {
        match state {
            TokenState::Expired => Problem::Expired,
            TokenState::Used => Problem::Used,
            _ => Problem::Unknown,
        }
    }
}

fn link_problem(state: &AppState, problem: Problem) -> Response {
    let (status, title, message) = match problem {
        Problem::Missing => (
            StatusCode::BAD_REQUEST,
            "This link is incomplete",
            "The confirmation link is missing its code. Open the link from the email again, or sign up again.",
        ),
        Problem::Unknown => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "We could not find this confirmation link. It may have been copied only in part, or the subscription was removed.",
        ),
        Problem::Expired => (
            StatusCode::GONE,
            "This link has expired",
            "Confirmation links work for a limited time, and this one is too old. Sign up again to receive a new link.",
        ),
        Problem::Used => (
            StatusCode::GONE,
            "This link has already been used",
            "This confirmation link belongs to an earlier subscription that has since ended. Sign up again to subscribe.",
        ),
    };
    state.pages.render(status, "pages/link_problem.html", context! { title, message })
}
