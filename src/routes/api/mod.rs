//! The admin JSON API under `/api/v1/`, for scripts and the publisher's CMS.
//! Every route takes `Authorization: Bearer $ADMIN_TOKEN`.

mod auth;
mod digests;
pub(crate) mod pagination;
mod publications;
mod subscribers;

use axum::routing::{delete, get, post};
use utoipa::OpenApi;

pub use auth::Admin;

use super::Routes;

pub(super) fn routes() -> Routes {
    Routes::default()
        .route("/subscribers", get(subscribers::list_subscribers))
        .route("/subscribers/{id}", delete(subscribers::erase_subscriber))
        .route("/publications", post(publications::upsert_publication).get(publications::list_publications))
        .route("/digests", post(digests::send_digest).get(digests::list_digests))
        .route("/digests/preview", get(digests::preview_digest))
        .route("/digests/{id}", get(digests::show_digest))
}

/// The admin API's part of the API description (`routes::openapi`), nested
/// under `/api/v1`.
#[derive(OpenApi)]
#[openapi(paths(
    subscribers::list_subscribers,
    subscribers::erase_subscriber,
    publications::upsert_publication,
    publications::list_publications,
    digests::send_digest,
    digests::list_digests,
    digests::preview_digest,
    digests::show_digest,
))]
pub struct AdminApi;
