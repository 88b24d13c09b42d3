//! Printable PDFs: tickets in batch, each with its QR code drawn as vector squares.
//!
//! The writer is small and written here: a handful of objects, a cross-reference table and a
//! trailer. Text is set in the bundled DejaVu Sans as a Type0 font (CIDFontType2, Identity-H):
//! every character is written as its glyph id, widths come from the font, and a ToUnicode map
//! lets viewers copy and search the text. Only the glyphs a document uses are kept in the
//! embedded font (the others are emptied, ids unchanged), so a PDF of tickets is tens of
//! kilobytes rather than the 1.4 MB of the two font files. Characters the font lacks print as
//! its missing-glyph box. No clock is read: the same tickets give the same bytes.
//!
//! QR codes are filled rectangles, one per horizontal run of dark modules, all in one path so
//! that rasterisers leave no seams between rows. Print at actual size: a ticket secret's code
//! (45 modules) is 68 mm wide on a one-per-page ticket and 51 mm on a quarter page.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use admit_qr::{QrMatrix, TicketCard, QUIET_ZONE};
use ttf_parser::{Face, GlyphId, Tag};

use crate::{ReportError, ReportResult};

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// A4 in points (1/72 inch), rounded as printers and viewers expect.
pub const A4_WIDTH_PT: f32 = 595.0;
pub const A4_HEIGHT_PT: f32 = 842.0;
const MM: f32 = 72.0 / 25.4;

/// How tickets sit on the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketLayout {
    /// One ticket per A4 page, large.
    OnePerPage,
    /// Four tickets per A4 page (each A6), with dashed lines to cut along.
    FourPerA4,
}

impl TicketLayout {
    fn per_page(self) -> usize {
        match self {
            TicketLayout::OnePerPage => 1,
            TicketLayout::FourPerA4 => 4,
        }
    }
}

/// Type sizes and the QR code's side for one ticket.
struct CardStyle {
    title: f32,
    body: f32,
    strong: f32,
    /// The QR code with its quiet zone.
    qr_side: f32,
    pad: f32,
}

const ONE_PER_PAGE: CardStyle = CardStyle {
    title: 26.0,
    body: 14.0,
    strong: 18.0,
    qr_side: 80.0 * MM,
    pad: 56.0,
};

const QUARTER: CardStyle = CardStyle {
    title: 15.0,
    body: 10.0,
    strong: 12.0,
    qr_side: 60.0 * MM,
    pad: 18.0,
};

/// The tickets as a PDF document on A4 paper, in the order given.
pub fn tickets_pdf(tickets: &[TicketCard<'_>], layout: TicketLayout) -> ReportResult<Vec<u8>> {
    if tickets.is_empty() {
        return Err(ReportError::Invalid("no tickets to print".into()));
    }
    let mut fonts = Fonts::load()?;
    let mut pages = Vec::new();
    for chunk in tickets.chunks(layout.per_page()) {
        let mut page = Content::default();
        match layout {
            TicketLayout::OnePerPage => {
                let area = Rect {
                    x: 0.0,
                    y: 0.0,
                    w: A4_WIDTH_PT,
                    h: A4_HEIGHT_PT,
                };
                draw_ticket(&mut page, &mut fonts, &chunk[0], area, &ONE_PER_PAGE)?;
            }
            TicketLayout::FourPerA4 => {
                let (w, h) = (A4_WIDTH_PT / 2.0, A4_HEIGHT_PT / 2.0);
                for (i, card) in chunk.iter().enumerate() {
                    let area = Rect {
                        x: if i % 2 == 0 { 0.0 } else { w },
                        y: if i < 2 { h } else { 0.0 },
                        w,
                        h,
                    };
                    draw_ticket(&mut page, &mut fonts, card, area, &QUARTER)?;
                }
                page.cut_lines(w, h);
            }
        }
        pages.push(page.ops);
    }
    write_document(&pages, &mut fonts)
}

/// A rectangle in points, origin bottom left as in PDF.
#[derive(Debug, Clone, Copy)]
struct Rect {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

/// The ticket centred in `area`, both ways.
fn draw_ticket(
    page: &mut Content,
    fonts: &mut Fonts,
    card: &TicketCard<'_>,
    area: Rect,
    style: &CardStyle,
) -> ReportResult<()> {
    let matrix = QrMatrix::encode(card.secret)?;
    // Lay out once to measure, then again lowered by half the room left.
    let height = lay_out(&mut Content::default(), fonts, card, &matrix, area, style);
    let slack = ((area.h - 2.0 * style.pad - height) / 2.0).max(0.0);
    let lowered = Rect {
        h: area.h - slack,
        ..area
    };
    lay_out(page, fonts, card, &matrix, lowered, style);
    Ok(())
}

/// Draws the ticket from the top of `area` down and returns the height used.
fn lay_out(
    page: &mut Content,
    fonts: &mut Fonts,
    card: &TicketCard<'_>,
    matrix: &QrMatrix,
    area: Rect,
    style: &CardStyle,
) -> f32 {
    let max_w = area.w - 2.0 * style.pad;
    let mut col = Column {
        cx: area.x + area.w / 2.0,
        top: area.y + area.h - style.pad,
    };

    let bold = fonts.get(Weight::Bold);
    for title in bold.wrap(card.event_name, style.title, max_w, 2) {
        col.line(page, bold, style.title, &title);
    }
    col.top -= style.body * 0.3;
    let regular = fonts.get(Weight::Regular);
    let date = regular.fit(&card.date_line(), style.body, max_w);
    col.line(page, regular, style.body, &date);
    let venue = regular.fit(card.venue, style.body, max_w);
    col.line(page, regular, style.body, &venue);

    col.top -= style.body * 0.5;
    page.qr(matrix, col.cx - style.qr_side / 2.0, col.top, style.qr_side);
    col.top -= style.qr_side + style.body * 0.5;

    let bold = fonts.get(Weight::Bold);
    let kind = bold.fit(card.ticket_type, style.strong, max_w);
    col.line(page, bold, style.strong, &kind);
    let regular = fonts.get(Weight::Regular);
    if let Some(attendee) = card.attendee {
        let attendee = regular.fit(attendee, style.body, max_w);
        col.line(page, regular, style.body, &attendee);
    }
    col.top -= style.body * 0.3;
    let bold = fonts.get(Weight::Bold);
    let order = bold.fit(&format!("Order {}", card.order_code), style.body, max_w);
    col.line(page, bold, style.body, &order);
    area.y + area.h - style.pad - col.top
}

/// Centred lines from the top down.
struct Column {
    cx: f32,
    top: f32,
}

impl Column {
    fn line(&mut self, page: &mut Content, font: &mut Font, size: f32, text: &str) {
        // DejaVu's ascent is 0.93 em: the line's top is where the previous one ended.
        page.centered(font, size, self.cx, self.top - size * 0.93, text);
        self.top -= size * 1.3;
    }
}

// ---------------------------------------------------------------------------------------------
// Page content.

#[derive(Default)]
struct Content {
    ops: String,
}

/// Numbers in content streams: two decimals are a hundredth of a point, and PDF has no
/// exponent notation.
fn num(v: f32) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".to_string()
    } else {
        s.to_string()
    }
}

impl Content {
    fn centered(&mut self, font: &mut Font, size: f32, cx: f32, baseline: f32, text: &str) {
        let width = font.width(text, size);
        let hex = font.encode(text);
        let _ = writeln!(
            self.ops,
            "BT /{} {} Tf {} {} Td <{hex}> Tj ET",
            font.resource,
            num(size),
            num(cx - width / 2.0),
            num(baseline)
        );
    }

    /// The code with its quiet zone in a `side` × `side` square whose top left is (x, top).
    fn qr(&mut self, matrix: &QrMatrix, x: f32, top: f32, side: f32) {
        let w = matrix.width();
        let module = side / (w + 2 * QUIET_ZONE) as f32;
        let origin_x = x + module * QUIET_ZONE as f32;
        let origin_y = top - module * QUIET_ZONE as f32;
        // Module units from here on, y growing downwards as rows do.
        let _ = writeln!(
            self.ops,
            "q 0 g {} 0 0 {} {} {} cm",
            num(module),
            num(-module),
            num(origin_x),
            num(origin_y)
        );
        for y in 0..w {
            let mut x = 0;
            while x < w {
                if !matrix.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < w && matrix.is_dark(x, y) {
                    x += 1;
                }
                let _ = writeln!(self.ops, "{start} {y} {} 1 re", x - start);
            }
        }
        self.ops.push_str("f Q\n");
    }

    /// Dashed lines between the four tickets of a page.
    fn cut_lines(&mut self, x: f32, y: f32) {
        let _ = writeln!(
            self.ops,
            "q 0.6 G 0.5 w [4 3] 0 d {x0} 0 m {x0} {h} l S 0 {y0} m {w} {y0} l S Q",
            x0 = num(x),
            y0 = num(y),
            w = num(A4_WIDTH_PT),
            h = num(A4_HEIGHT_PT)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fonts.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Regular,
    Bold,
}

struct Fonts {
    regular: Font,
    bold: Font,
}

impl Fonts {
    fn load() -> ReportResult<Self> {
        Ok(Fonts {
            regular: Font::load(REGULAR, "DejaVuSans", "F1")?,
            bold: Font::load(BOLD, "DejaVuSans-Bold", "F2")?,
        })
    }

    fn get(&mut self, weight: Weight) -> &mut Font {
        match weight {
            Weight::Regular => &mut self.regular,
            Weight::Bold => &mut self.bold,
        }
    }
}

struct Font {
    data: &'static [u8],
    face: Face<'static>,
    name: &'static str,
    resource: &'static str,
    /// Glyphs used so far, each with the first character it was used for.
    used: BTreeMap<u16, char>,
}

impl Font {
    fn load(data: &'static [u8], name: &'static str, resource: &'static str) -> ReportResult<Self> {
        let face = Face::parse(data, 0)
            .map_err(|e| ReportError::Encode(format!("bundled font {name}: {e}")))?;
        Ok(Font {
            data,
            face,
            name,
            resource,
            used: BTreeMap::new(),
        })
    }

    fn glyph(&self, c: char) -> u16 {
        // Control characters would be invisible and confuse extraction; print a space.
        let c = if c.is_control() { ' ' } else { c };
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    /// Advance in thousandths of an em, PDF's glyph space.
    fn advance(&self, gid: u16) -> f32 {
        let units = self.face.glyph_hor_advance(GlyphId(gid)).unwrap_or(0);
        f32::from(units) * 1000.0 / f32::from(self.face.units_per_em())
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.advance(self.glyph(c)))
            .sum::<f32>()
            * size
            / 1000.0
    }

    /// The text as glyph ids in hex for a `Tj`, noting the glyphs for the embedded subset.
    fn encode(&mut self, text: &str) -> String {
        let mut hex = String::with_capacity(text.len() * 4);
        for c in text.chars() {
            let gid = self.glyph(c);
            let c = if c.is_control() { ' ' } else { c };
            self.used.entry(gid).or_insert(c);
            let _ = write!(hex, "{gid:04X}");
        }
        hex
    }

    /// One line no wider than `max_w`, cut with an ellipsis if need be.
    fn fit(&self, text: &str, size: f32, max_w: f32) -> String {
        let text = clean(text);
        if self.width(&text, size) <= max_w {
            return text;
        }
        let mut chars: Vec<char> = text.chars().collect();
        while !chars.is_empty() {
            chars.pop();
            let candidate = format!("{}…", chars.iter().collect::<String>().trim_end());
            if self.width(&candidate, size) <= max_w {
                return candidate;
            }
        }
        "…".into()
    }

    /// Words onto at most `max_lines` lines no wider than `max_w`; over-long words are
    /// broken, and what does not fit ends in an ellipsis.
    fn wrap(&self, text: &str, size: f32, max_w: f32, max_lines: usize) -> Vec<String> {
        let text = clean(text);
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        for word in text.split_whitespace() {
            let joined = if current.is_empty() {
                word.to_string()
            } else {
                format!("{current} {word}")
            };
            if self.width(&joined, size) <= max_w {
                current = joined;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            // A word wider than the line on its own is broken where it must be.
            for c in word.chars() {
                let mut next = current.clone();
                next.push(c);
                if !current.is_empty() && self.width(&next, size) > max_w {
                    lines.push(std::mem::take(&mut current));
                    current.push(c);
                } else {
                    current = next;
                }
            }
        }
        if !current.is_empty() {
            lines.push(current);
        }
        if lines.len() > max_lines {
            let rest = lines.split_off(max_lines - 1).join(" ");
            let mut cut = self.fit(&format!("{rest}…"), size, max_w);
            if !cut.ends_with('…') {
                cut.push('…');
            }
            lines.push(cut);
        }
        lines
    }

    /// Six letters naming the subset, as PDF asks ("ABCDEF+DejaVuSans"), derived from the
    /// glyphs so the same tickets give the same bytes.
    fn subset_tag(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for gid in self.used.keys() {
            for b in gid.to_be_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        (0..6)
            .map(|i| char::from(b'A' + ((h >> (i * 8)) % 26) as u8))
            .collect()
    }

    /// `/W` entries: runs of consecutive glyph ids with their widths.
    fn widths(&self) -> String {
        let mut out = String::new();
        let mut run: Option<(u16, Vec<String>)> = None;
        for &gid in self.used.keys() {
            let w = num(self.advance(gid));
            match &mut run {
                Some((start, ws)) if *start as usize + ws.len() == gid as usize => ws.push(w),
                _ => {
                    if let Some((start, ws)) = run.take() {
                        let _ = write!(out, "{start} [{}] ", ws.join(" "));
                    }
                    run = Some((gid, vec![w]));
                }
            }
        }
        if let Some((start, ws)) = run {
            let _ = write!(out, "{start} [{}]", ws.join(" "));
        }
        out
    }

    fn to_unicode(&self) -> String {
        let entries: Vec<(u16, char)> = self
            .used
            .iter()
            .filter(|(gid, _)| **gid != 0)
            .map(|(g, c)| (*g, *c))
            .collect();
        let mut s = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        for chunk in entries.chunks(100) {
            let _ = writeln!(s, "{} beginbfchar", chunk.len());
            for (gid, c) in chunk {
                let mut units = [0u16; 2];
                let utf16: String = c
                    .encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("{u:04X}"))
                    .collect();
                let _ = writeln!(s, "<{gid:04X}> <{utf16}>");
            }
            s.push_str("endbfchar\n");
        }
        s.push_str("endcmap\nCMapName currentdict /CMapResource defineresource pop\nend\nend\n");
        s
    }

    fn descriptor(&self, base_font: &str, file: usize) -> String {
        let upem = f32::from(self.face.units_per_em());
        let scale = |v: i16| num(f32::from(v) * 1000.0 / upem);
        let bbox = self.face.global_bounding_box();
        let cap = self.face.capital_height().unwrap_or(self.face.ascender());
        // Flags 4: symbolic, as for any font addressed by glyph id rather than a standard
        // encoding.
        format!(
            "<< /Type /FontDescriptor /FontName /{base_font} /Flags 4 \
             /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} \
             /StemV 80 /FontFile2 {file} 0 R >>",
            scale(bbox.x_min),
            scale(bbox.y_min),
            scale(bbox.x_max),
            scale(bbox.y_max),
            scale(self.face.ascender()),
            scale(self.face.descender()),
            scale(cap),
        )
    }
}

/// Control characters become spaces; runs of spaces stay as the user typed them.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Font subsetting: keep the glyph ids, empty the outlines of glyphs not used.

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// The TrueType tables a PDF viewer needs to draw glyphs by id (PDF 32000-1 §9.9), with
/// `glyf` and `loca` cut down to the glyphs used and the components of composite glyphs.
fn subset_font(face: &Face<'_>, used: impl Iterator<Item = u16>) -> Option<Vec<u8>> {
    let raw = face.raw_face();
    let table = |t: &[u8; 4]| raw.table(Tag::from_bytes(t));
    let head = table(b"head")?;
    let loca = table(b"loca")?;
    let glyf = table(b"glyf")?;
    let glyphs = usize::from(face.number_of_glyphs());
    let long = be16(head, 50)? == 1;
    let range = |gid: usize| -> Option<std::ops::Range<usize>> {
        let (a, b) = if long {
            (
                be32(loca, gid * 4)? as usize,
                be32(loca, gid * 4 + 4)? as usize,
            )
        } else {
            (
                usize::from(be16(loca, gid * 2)?) * 2,
                usize::from(be16(loca, gid * 2 + 2)?) * 2,
            )
        };
        (a <= b && b <= glyf.len()).then_some(a..b)
    };

    let mut keep = vec![false; glyphs];
    let mut todo: Vec<usize> = std::iter::once(0).chain(used.map(usize::from)).collect();
    while let Some(gid) = todo.pop() {
        if gid >= glyphs || keep[gid] {
            continue;
        }
        keep[gid] = true;
        todo.extend(components(&glyf[range(gid)?]));
    }

    let mut new_glyf = Vec::new();
    let mut new_loca = Vec::with_capacity((glyphs + 1) * 4);
    for (gid, kept) in keep.iter().enumerate() {
        new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
        if *kept {
            new_glyf.extend_from_slice(&glyf[range(gid)?]);
            while new_glyf.len() % 4 != 0 {
                new_glyf.push(0);
            }
        }
    }
    new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());

    let mut new_head = head.to_vec();
    new_head.get_mut(8..12)?.copy_from_slice(&[0; 4]);
    new_head
        .get_mut(50..52)?
        .copy_from_slice(&1u16.to_be_bytes());

    let mut tables: Vec<([u8; 4], Vec<u8>)> = vec![
        (*b"glyf", new_glyf),
        (*b"head", new_head),
        (*b"loca", new_loca),
    ];
    for tag in [b"cvt ", b"fpgm", b"hhea", b"hmtx", b"maxp", b"prep"] {
        if let Some(t) = table(tag) {
            tables.push((*tag, t.to_vec()));
        }
    }
    tables.sort_by_key(|t| t.0);
    Some(assemble(&tables))
}

/// Glyph ids a composite glyph is built from.
fn components(glyph: &[u8]) -> Vec<usize> {
    const WORDS: u16 = 0x0001;
    const SCALE: u16 = 0x0008;
    const MORE: u16 = 0x0020;
    const XY_SCALE: u16 = 0x0040;
    const TWO_BY_TWO: u16 = 0x0080;
    let mut out = Vec::new();
    let composite = glyph.len() >= 10 && (be16(glyph, 0).unwrap_or(0) as i16) < 0;
    if !composite {
        return out;
    }
    let mut at = 10;
    while let (Some(flags), Some(gid)) = (be16(glyph, at), be16(glyph, at + 2)) {
        out.push(usize::from(gid));
        at += 4 + if flags & WORDS != 0 { 4 } else { 2 };
        at += if flags & SCALE != 0 {
            2
        } else if flags & XY_SCALE != 0 {
            4
        } else if flags & TWO_BY_TWO != 0 {
            8
        } else {
            0
        };
        if flags & MORE == 0 {
            break;
        }
    }
    out
}

/// An sfnt file from its tables (sorted by tag), with the checksums the format asks for.
fn assemble(tables: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    fn checksum(data: &[u8]) -> u32 {
        data.chunks(4).fold(0u32, |sum, c| {
            let mut word = [0u8; 4];
            word[..c.len()].copy_from_slice(c);
            sum.wrapping_add(u32::from_be_bytes(word))
        })
    }
    let n = tables.len() as u16;
    let power = 1u16 << (15 - n.leading_zeros());
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&(power * 16).to_be_bytes());
    out.extend_from_slice(&(15 - n.leading_zeros() as u16).to_be_bytes());
    out.extend_from_slice(&(n * 16 - power * 16).to_be_bytes());
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        if tag == b"head" {
            head_at = Some(offset);
        }
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, data) in tables {
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    if let Some(at) = head_at {
        let adjust = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        out[at + 8..at + 12].copy_from_slice(&adjust.to_be_bytes());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The file.

struct Writer {
    out: Vec<u8>,
    /// Byte offset of each object, by object number (0 is the free list head).
    offsets: Vec<usize>,
}

impl Writer {
    fn begin(&mut self, id: usize) {
        if self.offsets.len() <= id {
            self.offsets.resize(id + 1, 0);
        }
        self.offsets[id] = self.out.len();
        self.out
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
    }

    fn object(&mut self, id: usize, body: &str) {
        self.begin(id);
        self.out.extend_from_slice(body.as_bytes());
        self.out.extend_from_slice(b"\nendobj\n");
    }

    /// A Flate-compressed stream; `extra` goes into its dictionary.
    fn stream(&mut self, id: usize, extra: &str, data: &[u8]) {
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(data, 6);
        self.begin(id);
        self.out.extend_from_slice(
            format!(
                "<< /Length {} /Filter /FlateDecode{extra} >>\nstream\n",
                packed.len()
            )
            .as_bytes(),
        );
        self.out.extend_from_slice(&packed);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }
}

const CATALOG: usize = 1;
const PAGES: usize = 2;
const INFO: usize = 3;
/// Each font takes five objects: Type0, CIDFont, descriptor, ToUnicode, font file.
const FONT_OBJECTS: usize = 5;
const FIRST_FONT: usize = 4;
const FIRST_PAGE: usize = FIRST_FONT + 2 * FONT_OBJECTS;

fn write_document(pages: &[String], fonts: &mut Fonts) -> ReportResult<Vec<u8>> {
    let mut w = Writer {
        out: Vec::with_capacity(64 * 1024),
        offsets: vec![0],
    };
    // The second line's high bytes tell transfer tools the file is binary.
    w.out.extend_from_slice(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");

    w.object(CATALOG, &format!("<< /Type /Catalog /Pages {PAGES} 0 R >>"));
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", FIRST_PAGE + 2 * i))
        .collect();
    w.object(
        PAGES,
        &format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        ),
    );
    w.object(INFO, "<< /Producer (Admit) /Title (Tickets) >>");

    for (k, font) in [&fonts.regular, &fonts.bold].into_iter().enumerate() {
        let id = FIRST_FONT + k * FONT_OBJECTS;
        let base = format!("{}+{}", font.subset_tag(), font.name);
        w.object(
            id,
            &format!(
                "<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H \
                 /DescendantFonts [{} 0 R] /ToUnicode {} 0 R >>",
                id + 1,
                id + 3
            ),
        );
        w.object(
            id + 1,
            &format!(
                "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base} \
                 /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
                 /FontDescriptor {} 0 R /DW 1000 /W [{}] /CIDToGIDMap /Identity >>",
                id + 2,
                font.widths()
            ),
        );
        w.object(id + 2, &font.descriptor(&base, id + 4));
        w.stream(id + 3, "", font.to_unicode().as_bytes());
        let file = subset_font(&font.face, font.used.keys().copied())
            .unwrap_or_else(|| font.data.to_vec());
        w.stream(id + 4, &format!(" /Length1 {}", file.len()), &file);
    }

    let resources = format!(
        "<< /Font << /{} {} 0 R /{} {} 0 R >> >>",
        fonts.regular.resource,
        FIRST_FONT,
        fonts.bold.resource,
        FIRST_FONT + FONT_OBJECTS
    );
    for (i, ops) in pages.iter().enumerate() {
        let id = FIRST_PAGE + 2 * i;
        w.object(
            id,
            &format!(
                "<< /Type /Page /Parent {PAGES} 0 R /MediaBox [0 0 {} {}] /Resources {resources} \
                 /Contents {} 0 R >>",
                num(A4_WIDTH_PT),
                num(A4_HEIGHT_PT),
                id + 1
            ),
        );
        w.stream(id + 1, "", ops.as_bytes());
    }

    let xref = w.out.len();
    let count = w.offsets.len();
    let mut table = format!("xref\n0 {count}\n0000000000 65535 f \n");
    for offset in &w.offsets[1..] {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {count} /Root {CATALOG} 0 R /Info {INFO} 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    );
    w.out.extend_from_slice(table.as_bytes());
    Ok(w.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_no_exponent_or_negative_zero() {
        assert_eq!(num(595.0), "595");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(1e-9), "0");
        assert_eq!(num(0.5), "0.5");
    }

    #[test]
    fn text_fits_the_width() {
        let font = Font::load(REGULAR, "DejaVuSans", "F1").unwrap();
        let long = "A very long event name that will not fit on one line of a ticket";
        let cut = font.fit(long, 14.0, 200.0);
        assert!(
            cut.ends_with('…') && font.width(&cut, 14.0) <= 200.0,
            "{cut}"
        );
        assert_eq!(font.fit("Short", 14.0, 200.0), "Short");
        let lines = font.wrap(long, 14.0, 200.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(
            lines.iter().all(|l| font.width(l, 14.0) <= 200.0),
            "{lines:?}"
        );
        assert!(lines[1].ends_with('…'));
        let broken = font.wrap(&"W".repeat(60), 14.0, 200.0, 3);
        assert_eq!(broken.len(), 3, "{broken:?}");
    }

    #[test]
    fn the_subset_keeps_used_glyphs_and_their_components() {
        let mut font = Font::load(REGULAR, "DejaVuSans", "F1").unwrap();
        font.encode("Zoë Ünal-Łukasiewicz");
        let subset = subset_font(&font.face, font.used.keys().copied()).unwrap();
        assert!(subset.len() < REGULAR.len() / 4, "{} bytes", subset.len());
        let face = Face::parse(&subset, 0).expect("the subset parses as a font");
        assert_eq!(face.number_of_glyphs(), font.face.number_of_glyphs());
        struct Segments(usize);
        impl ttf_parser::OutlineBuilder for Segments {
            fn move_to(&mut self, _: f32, _: f32) {}
            fn line_to(&mut self, _: f32, _: f32) {
                self.0 += 1;
            }
            fn quad_to(&mut self, _: f32, _: f32, _: f32, _: f32) {
                self.0 += 1;
            }
            fn curve_to(&mut self, _: f32, _: f32, _: f32, _: f32, _: f32, _: f32) {
                self.0 += 1;
            }
            fn close(&mut self) {}
        }
        // Bounding box and number of segments: equal means the same outline in practice.
        let glyf = |f: &Face<'_>, gid: u16| {
            let mut b = Segments(0);
            f.outline_glyph(GlyphId(gid), &mut b).map(|r| (r, b.0))
        };
        for &gid in font.used.keys().filter(|g| **g != 0) {
            let c = font.used[&gid];
            if c != ' ' {
                assert_eq!(glyf(&face, gid), glyf(&font.face, gid), "glyph for {c:?}");
                assert!(glyf(&face, gid).is_some(), "glyph for {c:?}");
            }
        }
        let unused = font.glyph('Q');
        assert!(
            glyf(&face, unused).is_none(),
            "Q is not used, so it is emptied"
        );
        // The whole file sums to the magic number, as the format requires.
        let sum = subset.chunks(4).fold(0u32, |s, c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            s.wrapping_add(u32::from_be_bytes(w))
        });
        assert_eq!(sum, 0xB1B0_AFBA);
    }
}
