//! `POST /api/v1/publications` (upsert by URL) and `GET /api/v1/publications`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;

use super::Admin;
use super::pagination::{PageParams, page_request};
use crate::clock;
use crate::domain::{FieldErrors, NewPublication, PublicationInput};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::routes::json_body::{Fields, JsonObject};
use crate::state::AppState;
use crate::store::{Page, Publication, UpsertOutcome};

/// A publication as the API takes it. The body is read field by field (see
/// `json_body::Fields`); the limits are those of `NewPublication`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PublicationRequest {
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = r"^[^\x00-\x08\x0E-\x1F\x7F-\x84\x86-\x9F]*\S[^\x00-\x08\x0E-\x1F\x7F-\x84\x86-\x9F]*$",
        example = "Trade in 2026"
    )]
    title: String,
    /// An absolute http(s) URL: the publication's identity.
    #[schema(
        format = "uri",
        min_length = 1,
        max_length = 2048,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://",
        example = "https://example.org/trade-2026"
    )]
    url: String,
    /// RFC 3339.
    #[schema(format = DateTime, example = "2026-11-29T09:00:00Z")]
    published_at: String,
    /// Paragraphs: line breaks are kept.
    #[schema(max_length = 5000, pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$")]
    summary: Option<String>,
    #[schema(schema_with = crate::routes::openapi::author_list)]
    authors: Option<Vec<String>>,
    /// What readers choose as a topic.
    #[schema(max_length = 64, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    category: Option<String>,
    #[schema(max_length = 200, pattern = r"^[^\x00-\x08\x0E-\x1F\x7F-\x84\x86-\x9F]*$")]
    series: Option<String>,
}

/// 201 when created, 200 when a publication with this URL existed (updated,
/// or already identical). An update never makes it go out again.
#[utoipa::path(post, path = "/publications", tag = "admin",
    request_body = PublicationRequest,
    responses(
        (status = 201, description = "Created.", body = Publication),
        (status = 200, description = "A publication with this URL existed: updated.", body = Publication),
        (status = 400, description = "The body is not valid JSON.", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KiB.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "Invalid fields.", body = ErrorBody),
    ))]
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

/// Publications, newest first.
#[utoipa::path(get, path = "/publications", tag = "admin", params(PageParams), responses(
    (status = 200, description = "One page of publications.", body = Page<Publication>),
    (status = 422, description = "A bad `page` or `per_page`.", body = ErrorBody),
))]
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
