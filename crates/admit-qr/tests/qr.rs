use admit_core::id::{EventId, TicketId, TicketTypeId};
use admit_core::secret::{self, EventKeyring, KeyId, SigningKey, TicketPayload, ValidityWindow};
use admit_core::time::TimeZone;
use admit_qr::*;
use chrono::{TimeZone as _, Utc};
use image::imageops::FilterType;
use image::{GrayImage, Luma};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A UUID whose bytes are all `n`.
fn id(n: u8) -> String {
    let h = format!("{n:02x}");
    format!("{0}-{1}-{1}-{1}-{2}", h.repeat(4), h.repeat(2), h.repeat(6))
}

fn event() -> EventId {
    EventId::parse("event", &id(1)).unwrap()
}

fn key() -> SigningKey {
    SigningKey::from_secret_bytes(event(), KeyId(1), &[42; 32])
}

fn secret_for(n: u8) -> String {
    let p = TicketPayload::new(
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
    secret::issue(&p, &key())
}

#[test]
fn a_ticket_secret_fits_version_7_at_ec_m() {
    // 178 alphanumeric characters is the capacity of version 7 at EC M.
    const { assert!(secret::SECRET_LEN <= 178) };
    for n in 0..50 {
        let s = secret_for(n);
        let m = QrMatrix::encode(&s).unwrap();
        assert_eq!(m.ec_level(), EcLevel::M);
        assert!(
            m.version() <= 7,
            "version {} for {} chars",
            m.version(),
            s.len()
        );
        assert_eq!(m.width(), 17 + 4 * m.version() as usize);
    }
    assert_eq!(QrMatrix::encode(&secret_for(0)).unwrap().version(), 7);
}

#[test]
fn secret_to_png_and_back() {
    let ring = EventKeyring::new(event(), vec![key().keyring_entry()]).unwrap();
    for n in 0..5 {
        let s = secret_for(n);
        let png = qr_png(&s, SCREEN_MODULE_PX).unwrap();
        let found = decode_image(&png).unwrap();
        assert_eq!(found, vec![s.clone()]);
        assert!(secret::verify(&found[0], &ring).is_ok());
    }
}

/// A photo is never a clean render: scale by an odd factor, blur, add noise, put it off-centre
/// on a grey background.
#[test]
fn scaled_noisy_picture_still_decodes() {
    let s = secret_for(3);
    let clean = QrMatrix::encode(&s).unwrap().to_luma(4).unwrap();
    let side = (clean.width() as f32 * 1.37) as u32;
    let scaled = image::imageops::resize(&clean, side, side, FilterType::Triangle);
    let mut photo = GrayImage::from_pixel(side + 160, side + 120, Luma([170]));
    image::imageops::replace(&mut photo, &scaled, 97, 41);
    let mut rng = StdRng::seed_from_u64(1);
    for p in photo.pixels_mut() {
        let noise: i16 = rng.gen_range(-45..=45);
        p.0[0] = (p.0[0] as i16 + noise).clamp(0, 255) as u8;
    }
    let (w, h) = photo.dimensions();
    let found = decode_luma(w, h, photo.as_raw()).unwrap();
    assert_eq!(found, vec![s.clone()]);

    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for p in photo.pixels() {
        rgba.extend_from_slice(&[p.0[0], p.0[0], p.0[0], 255]);
    }
    assert_eq!(decode_rgba(w, h, &rgba).unwrap(), vec![s]);
}

#[test]
fn bad_pictures_are_errors_not_panics() {
    assert!(matches!(
        decode_image(b"not an image"),
        Err(QrError::Image(_))
    ));
    assert!(matches!(decode_image(&[]), Err(QrError::Image(_))));
    assert!(matches!(
        decode_luma(10, 10, &[0; 99]),
        Err(QrError::Image(_))
    ));
    assert!(matches!(
        decode_rgba(10, 10, &[0; 100]),
        Err(QrError::Image(_))
    ));
    assert_eq!(decode_luma(MAX_SIDE_PX + 1, 1, &[]), Err(QrError::TooLarge));
    assert_eq!(decode_luma(0, 0, &[]), Ok(vec![]));
    assert_eq!(decode_luma(64, 64, &[255; 64 * 64]), Ok(vec![]));
    // A PNG header claiming a huge image is refused before any allocation.
    let mut huge = qr_png("X", 1).unwrap();
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    assert!(decode_image(&huge).is_err());
}

#[test]
fn fast_and_baseline_paths_carry_the_same_text() {
    let s = secret_for(4);
    let fast = decode_image(&qr_png(&s, 4).unwrap()).unwrap();
    let base = decode_image(&baseline::png(&s).unwrap()).unwrap();
    assert_eq!(fast, base);
    assert!(baseline::svg(&s).unwrap().contains("<svg"));
    // The crate's own encoder picks the same version for a secret.
    assert!(qr_svg(&s, SvgSize::Fluid)
        .unwrap()
        .contains("viewBox=\"0 0 53 53\""));
}

fn card(secret: &str) -> TicketCard<'_> {
    TicketCard {
        event_name:
            "Sommernachtskonzert <Open Air> & Friends in the Park of Schloss Charlottenburg",
        starts_at: Utc.with_ymd_and_hms(2026, 5, 1, 17, 30, 0).unwrap(),
        time_zone: TimeZone::parse("tz", "Europe/Berlin").unwrap(),
        venue: "Schlossgarten, Berlin",
        ticket_type: "Stehplatz ermäßigt",
        attendee: Some("Zoë Ødegård"),
        order_code: "K7M2QX9",
        secret,
    }
}

#[test]
fn ticket_png_has_a_readable_code_and_text() {
    let s = secret_for(5);
    let png = ticket_png(&card(&s)).unwrap();
    assert_eq!(decode_image(&png).unwrap(), vec![s.clone()]);
    let img = ticket_image(&card(&s)).unwrap();
    assert_eq!(img.dimensions(), (TICKET_PNG_WIDTH, TICKET_PNG_HEIGHT));
    // Text was drawn in the left column (ink near the top-left) and nothing spills past the
    // dashed rule into the code's box.
    let ink = |x0: u32, y0: u32, x1: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|(x, y)| img.get_pixel(*x, *y).0[0] < 128)
            .count()
    };
    assert!(ink(48, 48, 500, 90) > 500, "title drawn");
    assert!(ink(48, 470, 400, 520) > 100, "order code drawn");
    assert_eq!(card(&s).date_line(), "Fri 1 May 2026, 19:30 CEST");
}

#[test]
fn print_page_is_millimetre_svg_with_escaped_text() {
    let s = secret_for(6);
    let a6 = ticket_page_svg(&card(&s), PageSize::A6).unwrap();
    assert!(a6.contains(r#"width="105mm" height="148mm""#));
    assert!(a6.contains("&lt;Open Air&gt; &amp; Friends"));
    assert!(!a6.contains("<Open Air>"));
    assert!(a6.contains("Fri 1 May 2026, 19:30 CEST"));
    assert!(a6.contains("Zoë Ødegård"));
    assert!(a6.contains("Order K7M2QX9"));
    assert!(a6.contains(r#"width="60" height="60" viewBox="0 0 53 53""#));
    let a4 = ticket_page_svg(&card(&s), PageSize::A4).unwrap();
    assert!(a4.contains(r#"width="210mm" height="297mm""#));
    assert!(a4.contains("stroke-dasharray"));
    // Every opened element is closed: a crude well-formedness check.
    for doc in [&a6, &a4] {
        assert_eq!(doc.matches("<svg").count(), doc.matches("</svg>").count());
        assert_eq!(doc.matches("<text").count(), doc.matches("</text>").count());
    }
}
