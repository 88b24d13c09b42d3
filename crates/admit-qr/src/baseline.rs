//! The qrcode crate's default path, kept for the benchmark's comparison and for tests that
//! check the fast path against it. Not for production use: about 30× slower for SVG.

use image::Luma;
use qrcode::render::svg;
use qrcode::QrCode;

use crate::render::encode_png;
use crate::QrError;

/// `QrCode::new` (automatic segments and version, EC M) and the crate's SVG renderer.
pub fn svg(text: &str) -> Result<String, QrError> {
    let code = QrCode::new(text.as_bytes()).map_err(|_| QrError::TooLong)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .module_dimensions(8, 8)
        .build())
}

/// `QrCode::new` and the crate's image renderer at 8 px per module, then PNG.
pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = QrCode::new(text.as_bytes()).map_err(|_| QrError::TooLong)?;
    let img = code.render::<Luma<u8>>().module_dimensions(8, 8).build();
    encode_png(&img)
}
