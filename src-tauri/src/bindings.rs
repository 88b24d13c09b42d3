//! TypeScript types for every command's input and output, generated from the Rust types into
//! `ui/src/bindings/` and committed. `cargo test -p admit-desktop` fails when they are stale;
//! `ADMIT_WRITE_BINDINGS=1 cargo test -p admit-desktop bindings` writes them anew.

use std::path::Path;

use ts_rs::{Config, TS};

/// Export every root type (and, through them, every type they use) into `dir`.
pub fn export_all(dir: &Path) -> Result<(), ts_rs::ExportError> {
    let cfg = Config::new().with_large_int("number").with_out_dir(dir);
    macro_rules! export {
        ($($t:ty),* $(,)?) => {$( <$t as TS>::export_all(&cfg)?; )*};
    }
    export!(
        // shell
        crate::views::AppStatus,
        crate::views::SessionView,
        crate::views::EventDetail,
        crate::views::DoorList,
        crate::views::TicketCard,
        crate::views::SoldOrder,
        crate::views::OrderView,
        crate::views::SavedFile,
        crate::views::ExportProgress,
        crate::views::MailSettings,
        crate::settings::Settings,
        crate::settings::SettingsInput,
        crate::settings::SmtpView,
        crate::worker::WorkerStatus,
        crate::sync::SyncStatus,
        crate::sync::SyncConflicts,
        crate::commands::sync::ConnectInput,
        crate::pairing::PairingCodeRequest,
        crate::pairing::IssuedPairingCode,
        // use cases
        admit_api::ErrorBody,
        admit_api::NewUserInput,
        admit_api::UpdateUserInput,
        admit_core::model::User,
        admit_api::EventInput,
        admit_api::TicketTypeInput,
        admit_api::QuotaInput,
        admit_api::CheckinListInput,
        admit_api::EventAvailability,
        admit_api::HoldInput,
        admit_api::SaleInput,
        admit_api::CancelInput,
        admit_api::RedeemInput,
        admit_api::RedeemAnswer,
        admit_api::CheckinCounts,
        admit_api::Dashboard,
        admit_api::ChartInput,
        admit_api::ShiftReportInput,
        admit_api::ShiftReport,
        admit_api::ExportInput,
        admit_api::TicketsPdfInput,
        admit_api::ImportInput,
        admit_api::ImportPreview,
        admit_api::ImportResult,
        admit_api::QuoteInput,
        admit_api::Quote,
        admit_api::CouponInput,
        admit_api::PaymentInput,
        admit_api::RefundInput,
        admit_api::OrderMoney,
        admit_api::WaitlistInput,
        admit_api::OpenShiftInput,
        admit_api::CloseShiftInput,
        admit_api::ShiftStatus,
        admit_api::Housekeeping,
        admit_api::mail::SmtpInput,
        admit_api::mail::SmtpSecurity,
        admit_api::mail::DeliveryRun,
        // domain
        admit_core::model::Event,
        admit_core::model::TicketType,
        admit_core::model::Quota,
        admit_core::model::Hold,
        admit_core::model::Order,
        admit_core::model::OrderWithTickets,
        admit_core::model::Payment,
        admit_core::commerce::Coupon,
        admit_core::commerce::CouponKind,
        admit_core::commerce::WaitlistEntry,
        admit_core::commerce::WaitlistStatus,
        admit_core::commerce::Shift,
        admit_core::commerce::MailMessage,
        admit_core::commerce::MailKind,
        admit_core::commerce::MailStatus,
        admit_core::checkin::CheckinList,
        admit_core::checkin::Verdict,
        admit_core::role::Role,
        admit_core::role::Action,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    fn read_dir(dir: &std::path::Path) -> BTreeMap<String, String> {
        std::fs::read_dir(dir)
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read_to_string(e.path()).expect("readable"),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn bindings_are_current() {
        let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings");
        let fresh = tempfile::tempdir().expect("temp dir");
        super::export_all(fresh.path()).expect("export");
        let fresh = read_dir(fresh.path());
        if std::env::var_os("ADMIT_WRITE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&committed);
            std::fs::create_dir_all(&committed).expect("bindings folder");
            for (name, text) in &fresh {
                std::fs::write(committed.join(name), text).expect("write binding");
            }
            return;
        }
        let on_disk = read_dir(&committed);
        let stale: Vec<&String> = fresh
            .keys()
            .filter(|k| on_disk.get(*k) != fresh.get(*k))
            .chain(on_disk.keys().filter(|k| !fresh.contains_key(*k)))
            .collect();
        assert!(
            stale.is_empty(),
            "ui/src/bindings is stale ({stale:?}); run ADMIT_WRITE_BINDINGS=1 cargo test -p admit-desktop bindings"
        );
    }
}
