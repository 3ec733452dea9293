//! HTTP routes: one module per URL, merged here with the middleware every
//! request goes through.

pub mod admin;
pub mod api;
mod assets;
pub mod client_ip;
mod health;
mod home;
pub mod json_body;
pub mod limits;
mod link_token;
pub mod openapi;
pub mod pages;
mod preference_form;
mod preferences;
pub(crate) mod signup_payload;
mod subscriptions;
mod subscriptions_confirm;
mod unsubscribe;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let request_timeout = state.config.http.request_timeout;
    let signup_limit = middleware::from_fn_with_state(state.clone(), limits::limit_signups);
    routes(post(subscriptions::subscribe).layer(signup_limit))
        .router
        // The dashboard is HTML for people, described in docs/dashboard.md,
        // not part of the API description.
        .nest("/admin", admin::router(state.clone()))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
                    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::new())
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
                .layer(middleware::map_response(security_headers)),
        )
        .with_state(state)
}

/// Every path the router serves (the methods on each: ask the server; its
/// `405` answers list them in `Allow`). The API description is checked
/// against this list.
pub fn served_paths() -> Vec<String> {
    routes(post(subscriptions::subscribe)).paths
}

/// The route table. `subscribe` comes in ready-made because its rate limit
/// needs the app's state.
fn routes(subscribe: MethodRouter<AppState>) -> Routes {
    Routes::default()
        .route("/", get(home::show_signup_form))
        .route("/subscriptions", subscribe)
        .route(
            "/subscriptions/confirm",
            get(subscriptions_confirm::show_confirm_page).post(subscriptions_confirm::confirm),
        )
        .route("/unsubscribe", get(unsubscribe::show_unsubscribe_page).post(unsubscribe::unsubscribe))
        .route("/preferences", get(preferences::show_preferences).post(preferences::save_preferences))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/assets/style.css", get(assets::stylesheet))
        .route("/openapi.json", get(openapi::openapi_json))
        .nest("/api/v1", api::routes())
}

/// A router that remembers the paths it was given.
#[derive(Default)]
struct Routes {
    router: Router<AppState>,
    paths: Vec<String>,
}

impl Routes {
    fn route(mut self, path: &str, method_router: MethodRouter<AppState>) -> Routes {
        self.paths.push(path.to_owned());
        self.router = self.router.route(path, method_router);
        self
    }

    fn nest(mut self, prefix: &str, inner: Routes) -> Routes {
        self.paths.extend(inner.paths.iter().map(|path| format!("{prefix}{path}")));
        self.router = self.router.nest(prefix, inner.router);
        self
    }
}

async fn not_found(State(state): State<AppState>, request: Request) -> Response {
    let error = ApiError::NotFound("there is nothing at this address".into());
    if request.uri().path().starts_with("/api/") { error.into_response() } else { state.pages.error(error) }
}

/// Headers that keep pages from being framed, sniffed, cached or leaking
/// their (token-carrying) URL to other sites.
async fn security_headers(mut response: Response) -> Response {
    const HEADERS: [(header::HeaderName, &str); 6] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ];
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}
