use std::path::{Path, PathBuf};
use std::process::Command;

use admit_core::id::{EventId, TicketId, TicketTypeId};
use admit_core::secret::{self, KeyId, SigningKey, TicketPayload, ValidityWindow};
use admit_core::time::TimeZone;
use admit_qr::TicketCard;
use admit_report::pdf::{tickets_pdf, TicketLayout};
use admit_report::ReportError;
use chrono::{TimeZone as _, Utc};

/// A UUID whose bytes are all `n`.
fn id(n: u8) -> String {
    let h = format!("{n:02x}");
    format!("{0}-{1}-{1}-{1}-{2}", h.repeat(4), h.repeat(2), h.repeat(6))
}

/// A real ticket secret (175 characters, QR version 7), different for each `n`.
fn secret_for(n: u8) -> String {
    let event = EventId::parse("event", &id(1)).unwrap();
    let key = SigningKey::from_secret_bytes(event, KeyId(1), &[42; 32]);
    let payload = TicketPayload::new(
        TicketId::parse("t", &id(n)).unwrap(),
        TicketTypeId::parse("tt", &id(200)).unwrap(),
        Utc.with_ymd_and_hms(2026, 4, 1, 12, 0, 0).unwrap(),
        ValidityWindow::new(
            Some(Utc.with_ymd_and_hms(2026, 5, 1, 16, 0, 0).unwrap()),
            Some(Utc.with_ymd_and_hms(2026, 5, 2, 2, 0, 0).unwrap()),
        )
        .unwrap(),
    )
    .unwrap();
    secret::issue(&payload, &key)
}

const ATTENDEE: &str = "Zoë Ünal-Łukasiewicz";

struct Batch {
    secrets: Vec<String>,
    attendees: Vec<String>,
    codes: Vec<String>,
}

impl Batch {
    fn new(n: usize) -> Self {
        Batch {
            secrets: (0..n).map(|i| secret_for(10 + i as u8)).collect(),
            attendees: (0..n)
                .map(|i| {
                    if i == 0 {
                        ATTENDEE.to_string()
                    } else {
                        format!("Guest Nummer {i}")
                    }
                })
                .collect(),
            codes: (0..n).map(|i| format!("K7X{i:02}QPZ")).collect(),
        }
    }

    fn cards(&self) -> Vec<TicketCard<'_>> {
        (0..self.secrets.len())
            .map(|i| TicketCard {
                event_name: "Sommernachtsball 2026 — Große Halle",
                starts_at: Utc.with_ymd_and_hms(2026, 5, 1, 17, 30, 0).unwrap(),
                time_zone: TimeZone(chrono_tz::Europe::Berlin),
                venue: "Kulturbrauerei, Schönhauser Allee 36, Berlin",
                ticket_type: "Stehplatz (ermäßigt)",
                attendee: Some(&self.attendees[i]),
                order_code: &self.codes[i],
                secret: &self.secrets[i],
            })
            .collect()
    }
}

/// "N 0 obj" at every offset of the cross-reference table, which is where `startxref` says.
fn check_xref(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let tail = &text[text.rfind("startxref").expect("startxref")..];
    let xref: usize = tail.lines().nth(1).unwrap().trim().parse().unwrap();
    assert!(
        pdf[xref..].starts_with(b"xref\n0 "),
        "startxref points at the table"
    );
    let table = std::str::from_utf8(&pdf[xref..]).expect("the table is ASCII");
    let mut lines = table.lines().skip(1);
    let count: usize = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let entries: Vec<&str> = table.split('\n').skip(2).take(count).collect();
    assert_eq!(entries[0], "0000000000 65535 f ");
    for (n, entry) in entries.iter().enumerate().skip(1) {
        assert_eq!(entry.len() + 1, 20, "entries are 20 bytes: {entry:?}");
        assert!(entry.ends_with(" 00000 n "), "{entry:?}");
        let offset: usize = entry[..10].parse().unwrap();
        let header = format!("{n} 0 obj");
        assert!(
            pdf[offset..].starts_with(header.as_bytes()),
            "object {n} is at {offset}"
        );
    }
    assert!(text.contains(&format!("/Size {count}")));
    assert!(text.trim_end().ends_with("%%EOF"));
    count
}

/// The page count as the page tree states it, and the page objects, which must agree.
fn page_count(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let at = text.find("/Type /Pages").unwrap();
    let count: usize = text[at..]
        .split("/Count ")
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(text.matches("/Type /Page /").count(), count);
    count
}

#[test]
fn structure_and_page_counts() {
    let batch = Batch::new(9);
    let cards = batch.cards();
    for (n, layout, pages) in [
        (1, TicketLayout::OnePerPage, 1),
        (3, TicketLayout::OnePerPage, 3),
        (1, TicketLayout::FourPerA4, 1),
        (4, TicketLayout::FourPerA4, 1),
        (5, TicketLayout::FourPerA4, 2),
        (9, TicketLayout::FourPerA4, 3),
    ] {
        let pdf = tickets_pdf(&cards[..n], layout).unwrap();
        assert!(pdf.starts_with(b"%PDF-1.7\n"));
        check_xref(&pdf);
        assert_eq!(page_count(&pdf), pages, "{n} tickets, {layout:?}");
        // Subset fonts keep the file small: well under the 1.4 MB of the two font files.
        assert!(pdf.len() < 120_000, "{n} tickets: {} bytes", pdf.len());
    }
    // No clock and no randomness: the same tickets give the same bytes.
    assert_eq!(
        tickets_pdf(&cards[..2], TicketLayout::OnePerPage).unwrap(),
        tickets_pdf(&cards[..2], TicketLayout::OnePerPage).unwrap()
    );
    assert!(matches!(
        tickets_pdf(&[], TicketLayout::OnePerPage),
        Err(ReportError::Invalid(_))
    ));
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs a poppler tool. A missing tool fails the test: these checks are the point.
fn poppler(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {tool} ({e}); install poppler-utils (scripts/setup does)")
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tool} {args:?} failed: {stderr}");
    // Poppler reports damaged files (bad xref, broken fonts) on stderr and carries on.
    assert!(
        stderr.trim().is_empty(),
        "{tool} {args:?} complained: {stderr}"
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn write(dir: &Path, name: &str, pdf: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pdf).unwrap();
    path
}

/// Page `page` at 150 dpi as PNG bytes.
fn rasterise(pdf: &Path, page: usize) -> Vec<u8> {
    let prefix = pdf.with_extension(format!("p{page}"));
    let p = page.to_string();
    poppler(
        "pdftoppm",
        &[
            "-r",
            "150",
            "-png",
            "-singlefile",
            "-f",
            &p,
            "-l",
            &p,
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    std::fs::read(prefix.with_extension(format!("p{page}.png"))).unwrap()
}

#[test]
fn poppler_reads_pages_text_fonts_and_codes() {
    let dir = tempfile::tempdir().unwrap();
    let batch = Batch::new(2);
    let cards = batch.cards();
    let path = write(
        dir.path(),
        "one.pdf",
        &tickets_pdf(&cards, TicketLayout::OnePerPage).unwrap(),
    );
    let file = path.to_str().unwrap();

    let info = poppler("pdfinfo", &[file]);
    assert!(
        info.lines()
            .any(|l| l.split_whitespace().eq(["Pages:", "2"])),
        "{info}"
    );
    assert!(info.contains("595 x 842 pts (A4)"), "{info}");

    let fonts = poppler("pdffonts", &[file]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "regular and bold: {fonts}");
    for row in rows {
        assert!(
            row.contains("CID TrueType") && row.contains("Identity-H"),
            "{row}"
        );
        // Columns emb, sub, uni: embedded, subset, with a ToUnicode map.
        assert!(row.contains("yes yes yes"), "{row}");
    }

    // Long lines wrap; compare with whitespace squeezed.
    let text = squeeze(&poppler("pdftotext", &["-f", "1", "-l", "1", file, "-"]));
    for expected in [
        ATTENDEE,
        "Order K7X00QPZ",
        "Sommernachtsball 2026 — Große Halle",
        "Fri 1 May 2026, 19:30 CEST",
        "Kulturbrauerei, Schönhauser Allee 36, Berlin",
        "Stehplatz (ermäßigt)",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text:?}");
    }
    let second = poppler("pdftotext", &["-f", "2", "-l", "2", file, "-"]);
    assert!(second.contains("Guest Nummer 1") && second.contains("K7X01QPZ"));
    assert!(!second.contains(ATTENDEE));

    for page in [1, 2] {
        let png = rasterise(&path, page);
        let found = admit_qr::decode_image(&png).unwrap();
        assert_eq!(found, [batch.secrets[page - 1].clone()], "page {page}");
    }
}

#[test]
fn four_per_page_codes_all_scan() {
    let dir = tempfile::tempdir().unwrap();
    let batch = Batch::new(5);
    let path = write(
        dir.path(),
        "four.pdf",
        &tickets_pdf(&batch.cards(), TicketLayout::FourPerA4).unwrap(),
    );
    let file = path.to_str().unwrap();
    let info = poppler("pdfinfo", &[file]);
    assert!(
        info.lines()
            .any(|l| l.split_whitespace().eq(["Pages:", "2"])),
        "{info}"
    );
    assert!(info.contains("595 x 842 pts (A4)"), "{info}");

    let text = poppler("pdftotext", &["-f", "1", "-l", "1", file, "-"]);
    for i in 0..4 {
        assert!(
            text.contains(&batch.codes[i]),
            "{} in {text:?}",
            batch.codes[i]
        );
    }
    assert!(text.contains(ATTENDEE));
    assert!(
        !text.contains(&batch.codes[4]),
        "the fifth ticket is on page 2"
    );

    // A scanner sees one ticket at a time: cut the page along the dashed lines and read each
    // quarter (the decoder does not reliably find several codes laid out in a grid).
    let page = image::load_from_memory(&rasterise(&path, 1))
        .unwrap()
        .to_luma8();
    let (w, h) = (page.width() / 2, page.height() / 2);
    for (i, (x, y)) in [(0, 0), (w, 0), (0, h), (w, h)].into_iter().enumerate() {
        let quarter = image::imageops::crop_imm(&page, x, y, w, h).to_image();
        let found = admit_qr::decode_luma(w, h, quarter.as_raw()).unwrap();
        assert_eq!(
            found,
            [batch.secrets[i].clone()],
            "ticket {i} in reading order"
        );
    }
    let found = admit_qr::decode_image(&rasterise(&path, 2)).unwrap();
    assert_eq!(
        found,
        [batch.secrets[4].clone()],
        "the fifth ticket alone on page 2"
    );
}

/// Every stream of the file, inflated.
fn streams(pdf: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = pdf;
    while let Some(i) = find(rest, b">>\nstream\n") {
        let body = &rest[i + 10..];
        let end = find(body, b"\nendstream").expect("stream ends");
        let inflated = miniz_oxide::inflate::decompress_to_vec_zlib(&body[..end])
            .unwrap_or_else(|e| panic!("stream is not Flate: {:?}", e.status));
        out.push(inflated);
        rest = &body[end..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn codes_are_at_least_40_mm_wide_and_drawn_as_merged_runs() {
    let batch = Batch::new(4);
    let modules = admit_qr::QrMatrix::encode(&batch.secrets[0]).unwrap();
    let dark: usize = (0..modules.width())
        .flat_map(|y| (0..modules.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| modules.is_dark(x, y))
        .count();
    for (layout, min_mm) in [
        (TicketLayout::OnePerPage, 60.0),
        (TicketLayout::FourPerA4, 40.0),
    ] {
        let pdf = tickets_pdf(&batch.cards(), layout).unwrap();
        let content = streams(&pdf)
            .into_iter()
            .map(|s| String::from_utf8_lossy(&s).into_owned())
            .find(|s| s.contains(" cm\n"))
            .expect("a page with a code");
        // "q 0 g m 0 0 -m x y cm": module units from there on.
        let cm = content.lines().find(|l| l.ends_with(" cm")).unwrap();
        let module: f64 = cm.split_whitespace().nth(3).unwrap().parse().unwrap();
        let mm = module * modules.width() as f64 * 25.4 / 72.0;
        assert!(mm >= min_mm, "{layout:?}: the code is {mm:.1} mm wide");
        // One rectangle per horizontal run: fewer than dark modules, and they cover exactly
        // the dark modules of the first code.
        let first: Vec<(usize, usize, usize)> = content
            .split(" cm\n")
            .nth(1)
            .unwrap()
            .lines()
            .take_while(|l| l.ends_with(" re"))
            .map(|l| {
                let v: Vec<usize> = l
                    .split_whitespace()
                    .take(3)
                    .map(|n| n.parse().unwrap())
                    .collect();
                (v[0], v[1], v[2])
            })
            .collect();
        // A run starts at every dark module whose left neighbour is light.
        let runs = (0..modules.width())
            .flat_map(|y| (0..modules.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| modules.is_dark(x, y) && (x == 0 || !modules.is_dark(x - 1, y)))
            .count();
        assert_eq!(
            first.len(),
            runs,
            "one rectangle per run, {dark} dark modules"
        );
        assert!(runs < dark * 2 / 3);
        assert_eq!(first.iter().map(|r| r.2).sum::<usize>(), dark);
        for (x, y, w) in first {
            assert!((x..x + w).all(|x| modules.is_dark(x, y)));
            assert!(x == 0 || !modules.is_dark(x - 1, y), "runs are maximal");
            assert!(!modules.is_dark(x + w, y), "runs are maximal");
        }
    }
}
