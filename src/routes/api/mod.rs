//! The admin JSON API under `/api/v1/`, for scripts and the publisher's CMS.
//! Every route takes `Authorization: Bearer $ADMIN_TOKEN`.

mod auth;
mod subscribers;

use axum::Router;
use axum::routing::{delete, get};

pub use auth::Admin;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subscribers", get(subscribers::list_subscribers))
        .route("/subscribers/{id}", delete(subscribers::erase_subscriber))
}
