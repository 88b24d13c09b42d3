//! Tickets sold: per bucket, stacked by ticket type, and cumulative against capacity.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::Bucketing;
use super::draw::{
    self, group_thousands, series_color, stacked_bars, titled, Bucket, Figure, Line, Marker, Panel,
    Scale, TimeFrame, TOTAL,
};
use super::{SalesChart, SalesStep};
use crate::ReportResult;

const EMPTY: &str = "No sales yet";

impl SalesChart {
    /// The chart as an SVG document, `width` × `height` pixels.
    pub fn svg(&self, width: u32, height: u32) -> ReportResult<String> {
        draw::to_svg(self, width, height)
    }

    /// The chart as a PNG image, `width` × `height` pixels.
    pub fn png(&self, width: u32, height: u32) -> ReportResult<Vec<u8>> {
        draw::to_png(self, width, height)
    }

    fn bucketing(&self) -> Bucketing {
        match self.step {
            SalesStep::Hour => Bucketing::LocalHour,
            SalesStep::Day => Bucketing::LocalDay,
        }
    }

    fn buckets(&self) -> Vec<Bucket> {
        let series: Vec<&[_]> = self.types.iter().map(|t| t.points.as_slice()).collect();
        sum_into_buckets(self.zone, self.bucketing(), &series)
    }
}

/// Sums counts per series into buckets, in time order; empty buckets are left out.
pub(crate) fn sum_into_buckets(
    zone: chrono_tz::Tz,
    bucketing: Bucketing,
    series: &[&[(chrono::DateTime<chrono::Utc>, u64)]],
) -> Vec<Bucket> {
    let n = series.len();
    let mut sums: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
    // Raw points usually arrive in time order: reuse the last bucket while it still fits,
    // which saves a time-zone lookup per point.
    let mut last: Option<(i64, i64)> = None;
    for (i, points) in series.iter().enumerate() {
        for &(at, count) in points.iter() {
            if count == 0 {
                continue;
            }
            let t = at.timestamp();
            let start = match last {
                Some((s, e)) if (s..e).contains(&t) => s,
                _ => {
                    let s = bucketing.floor(zone, t);
                    last = Some((s, bucketing.end(zone, s)));
                    s
                }
            };
            let slot = &mut sums.entry(start).or_insert_with(|| vec![0; n])[i];
            *slot = slot.saturating_add(count);
        }
    }
    sums.into_iter()
        .map(|(start, counts)| Bucket {
            start,
            end: bucketing.end(zone, start),
            counts,
        })
        .collect()
}

/// A running total that stays flat between buckets and climbs across each one.
pub(crate) fn cumulative(buckets: &[Bucket], count: impl Fn(&Bucket) -> u64) -> Vec<(i64, i64)> {
    let mut points = Vec::with_capacity(buckets.len() * 2 + 1);
    let mut sum = 0u64;
    for b in buckets {
        let c = count(b);
        if c == 0 {
            continue;
        }
        if points.is_empty() {
            points.push((b.start, 0));
        } else {
            points.push((b.start, draw::to_i64(sum)));
        }
        sum = sum.saturating_add(c);
        points.push((b.end, draw::to_i64(sum)));
    }
    points
}

impl Figure for SalesChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ReportResult<()> {
        let scale = Scale::of(root);
        let body = titled(root, &self.title, scale)?;
        let buckets = self.buckets();
        let on_sale = self.on_sale.map(|t| t.timestamp());
        let frame = TimeFrame::around(
            self.zone,
            buckets.iter().flat_map(|b| [b.start, b.end]).chain(on_sale),
        );
        let marker = on_sale.map(|at| Marker {
            at,
            label: "On sale",
        });
        let empty = buckets.is_empty().then_some(EMPTY);
        let panels = body.split_evenly((2, 1));

        let names: Vec<String> = self.types.iter().map(|t| t.name.clone()).collect();
        let per = match self.step {
            SalesStep::Hour => "Tickets per hour",
            SalesStep::Day => "Tickets per day",
        };
        let panel = |y_desc| Panel {
            frame: &frame,
            y_desc,
            marker,
            empty,
            scale,
        };
        stacked_bars(&panels[0], &panel(per), &names, &buckets)?;

        let mut lines = Vec::new();
        // Per type only when there is more than one: with one type it is the total.
        if self.types.len() > 1 {
            for i in 0..self.types.len() {
                lines.push(Line {
                    label: None,
                    color: series_color(i),
                    width: 1,
                    points: cumulative(&buckets, |b| b.counts[i]),
                });
            }
        }
        lines.push(Line {
            label: Some("Total sold".into()),
            color: TOTAL,
            width: 2,
            points: cumulative(&buckets, Bucket::total),
        });
        let capacity = self.capacity.map(|c| {
            (
                draw::to_i64(c),
                format!("Capacity {}", group_thousands(&c.to_string())),
            )
        });
        draw::lines(
            &panels[1],
            &panel("Tickets sold (cumulative)"),
            &lines,
            capacity,
        )
    }
}
