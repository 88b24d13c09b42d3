//! QR codes and printable tickets for Admit: encode ticket secrets as SVG and PNG, lay out
//! ticket images and print pages, and read codes back from pictures.
//!
//! Ticket secrets (`admit_core::secret`) are 175 QR-alphanumeric characters and encode as
//! version 7 at error-correction level M (45 × 45 modules). See [`matrix`] for why encoding
//! here is much faster than the qrcode crate's default path; `admit-bench --bin qr` measures
//! both in one run.

pub mod baseline;
mod decode;
pub mod matrix;
mod render;
mod ticket;

pub use decode::{decode_image, decode_luma, decode_rgba, MAX_SIDE_PX};
pub use matrix::{EcLevel, QrMatrix};
pub use render::{SvgSize, MAX_MODULE_PX, QUIET_ZONE, SCREEN_MODULE_PX};
pub use ticket::{
    ticket_image, ticket_page_svg, ticket_png, PageSize, TicketCard, TICKET_PNG_HEIGHT,
    TICKET_PNG_WIDTH,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("the text is too long for a QR code")]
    TooLong,
    #[error("the image would be too large")]
    TooLarge,
    #[error("unreadable image: {0}")]
    Image(String),
}

/// A QR code for `text` at EC level M as an SVG document.
pub fn qr_svg(text: &str, size: SvgSize) -> Result<String, QrError> {
    Ok(QrMatrix::encode(text)?.to_svg(size))
}

/// A QR code for `text` at EC level M as a PNG with `module_px` pixels per module
/// ([`SCREEN_MODULE_PX`] for screens; see [`QrMatrix::module_px_for_print`] for print).
pub fn qr_png(text: &str, module_px: u32) -> Result<Vec<u8>, QrError> {
    QrMatrix::encode(text)?.to_png(module_px)
}
