//! `GET /openapi.json`: the OpenAPI 3 description of the whole HTTP API,
//! generated from the handlers' `#[utoipa::path]` attributes and the
//! `ToSchema` types they take and return. `tests/api/openapi.rs` checks it
//! covers every route the router serves; CI fuzzes the server against it
//! (`.ci/api-fuzz`).

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Header, RefOr, ResponseBuilder, Schema, content::Content};
use utoipa::{Modify, OpenApi};

use crate::error::ApiError;

/// Characters the text fields refuse: control characters (and, for names,
/// invisible direction overrides; see `SubscriberName`).
const NO_CONTROL_CHARACTERS: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";

#[derive(OpenApi)]
#[openapi(
    info(title = "bulletin", description = "Double opt-in signup, publications and digests. \
        The admin API under `/api/v1/` takes `Authorization: Bearer $ADMIN_TOKEN`."),
    paths(
        super::home::show_signup_form,
        super::subscriptions::subscribe,
        super::subscriptions_confirm::show_confirm_page,
        super::subscriptions_confirm::confirm,
        super::unsubscribe::show_unsubscribe_page,
        super::unsubscribe::unsubscribe,
        super::preferences::show_preferences,
        super::preferences::save_preferences,
        super::health::health,
        super::health::ready,
        super::assets::stylesheet,
        openapi_json,
    ),
    nest((path = "/api/v1", api = super::api::AdminApi)),
    modifiers(&CommonAnswers),
    tags(
        (name = "public", description = "Pages and forms for readers."),
        (name = "admin", description = "The JSON API for scripts and the publisher's CMS."),
        (name = "operations", description = "Health checks and this description."),
    ),
)]
pub struct ApiDoc;

/// The document, serialised once.
static DOCUMENT: LazyLock<Result<String, serde_json::Error>> = LazyLock::new(|| ApiDoc::openapi().to_pretty_json());

/// This description.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3 description of the HTTP API.", body = Object)))]
pub async fn openapi_json() -> Response {
    match &*DOCUMENT {
        Ok(document) => ([(header::CONTENT_TYPE, "application/json")], document.as_str()).into_response(),
        Err(error) => {
            ApiError::Internal(anyhow::anyhow!("cannot serialise the API description: {error}")).into_response()
        }
    }
}

/// The topics a reader chooses (and `SignupRequest::topics`): at most 20,
/// each at most 64 characters without control characters.
pub fn topic_list() -> RefOr<Schema> {
    let topic =
        ObjectBuilder::new().schema_type(Type::String).max_length(Some(64)).pattern(Some(NO_CONTROL_CHARACTERS));
    ArrayBuilder::new().items(topic).max_items(Some(20)).build().into()
}

/// A publication's authors: at most 50 names on one line each (line breaks
/// and tabs fold to spaces; other control characters are refused).
pub fn author_list() -> RefOr<Schema> {
    let author = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(200))
        .pattern(Some(r"^[^\x00-\x08\x0E-\x1F\x7F-\x84\x86-\x9F]*$"));
    ArrayBuilder::new().items(author).max_items(Some(50)).build().into()
}

/// What operations share: the timeout answer; for the admin API, the bearer
/// token and the answers the `Admin` extractor and the store can give
/// before the handler's own.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        openapi.components.get_or_insert_with(Default::default).add_security_scheme("bearer", scheme);
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                // The router's `TimeoutLayer` answers for any slow handler.
                let timeout = ResponseBuilder::new().description("The request took longer than REQUEST_TIMEOUT.");
                operation.responses.responses.entry("408".into()).or_insert_with(|| timeout.build().into());
                if path.starts_with("/api/") {
                    add_admin_answers(operation);
                }
            }
        }
    }
}

fn add_admin_answers(operation: &mut Operation) {
    operation.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
    let retry_after = || Header::new(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)));
    let answers = [
        (
            "401",
            "Missing or wrong bearer token.",
            Some(("WWW-Authenticate", Header::new(ObjectBuilder::new().schema_type(Type::String)))),
        ),
        ("429", "Too many wrong tokens from this address.", Some(("Retry-After", retry_after()))),
        ("503", "The database is unavailable.", Some(("Retry-After", retry_after()))),
    ];
    for (status, description, header) in answers {
        let body = Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody"))));
        let mut response = ResponseBuilder::new().description(description).content("application/json", body);
        if let Some((name, header)) = header {
            response = response.header(name, header);
        }
        operation.responses.responses.entry(status.into()).or_insert_with(|| response.build().into());
    }
}
