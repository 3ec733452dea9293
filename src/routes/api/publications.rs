//! `POST /api/v1/publications` (upsert by URL) and `GET /api/v1/publications`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;

use super::Admin;
use super::pagination::page_request;
use crate::clock;
use crate::domain::{FieldErrors, NewPublication, PublicationInput};
use crate::error::{ApiError, ApiResult};
use crate::routes::json_body::{Fields, JsonObject};
use crate::state::AppState;
use crate::store::{Page, Publication, UpsertOutcome};

/// 201 when created, 200 when a publication with this URL existed (updated,
/// or already identical). An update never makes it go out again.
pub async fn upsert_publication(
    _admin: Admin,
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Publication>)> {
    let mut fields = Fields::new(&body);
    let input = PublicationInput {
        title: fields.text("title"),
        url: fields.text("url"),
        published_at: fields.text("published_at"),
        summary: fields.text("summary"),
        authors: fields.strings("authors"),
        category: fields.text("category"),
        series: fields.text("series"),
    };
    fields.finish()?;
    let publication = NewPublication::try_from(input).map_err(ApiError::Validation)?;
    let upserted = state.store.upsert_publication(&publication, false, clock::now()).await?;
    tracing::info!(publication_id = upserted.publication.id, outcome = ?upserted.outcome, "publication upserted");
    let status = if upserted.outcome == UpsertOutcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(upserted.publication)))
}

pub async fn list_publications(
    _admin: Admin,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Page<Publication>>> {
    let mut errors = FieldErrors::default();
    let page = page_request(query.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Json(state.store.list_publications(page).await?))
}
