//! `/admin/login` and `/admin/logout`.
//!
//! Failed logins are counted in the database per client IP and per account
//! (so every web process sees them): 5 within 15 minutes, then 429 until the
//! oldest of them is 15 minutes old. A wrong password and an unknown address
//! get the same answer and take as long (a dummy hash is verified).

use std::time::Duration;

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::TimeDelta;
use minijinja::context;
use serde::Deserialize;

use super::session::{self, AdminUser, forbidden, safe_next};
use crate::admins::verify_password;
use crate::clock;
use crate::domain::Token;
use crate::error::ApiError;
use crate::routes::api::pagination::query_pairs;
use crate::routes::client_ip::ClientIp;
use crate::routes::limits::bucket_key;
use crate::state::AppState;
use crate::store::NewAdminSession;

const MAX_FAILURES: i64 = 5;
const FAILURE_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// How long a login form stays usable.
const FORM_TTL_SECS: i64 = 2 * 60 * 60;

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
    next: Option<String>,
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let next = query_pairs(query.as_deref()).into_iter().find(|(k, _)| k == "next").map(|(_, v)| v);
    // Already logged in (and the session still alive): go on.
    if let Ok(Some(_)) = AdminUser::from_headers(&headers, &state).await {
        return Redirect::to(&safe_next(&state, next.as_deref())).into_response();
    }
    form(&state, StatusCode::OK, "", next.as_deref(), None)
}

fn form(state: &AppState, status: StatusCode, email: &str, next: Option<&str>, error: Option<&str>) -> Response {
    let csrf_token = state.keys.sign_form_time(clock::now().timestamp());
    let next = safe_next(state, next);
    state.pages.render(status, "admin/login.html", context! { email, next, error, csrf_token })
}

pub async fn login(State(state): State<AppState>, ClientIp(ip): ClientIp, Form(input): Form<LoginForm>) -> Response {
    let now = clock::now();
    let fresh = state
        .keys
        .verify_form_time(&input.csrf_token)
        .is_some_and(|t| (0..FORM_TTL_SECS).contains(&(now.timestamp() - t)));
    if !fresh {
        return forbidden(
            &state,
            "This login form has expired or did not come from this site. Reload it and try again.",
        );
    }
    let email = input.email.trim();
    let keys = [format!("ip:{}", bucket_key(ip)), format!("account:{}", email.to_lowercase())];
    let mut wait = TimeDelta::zero();
    for key in &keys {
        match state.store.login_failures(key, now - FAILURE_WINDOW).await {
            Ok(failures) if failures.count >= MAX_FAILURES => {
                let oldest = failures.oldest.unwrap_or(now);
                wait = wait.max(oldest + FAILURE_WINDOW - now);
            }
            Ok(_) => {}
            Err(error) => return state.pages.error(error.into()),
        }
    }
    if wait > TimeDelta::zero() {
        tracing::warn!(client_ip = %ip, "too many failed admin logins");
        let retry_after = wait.to_std().unwrap_or(Duration::from_secs(1));
        let message = format!("Too many failed logins. Try again in {} minutes.", retry_after.as_secs().div_ceil(60));
        let mut response = form(&state, StatusCode::TOO_MANY_REQUESTS, email, input.next.as_deref(), Some(&message));
        ApiError::TooManyRequests { retry_after }.add_headers(&mut response);
        return response;
    }
    let account = match state.store.admin_by_email(email).await {
        Ok(account) => account,
        Err(error) => return state.pages.error(error.into()),
    };
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let account = match account {
        Some(account) if verify_password(input.password, stored).await => account,
        _ => {
            let forget_before = now - FAILURE_WINDOW * 4;
            if let Err(error) = state.store.record_login_failure(&keys, now, forget_before).await {
                return state.pages.error(error.into());
            }
            tracing::info!(client_ip = %ip, "failed admin login");
            let error = Some("Wrong email address or password.");
            return form(&state, StatusCode::UNAUTHORIZED, email, input.next.as_deref(), error);
        }
    };
    let token = Token::generate();
    let session = NewAdminSession {
        session: token.hash(),
        admin_id: account.admin_id,
        csrf_token: Token::generate().as_str().to_owned(),
        now,
        expire_before: now - TimeDelta::from_std(state.config.http.admin_session_idle).unwrap_or(TimeDelta::hours(8)),
    };
    if let Err(error) = state.store.create_session(&session).await {
        return state.pages.error(error.into());
    }
    tracing::info!(admin = %account.email, client_ip = %ip, "admin logged in");
    let target = safe_next(&state, input.next.as_deref());
    ([(header::SET_COOKIE, session::session_cookie(&state, &token))], Redirect::to(&target)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

pub async fn logout(State(state): State<AppState>, user: AdminUser, Form(input): Form<CsrfForm>) -> Response {
    if let Some(refused) = user.check_csrf(&state, &input.csrf_token) {
        return refused;
    }
    if let Err(error) = state.store.end_session(&user.token_hash).await {
        return state.pages.error(error.into());
    }
    let login = format!("{}/admin/login", state.pages.base_path());
    ([(header::SET_COOKIE, session::expired_cookie(&state))], Redirect::to(&login)).into_response()
}
