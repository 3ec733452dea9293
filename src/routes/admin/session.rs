//! The dashboard session: the `bulletin_session` cookie, the `AdminUser`
//! extractor that every admin page takes, and CSRF checks.
//!
//! The cookie holds a random token; the database keeps only its SHA-256,
//! so a leaked database (or backup) opens no session.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::TimeDelta;
use subtle::ConstantTimeEq;

use crate::clock;
use crate::domain::{Token, TokenHash};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::AdminSession;

pub const COOKIE: &str = "bulletin_session";

/// A logged-in admin, proven by a live session.
#[derive(Debug, Clone)]
pub struct AdminUser {
    pub session: AdminSession,
    pub token_hash: TokenHash,
}

impl AdminUser {
    /// Compares the form's token with the session's in constant time;
    /// a refusal comes back as the 403 page.
    pub fn check_csrf(&self, state: &AppState, presented: &str) -> Option<Response> {
        let expected = self.session.csrf_token.as_bytes();
        if bool::from(presented.as_bytes().ct_eq(expected)) {
            None
        } else {
            tracing::warn!(admin = %self.session.email, "admin form without a valid CSRF token refused");
            Some(forbidden(
                state,
                "This form has expired or did not come from this site. Go back, reload the page and try again.",
            ))
        }
    }
}

/// 403 as a page: nothing was changed.
pub fn forbidden(state: &AppState, message: &str) -> Response {
    let page = minijinja::context! { title => "Not allowed", message };
    state.pages.render(StatusCode::FORBIDDEN, "pages/error.html", page)
}

impl AdminUser {
    /// The admin whose live session the request's cookie names, if any.
    pub async fn from_headers(headers: &HeaderMap, state: &AppState) -> Result<Option<AdminUser>, ApiError> {
        let Some(token) = session_token(headers) else { return Ok(None) };
        let token_hash = token.hash();
        let now = clock::now();
        let idle = TimeDelta::from_std(state.config.http.admin_session_idle).unwrap_or(TimeDelta::hours(8));
        let session = state.store.touch_session(&token_hash, now - idle, now).await?;
        Ok(session.map(|session| AdminUser { session, token_hash }))
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match AdminUser::from_headers(&parts.headers, state).await {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(to_login(parts, state)),
            Err(error) => Err(state.pages.error(error)),
        }
    }
}

/// The session token from the `Cookie` header, if it looks like one.
pub fn session_token(headers: &HeaderMap) -> Option<Token> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| Token::parse(value.trim()))
}

/// `303` to the login page, which comes back here after logging in.
fn to_login(parts: &Parts, state: &AppState) -> Response {
    let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0);
    let here = uri.path_and_query().map_or("/admin", |p| p.as_str());
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    Redirect::to(&format!("{}/admin/login?next={next}", state.pages.base_path())).into_response()
}

/// `Set-Cookie` for a new session: `HttpOnly`, `SameSite=Strict`, only sent to
/// the dashboard, `Secure` when the service is served over https.
pub fn session_cookie(state: &AppState, token: &Token) -> HeaderValue {
    cookie(state, token.as_str(), "")
}

/// `Set-Cookie` that removes the session cookie.
pub fn expired_cookie(state: &AppState) -> HeaderValue {
    cookie(state, "", "; Max-Age=0")
}

fn cookie(state: &AppState, value: &str, extra: &str) -> HeaderValue {
    let secure = if state.config.http.base_url.scheme() == "https" { "; Secure" } else { "" };
    let path = format!("{}/admin", state.pages.base_path());
    let cookie = format!("{COOKIE}={value}; Path={path}; HttpOnly; SameSite=Strict{secure}{extra}");
    HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static("bulletin_session=; Max-Age=0"))
}

/// Where to go after logging in: only a dashboard path of this site.
pub fn safe_next(state: &AppState, next: Option<&str>) -> String {
    let home = format!("{}/admin", state.pages.base_path());
    match next {
        Some(next)
            if next.starts_with(&home)
                && !next.contains("//")
                && !next.contains('\\')
                && !next.chars().any(char::is_control)
                && !next.starts_with(&format!("{home}/login")) =>
        {
            next.to_owned()
        }
        _ => home,
    }
}
