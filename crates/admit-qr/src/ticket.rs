//! Printable tickets: a PNG image (for e-mail, wallets, screens) and a print-ready SVG page.
//!
//! Text in the PNG is drawn with Noto Sans Mono, pre-rasterised with anti-aliasing by the
//! `noto-sans-mono-bitmap` crate, so no font file or system font is needed and the output is
//! the same on every machine. Characters the font lacks (outside Latin-1 and Latin Extended-A)
//! print as `?`. The SVG page leaves text as text for the printer's fonts, which covers every
//! script and prints sharp at any resolution.

use admit_core::time::TimeZone;
use chrono::{DateTime, Utc};
use image::{GrayImage, Luma};
use noto_sans_mono_bitmap::{get_raster, get_raster_width, FontWeight, RasterHeight};

use crate::matrix::QrMatrix;
use crate::render::{encode_png, fill_rect, QUIET_ZONE};
use crate::QrError;

/// What goes on a ticket.
#[derive(Debug, Clone, Copy)]
pub struct TicketCard<'a> {
    pub event_name: &'a str,
    pub starts_at: DateTime<Utc>,
    /// The event's zone: the date is printed as the audience experiences it.
    pub time_zone: TimeZone,
    pub venue: &'a str,
    pub ticket_type: &'a str,
    pub attendee: Option<&'a str>,
    pub order_code: &'a str,
    /// The ticket secret for the QR code.
    pub secret: &'a str,
}

impl TicketCard<'_> {
    /// E.g. "Fri 1 May 2026, 19:30 CEST".
    pub fn date_line(&self) -> String {
        self.starts_at
            .with_timezone(&self.time_zone.0)
            .format("%a %-d %b %Y, %H:%M %Z")
            .to_string()
    }
}

pub const TICKET_PNG_WIDTH: u32 = 1200;
pub const TICKET_PNG_HEIGHT: u32 = 560;
const MARGIN: u32 = 48;
const QR_BOX: u32 = 440;

/// A landscape ticket, 1200 × 560 px (about 10 × 4.7 cm at 300 dpi, or a phone screen): text
/// on the left, the QR code on the right.
pub fn ticket_png(card: &TicketCard<'_>) -> Result<Vec<u8>, QrError> {
    encode_png(&ticket_image(card)?)
}

/// The ticket as pixels, for callers that compose their own image.
pub fn ticket_image(card: &TicketCard<'_>) -> Result<GrayImage, QrError> {
    let (w, h) = (TICKET_PNG_WIDTH, TICKET_PNG_HEIGHT);
    let mut img = GrayImage::from_pixel(w, h, Luma([255]));
    // Outline to cut along.
    fill_rect(&mut img, 8, 8, w - 16, 2, 120);
    fill_rect(&mut img, 8, h - 10, w - 16, 2, 120);
    fill_rect(&mut img, 8, 8, 2, h - 16, 120);
    fill_rect(&mut img, w - 10, 8, 2, h - 16, 120);

    let matrix = QrMatrix::encode(card.secret)?;
    let module_px = matrix.module_px_to_fit(QR_BOX);
    let qr = matrix.to_luma(module_px)?;
    let qr_x = w - MARGIN - qr.width();
    let qr_y = (h - qr.height()) / 2;
    image::imageops::replace(&mut img, &qr, qr_x as i64, qr_y as i64);
    // A dashed rule between text and code.
    let rule_x = qr_x - 16;
    let mut y = MARGIN;
    while y < h - MARGIN {
        fill_rect(&mut img, rule_x, y, 2, 10, 160);
        y += 18;
    }

    let text_w = rule_x - 24 - MARGIN;
    let mut pen = Pen {
        img: &mut img,
        x: MARGIN,
        y: MARGIN,
        max_width: text_w,
    };
    let title = pen.wrap(card.event_name, FontWeight::Bold, RasterHeight::Size32, 2);
    for line in &title {
        pen.line(line, FontWeight::Bold, RasterHeight::Size32, 0);
    }
    pen.y += 8;
    pen.line(
        &card.date_line(),
        FontWeight::Regular,
        RasterHeight::Size24,
        4,
    );
    pen.line(card.venue, FontWeight::Regular, RasterHeight::Size24, 4);
    pen.y += 28;
    pen.line(card.ticket_type, FontWeight::Bold, RasterHeight::Size24, 4);
    if let Some(a) = card.attendee {
        pen.line(a, FontWeight::Regular, RasterHeight::Size24, 4);
    }
    pen.y = h - MARGIN - RasterHeight::Size24.val() as u32;
    pen.line(
        &format!("Order {}", card.order_code),
        FontWeight::Bold,
        RasterHeight::Size24,
        0,
    );
    Ok(img)
}

struct Pen<'a> {
    img: &'a mut GrayImage,
    x: u32,
    y: u32,
    max_width: u32,
}

impl Pen<'_> {
    fn chars_per_line(&self, weight: FontWeight, size: RasterHeight) -> usize {
        (self.max_width as usize / get_raster_width(weight, size)).max(1)
    }

    /// Break at spaces into at most `max_lines` lines; what does not fit ends in "...".
    fn wrap(
        &self,
        text: &str,
        weight: FontWeight,
        size: RasterHeight,
        max_lines: usize,
    ) -> Vec<String> {
        wrap(text, self.chars_per_line(weight, size), max_lines)
    }

    /// Draw one line, cut to the width, and move down.
    fn line(&mut self, text: &str, weight: FontWeight, size: RasterHeight, gap: u32) {
        let fitted = wrap(text, self.chars_per_line(weight, size), 1);
        let mut x = self.x;
        for c in fitted.first().map_or("", String::as_str).chars() {
            let glyph = get_raster(c, weight, size)
                .or_else(|| get_raster('?', weight, size))
                .into_iter();
            for g in glyph {
                for (gy, row) in g.rows().enumerate() {
                    for (gx, &ink) in row.iter().enumerate() {
                        let (px, py) = (x + gx as u32, self.y + gy as u32);
                        if ink > 0 && px < self.img.width() && py < self.img.height() {
                            let p = self.img.get_pixel_mut(px, py);
                            p.0[0] = p.0[0].min(255 - ink);
                        }
                    }
                }
                x += g.width() as u32;
            }
        }
        self.y += size.val() as u32 + gap;
    }
}

/// Words onto at most `max_lines` lines of at most `width` characters; over-long words are
/// split, and a cut is marked with "...". Control characters become spaces so that nothing
/// invisible reaches the layout.
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let width = width.max(4);
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words = clean.split_whitespace().flat_map(|w| {
        let chars: Vec<char> = w.chars().collect();
        chars
            .chunks(width)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
    });
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in words {
        let len = current.chars().count();
        if len == 0 {
            current = word;
        } else if len + 1 + word.chars().count() <= width {
            current.push(' ');
            current.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut current, word));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            let keep: String = last.chars().take(width - 3).collect();
            *last = format!("{}...", keep.trim_end());
        }
    }
    lines
}

/// Paper for [`ticket_page_svg`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    /// 105 × 148 mm: the ticket is the page.
    A6,
    /// 210 × 297 mm: one A6 ticket at the top, outlined for cutting.
    A4,
}

const A6_W: f32 = 105.0;
const A6_H: f32 = 148.0;

/// A print-ready page in millimetres. Print at 100 % ("actual size"): the QR code is 60 mm
/// wide, which phone cameras and door scanners read from arm's length.
pub fn ticket_page_svg(card: &TicketCard<'_>, page: PageSize) -> Result<String, QrError> {
    let matrix = QrMatrix::encode(card.secret)?;
    let (pw, ph, ox, oy) = match page {
        PageSize::A6 => (A6_W, A6_H, 0.0, 0.0),
        PageSize::A4 => (210.0, 297.0, (210.0 - A6_W) / 2.0, 15.0),
    };
    let mut s = String::with_capacity(16 * 1024);
    s.push_str(&format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{pw}mm" height="{ph}mm" viewBox="0 0 {pw} {ph}">"#
    ));
    s.push_str(&format!(
        r##"<rect width="{pw}" height="{ph}" fill="#fff"/>"##
    ));
    if page == PageSize::A4 {
        s.push_str(&format!(
            r##"<rect x="{ox}" y="{oy}" width="{A6_W}" height="{A6_H}" fill="none" stroke="#888" stroke-width="0.3" stroke-dasharray="2 1.5"/>"##
        ));
    }
    s.push_str(&format!(
        r##"<g transform="translate({ox} {oy})" font-family="Helvetica, Arial, sans-serif" text-anchor="middle" fill="#000">"##
    ));
    let cx = A6_W / 2.0;
    let text = |s: &mut String, y: f32, size: f32, bold: bool, content: &str| {
        let weight = if bold { r#" font-weight="bold""# } else { "" };
        s.push_str(&format!(
            r#"<text x="{cx}" y="{y}" font-size="{size}"{weight}>{}</text>"#,
            xml_escape(content)
        ));
    };
    // Sans-serif glyphs average about 0.55 em; 95 mm of line.
    let per_line = |size: f32| ((A6_W - 10.0) / (0.55 * size)) as usize;
    let mut y = 14.0;
    for line in wrap(card.event_name, per_line(7.0), 2) {
        text(&mut s, y, 7.0, true, &line);
        y += 8.0;
    }
    y += 1.0;
    text(
        &mut s,
        y,
        4.2,
        false,
        &one_line(&card.date_line(), per_line(4.2)),
    );
    y += 6.0;
    text(&mut s, y, 4.2, false, &one_line(card.venue, per_line(4.2)));

    let qr_mm = 60.0;
    let qr_x = (A6_W - qr_mm) / 2.0;
    let qr_y = 48.0;
    let side = matrix.width() + 2 * QUIET_ZONE;
    s.push_str(&format!(
        r##"<svg x="{qr_x}" y="{qr_y}" width="{qr_mm}" height="{qr_mm}" viewBox="0 0 {side} {side}" shape-rendering="crispEdges"><path fill="#000" d=""##
    ));
    matrix.push_path_data(&mut s, QUIET_ZONE);
    s.push_str(r#""/></svg>"#);

    let mut y = qr_y + qr_mm + 8.0;
    text(
        &mut s,
        y,
        5.5,
        true,
        &one_line(card.ticket_type, per_line(5.5)),
    );
    y += 7.0;
    if let Some(a) = card.attendee {
        text(&mut s, y, 4.5, false, &one_line(a, per_line(4.5)));
    }
    text(
        &mut s,
        A6_H - 8.0,
        4.2,
        false,
        &format!("Order {}", xml_safe_code(card.order_code)),
    );
    s.push_str("</g></svg>");
    Ok(s)
}

fn one_line(text: &str, width: usize) -> String {
    wrap(text, width, 1).into_iter().next().unwrap_or_default()
}

/// Order codes are plain letters and digits; anything else is dropped rather than printed.
fn xml_safe_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect()
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_at_spaces_and_marks_cuts() {
        assert_eq!(wrap("Summer Gala 2026", 11, 2), ["Summer Gala", "2026"]);
        assert_eq!(wrap("Summer Gala 2026", 40, 2), ["Summer Gala 2026"]);
        assert_eq!(
            wrap("one two three four five", 9, 2),
            ["one two", "three..."]
        );
        assert_eq!(wrap("Supercalifragilistic", 10, 1), ["Superca..."]);
        assert_eq!(wrap("a\u{0}b\nc", 10, 1), ["a b c"]);
        assert!(wrap("", 10, 2).is_empty());
        for line in wrap(&"word ".repeat(100), 12, 3) {
            assert!(line.chars().count() <= 12, "{line}");
        }
    }

    #[test]
    fn text_is_escaped_for_svg() {
        assert_eq!(
            xml_escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        assert_eq!(xml_safe_code("AB2C<x>"), "AB2Cx");
    }
}
