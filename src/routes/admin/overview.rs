//! `/admin`: the list at a glance.

use axum::extract::State;
use axum::response::Response;
use chrono::TimeDelta;
use minijinja::context;

use super::chart::daily_chart;
use super::session::AdminUser;
use crate::clock;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::PageRequest;

const DAYS: i64 = 30;

pub async fn show(State(state): State<AppState>, user: AdminUser) -> Response {
    match render(&state, &user).await {
        Ok(response) => response,
        Err(error) => state.pages.error(error),
    }
}

async fn render(state: &AppState, user: &AdminUser) -> Result<Response, ApiError> {
    let now = clock::now();
    let since = (now - TimeDelta::days(DAYS - 1)).date_naive().and_hms_opt(0, 0, 0).map_or(now, |t| t.and_utc());
    let store = state.store.as_ref();
    let counts = store.status_counts().await?;
    let days = store.daily_signups(since).await?;
    let digests = store.list_digests(PageRequest { page: 1, per_page: 5 }).await?;
    let queue = store.queue_summary().await?;
    let (signups, confirmations) = days.iter().fold((0, 0), |(s, c), d| (s + d.signups, c + d.confirmations));
    let confirmation_rate = if signups == 0 {
        "no signups yet".to_owned()
    } else {
        format!("{}% ({confirmations} of {signups})", (confirmations * 100 + signups / 2) / signups)
    };
    let chart = daily_chart(&days, now, DAYS);
    let page = context! {
        counts => super::ser(counts), days => super::ser(&days), chart => super::ser(&chart), confirmation_rate,
        digests => super::ser(&digests.items), queue => super::ser(queue),
    };
    Ok(super::page(state, user, "admin/overview.html", page))
}
