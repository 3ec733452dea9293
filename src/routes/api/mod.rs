//! The admin JSON API under `/api/v1/`, for scripts and the publisher's CMS.
//! Every route takes `Authorization: Bearer $ADMIN_TOKEN`.

mod auth;
mod digests;
pub(crate) mod pagination;
mod publications;
mod subscribers;

use axum::Router;
use axum::routing::{delete, get, post};

pub use auth::Admin;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subscribers", get(subscribers::list_subscribers))
        .route("/subscribers/{id}", delete(subscribers::erase_subscriber))
        .route("/publications", post(publications::upsert_publication).get(publications::list_publications))
        .route("/digests", post(digests::send_digest).get(digests::list_digests))
        .route("/digests/preview", get(digests::preview_digest))
        .route("/digests/{id}", get(digests::show_digest))
}
