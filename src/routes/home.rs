//! `GET /`: the signup form.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

use crate::clock;
use crate::domain::{FieldErrors, SignupInput};
use crate::state::AppState;

/// The signup form.
#[utoipa::path(get, path = "/", tag = "public",
    responses((status = 200, description = "The signup form.", content_type = "text/html", body = String)))]
pub async fn show_signup_form(State(state): State<AppState>) -> Response {
    signup_form(&state, StatusCode::OK, &SignupInput::default(), None).await
}

/// The form, filled with `values` and showing `errors` beside their fields.
pub async fn signup_form(
    state: &AppState,
    status: StatusCode,
    values: &SignupInput,
    errors: Option<&FieldErrors>,
) -> Response {
    let form_time = state.keys.sign_form_time(clock::now().timestamp());
    // The form still works without topics if the database cannot list them.
    let categories = state.store.known_categories().await.unwrap_or_else(|error| {
        tracing::warn!(error = %error, "cannot list the categories for the signup form");
        Vec::new()
    });
    let page = context! {
        values => context! { email => values.email.as_deref().unwrap_or(""), name => values.name.as_deref().unwrap_or(""), topics => &values.topics },
        errors => errors.map(minijinja::value::Serde),
        categories => categories,
        form_time => form_time,
    };
    state.pages.render(status, "pages/signup.html", page)
}
