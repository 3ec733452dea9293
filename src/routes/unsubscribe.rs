//! `/unsubscribe?token=…`: GET shows one "Unsubscribe" button; POST
//! unsubscribes at once. POST is also the RFC 8058 one-click endpoint:
//! mailbox providers send `List-Unsubscribe=One-Click` with no cookies, so the
//! token in the link is the only authorisation. The answer is the same for
//! valid and invalid tokens: the page reveals nothing about any address.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use minijinja::context;

use super::link_token::LinkToken;

/// The RFC 8058 one-click body; the handler does not need to read it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct OneClickUnsubscribe {
    #[serde(rename = "List-Unsubscribe")]
    #[schema(pattern = "^One-Click$")]
    list_unsubscribe: String,
}
use crate::clock;
use crate::state::AppState;

/// A page with one "Unsubscribe" button.
#[utoipa::path(get, path = "/unsubscribe", tag = "public",
    params(("token" = Option<String>, Query, description = "The token from the email's unsubscribe link.")),
    responses((status = 200, description = "The page with the button.", content_type = "text/html", body = String)))]
pub async fn show_unsubscribe_page(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    // Posts back to the same link, whatever its token: no oracle here either.
    let token = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes()).find(|(key, _)| key == "token").map(|(_, v)| v.into_owned())
    });
    let action = match token {
        Some(token) => {
            let query: String =
                url::form_urlencoded::Serializer::new(String::new()).append_pair("token", &token).finish();
            format!("{}/unsubscribe?{query}", state.pages.base_path())
        }
        None => format!("{}/unsubscribe", state.pages.base_path()),
    };
    state.pages.ok("pages/unsubscribe.html", context! { action })
}

/// Unsubscribes at once; also the RFC 8058 one-click endpoint. The same page
/// for valid and invalid tokens.
#[utoipa::path(post, path = "/unsubscribe", tag = "public",
    params(("token" = Option<String>, Query, description = "The token from the email's unsubscribe link.")),
    request_body(description = "Optional: mailbox providers send the RFC 8058 one-click body.",
        content((Option<OneClickUnsubscribe> = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Unsubscribed (or the token matched nothing).", content_type = "text/html", body = String),
        (status = 503, description = "The database is unavailable.", headers(("Retry-After" = u64)),
            content_type = "text/html", body = String),
    ))]
pub async fn unsubscribe(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    if let LinkToken::Valid(token) = LinkToken::from_query(query.as_deref()) {
        match state.store.unsubscribe(&token.hash(), clock::now()).await {
            Ok(true) => tracing::info!("unsubscribed"),
            Ok(false) => tracing::info!("unsubscribe link matched no active subscription"),
            // The one answer a client may see differ: try again later.
            Err(error) => return state.pages.error(error.into()),
        }
    }
    state.pages.ok("pages/unsubscribed.html", context! {})
}
