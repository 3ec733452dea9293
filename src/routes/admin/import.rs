//! `/admin/subscribers/import`: upload a CSV, see what it would do, confirm.
//!
//! Rows are parsed and imported by the same code as `bulletin subscribers
//! import`. Between the preview and the confirmation the file travels in a
//! hidden field, signed with the server key and bound to the session, so
//! nothing is kept on the server and a forged file is refused.

use std::collections::HashSet;

use axum::Form;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::TimeDelta;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::session::{AdminUser, forbidden};
use crate::cli::subscribers::{import_rows, parse_csv};
use crate::state::AppState;
use crate::store::{ImportedSubscriber, suppression_hash};

/// Largest file accepted.
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;
/// Rows listed per section of the preview (the counts cover all of them).
const LISTED: usize = 200;
const PURPOSE: &str = "subscriber-import";

pub async fn show(State(state): State<AppState>, user: AdminUser) -> Response {
    super::page(&state, &user, "admin/import.html", context! {})
}

fn refuse(state: &AppState, user: &AdminUser, message: &str) -> Response {
    super::render(state, user, StatusCode::UNPROCESSABLE_ENTITY, "admin/import.html", context! { error => message })
}

#[derive(Debug, Default, Serialize)]
struct Preview {
    added: Vec<Row>,
    added_count: usize,
    known: Vec<String>,
    known_count: usize,
    suppressed: Vec<String>,
    suppressed_count: usize,
    invalid: Vec<String>,
    invalid_count: usize,
}

#[derive(Debug, Serialize)]
struct Row {
    email: String,
    status: &'static str,
    topics: Vec<String>,
}

fn push<T>(list: &mut Vec<T>, count: &mut usize, item: T) {
    *count += 1;
    if list.len() < LISTED {
        list.push(item);
    }
}

pub async fn preview(State(state): State<AppState>, user: AdminUser, mut multipart: Multipart) -> Response {
    let (mut csrf_token, mut file) = (String::new(), None);
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf_token") => csrf_token = field.text().await.unwrap_or_default(),
                Some("file") => match field.bytes().await {
                    Ok(bytes) => file = Some(bytes),
                    Err(_) => return refuse(&state, &user, "The file could not be read (at most 5 MiB)."),
                },
                _ => {}
            },
            Ok(None) => break,
            Err(_) => return refuse(&state, &user, "The upload could not be read (at most 5 MiB)."),
        }
    }
    if let Some(refused) = user.check_csrf(&state, &csrf_token) {
        return refused;
    }
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return refuse(&state, &user, "Choose a CSV file to upload.");
    };
    let rows = match parse(&state, &file) {
        Ok(rows) => rows,
        Err(message) => return refuse(&state, &user, &message),
    };
    let mut preview = Preview::default();
    let mut valid: Vec<ImportedSubscriber> = Vec::new();
    for row in rows {
        match row {
            Ok(subscriber) => valid.push(subscriber),
            Err(problem) => push(&mut preview.invalid, &mut preview.invalid_count, problem),
        }
    }
    if let Err(error) = classify(&state, valid, &mut preview).await {
        return state.pages.error(error.into());
    }
    let csv = STANDARD.encode(&file);
    let signature = state.keys.sign(PURPOSE, format!("{}:{csv}", user.session.csrf_token).as_bytes());
    let context = context! { preview => super::ser(&preview), csv, signature };
    super::page(&state, &user, "admin/import.html", context)
}

type Rows = Vec<Result<ImportedSubscriber, String>>;

fn parse(state: &AppState, file: &[u8]) -> Result<Rows, String> {
    let ttl = TimeDelta::from_std(state.config.signup.confirmation_ttl).unwrap_or(TimeDelta::hours(48));
    let rows = parse_csv(std::io::Cursor::new(file.to_vec()), &state.keys, ttl).map_err(|e| format!("{e:#}."))?;
    Ok(rows.collect())
}

/// Splits valid rows into new, already known (or repeated in the file) and suppressed.
async fn classify(
    state: &AppState,
    valid: Vec<ImportedSubscriber>,
    preview: &mut Preview,
) -> Result<(), crate::store::StoreError> {
    let mut seen = HashSet::new();
    for chunk in valid.chunks(500) {
        let emails: Vec<String> = chunk.iter().map(|s| s.email.canonical()).collect();
        let hashes: Vec<String> = chunk.iter().map(|s| suppression_hash(&s.email)).collect();
        let (known, suppressed) = state.store.known_addresses(&emails, &hashes).await?;
        for (row, (email, hash)) in chunk.iter().zip(emails.into_iter().zip(hashes)) {
            let shown = row.email.as_str().to_owned();
            if suppressed.contains(&hash) {
                push(&mut preview.suppressed, &mut preview.suppressed_count, shown);
            } else if known.contains(&email) || !seen.insert(email) {
                push(&mut preview.known, &mut preview.known_count, shown);
            } else {
                let row = Row { email: shown, status: row.status.as_str(), topics: row.topics.names() };
                push(&mut preview.added, &mut preview.added_count, row);
            }
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    csv: String,
    #[serde(default)]
    signature: String,
}

pub async fn confirm(State(state): State<AppState>, user: AdminUser, Form(form): Form<ConfirmForm>) -> Response {
    if let Some(refused) = user.check_csrf(&state, &form.csrf_token) {
        return refused;
    }
    let signed = format!("{}:{}", user.session.csrf_token, form.csv);
    let file = match STANDARD.decode(&form.csv) {
        Ok(file) if state.keys.verify(PURPOSE, signed.as_bytes(), &form.signature) => file,
        _ => return forbidden(&state, "This import was not previewed in this session. Upload the file again."),
    };
    let rows = match parse(&state, &file) {
        Ok(rows) => rows,
        Err(message) => return refuse(&state, &user, &message),
    };
    match import_rows(state.store.as_ref(), rows.into_iter(), drop).await {
        Ok((counts, bad)) => {
            tracing::info!(admin = %user.session.email, imported = counts.imported, "subscribers imported");
            let flash = format!(
                "Imported {}; left alone {} already known; skipped {} suppressed and {bad} invalid rows.",
                counts.imported, counts.already_known, counts.suppressed
            );
            super::page(&state, &user, "admin/import.html", context! { flash })
        }
        Err(error) => state.pages.error(crate::error::ApiError::Internal(error)),
    }
}
