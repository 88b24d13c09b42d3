//! Revenue: gross, refunds and net per ticket type, per channel and per payment method.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::draw::{self, clean_label, group_thousands, titled, Figure, OrDraw, Scale};
use super::{RevenueBar, RevenueChart};
use crate::ReportResult;

const EMPTY: &str = "No sales yet";
const GROSS: RGBColor = RGBColor(31, 119, 180);
const REFUNDS: RGBColor = RGBColor(214, 39, 40);
const NET: RGBColor = RGBColor(44, 160, 44);
const SERIES: [(&str, RGBColor); 3] = [("Gross", GROSS), ("Refunds", REFUNDS), ("Net", NET)];

impl RevenueChart {
    /// The chart as an SVG document, `width` × `height` pixels.
    pub fn svg(&self, width: u32, height: u32) -> ReportResult<String> {
        draw::to_svg(self, width, height)
    }

    /// The chart as a PNG image, `width` × `height` pixels.
    pub fn png(&self, width: u32, height: u32) -> ReportResult<Vec<u8>> {
        draw::to_png(self, width, height)
    }
}

impl Figure for RevenueChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ReportResult<()> {
        let scale = Scale::of(root);
        let body = titled(root, &self.title, scale)?;
        let any_bars = !(self.by_ticket_type.is_empty()
            && self.by_channel.is_empty()
            && self.by_payment_method.is_empty());
        // One legend for the three panels, in a row of its own under the title, so it never
        // covers a bar.
        let body = if any_bars {
            let (strip, rest) = body.split_vertically(scale.text * 2 + 4);
            legend_row(&strip, scale)?;
            rest
        } else {
            body
        };
        let panels = body.split_evenly((3, 1));
        let exponent = self.currency.exponent();
        let y_desc = format!("Amount ({})", self.currency.code());
        for (area, bars, caption, x_desc) in [
            (
                &panels[0],
                &self.by_ticket_type,
                "By ticket type",
                "Ticket type",
            ),
            (&panels[1], &self.by_channel, "By channel", "Channel"),
            (
                &panels[2],
                &self.by_payment_method,
                "By payment method",
                "Payment method",
            ),
        ] {
            let axes = Axes {
                caption,
                x_desc,
                y_desc: &y_desc,
                exponent,
                scale,
            };
            panel(area, bars, &axes)?;
        }
        Ok(())
    }
}

struct Axes<'a> {
    caption: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    exponent: u8,
    scale: Scale,
}

/// Minor units to major units for drawing. Totals stay integers until here.
fn major(minor: i128, exponent: u8) -> f64 {
    minor as f64 / 10f64.powi(i32::from(exponent))
}

/// An amount for the axis: as many decimals as the currency has, but only where the scale
/// needs them ("1,500", "2.50").
fn amount_label(v: f64, exponent: u8, fine: bool) -> String {
    let decimals = if fine { usize::from(exponent) } else { 0 };
    let s = format!("{v:.decimals$}");
    let s = if s
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".to_string()
    } else {
        s
    };
    group_thousands(&s)
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    bars: &[RevenueBar],
    axes: &Axes<'_>,
) -> ReportResult<()> {
    let s = axes.scale;
    let values: Vec<[f64; 3]> = bars
        .iter()
        .map(|b| {
            let gross = i128::from(b.gross_minor);
            let refunded = i128::from(b.refunded_minor);
            [
                major(gross, axes.exponent),
                major(refunded, axes.exponent),
                major(gross - refunded, axes.exponent),
            ]
        })
        .collect();
    let (mut lo, mut hi) = values
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold((0f64, 0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    if hi - lo <= 0.0 {
        hi = 1.0;
    }
    let pad = (hi - lo) * 0.12;
    if hi > 0.0 {
        hi += pad;
    }
    if lo < 0.0 {
        lo -= pad;
    }
    let fine = hi - lo < 20.0;

    let n = bars.len().max(1);
    let (w, _) = area.dim_in_pixel();
    let plot_w = w.saturating_sub(s.y_label_area() + 30).max(1) as usize;
    // Every label gets at least 70 px; with many bars only every k-th is named.
    let every = (n * 70).div_ceil(plot_w).max(1);
    let chars = (plot_w * every / n / (s.text as usize * 6 / 10).max(1)).clamp(4, 28);
    // Categories are 100 units wide: integer coordinates, which plotters formats and maps
    // without float ticks of its own.
    let keys: Vec<i64> = (0..bars.len())
        .step_by(every)
        .map(|i| i as i64 * 100 + 50)
        .collect();

    let mut chart = ChartBuilder::on(area)
        .caption(axes.caption, s.bold(1))
        .margin(8)
        .margin_right(20)
        .x_label_area_size(s.x_label_area())
        .y_label_area_size(s.y_label_area())
        .build_cartesian_2d((0..n as i64 * 100).with_key_points(keys), lo..hi)
        .or_draw()?;
    let x_label = |v: &i64| {
        bars.get((v / 100) as usize)
            .map(|b| clean_label(&b.label, chars))
            .unwrap_or_default()
    };
    let y_label = |v: &f64| amount_label(*v, axes.exponent, fine);
    chart
        .configure_mesh()
        .x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .y_labels(6)
        .label_style(s.small())
        .axis_desc_style(s.font())
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .disable_x_mesh()
        .draw()
        .or_draw()?;

    if lo < 0.0 {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0, 0.0), (n as i64 * 100, 0.0)],
                BLACK.mix(0.6).stroke_width(1),
            )))
            .or_draw()?;
    }
    for (k, (_, color)) in SERIES.into_iter().enumerate() {
        let rects = values.iter().enumerate().map(move |(i, v)| {
            let x = i as i64 * 100 + 10 + 27 * k as i64;
            Rectangle::new([(x, 0.0), (x + 25, v[k])], color.filled())
        });
        chart.draw_series(rects).or_draw()?;
    }
    if bars.is_empty() {
        let area = chart.plotting_area().strip_coord_spec();
        let (w, h) = area.dim_in_pixel();
        let grey = BLACK.mix(0.55);
        let style = s
            .bold(4)
            .color(&grey)
            .pos(Pos::new(HPos::Center, VPos::Center));
        area.draw_text(EMPTY, &style, (w as i32 / 2, h as i32 / 2))
            .or_draw()?;
    }
    Ok(())
}

/// Gross, refunds and net side by side, centred: a swatch and a name each.
fn legend_row<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, s: Scale) -> ReportResult<()> {
    let (w, h) = area.dim_in_pixel();
    let text = s.small();
    let char_w = (s.text as i32 - 2) * 6 / 10;
    let gap = s.text as i32 * 2;
    let widths: Vec<i32> = SERIES
        .iter()
        .map(|(name, _)| 16 + name.chars().count() as i32 * char_w)
        .collect();
    let total: i32 = widths.iter().sum::<i32>() + gap * (SERIES.len() as i32 - 1);
    let mut x = (w as i32 - total).max(0) / 2;
    let y = h as i32 / 2;
    for ((name, color), width) in SERIES.iter().zip(&widths) {
        area.draw(&Rectangle::new(
            [(x, y - 5), (x + 12, y + 5)],
            color.filled(),
        ))
        .or_draw()?;
        area.draw_text(
            name,
            &text.pos(Pos::new(HPos::Left, VPos::Center)),
            (x + 16, y),
        )
        .or_draw()?;
        x += width + gap;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_major_units() {
        assert_eq!(major(123_456, 2), 1234.56);
        assert_eq!(major(1500, 0), 1500.0);
        assert_eq!(major(-1500, 3), -1.5);
        assert_eq!(amount_label(12_500.0, 2, false), "12,500");
        assert_eq!(amount_label(2.5, 2, true), "2.50");
        assert_eq!(amount_label(-0.0001, 2, true), "0");
        assert_eq!(amount_label(-1500.0, 0, false), "-1,500");
    }
}
