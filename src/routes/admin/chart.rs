//! The overview's bar chart: geometry computed here, drawn as inline SVG by
//! the template (no script, no external asset).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::store::DailyCount;

const WIDTH: i64 = 600;
const HEIGHT: i64 = 160;
const TOP: i64 = 22;
const BOTTOM: i64 = 22;

#[derive(Debug, Serialize)]
pub struct Chart {
    width: i64,
    height: i64,
    base: i64,
    bar_width: i64,
    max: i64,
    first_day: String,
    last_day: String,
    bars: Vec<Bar>,
}

#[derive(Debug, Serialize)]
struct Bar {
    x: i64,
    signups_y: i64,
    signups_h: i64,
    confirmations_y: i64,
    confirmations_h: i64,
}

/// One pair of bars for each of the `days` days ending today, zero-filled.
pub fn daily_chart(counts: &[DailyCount], today: DateTime<Utc>, days: i64) -> Chart {
    let first = today - TimeDelta::days(days - 1);
    let day_names: Vec<String> =
        (0..days).map(|i| (first + TimeDelta::days(i)).format("%Y-%m-%d").to_string()).collect();
    let max = counts.iter().map(|c| c.signups.max(c.confirmations)).max().unwrap_or(0).max(1);
    let slot = WIDTH / days;
    let bar_width = (slot / 2 - 1).max(1);
    let base = HEIGHT - BOTTOM;
    let scale = |n: i64| n * (base - TOP) / max;
    let bars = day_names
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let count = counts.iter().find(|c| &c.day == day);
            let (s, c) = count.map_or((0, 0), |c| (scale(c.signups), scale(c.confirmations)));
            Bar { x: i as i64 * slot, signups_y: base - s, signups_h: s, confirmations_y: base - c, confirmations_h: c }
        })
        .collect();
    Chart {
        width: WIDTH,
        height: HEIGHT,
        base,
        bar_width,
        max,
        first_day: day_names.first().cloned().unwrap_or_default(),
        last_day: day_names.last().cloned().unwrap_or_default(),
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_day_and_missing_days_are_zero() {
        let today = DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z").unwrap().with_timezone(&Utc);
        let counts = [DailyCount { day: "2026-11-29".into(), signups: 4, confirmations: 2 }];
        let chart = daily_chart(&counts, today, 30);
        assert_eq!(chart.bars.len(), 30);
        assert_eq!(chart.last_day, "2026-11-29");
        let last = chart.bars.last().unwrap();
        assert_eq!(last.signups_h, HEIGHT - BOTTOM - TOP);
        assert_eq!(last.confirmations_h, (HEIGHT - BOTTOM - TOP) / 2);
        assert_eq!(chart.bars[0].signups_h, 0);
    }
}
