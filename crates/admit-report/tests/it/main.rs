//! One test binary for the crate (faster to link than one per file).

mod charts;
mod pdf;
mod svg;
mod timings;
