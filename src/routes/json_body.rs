//! JSON request bodies for the API: `Content-Type` checked (415), size
//! bounded (413), syntax checked (400), and fields read one by one so that a
//! field of the wrong type is a field error (422) naming it.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use crate::domain::FieldErrors;
use crate::error::ApiError;

/// A JSON object body.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json") {
            return Err(ApiError::UnsupportedMediaType("send the body as application/json".into()));
        }
        let body = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("the request body could not be read".into())
            }
        })?;
        parse_object(&body).map(JsonObject)
    }
}

pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON ({e})")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(ApiError::Validation(FieldErrors::single("body", "Expected a JSON object."))),
    }
}

/// Reads typed fields from an object, collecting type errors.
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Map<String, Value>) -> Fields<'a> {
        Fields { object, errors: FieldErrors::default() }
    }

    /// A string field; absent or `null` is `None`.
    pub fn text(&mut self, field: &'static str) -> Option<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.errors.add(field, "Must be a string.");
                None
            }
        }
    }

    /// A list of strings; absent or `null` is empty.
    pub fn strings(&mut self, field: &'static str) -> Vec<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
            }
            Some(_) => {
                self.errors.add(field, "Must be a list of strings.");
                Vec::new()
            }
        }
    }

    /// The field errors seen, if any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(self.errors)) }
    }
}
