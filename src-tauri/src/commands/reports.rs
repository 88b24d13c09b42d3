//! Owners' reports: charts, the end-of-shift report, CSV exports, printable tickets as PDF and
//! orders imported from CSV. Files are saved in the exports folder (see `crate::exports`).

use chrono::Utc;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

use admit_api::{
    Admit, ChartFormat, ChartImage, ChartInput, ChartKind, ExportInput, ImportInput, ImportPreview,
    ImportResult, Session, ShiftReport, ShiftReportInput, TicketsPdfInput,
};

use crate::exports::{export_dir, save_bytes, PendingFile};
use crate::state::{api, fail, CmdResult, Desktop};
use crate::views::{ExportProgress, SavedFile};

/// A chart as SVG text, for an `<img>` on the dashboard.
#[tauri::command]
pub async fn chart_svg(desktop: State<'_, Desktop>, input: ChartInput) -> CmdResult<String> {
    let (admit, s) = desktop.staff()?;
    match admit
        .chart(&s, &input, ChartFormat::Svg)
        .await
        .map_err(api)?
    {
        ChartImage::Svg(svg) => Ok(svg),
        ChartImage::Png(_) => Err(fail("internal", "the chart came back as PNG, not SVG")),
    }
}

async fn event_name(admit: &Admit, s: &Session, event_id: &str) -> CmdResult<String> {
    Ok(admit
        .get_event(s, event_id)
        .await
        .map_err(api)?
        .name
        .as_str()
        .to_string())
}

/// A chart as a PNG file in the exports folder.
#[tauri::command]
pub async fn save_chart_png<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
    input: ChartInput,
) -> CmdResult<SavedFile> {
    let (admit, s) = desktop.staff()?;
    let png = match admit
        .chart(&s, &input, ChartFormat::Png)
        .await
        .map_err(api)?
    {
        ChartImage::Png(png) => png,
        ChartImage::Svg(_) => return Err(fail("internal", "the chart came back as SVG, not PNG")),
    };
    let name = event_name(&admit, &s, &input.event_id).await?;
    let kind = match input.kind {
        ChartKind::Sales => "sales-chart",
        ChartKind::Revenue => "revenue-chart",
        ChartKind::Door => "door-chart",
    };
    save_bytes(&export_dir(&app)?, &name, kind, "png", &png)
}

/// One CSV export of an event into the exports folder, reporting `{done, total}` rows as it
/// goes. A failed export leaves no file.
#[tauri::command]
pub async fn export_csv<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
    input: ExportInput,
    on_progress: Channel<ExportProgress>,
) -> CmdResult<SavedFile> {
    let (admit, s) = desktop.staff()?;
    let mut file = PendingFile::new(&export_dir(&app)?)?;
    let mut progress = |done: u64, total: u64| {
        // A window that went away stops listening; the export still completes.
        let _ = on_progress.send(ExportProgress { done, total });
    };
    let summary = admit
        .export_csv(&s, &input, file.writer(), &mut progress)
        .await
        .map_err(api)?;
    let name = event_name(&admit, &s, &input.event_id).await?;
    let saved = file.finish(&name, input.kind.as_str(), "csv")?;
    Ok(SavedFile {
        rows: Some(summary.rows),
        ..saved
    })
}

/// Printable tickets of one order or a whole event, as a PDF in the exports folder.
#[tauri::command]
pub async fn save_tickets_pdf<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
    input: TicketsPdfInput,
) -> CmdResult<SavedFile> {
    let (admit, s) = desktop.staff()?;
    let pdf = admit
        .tickets_pdf(&s, &input, Utc::now())
        .await
        .map_err(api)?;
    let (name, kind) = match input.order_id.as_deref() {
        Some(order_id) => {
            let order = admit.get_order(&s, order_id).await.map_err(api)?.order;
            let name = event_name(&admit, &s, &order.event_id.to_string()).await?;
            (name, format!("tickets-{}", order.code.as_str()))
        }
        None => {
            let event_id = input.event_id.as_deref().unwrap_or_default();
            (
                event_name(&admit, &s, event_id).await?,
                "tickets".to_string(),
            )
        }
    };
    save_bytes(&export_dir(&app)?, &name, &kind, "pdf", &pdf)
}

/// What each cashier sold and paid back in a window, and the cash each drawer should hold.
#[tauri::command]
pub async fn shift_report(
    desktop: State<'_, Desktop>,
    input: ShiftReportInput,
) -> CmdResult<ShiftReport> {
    let (admit, s) = desktop.staff()?;
    admit.shift_report(&s, &input).await.map_err(api)
}

/// Read and check a CSV file of orders without writing anything.
#[tauri::command]
pub async fn import_preview(
    desktop: State<'_, Desktop>,
    input: ImportInput,
) -> CmdResult<ImportPreview> {
    let (admit, s) = desktop.staff()?;
    admit
        .import_preview(&s, &input, Utc::now())
        .await
        .map_err(api)
}

/// Import a CSV file of orders: all of it, or nothing when any row has a problem.
#[tauri::command]
pub async fn import_orders(
    desktop: State<'_, Desktop>,
    input: ImportInput,
) -> CmdResult<ImportResult> {
    let (admit, s) = desktop.staff()?;
    admit
        .import_orders(&s, &input, Utc::now())
        .await
        .map_err(api)
}
