//! The door: scan, counts and decoding camera frames. All of it works in kiosk mode.

use base64::Engine;
use chrono::Utc;
use tauri::State;

use admit_api::{CheckinCounts, RedeemAnswer, RedeemInput};

use crate::state::{api, CmdResult, Desktop};

#[tauri::command]
pub async fn redeem(desktop: State<'_, Desktop>, input: RedeemInput) -> CmdResult<RedeemAnswer> {
    let (admit, s) = desktop.door()?;
    admit.redeem(&s, &input, Utc::now()).await.map_err(api)
}

#[tauri::command]
pub async fn checkin_counts(
    desktop: State<'_, Desktop>,
    list_id: String,
) -> CmdResult<CheckinCounts> {
    let (admit, s) = desktop.door()?;
    admit.checkin_counts(&s, &list_id).await.map_err(api)
}

/// Largest camera frame accepted, in pixels: 1920 × 1080.
const MAX_FRAME_PIXELS: usize = 1920 * 1080;

fn bad_frame(message: &str) -> admit_api::ErrorBody {
    admit_api::ErrorBody {
        code: "invalid_input",
        message: format!("frame: {message}"),
        field: Some("luma".into()),
    }
}

/// Find a QR code in one grey camera frame (`width` × `height` bytes, base64). None when the
/// frame holds no readable code, which is most frames.
#[tauri::command]
pub async fn decode_qr(width: u32, height: u32, luma: String) -> CmdResult<Option<String>> {
    let pixels = (width as usize).saturating_mul(height as usize);
    if width == 0 || height == 0 || pixels > MAX_FRAME_PIXELS {
        return Err(bad_frame("must be between 1×1 and 1920×1080 pixels"));
    }
    if luma.len() > MAX_FRAME_PIXELS / 3 * 4 + 8 {
        return Err(bad_frame("is too large"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(luma.as_bytes())
        .map_err(|_| bad_frame("is not base64"))?;
    if bytes.len() != pixels {
        return Err(bad_frame("does not hold width × height bytes"));
    }
    // Decoding takes a few milliseconds: off the async workers.
    let found =
        tauri::async_runtime::spawn_blocking(move || admit_qr::decode_luma(width, height, &bytes))
            .await
            .map_err(|e| crate::state::fail("internal", e.to_string()))?;
    Ok(found.ok().and_then(|codes| codes.into_iter().next()))
}
