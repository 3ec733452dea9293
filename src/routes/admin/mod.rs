//! The dashboard for people under `/admin`: server-rendered pages behind a
//! login, every state-changing form checked for its CSRF token and its
//! `Origin`. See docs/dashboard.md for the URL map.

mod chart;
mod digests;
mod import;
mod login;
mod overview;
mod publications;
pub mod session;
mod subscribers;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value, context};

use crate::state::AppState;
use session::{AdminUser, forbidden};

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(overview::show))
        .route("/login", get(login::show).post(login::login))
        .route("/logout", post(login::logout))
        .route("/subscribers", get(subscribers::list))
        .route("/subscribers/export.csv", get(subscribers::export))
        .route(
            "/subscribers/import",
            get(import::show).post(import::preview).layer(DefaultBodyLimit::max(import::MAX_IMPORT_BYTES + 64 * 1024)),
        )
        .route(
            "/subscribers/import/confirm",
            // The file comes back base64-encoded (4/3 of its size) in a form.
            post(import::confirm).layer(DefaultBodyLimit::max(import::MAX_IMPORT_BYTES / 3 * 4 + 64 * 1024)),
        )
        .route("/subscribers/{id}", get(subscribers::show))
        .route("/subscribers/{id}/erase", get(subscribers::confirm_erase).post(subscribers::erase))
        .route("/publications", get(publications::list).post(publications::create))
        .route("/publications/new", get(publications::new))
        .route("/publications/{id}", post(publications::update))
        .route("/publications/{id}/edit", get(publications::edit))
        .route("/digests", get(digests::list).post(digests::send))
        .route("/digests/next", get(digests::next))
        .route("/digests/test", post(digests::send_test))
        .route("/digests/send", get(digests::confirm_send))
        .route("/digests/{id}", get(digests::show))
        .route("/digests/{id}/progress", get(digests::progress))
        .route("/digests/{id}/retry", post(digests::retry))
        .route("/assets/admin.js", get(admin_script))
        .layer(middleware::from_fn_with_state(state, check_origin))
        .layer(middleware::map_response(admin_headers))
}

/// Refuses a state-changing request whose `Origin` (or, without one, its
/// `Referer`) is not this site's: a forged cross-site form changes nothing.
async fn check_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let expected = state.config.http.base_url.origin().ascii_serialization();
    let headers = request.headers();
    let origin = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => Some(origin.to_owned()),
        None => headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| url::Url::parse(v).ok())
            .map(|u| u.origin().ascii_serialization()),
    };
    if origin.as_deref() == Some(expected.as_str()) {
        next.run(request).await
    } else {
        tracing::warn!(origin = ?origin, "admin form from another origin refused");
        forbidden(&state, "This form did not come from this site, so nothing was changed.")
    }
}

/// The dashboard runs its own small script (progress polling) and shows
/// emails in a sandboxed frame whose inline styles must apply; it also needs
/// the `Origin` of its forms, so the referrer is kept for same-origin requests.
async fn admin_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: https:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

const ADMIN_SCRIPT: &str = include_str!("../../../assets/admin.js");

async fn admin_script() -> Response {
    let headers = [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")];
    axum::response::IntoResponse::into_response((headers, ADMIN_SCRIPT))
}

/// Renders a dashboard page with what the layout needs (who is logged in,
/// the CSRF token for the logout form and every other form).
pub fn render(state: &AppState, user: &AdminUser, status: StatusCode, name: &str, page: Value) -> Response {
    let page = context! { admin_email => &user.session.email, csrf_token => &user.session.csrf_token, ..page };
    state.pages.render(status, name, page)
}

pub fn page(state: &AppState, user: &AdminUser, name: &str, page: Value) -> Response {
    render(state, user, StatusCode::OK, name, page)
}

/// Links to the previous and next page of a list, and the page count.
pub fn pager<T>(page: &crate::store::Page<T>, link: impl Fn(u32) -> String) -> Value {
    let per_page = i64::from(page.per_page.max(1));
    let page_count = ((page.total + per_page - 1) / per_page).max(1);
    let prev_url = (page.page > 1).then(|| link(page.page - 1));
    let next_url = (i64::from(page.page) < page_count).then(|| link(page.page + 1));
    context! { prev_url, next_url, page_count }
}

/// The first message of a form's field errors, for the page's error line.
pub fn first_error(errors: &crate::domain::FieldErrors) -> Option<String> {
    serde_json::to_value(errors)
        .ok()
        .and_then(|v| v.as_object().and_then(|o| o.values().next().cloned()))
        .and_then(|v| v.get(0).and_then(|m| m.as_str().map(str::to_owned)))
}

/// Any serializable value for a template's context.
pub fn ser<T: serde::Serialize>(value: T) -> Value {
    Value::from(minijinja::value::Serde(value))
}
