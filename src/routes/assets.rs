//! The stylesheet of the public pages, built into the binary.

use axum::http::header;
use axum::response::IntoResponse;

const STYLESHEET: &str = include_str!("../../assets/style.css");

#[utoipa::path(get, path = "/assets/style.css", tag = "public",
    responses((status = 200, description = "The stylesheet.", content_type = "text/css", body = String)))]
pub async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], STYLESHEET)
}
