//! `POST /subscriptions`: a visitor asks to subscribe.
//!
//! The answer never depends on whether the address is known: new, pending,
//! confirmed and unsubscribed addresses all get the same page or JSON. What
//! differs (a confirmation queued or not) happens in the database.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;
use minijinja::context;

use super::client_ip::ClientIp;
use super::home::signup_form;
use super::signup_payload::{FormSignup, SignupForm, SignupPayload, SignupRequest};
use crate::clock;
use crate::domain::{ConsentSource, NewSubscriber, SignupInput, Token};
use crate::error::{ApiError, ErrorBody};
use crate::signup_queue::SignupFailure;
use crate::state::AppState;
use crate::store::{Consent, SignupRecord};

/// The JSON answer to a valid signup (the same whether or not the address
/// is known).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SignupAccepted {
    #[schema(value_type = String, pattern = "^pending$")]
    status: &'static str,
}

/// A visitor asks to subscribe: a confirmation email follows (double opt-in).
#[utoipa::path(post, path = "/subscriptions", tag = "public",
    request_body(content(
        (SignupRequest = "application/json"),
        (SignupForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Form: the \"check your inbox\" page.", content_type = "text/html", body = String),
        (status = 202, description = "JSON: accepted; a confirmation email follows.", body = SignupAccepted),
        (status = 400, description = "The body is not valid JSON, or could not be read.", content(
            (ErrorBody = "application/json"), (String = "text/html"))),
        (status = 413, description = "The body is larger than 64 KiB.", content(
            (ErrorBody = "application/json"), (String = "text/html"))),
        (status = 415, description = "Neither JSON nor a form.", body = ErrorBody),
        (status = 422, description = "Invalid fields: the errors per field, or the form again with them.", content(
            (ErrorBody = "application/json"), (String = "text/html"))),
        (status = 429, description = "Too many signups from this address.", headers(("Retry-After" = u64)), content(
            (ErrorBody = "application/json"), (String = "text/html"))),
        (status = 503, description = "The database is unavailable.", headers(("Retry-After" = u64)), content(
            (ErrorBody = "application/json"), (String = "text/html"))),
    ))]
pub async fn subscribe(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    payload: SignupPayload,
) -> Response {
    let consent = |source| {
        Consent::new(
            source,
            Some(ip.to_string()),
            header_str(&headers, header::USER_AGENT),
            header_str(&headers, header::REFERER),
        )
    };
    match payload {
        SignupPayload::Json(input) => match subscribe_json(&state, input, consent(ConsentSource::Api)).await {
            Ok(()) => (StatusCode::ACCEPTED, Json(SignupAccepted { status: "pending" })).into_response(),
            Err(error) => error.into_response(),
        },
        SignupPayload::Form(form) => subscribe_form(&state, form, consent(ConsentSource::Form)).await,
    }
}

async fn subscribe_json(state: &AppState, input: SignupInput, consent: Consent) -> Result<(), ApiError> {
    let subscriber = NewSubscriber::try_from(input).map_err(ApiError::Validation)?;
    store_signup(state, subscriber, consent).await
}

async fn subscribe_form(state: &AppState, form: FormSignup, consent: Consent) -> Response {
    let typed_email = form.input.email.clone().unwrap_or_default();
    let received = || state.pages.ok("pages/signup_received.html", context! { email => typed_email.trim() });
    if form.honeypot_filled || filled_too_fast(state, form.form_time.as_deref()) {
        tracing::info!(source = "form", "signup looks automated; answered normally, nothing stored");
        return received();
    }
    let values = form.input.clone();
    match NewSubscriber::try_from(form.input) {
        Err(errors) => signup_form(state, StatusCode::UNPROCESSABLE_ENTITY, &values, Some(&errors)).await,
        Ok(subscriber) => match store_signup(state, subscriber, consent).await {
            Ok(()) => received(),
            Err(error) => state.pages.error(error),
        },
    }
}

async fn store_signup(state: &AppState, subscriber: NewSubscriber, consent: Consent) -> Result<(), ApiError> {
    let now = clock::now();
    let signup = &state.config.signup;
    let record = SignupRecord {
        subscriber,
        consent,
        now,
        unsubscribe_key: state.keys.new_unsubscribe_key(),
        confirmation_token: Token::generate(),
        confirmation_expires_at: now + TimeDelta::from_std(signup.confirmation_ttl).unwrap_or(TimeDelta::hours(48)),
    };
    let outcome = state.signups.submit(record).await.map_err(|failure| match failure {
        SignupFailure::Unavailable => ApiError::Unavailable(failure.into()),
        SignupFailure::Failed => ApiError::Internal(failure.into()),
    })?;
    tracing::info!(plan = ?outcome.plan, confirmation_queued = outcome.confirmation_queued, "signup stored");
    Ok(())
}

/// A form sent back sooner than a person could fill it in. Forms without
/// the signed time (a publisher's own form posting here) are not judged.
fn filled_too_fast(state: &AppState, form_time: Option<&str>) -> bool {
    let min_fill = state.config.http.form_min_fill;
    if min_fill.is_zero() {
        return false;
    }
    let Some(form_time) = form_time.filter(|t| !t.is_empty()) else { return false };
    match state.keys.verify_form_time(form_time) {
        None => true,
        Some(served_at) => {
            let elapsed = clock::now().timestamp() - served_at;
            elapsed < i64::try_from(min_fill.as_secs()).unwrap_or(i64::MAX)
        }
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
