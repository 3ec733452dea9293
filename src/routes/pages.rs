//! Server-rendered HTML pages, with the list name and base path every
//! template needs, and errors rendered as pages for people.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Value, context};

use crate::error::ApiError;
use crate::templates::Templates;

#[derive(Clone)]
pub struct Pages {
    templates: Arc<Templates>,
    list_name: Arc<str>,
    base_path: Arc<str>,
}

impl Pages {
    pub fn new(templates: Arc<Templates>, list_name: &str, base_path: &str) -> Pages {
        Pages { templates, list_name: list_name.into(), base_path: base_path.into() }
    }

    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    pub fn render(&self, status: StatusCode, name: &str, page: Value) -> Response {
        let context = context! { list_name => &*self.list_name, base_path => &*self.base_path, ..page };
        match self.templates.render_value(name, context) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(error) => {
                tracing::error!(error = %error, error.cause_chain = ?error, "cannot render page");
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
            }
        }
    }

    pub fn ok(&self, name: &str, page: Value) -> Response {
        self.render(StatusCode::OK, name, page)
    }

    /// An error as a page for people, with the same status and headers the
    /// JSON answer would have.
    pub fn error(&self, error: ApiError) -> Response {
        error.log();
        let title = match error.status() {
            StatusCode::NOT_FOUND => "Page not found",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
            StatusCode::PAYLOAD_TOO_LARGE => "Too much data",
            status if status.is_server_error() => "Something went wrong",
            _ => "This request cannot be handled",
        };
        let message = match &error {
            ApiError::Internal(_) => "An unexpected error occurred. Please try again later.".to_owned(),
            other => sentence(&other.to_string()),
        };
        let mut response = self.render(error.status(), "pages/error.html", context! { title, message });
        error.add_headers(&mut response);
        response
    }
}

fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str().trim_end_matches('.')),
        None => String::new(),
    }
}
