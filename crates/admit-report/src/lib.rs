//! Reports for event owners, rendered in Rust with no I/O: charts (plotters, SVG for the screen
//! and PNG for export), printable PDFs (tickets in batch) and CSV.
//!
//! The inputs are plain figures already aggregated by the store (in SQL); this crate only
//! arranges and draws them. Times are UTC and shown in the event's time zone.

pub mod chart;
pub mod pdf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error("could not draw the chart: {0}")]
    Draw(String),
    #[error("could not encode the image: {0}")]
    Encode(String),
    #[error("could not make the QR code: {0}")]
    Qr(#[from] admit_qr::QrError),
    #[error("{0}")]
    Invalid(String),
}

pub type ReportResult<T> = Result<T, ReportError>;
