//! `/admin/publications`: list and search, add, edit. Parsing is the API's
//! (`NewPublication`), storing the store's upsert by URL: an edit never
//! touches whether a publication was announced, so it is never sent again.

use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::session::AdminUser;
use crate::clock;
use crate::domain::{FieldErrors, NewPublication, PublicationInput};
use crate::error::ApiError;
use crate::routes::api::pagination::{page_request, query_pairs};
use crate::state::AppState;
use crate::store::Publication;

pub async fn list(State(state): State<AppState>, user: AdminUser, RawQuery(query): RawQuery) -> Response {
    let mut errors = FieldErrors::default();
    let mut page = page_request(query.as_deref(), &mut errors);
    page.per_page = 50;
    let pairs = query_pairs(query.as_deref());
    let q = pairs.iter().find(|(k, _)| k == "q").map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let flash = pairs.iter().any(|(k, _)| k == "saved").then_some("The publication was saved.");
    let page = match state.store.search_publications(Some(q.as_str()).filter(|q| !q.is_empty()), page).await {
        Ok(page) => page,
        Err(error) => return state.pages.error(error.into()),
    };
    let link = |n: u32| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .append_pair("page", &n.to_string())
            .finish();
        format!("{}/admin/publications?{query}", state.pages.base_path())
    };
    let pager = super::pager(&page, link);
    super::page(&state, &user, "admin/publications.html", context! { page => super::ser(&page), q, flash, ..pager })
}

/// The form's fields, as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PublicationForm {
    title: String,
    url: String,
    published_at: String,
    summary: String,
    authors: String,
    category: String,
    series: String,
    #[serde(skip_serializing)]
    csrf_token: String,
}

impl PublicationForm {
    fn of(publication: &Publication) -> PublicationForm {
        PublicationForm {
            title: publication.title.clone(),
            url: publication.url.clone(),
            published_at: publication.published_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            summary: publication.summary.clone().unwrap_or_default(),
            authors: publication.authors.join(", "),
            category: publication.category.clone().unwrap_or_default(),
            series: publication.series.clone().unwrap_or_default(),
            csrf_token: String::new(),
        }
    }

    fn parse(&self) -> Result<NewPublication, FieldErrors> {
        let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        NewPublication::try_from(PublicationInput {
            title: text(&self.title),
            url: text(&self.url),
            published_at: text(&self.published_at),
            summary: text(&self.summary),
            authors: self.authors.split(',').filter_map(text).collect(),
            category: text(&self.category),
            series: text(&self.series),
        })
    }
}

fn form_page(
    state: &AppState,
    user: &AdminUser,
    status: StatusCode,
    edit: Option<i64>,
    input: &PublicationForm,
    errors: &FieldErrors,
) -> Response {
    let base = state.pages.base_path();
    let (heading, action) = match edit {
        Some(id) => ("Edit publication", format!("{base}/admin/publications/{id}")),
        None => ("Add a publication", format!("{base}/admin/publications")),
    };
    let error = (!errors.is_empty()).then_some("Please correct the fields marked below; nothing was saved.");
    let page = context! { heading, action, input => super::ser(input), errors => super::ser(errors), error, editing => edit.is_some() };
    super::render(state, user, status, "admin/publication_form.html", page)
}

pub async fn new(State(state): State<AppState>, user: AdminUser) -> Response {
    form_page(&state, &user, StatusCode::OK, None, &PublicationForm::default(), &FieldErrors::default())
}

pub async fn create(State(state): State<AppState>, user: AdminUser, Form(input): Form<PublicationForm>) -> Response {
    save(state, user, None, input).await
}

async fn find(state: &AppState, id: &str) -> Result<Publication, ApiError> {
    let missing = || ApiError::NotFound(format!("no publication with id {id}"));
    let publication_id: i64 = id.parse().map_err(|_| missing())?;
    state.store.publication(publication_id).await?.ok_or_else(missing)
}

pub async fn edit(State(state): State<AppState>, user: AdminUser, Path(id): Path<String>) -> Response {
    match find(&state, &id).await {
        Ok(p) => {
            form_page(&state, &user, StatusCode::OK, Some(p.id), &PublicationForm::of(&p), &FieldErrors::default())
        }
        Err(error) => state.pages.error(error),
    }
}

pub async fn update(
    State(state): State<AppState>,
    user: AdminUser,
    Path(id): Path<String>,
    Form(mut input): Form<PublicationForm>,
) -> Response {
    match find(&state, &id).await {
        // The URL is the publication's identity: an edit keeps it.
        Ok(stored) => {
            input.url = stored.url;
            save(state, user, Some(stored.id), input).await
        }
        Err(error) => state.pages.error(error),
    }
}

async fn save(state: AppState, user: AdminUser, edit: Option<i64>, input: PublicationForm) -> Response {
    if let Some(refused) = user.check_csrf(&state, &input.csrf_token) {
        return refused;
    }
    let publication = match input.parse() {
        Ok(publication) => publication,
        Err(errors) => return form_page(&state, &user, StatusCode::UNPROCESSABLE_ENTITY, edit, &input, &errors),
    };
    match state.store.upsert_publication(&publication, false, clock::now()).await {
        Ok(saved) => {
            tracing::info!(publication_id = saved.publication.id, admin = %user.session.email, "publication saved");
            Redirect::to(&format!("{}/admin/publications?saved=1", state.pages.base_path())).into_response()
        }
        Err(error) => state.pages.error(error.into()),
    }
}
