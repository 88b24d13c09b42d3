//! Reading QR codes from pictures: a camera frame or an uploaded photo or screenshot.

use std::io::Cursor;

use image::{ImageReader, Limits};

use crate::QrError;

/// Bigger pictures are refused rather than decoded: a 16k × 16k frame is not a camera frame,
/// and decoding it would stall a door device.
pub const MAX_SIDE_PX: u32 = 8192;

/// Every QR code found in a grayscale frame (one byte per pixel, row-major), in the order the
/// detector found them. Codes that are found but cannot be read are skipped; an empty list
/// means nothing readable was in view.
pub fn decode_luma(width: u32, height: u32, pixels: &[u8]) -> Result<Vec<String>, QrError> {
    if width > MAX_SIDE_PX || height > MAX_SIDE_PX {
        return Err(QrError::TooLarge);
    }
    let (w, h) = (width as usize, height as usize);
    if pixels.len() != w * h {
        return Err(QrError::Image(format!(
            "a {width}×{height} grayscale frame has {} bytes, not {}",
            w * h,
            pixels.len()
        )));
    }
    if w == 0 || h == 0 {
        return Ok(Vec::new());
    }
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    Ok(prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect())
}

/// Like [`decode_luma`] for RGBA frames (browser canvases, most camera APIs).
pub fn decode_rgba(width: u32, height: u32, pixels: &[u8]) -> Result<Vec<String>, QrError> {
    if width > MAX_SIDE_PX || height > MAX_SIDE_PX {
        return Err(QrError::TooLarge);
    }
    if pixels.len() != width as usize * height as usize * 4 {
        return Err(QrError::Image(format!(
            "a {width}×{height} RGBA frame needs {} bytes, got {}",
            width as usize * height as usize * 4,
            pixels.len()
        )));
    }
    // Rec. 601 luma in integers; exact weights hardly matter for black-on-white codes.
    let luma: Vec<u8> = pixels
        .chunks_exact(4)
        .map(|p| ((p[0] as u32 * 77 + p[1] as u32 * 150 + p[2] as u32 * 29) >> 8) as u8)
        .collect();
    decode_luma(width, height, &luma)
}

/// Every QR code in an image file (PNG or JPEG).
pub fn decode_image(bytes: &[u8]) -> Result<Vec<String>, QrError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| QrError::Image(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PX);
    limits.max_image_height = Some(MAX_SIDE_PX);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| match e {
            image::ImageError::Limits(_) => QrError::TooLarge,
            other => QrError::Image(other.to_string()),
        })?
        .into_luma8();
    decode_luma(img.width(), img.height(), img.as_raw())
}
