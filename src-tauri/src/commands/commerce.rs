//! Commerce at the box office: quotes and coupons, pay-later orders, refunds, the waiting list,
//! cashier shifts, and e-mail (the order's messages, the outgoing mail server).

use chrono::Utc;
use tauri::State;

use admit_api::mail::{SmtpInput, SmtpSettings};
use admit_api::{
    CloseShiftInput, CouponInput, OpenShiftInput, OrderMoney, PaymentInput, Quote, QuoteInput,
    RefundInput, ShiftStatus, WaitlistInput,
};
use admit_core::commerce::{Coupon, MailMessage, Shift, WaitlistEntry};
use admit_core::role::Action;

use crate::commands::sales::sold;
use crate::settings::{SmtpView, StoredSmtp};
use crate::state::{api, CmdResult, Desktop};
use crate::views::{MailSettings, SoldOrder};

// ---- prices and coupons

/// What the basket costs now, with a coupon if one is typed.
#[tauri::command]
pub async fn quote(desktop: State<'_, Desktop>, input: QuoteInput) -> CmdResult<Quote> {
    let (admit, s) = desktop.staff()?;
    admit.quote(&s, &input, Utc::now()).await.map_err(api)
}

#[tauri::command]
pub async fn list_coupons(desktop: State<'_, Desktop>, event_id: String) -> CmdResult<Vec<Coupon>> {
    let (admit, s) = desktop.staff()?;
    admit.list_coupons(&s, &event_id).await.map_err(api)
}

#[tauri::command]
pub async fn create_coupon(desktop: State<'_, Desktop>, input: CouponInput) -> CmdResult<Coupon> {
    let (admit, s) = desktop.staff()?;
    admit
        .create_coupon(&s, &input, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn update_coupon(
    desktop: State<'_, Desktop>,
    coupon_id: String,
    expected_version: i64,
    input: CouponInput,
) -> CmdResult<Coupon> {
    let (admit, s) = desktop.staff()?;
    admit
        .update_coupon(&s, &coupon_id, expected_version, &input, Utc::now())
        .await
        .map_err(api)
}

// ---- paying later, refunds

/// Take the money of a pay-later order; its tickets come back ready to print.
#[tauri::command]
pub async fn pay_order(desktop: State<'_, Desktop>, input: PaymentInput) -> CmdResult<SoldOrder> {
    let (admit, s) = desktop.staff()?;
    let order = admit.pay_order(&s, &input, Utc::now()).await.map_err(api)?;
    sold(&admit, &s, order).await
}

/// An order's payment, its refunds and what is left to refund.
#[tauri::command]
pub async fn order_money(desktop: State<'_, Desktop>, order_id: String) -> CmdResult<OrderMoney> {
    let (admit, s) = desktop.staff()?;
    admit.order_money(&s, &order_id).await.map_err(api)
}

#[tauri::command]
pub async fn refund(desktop: State<'_, Desktop>, input: RefundInput) -> CmdResult<OrderMoney> {
    let (admit, s) = desktop.staff()?;
    admit.refund(&s, &input, Utc::now()).await.map_err(api)
}

// ---- the waiting list

#[tauri::command]
pub async fn join_waitlist(
    desktop: State<'_, Desktop>,
    input: WaitlistInput,
) -> CmdResult<WaitlistEntry> {
    let (admit, s) = desktop.staff()?;
    admit
        .join_waitlist(&s, &input, Utc::now())
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn list_waitlist(
    desktop: State<'_, Desktop>,
    event_id: String,
) -> CmdResult<Vec<WaitlistEntry>> {
    let (admit, s) = desktop.staff()?;
    admit.list_waitlist(&s, &event_id).await.map_err(api)
}

#[tauri::command]
pub async fn withdraw_waitlist(
    desktop: State<'_, Desktop>,
    entry_id: String,
) -> CmdResult<WaitlistEntry> {
    let (admit, s) = desktop.staff()?;
    admit
        .withdraw_waitlist(&s, &entry_id, Utc::now())
        .await
        .map_err(api)
}

// ---- cashier shifts

#[tauri::command]
pub async fn open_shift(
    desktop: State<'_, Desktop>,
    input: OpenShiftInput,
) -> CmdResult<ShiftStatus> {
    let (admit, s) = desktop.staff()?;
    admit.open_shift(&s, &input, Utc::now()).await.map_err(api)
}

/// The caller's open shift with the cash it should hold so far; none when no shift is open.
#[tauri::command]
pub async fn current_shift(desktop: State<'_, Desktop>) -> CmdResult<Option<ShiftStatus>> {
    let (admit, s) = desktop.staff()?;
    admit.current_shift(&s, Utc::now()).await.map_err(api)
}

#[tauri::command]
pub async fn close_shift(
    desktop: State<'_, Desktop>,
    input: CloseShiftInput,
) -> CmdResult<ShiftStatus> {
    let (admit, s) = desktop.staff()?;
    admit.close_shift(&s, &input, Utc::now()).await.map_err(api)
}

/// Shifts, newest first: the box office sees its own.
#[tauri::command]
pub async fn list_shifts(
    desktop: State<'_, Desktop>,
    user_id: Option<String>,
    limit: Option<u32>,
) -> CmdResult<Vec<Shift>> {
    let (admit, s) = desktop.staff()?;
    admit
        .list_shifts(&s, user_id.as_deref(), limit.unwrap_or(20))
        .await
        .map_err(api)
}

// ---- e-mail

/// The order's messages, oldest first, with how sending went.
#[tauri::command]
pub async fn order_mail(
    desktop: State<'_, Desktop>,
    order_id: String,
) -> CmdResult<Vec<MailMessage>> {
    let (admit, s) = desktop.staff()?;
    admit.order_mail(&s, &order_id).await.map_err(api)
}

/// Queue the order's confirmation again, to `to` or the buyer's address.
#[tauri::command]
pub async fn resend_confirmation(
    desktop: State<'_, Desktop>,
    order_id: String,
    to: Option<String>,
) -> CmdResult<MailMessage> {
    let (admit, s) = desktop.staff()?;
    let to = to.as_deref().map(str::trim).filter(|t| !t.is_empty());
    admit
        .resend_confirmation(&s, &order_id, to, Utc::now())
        .await
        .map_err(api)
}

/// Who may see and change the outgoing mail server.
fn mail_admin(desktop: &Desktop) -> CmdResult<()> {
    desktop.not_in_kiosk()?;
    desktop
        .session()?
        .require(Action::ConfigureMail)
        .map_err(api)
}

fn mail_settings(desktop: &Desktop) -> MailSettings {
    MailSettings {
        smtp: desktop.settings().smtp.as_ref().map(SmtpView::from),
        worker: desktop.worker_status(),
    }
}

/// What was typed, checked; a blank password keeps the saved one (the screen never gets it
/// back to show), as long as a user name is given.
fn checked_smtp(desktop: &Desktop, mut input: SmtpInput) -> CmdResult<SmtpSettings> {
    let blank = |v: &Option<String>| v.as_deref().is_none_or(str::is_empty);
    if blank(&input.password) && !blank(&input.username) {
        input.password = desktop.settings().smtp.and_then(|s| s.password);
    }
    SmtpSettings::parse(&input).map_err(api)
}

/// The outgoing mail server (without its password) and how sending went lately.
#[tauri::command]
pub async fn get_mail_settings(desktop: State<'_, Desktop>) -> CmdResult<MailSettings> {
    mail_admin(&desktop)?;
    Ok(mail_settings(&desktop))
}

/// Save the outgoing mail server, checked first; none turns sending off (messages stay
/// queued until a server is set).
#[tauri::command]
pub async fn save_mail_settings(
    desktop: State<'_, Desktop>,
    input: Option<SmtpInput>,
) -> CmdResult<MailSettings> {
    mail_admin(&desktop)?;
    let stored = match input {
        None => None,
        Some(input) => Some(StoredSmtp::from_settings(&checked_smtp(&desktop, input)?)),
    };
    desktop.update_settings(|s| s.smtp = stored)?;
    Ok(mail_settings(&desktop))
}

/// Send one message through the server as typed (saved or not), to check it works.
#[tauri::command]
pub async fn send_test_mail(
    desktop: State<'_, Desktop>,
    input: SmtpInput,
    to: String,
) -> CmdResult<()> {
    mail_admin(&desktop)?;
    let smtp = checked_smtp(&desktop, input)?;
    let (admit, s) = desktop.staff()?;
    admit.send_test_mail(&s, &smtp, &to).await.map_err(api)
}
