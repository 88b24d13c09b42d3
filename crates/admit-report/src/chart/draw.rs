//! What every chart shares: fonts, the two backends, sizes, colours, and the two kinds of
//! time panel (stacked bars per bucket, and lines).

use std::sync::Once;

use chrono_tz::Tz;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::chart::axis::time_ticks;
use crate::{ReportError, ReportResult};

static REGULAR: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");

/// The family every text style names. SVG keeps it as `font-family` for the viewer's own
/// sans-serif; PNG text is drawn from the bundled DejaVu registered under this name.
const FAMILY: &str = "sans-serif";

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled files are known good; a failure here would show up as a draw error
        // ("font unavailable") on the first chart, which the tests would catch.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, REGULAR);
        let _ = plotters::style::register_font(FAMILY, FontStyle::Bold, BOLD);
    });
}

/// Smallest and largest sizes accepted, in pixels. Below the minimum nothing readable fits;
/// the maximum bounds memory (a 4096 × 4096 RGB buffer is 48 MiB).
pub const MIN_SIDE: u32 = 240;
pub const MAX_SIDE: u32 = 4096;

fn check_size(width: u32, height: u32) -> ReportResult<()> {
    for (name, v) in [("width", width), ("height", height)] {
        if !(MIN_SIDE..=MAX_SIDE).contains(&v) {
            return Err(ReportError::Invalid(format!(
                "chart {name} must be between {MIN_SIDE} and {MAX_SIDE} pixels, not {v}"
            )));
        }
    }
    Ok(())
}

/// One drawing routine for both backends.
pub(crate) trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> ReportResult<()>;
}

pub(crate) fn to_svg(figure: &impl Figure, width: u32, height: u32) -> ReportResult<String> {
    check_size(width, height)?;
    register_fonts();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        root.fill(&WHITE).or_draw()?;
        figure.draw(&root)?;
        root.present().or_draw()?;
    }
    Ok(out)
}

pub(crate) fn to_png(figure: &impl Figure, width: u32, height: u32) -> ReportResult<Vec<u8>> {
    use image::ImageEncoder;

    check_size(width, height)?;
    register_fonts();
    let mut pixels = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        figure.draw(&root)?;
        root.present().or_draw()?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&pixels, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| ReportError::Encode(e.to_string()))?;
    Ok(png)
}

/// Plotters' errors are generic over the backend; callers only need the message.
pub(crate) trait OrDraw<T> {
    fn or_draw(self) -> ReportResult<T>;
}

impl<T, E: std::error::Error + Send + Sync> OrDraw<T> for Result<T, DrawingAreaErrorKind<E>> {
    fn or_draw(self) -> ReportResult<T> {
        self.map_err(|e| ReportError::Draw(e.to_string()))
    }
}

/// Text sizes and label areas, scaled to the picture.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    pub text: u32,
}

impl Scale {
    pub(crate) fn of<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>) -> Self {
        let (w, h) = root.dim_in_pixel();
        Scale {
            text: (w.min(h) / 48).clamp(12, 18),
        }
    }

    pub(crate) fn font(self) -> TextStyle<'static> {
        (FAMILY, self.text).into_font().color(&BLACK)
    }

    pub(crate) fn small(self) -> TextStyle<'static> {
        (FAMILY, self.text - 2).into_font().color(&BLACK)
    }

    pub(crate) fn bold(self, extra: u32) -> TextStyle<'static> {
        FontDesc::new(
            FontFamily::Name(FAMILY),
            f64::from(self.text + extra),
            FontStyle::Bold,
        )
        .color(&BLACK)
    }

    pub(crate) fn y_label_area(self) -> u32 {
        self.text * 6
    }

    pub(crate) fn x_label_area(self) -> u32 {
        self.text * 3 + 8
    }
}

/// The chart's title above its panels; returns the area left for them.
pub(crate) fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    scale: Scale,
) -> ReportResult<DrawingArea<DB, Shift>> {
    let title = clean_label(title, 120);
    if title.is_empty() {
        return Ok(root.margin(8, 0, 0, 0));
    }
    root.titled(&title, scale.bold(5)).or_draw()
}

pub(crate) const MARKER: RGBColor = RGBColor(230, 120, 0);
pub(crate) const CAPACITY: RGBColor = RGBColor(200, 30, 30);
pub(crate) const TOTAL: RGBColor = RGBColor(20, 20, 20);

/// Distinct colours for series: Tableau 10, then hues around the golden angle, so two series
/// never share a colour however many there are.
pub(crate) fn series_color(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    if let Some(c) = PALETTE.get(i) {
        return *c;
    }
    let hue = ((i - PALETTE.len()) as f64 * 0.618_033_988_75).fract();
    let (r, g, b) = HSLColor(hue, 0.55, 0.30 + 0.2 * ((i % 3) as f64 / 2.0)).rgb();
    RGBColor(r, g, b)
}

/// Labels come from users: no control characters (they would make invalid XML), and cut to
/// `max` characters with an ellipsis. Plotters escapes `<`, `&` and quotes itself.
pub(crate) fn clean_label(s: &str, max: usize) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().count() <= max {
        return cleaned.to_string();
    }
    let mut cut: String = cleaned.chars().take(max.saturating_sub(1).max(1)).collect();
    cut = cut.trim_end().to_string();
    cut.push('…');
    cut
}

/// "12,345.50": counts and amounts are easier to read grouped.
pub(crate) fn group_thousands(number: &str) -> String {
    let (sign, number) = match number.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", number),
    };
    let (digits, fraction) = match number.split_once('.') {
        Some((d, f)) => (d, format!(".{f}")),
        None => (number, String::new()),
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}{fraction}")
}

/// The x axis of a time panel: the shown range, in seconds since the epoch.
#[derive(Debug, Clone)]
pub(crate) struct TimeFrame {
    pub zone: Tz,
    pub lo: i64,
    pub hi: i64,
    /// False when there is no instant at all to show: the axis is drawn without labels rather
    /// than around an invented date.
    pub labelled: bool,
}

impl TimeFrame {
    /// The range that holds every instant given, with a little room at both ends; an hour
    /// either side of a single instant, and an unlabelled day when there is none.
    pub(crate) fn around(zone: Tz, instants: impl IntoIterator<Item = i64>) -> Self {
        let (lo, hi) = instants
            .into_iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
        if lo > hi {
            return TimeFrame {
                zone,
                lo: 0,
                hi: 86_400,
                labelled: false,
            };
        }
        let pad = ((hi - lo) / 50).max(if hi == lo { 3600 } else { 60 });
        TimeFrame {
            zone,
            lo: lo.saturating_sub(pad),
            hi: hi.saturating_add(pad),
            labelled: true,
        }
    }

    fn caption(&self) -> String {
        format!("Time ({})", self.zone.name())
    }
}

/// A vertical line at one instant, labelled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Marker {
    pub at: i64,
    pub label: &'static str,
}

/// One bucket of a stacked bar panel: counts per series.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    pub start: i64,
    pub end: i64,
    pub counts: Vec<u64>,
}

impl Bucket {
    pub(crate) fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, c| a.saturating_add(*c))
    }
}

/// What a time panel shows, apart from its data.
pub(crate) struct Panel<'a> {
    pub frame: &'a TimeFrame,
    pub y_desc: &'a str,
    pub marker: Option<Marker>,
    /// Shown in the middle when the panel has no data.
    pub empty: Option<&'a str>,
    pub scale: Scale,
}

type TimeChart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<
        plotters::coord::combinators::WithKeyPoints<plotters::coord::types::RangedCoordi64>,
        plotters::coord::types::RangedCoordi64,
    >,
>;

fn time_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    panel: &Panel<'_>,
    y_lo: i64,
    y_hi: i64,
) -> ReportResult<TimeChart<'a, DB>> {
    let s = panel.scale;
    let f = panel.frame;
    let (w, _) = area.dim_in_pixel();
    let plot_w = w.saturating_sub(s.y_label_area() + 20);
    let ticks = if f.labelled {
        time_ticks(f.zone, f.lo, f.hi, (plot_w / (s.text * 8)) as usize)
    } else {
        Vec::new()
    };
    let keys: Vec<i64> = ticks.iter().map(|t| t.0).collect();
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .margin_right(20)
        .x_label_area_size(s.x_label_area())
        .y_label_area_size(s.y_label_area())
        .build_cartesian_2d((f.lo..f.hi).with_key_points(keys), y_lo..y_hi)
        .or_draw()?;
    let x_label = |v: &i64| {
        ticks
            .binary_search_by_key(v, |t| t.0)
            .map(|i| ticks[i].1.clone())
            .unwrap_or_default()
    };
    let y_label = |v: &i64| group_thousands(&v.to_string());
    chart
        .configure_mesh()
        .x_desc(f.caption())
        .y_desc(panel.y_desc)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .y_labels(8)
        .label_style(s.small())
        .axis_desc_style(s.font())
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .draw()
        .or_draw()?;
    Ok(chart)
}

fn finish<'a, DB: DrawingBackend + 'a>(
    chart: &mut TimeChart<'a, DB>,
    panel: &Panel<'_>,
    y_lo: i64,
    y_hi: i64,
    legend: Option<SeriesLabelPosition>,
) -> ReportResult<()> {
    let s = panel.scale;
    if let Some(m) = panel.marker {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(m.at, y_lo), (m.at, y_hi)],
                MARKER.stroke_width(2),
            )))
            .or_draw()?;
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((m.at, y_hi))
                    + Text::new(m.label, (5, 4), s.small().color(&MARKER)),
            ))
            .or_draw()?;
    }
    if let Some(message) = panel.empty {
        let area = chart.plotting_area().strip_coord_spec();
        let (w, h) = area.dim_in_pixel();
        let grey = BLACK.mix(0.55);
        let style = s
            .bold(4)
            .color(&grey)
            .pos(Pos::new(HPos::Center, VPos::Center));
        area.draw_text(message, &style, (w as i32 / 2, h as i32 / 2))
            .or_draw()?;
    }
    if let Some(position) = legend {
        chart
            .configure_series_labels()
            .position(position)
            .margin(8)
            .label_font(s.small())
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .or_draw()?;
    }
    Ok(())
}

/// A bar per bucket, stacked by series in order, with a legend naming each series.
pub(crate) fn stacked_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel<'_>,
    names: &[String],
    buckets: &[Bucket],
) -> ReportResult<()> {
    let top = buckets.iter().map(Bucket::total).max().unwrap_or(0);
    // A third more room than the tallest bar, where the legend sits.
    let y_hi = headroom(top.saturating_add(top / 4), 5);
    let mut chart = time_chart(area, panel, 0, y_hi)?;
    // A bar is at least one pixel wide, or dense buckets would vanish.
    let (plot_w, _) = chart.plotting_area().dim_in_pixel();
    let min_w = ((panel.frame.hi - panel.frame.lo) / i64::from(plot_w.max(1))).max(1);
    for (i, name) in names.iter().enumerate() {
        let color = series_color(i);
        let bars = buckets.iter().filter(|b| b.counts[i] > 0).map(|b| {
            let below: u64 = b.counts[..i].iter().fold(0u64, |a, c| a.saturating_add(*c));
            let y0 = to_i64(below);
            let y1 = to_i64(below.saturating_add(b.counts[i]));
            let x1 = b.end.max(b.start + min_w);
            Rectangle::new([(b.start, y0), (x1, y1)], color.filled())
        });
        chart
            .draw_series(bars)
            .or_draw()?
            .label(clean_label(name, 40))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    // Top right: the on-sale marker and its label usually sit at the left.
    // No legend on an empty chart: there is nothing to tell apart.
    let legend = (!buckets.is_empty()).then_some(SeriesLabelPosition::UpperRight);
    finish(&mut chart, panel, 0, y_hi, legend)
}

/// A line drawn on a time panel.
pub(crate) struct Line {
    pub label: Option<String>,
    pub color: RGBColor,
    pub width: u32,
    pub points: Vec<(i64, i64)>,
}

/// Lines over time, with an optional labelled horizontal reference (capacity).
pub(crate) fn lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel<'_>,
    lines: &[Line],
    reference: Option<(i64, String)>,
) -> ReportResult<()> {
    let values = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(reference.as_ref().map(|r| r.0));
    let (lo, hi) = values.fold((0i64, 0i64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let y_hi = headroom(hi.max(0) as u64, 10);
    let y_lo = if lo < 0 {
        -headroom(lo.unsigned_abs(), 1)
    } else {
        0
    };
    let mut chart = time_chart(area, panel, y_lo, y_hi)?;
    let mut legend = false;
    if let Some((value, label)) = reference {
        let f = panel.frame;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(f.lo, value), (f.hi, value)],
                CAPACITY.stroke_width(2),
            )))
            .or_draw()?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], CAPACITY.stroke_width(2)));
        legend = true;
    }
    if y_lo < 0 {
        let f = panel.frame;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(f.lo, 0), (f.hi, 0)],
                BLACK.mix(0.5).stroke_width(1),
            )))
            .or_draw()?;
    }
    for line in lines.iter().filter(|l| !l.points.is_empty()) {
        let style = line.color.stroke_width(line.width);
        let drawn = chart
            .draw_series(LineSeries::new(line.points.iter().copied(), style))
            .or_draw()?;
        if let Some(label) = &line.label {
            drawn
                .label(clean_label(label, 40))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], style));
            legend = true;
        }
    }
    // Bottom right: running totals climb towards the top right.
    let legend = legend.then_some(SeriesLabelPosition::LowerRight);
    finish(&mut chart, panel, y_lo, y_hi, legend)
}

/// A top for the y axis a little above `max`, and never a zero-height range.
pub(crate) fn headroom(max: u64, at_least: i64) -> i64 {
    let max = to_i64(max);
    max.saturating_add(max / 10 + 1).max(at_least)
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_cleaned_and_cut() {
        assert_eq!(clean_label("a\u{0}b\nc", 10), "a b c");
        assert_eq!(clean_label("Zoë Ünal-Łukasiewicz", 8), "Zoë Üna…");
        assert_eq!(clean_label("  x  ", 8), "x");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands("0"), "0");
        assert_eq!(group_thousands("999"), "999");
        assert_eq!(group_thousands("1000"), "1,000");
        assert_eq!(group_thousands("-1234567"), "-1,234,567");
        assert_eq!(group_thousands("1234.50"), "1,234.50");
        assert_eq!(group_thousands("-0.5"), "-0.5");
    }

    #[test]
    fn series_colors_are_distinct() {
        let colors: Vec<RGBColor> = (0..40).map(series_color).collect();
        for (i, a) in colors.iter().enumerate() {
            assert!(!colors[..i].contains(a), "colour {i} repeats");
            assert_ne!(*a, MARKER);
        }
    }
}
