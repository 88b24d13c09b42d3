//! Local time on a chart: buckets that follow the event's zone (a local day is 23 or 25 hours
//! at a DST change) and tick marks at round local times.
//!
//! Coordinates are whole seconds since the Unix epoch (UTC); only labels are local.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// How a chart groups instants into buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bucketing {
    /// Local clock hours.
    LocalHour,
    /// Local calendar days, midnight to midnight.
    LocalDay,
    /// Fixed widths in seconds, aligned to the epoch. Every zone in use today is offset from
    /// UTC by a multiple of 15 minutes, so 5-, 15- and 60-minute buckets also start on round
    /// local times.
    Fixed(i64),
}

impl Bucketing {
    /// The start of the bucket holding `t`.
    pub(crate) fn floor(self, zone: Tz, t: i64) -> i64 {
        match self {
            Bucketing::Fixed(w) => t - t.rem_euclid(w),
            Bucketing::LocalHour => match local(zone, t) {
                // Through the local clock: a zone 30 minutes off UTC has hours at :30 UTC.
                Some(l) => t - i64::from(l.minute() * 60 + l.second()),
                None => t - t.rem_euclid(3600),
            },
            Bucketing::LocalDay => match local(zone, t) {
                Some(l) => local_midnight(zone, l.date_naive()).unwrap_or(t - t.rem_euclid(86_400)),
                None => t - t.rem_euclid(86_400),
            },
        }
    }

    /// The end of the bucket that starts at `start`.
    pub(crate) fn end(self, zone: Tz, start: i64) -> i64 {
        match self {
            Bucketing::Fixed(w) => start.saturating_add(w),
            Bucketing::LocalHour => start.saturating_add(3600),
            Bucketing::LocalDay => local(zone, start)
                .and_then(|l| l.date_naive().succ_opt())
                .and_then(|next| local_midnight(zone, next))
                .filter(|&e| e > start)
                .unwrap_or(start.saturating_add(86_400)),
        }
    }
}

/// Instants outside chrono's range have no local time; callers fall back to plain arithmetic.
fn local(zone: Tz, t: i64) -> Option<DateTime<Tz>> {
    DateTime::<Utc>::from_timestamp(t, 0).map(|u| u.with_timezone(&zone))
}

/// The first instant of a local day. Where the clocks skip midnight itself, the day starts
/// at the first local time that exists.
fn local_midnight(zone: Tz, date: NaiveDate) -> Option<i64> {
    local_instant(zone, date.and_hms_opt(0, 0, 0)?).or_else(|| {
        (1..=4).find_map(|h| local_instant(zone, date.and_hms_opt(0, 0, 0)? + Duration::hours(h)))
    })
}

/// A local wall-clock time as an instant: the earlier one when the clocks go back, none when
/// they skip it.
fn local_instant(zone: Tz, ndt: NaiveDateTime) -> Option<i64> {
    zone.from_local_datetime(&ndt)
        .earliest()
        .map(|d| d.timestamp())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Divides a day: ticks at local midnight plus multiples of it.
    Minutes(u32),
    Days(u32),
    /// Mondays.
    Weeks,
    /// First of the month, months counted from year 0 so that 3 gives quarters.
    Months(u32),
}

impl Step {
    fn approx_secs(self) -> i64 {
        match self {
            Step::Minutes(m) => i64::from(m) * 60,
            Step::Days(d) => i64::from(d) * 86_400,
            Step::Weeks => 7 * 86_400,
            Step::Months(m) => i64::from(m) * 2_629_746,
        }
    }
}

const STEPS: [Step; 22] = [
    Step::Minutes(1),
    Step::Minutes(5),
    Step::Minutes(10),
    Step::Minutes(15),
    Step::Minutes(30),
    Step::Minutes(60),
    Step::Minutes(120),
    Step::Minutes(180),
    Step::Minutes(360),
    Step::Minutes(720),
    Step::Days(1),
    Step::Days(2),
    Step::Weeks,
    Step::Months(1),
    Step::Months(2),
    Step::Months(3),
    Step::Months(6),
    Step::Months(12),
    Step::Months(24),
    Step::Months(60),
    Step::Months(120),
    Step::Months(1200),
];

/// Tick marks between `lo` and `hi` (inclusive) at round local times, at most about
/// `max_ticks` of them, each with its label. Labels carry the date where it changes, so an
/// hourly axis reads "28 Mar 22:00, 23:00, 29 Mar 00:00, 01:00, 03:00" across a DST change.
pub(crate) fn time_ticks(zone: Tz, lo: i64, hi: i64, max_ticks: usize) -> Vec<(i64, String)> {
    let (Some(first), Some(last)) = (local(zone, lo), local(zone, hi)) else {
        return Vec::new();
    };
    if hi <= lo {
        return Vec::new();
    }
    let max_ticks = max_ticks.max(2) as i64;
    let span = hi - lo;
    let step = STEPS
        .into_iter()
        .find(|s| span / s.approx_secs() < max_ticks)
        .unwrap_or(Step::Months(1200));

    let mut ticks = Vec::new();
    let mut push = |t: Option<i64>| {
        if let Some(t) = t.filter(|t| (lo..=hi).contains(t)) {
            if ticks.last().is_none_or(|&last| t > last) {
                ticks.push(t);
            }
        }
    };
    let (first_day, last_day) = (first.date_naive(), last.date_naive());
    match step {
        Step::Minutes(m) => {
            for day in first_day.pred_opt().unwrap_or(first_day).iter_days() {
                if day > last_day {
                    break;
                }
                let Some(midnight) = day.and_hms_opt(0, 0, 0) else {
                    continue;
                };
                for k in 0..(1440 / m) {
                    let ndt = midnight + Duration::minutes(i64::from(k * m));
                    push(local_instant(zone, ndt));
                }
            }
        }
        Step::Days(_) | Step::Weeks => {
            for day in first_day.iter_days() {
                if day > last_day {
                    break;
                }
                let keep = match step {
                    Step::Days(d) => day.num_days_from_ce().rem_euclid(d as i32) == 0,
                    _ => day.weekday() == chrono::Weekday::Mon,
                };
                if keep {
                    push(local_midnight(zone, day));
                }
            }
        }
        Step::Months(n) => {
            let index = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
            for i in index(first_day)..=index(last_day) {
                if i.rem_euclid(i64::from(n)) != 0 {
                    continue;
                }
                let date = NaiveDate::from_ymd_opt(
                    i.div_euclid(12) as i32,
                    i.rem_euclid(12) as u32 + 1,
                    1,
                );
                push(date.and_then(|d| local_midnight(zone, d)));
            }
        }
    }

    let mut previous: Option<DateTime<Tz>> = None;
    ticks
        .into_iter()
        .filter_map(|t| {
            let l = local(zone, t)?;
            let label = match step {
                Step::Minutes(_) => {
                    if previous.is_some_and(|p| p.date_naive() == l.date_naive()) {
                        l.format("%H:%M").to_string()
                    } else {
                        l.format("%-d %b %H:%M").to_string()
                    }
                }
                Step::Days(_) | Step::Weeks => {
                    if previous.is_none_or(|p| p.year() != l.year()) {
                        l.format("%-d %b %Y").to_string()
                    } else {
                        l.format("%a %-d %b").to_string()
                    }
                }
                Step::Months(_) => l.format("%b %Y").to_string(),
            };
            previous = Some(l);
            Some((t, label))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{Asia::Kolkata, Europe::Berlin};

    fn at(zone: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        zone.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .earliest()
            .unwrap()
            .timestamp()
    }

    #[test]
    fn local_days_follow_dst() {
        let day = Bucketing::LocalDay;
        // 29 March 2026: Berlin springs forward, so that local day is 23 hours long.
        let noon = at(Berlin, 2026, 3, 29, 12, 0);
        let start = day.floor(Berlin, noon);
        assert_eq!(start, at(Berlin, 2026, 3, 29, 0, 0));
        assert_eq!(day.end(Berlin, start) - start, 23 * 3600);
        // 25 October 2026: back again, 25 hours.
        let start = day.floor(Berlin, at(Berlin, 2026, 10, 25, 23, 59));
        assert_eq!(day.end(Berlin, start) - start, 25 * 3600);
    }

    #[test]
    fn local_hours_follow_half_hour_zones() {
        let t = at(Kolkata, 2026, 5, 1, 19, 47);
        assert_eq!(
            Bucketing::LocalHour.floor(Kolkata, t),
            at(Kolkata, 2026, 5, 1, 19, 0)
        );
        assert_eq!(Bucketing::Fixed(300).floor(Berlin, t + 17), t - 120);
    }

    #[test]
    fn hourly_ticks_skip_the_missing_hour() {
        let lo = at(Berlin, 2026, 3, 28, 22, 0);
        let hi = at(Berlin, 2026, 3, 29, 5, 0);
        let labels: Vec<String> = time_ticks(Berlin, lo, hi, 12)
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(
            labels,
            [
                "28 Mar 22:00",
                "23:00",
                "29 Mar 00:00",
                "01:00",
                "03:00",
                "04:00",
                "05:00"
            ]
        );
    }

    #[test]
    fn ticks_stay_within_the_budget() {
        let lo = at(Berlin, 2026, 1, 1, 0, 0);
        for (span, budget) in [
            (3600, 6),
            (86_400 * 3, 8),
            (86_400 * 400, 10),
            (86_400 * 40_000, 10),
        ] {
            let ticks = time_ticks(Berlin, lo, lo + span, budget);
            assert!(
                !ticks.is_empty() && ticks.len() <= budget + 1,
                "{span}: {ticks:?}"
            );
            assert!(ticks.windows(2).all(|w| w[0].0 < w[1].0));
        }
        assert!(time_ticks(Berlin, lo, lo, 10).is_empty());
    }

    #[test]
    fn daily_ticks_are_local_midnights() {
        let lo = at(Berlin, 2026, 3, 27, 0, 0);
        let hi = at(Berlin, 2026, 3, 31, 0, 0);
        let ticks = time_ticks(Berlin, lo, hi, 6);
        let times: Vec<i64> = ticks.iter().map(|t| t.0).collect();
        assert_eq!(
            times,
            (27..=31)
                .map(|d| at(Berlin, 2026, 3, d, 0, 0))
                .collect::<Vec<_>>()
        );
        assert_eq!(ticks[0].1, "27 Mar 2026");
        assert_eq!(ticks[2].1, "Sun 29 Mar");
    }
}
