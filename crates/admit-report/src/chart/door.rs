//! The door: arrivals per bucket, stacked by gate, and people inside.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::Bucketing;
use super::draw::{self, stacked_bars, titled, Figure, Line, Panel, Scale, TimeFrame, TOTAL};
use super::sales::sum_into_buckets;
use super::DoorChart;
use crate::{ReportError, ReportResult};

const EMPTY: &str = "No scans yet";

impl DoorChart {
    /// The chart as an SVG document, `width` × `height` pixels.
    pub fn svg(&self, width: u32, height: u32) -> ReportResult<String> {
        draw::to_svg(self, width, height)
    }

    /// The chart as a PNG image, `width` × `height` pixels.
    pub fn png(&self, width: u32, height: u32) -> ReportResult<Vec<u8>> {
        draw::to_png(self, width, height)
    }
}

/// "Arrivals per 5 minutes".
fn per_bucket(secs: u32) -> String {
    match secs {
        60 => "Arrivals per minute".into(),
        3600 => "Arrivals per hour".into(),
        s if s % 3600 == 0 => format!("Arrivals per {} hours", s / 3600),
        s if s % 60 == 0 => format!("Arrivals per {} minutes", s / 60),
        s => format!("Arrivals per {s} seconds"),
    }
}

impl Figure for DoorChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ReportResult<()> {
        if self.bucket_secs == 0 {
            return Err(ReportError::Invalid(
                "the door chart's bucket must be at least one second".into(),
            ));
        }
        let bucketing = Bucketing::Fixed(i64::from(self.bucket_secs));
        let scale = Scale::of(root);
        let body = titled(root, &self.title, scale)?;

        let series: Vec<&[_]> = self.gates.iter().map(|g| g.points.as_slice()).collect();
        let buckets = sum_into_buckets(self.zone, bucketing, &series);
        // A level, not a count: the last figure given for a bucket stands, drawn at its end.
        let mut inside: BTreeMap<i64, i64> = BTreeMap::new();
        for (at, n) in &self.inside {
            let start = bucketing.floor(self.zone, at.timestamp());
            inside.insert(bucketing.end(self.zone, start), *n);
        }
        let frame = TimeFrame::around(
            self.zone,
            buckets
                .iter()
                .flat_map(|b| [b.start, b.end])
                .chain(inside.keys().copied()),
        );
        let panels = body.split_evenly((2, 1));
        let names: Vec<String> = self.gates.iter().map(|g| g.gate.clone()).collect();
        let arrivals = per_bucket(self.bucket_secs);
        stacked_bars(
            &panels[0],
            &Panel {
                frame: &frame,
                y_desc: &arrivals,
                marker: None,
                empty: buckets.is_empty().then_some(EMPTY),
                scale,
            },
            &names,
            &buckets,
        )?;
        draw::lines(
            &panels[1],
            &Panel {
                frame: &frame,
                y_desc: "People inside",
                marker: None,
                empty: inside.is_empty().then_some(EMPTY),
                scale,
            },
            &[Line {
                label: None,
                color: TOTAL,
                width: 2,
                points: inside.into_iter().collect(),
            }],
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_read_naturally() {
        assert_eq!(per_bucket(300), "Arrivals per 5 minutes");
        assert_eq!(per_bucket(60), "Arrivals per minute");
        assert_eq!(per_bucket(3600), "Arrivals per hour");
        assert_eq!(per_bucket(7200), "Arrivals per 2 hours");
        assert_eq!(per_bucket(45), "Arrivals per 45 seconds");
    }
}
