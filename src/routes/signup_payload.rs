//! Reading a signup from either an HTML form or a JSON body, chosen by
//! `Content-Type`. Field checks happen later, in the domain types; here only
//! the envelope is checked (type, size, syntax).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::json_body::{Fields, parse_object};
use crate::domain::SignupInput;
use crate::error::ApiError;
use crate::state::AppState;

pub enum SignupPayload {
    Form(FormSignup),
    Json(SignupInput),
}

pub struct FormSignup {
    pub input: SignupInput,
    /// The field people never see was filled in: a bot.
    pub honeypot_filled: bool,
    /// The signed time the form was served, if the form carried it.
    pub form_time: Option<String>,
}

/// The JSON signup, as the API description shows it. The body is read field
/// by field (see `parse_json`), so that a field of the wrong type is a field
/// error; the limits are those of the domain types.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SignupRequest {
    #[schema(format = "email", min_length = 1, max_length = 254, example = "ann@example.org")]
    email: String,
    #[schema(max_length = 100, pattern = r"^[^\x00-\x1F\x7F-\x9F\u2028\u2029\u202A-\u202E\u2066-\u2069]*$")]
    name: Option<String>,
    /// Categories to receive; none means everything.
    #[schema(schema_with = crate::routes::openapi::topic_list)]
    topics: Option<Vec<String>>,
}

/// The HTML form's signup (`topics` repeated, one per checked box).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SignupForm {
    #[schema(format = "email", min_length = 1, max_length = 254)]
    email: String,
    #[schema(max_length = 100, pattern = r"^[^\x00-\x1F\x7F-\x9F\u2028\u2029\u202A-\u202E\u2066-\u2069]*$")]
    name: Option<String>,
    #[schema(schema_with = crate::routes::openapi::topic_list)]
    topics: Option<Vec<String>>,
    /// A field people never see: filled in, the signup is treated as a bot's.
    website: Option<String>,
    /// The signed time the form was served (the time-to-fill check).
    form_time: Option<String>,
}

enum Format {
    Form,
    Json,
}

impl FromRequest<AppState> for SignupPayload {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let format = match essence.as_str() {
            "application/json" => Format::Json,
            "application/x-www-form-urlencoded" => Format::Form,
            _ => {
                return Err(ApiError::UnsupportedMediaType(
                    "send the signup as application/json or application/x-www-form-urlencoded".into(),
                )
                .into_response());
            }
        };
        let reject = |error: ApiError| match format {
            Format::Json => error.into_response(),
            Format::Form => state.pages.error(error),
        };
        let body = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                reject(ApiError::PayloadTooLarge)
            } else {
                reject(ApiError::BadRequest("the request body could not be read".into()))
            }
        })?;
        match format {
            Format::Json => parse_json(&body).map(SignupPayload::Json).map_err(reject),
            Format::Form => Ok(SignupPayload::Form(parse_form(&body))),
        }
    }
}

/// `{"email": "...", "name": "..."?, "topics": [...]?}`. Syntax errors are
/// 400; a well-formed body with fields of the wrong type is 422.
pub(crate) fn parse_json(body: &[u8]) -> Result<SignupInput, ApiError> {
    let object = parse_object(body)?;
    let mut fields = Fields::new(&object);
    let input =
        SignupInput { email: fields.text("email"), name: fields.text("name"), topics: fields.strings("topics") };
    fields.finish().map(|()| input)
}

pub(crate) fn parse_form(body: &[u8]) -> FormSignup {
    let mut input = SignupInput::default();
    let mut honeypot_filled = false;
    let mut form_time = None;
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.as_ref() {
            "email" => input.email = Some(value.into_owned()),
            "name" => input.name = Some(value.into_owned()),
            "topics" => input.topics.push(value.into_owned()),
            "website" => honeypot_filled |= !value.trim().is_empty(),
            "form_time" => form_time = Some(value.into_owned()),
            _ => {}
        }
    }
    FormSignup { input, honeypot_filled, form_time }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_repeat_for_topics_and_the_honeypot_is_noticed() {
        let form = parse_form(b"email=a%40example.org&name=Ann+Lee&topics=Trade&topics=North+Korea&website=");
        assert_eq!(form.input.email.as_deref(), Some("a@example.org"));
        assert_eq!(form.input.name.as_deref(), Some("Ann Lee"));
        assert_eq!(form.input.topics, vec!["Trade", "North Korea"]);
        assert!(!form.honeypot_filled);
        assert!(parse_form(b"email=a%40example.org&website=http%3A%2F%2Fspam").honeypot_filled);
    }

    #[test]
    fn json_fields_of_the_wrong_type_are_field_errors() {
        let Err(ApiError::Validation(errors)) = parse_json(br#"{"email": 5, "topics": "Trade"}"#) else {
            panic!("expected field errors")
        };
        assert!(errors.get("email").is_some() && errors.get("topics").is_some());
        assert!(matches!(parse_json(b"{\"email\": "), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse_json(b"[]"), Err(ApiError::Validation(_))));
        let input = parse_json(br#"{"email": "a@example.org", "name": null, "topics": ["Trade"]}"#).unwrap();
        assert_eq!(input.topics, vec!["Trade"]);
    }
}
