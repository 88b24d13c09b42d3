//! Every role against every action, through the real use cases.

use admit_api::*;
use admit_core::role::{allowed, Action, Role};

use crate::both_backends;
use crate::fixture::{Fixture, PASSWORD};

both_backends!(role_action_matrix);

async fn attempt(
    f: &Fixture,
    s: &Session,
    action: Action,
    setup: &crate::fixture::Setup,
    n: usize,
) -> ApiResult<()> {
    let a = &f.admit;
    let now = f.now;
    let ev = setup.event.id.to_string();
    // Exhaustive on purpose: a new action does not compile until it is in this matrix.
    match action {
        Action::ManageUsers => a
            .create_user(
                s,
                &NewUserInput {
                    username: format!("new{n}"),
                    display_name: String::new(),
                    password: PASSWORD.into(),
                    role: "door".into(),
                },
                now,
            )
            .await
            .map(|_| ()),
        Action::ViewUsers => a.list_users(s).await.map(|_| ()),
        Action::ManageCategories => a
            .create_category(s, &format!("Concerts {n}"), None, now)
            .await
            .map(|_| ()),
        Action::ManageEvents => a
            .create_event(
                s,
                &EventInput {
                    name: "Matinee".into(),
                    venue: "Hall".into(),
                    starts_at: "2026-06-02T15:00:00Z".into(),
                    ends_at: "2026-06-02T17:00:00Z".into(),
                    time_zone: "UTC".into(),
                    ..Default::default()
                },
                now,
            )
            .await
            .map(|_| ()),
        Action::PublishEvent => {
            // Publishing an already published event is a conflict, not a permission matter.
            match a.publish_event(s, &ev, now).await {
                Err(ApiError::Conflict { .. }) => Ok(()),
                r => r.map(|_| ()),
            }
        }
        Action::CancelEvent => {
            // Cancel a throwaway draft so later cells still have a published event.
            let draft = a
                .create_event(
                    &f.owner,
                    &EventInput {
                        name: "Draft".into(),
                        venue: "Hall".into(),
                        starts_at: "2026-06-02T15:00:00Z".into(),
                        ends_at: "2026-06-02T17:00:00Z".into(),
                        time_zone: "UTC".into(),
                        ..Default::default()
                    },
                    now,
                )
                .await
                .unwrap();
            a.cancel_event(s, &draft.id.to_string(), now)
                .await
                .map(|_| ())
        }
        Action::ViewEvents => a.list_events(s).await.map(|_| ()),
        Action::ManageTicketTypes => a
            .create_ticket_type(
                s,
                &TicketTypeInput {
                    event_id: ev.clone(),
                    name: format!("Extra {n}"),
                    price_minor: 500,
                    currency: "EUR".into(),
                    ..Default::default()
                },
                now,
            )
            .await
            .map(|_| ()),
        Action::ManageQuotas => a
            .create_quota(
                s,
                &QuotaInput {
                    event_id: ev.clone(),
                    name: format!("Extra {n}"),
                    size: 1000,
                    ticket_type_ids: vec![setup.a.id.to_string()],
                },
                now,
            )
            .await
            .map(|_| ()),
        Action::ViewAvailability => a.availability(s, &ev).await.map(|_| ()),
        Action::Hold => a
            .hold(
                s,
                &HoldInput {
                    event_id: ev.clone(),
                    lines: setup.sale(&[(&setup.a, 1)]).lines,
                },
                now,
            )
            .await
            .map(|_| ()),
        Action::Sell => a
            .sell(s, &setup.sale(&[(&setup.b, 1)]), now)
            .await
            .map(|_| ()),
        Action::CancelOrder => {
            let o = a
                .sell(&f.owner, &setup.sale(&[(&setup.b, 1)]), now)
                .await
                .unwrap();
            a.cancel(
                s,
                &CancelInput {
                    order_id: o.order.id.to_string(),
                    ..Default::default()
                },
                now,
            )
            .await
            .map(|_| ())
        }
        Action::ViewOrders => a.search_orders(s, Some(&ev), "", 10).await.map(|_| ()),
        Action::ViewAudit => a.list_audit(s, 10).await.map(|_| ()),
        Action::ViewReports => a.dashboard(s, now).await.map(|_| ()),
        Action::ExportData => {
            let mut out = Vec::new();
            a.export_csv(
                s,
                &ExportInput {
                    event_id: ev.clone(),
                    kind: ExportKind::Orders,
                    spreadsheet: false,
                },
                &mut out,
                &mut |_, _| {},
            )
            .await
            .map(|_| ())
        }
        Action::ImportOrders => a
            .import_preview(
                s,
                &ImportInput {
                    event_id: ev.clone(),
                    csv: "ticket_type\nAdult\n".into(),
                    ..Default::default()
                },
                now,
            )
            .await
            .map(|_| ()),
        Action::ViewShiftReport => a
            .shift_report(
                s,
                &ShiftReportInput {
                    from: "2026-01-01T00:00:00Z".into(),
                    to: "2027-01-01T00:00:00Z".into(),
                    ..Default::default()
                },
            )
            .await
            .map(|_| ()),
        Action::ManageCheckinLists => a
            .create_checkin_list(
                s,
                &CheckinListInput {
                    event_id: ev.clone(),
                    name: format!("Gate {n}"),
                    ..Default::default()
                },
                now,
            )
            .await
            .map(|_| ()),
        Action::IssueTickets => {
            let o = a
                .sell(&f.owner, &setup.sale(&[(&setup.b, 1)]), now)
                .await
                .unwrap();
            a.ticket_secret(s, &o.tickets[0].id.to_string(), now)
                .await
                .map(|_| ())
        }
        Action::BlockTickets => {
            let o = a
                .sell(&f.owner, &setup.sale(&[(&setup.b, 1)]), now)
                .await
                .unwrap();
            a.set_ticket_blocked(s, &o.tickets[0].id.to_string(), true, "lost", now)
                .await
                .map(|_| ())
        }
        Action::ManageCoupons => a
            .create_coupon(
                s,
                &CouponInput {
                    event_id: ev.clone(),
                    code: format!("ROLE-{n}"),
                    kind: "percent".into(),
                    value: "10".into(),
                    ..Default::default()
                },
                now,
            )
            .await
            .map(|_| ()),
        Action::UseWaitlist => a.list_waitlist(s, &ev).await.map(|_| ()),
        Action::TakePayment => {
            let o = a
                .sell(
                    &f.owner,
                    &SaleInput {
                        pay_later: true,
                        payment_due: Some((now + chrono::Duration::days(2)).to_rfc3339()),
                        ..setup.sale(&[(&setup.b, 1)])
                    },
                    now,
                )
                .await
                .unwrap();
            a.pay_order(
                s,
                &PaymentInput {
                    order_id: o.order.id.to_string(),
                    payment_method: "cash".into(),
                    ..Default::default()
                },
                now,
            )
            .await
            .map(|_| ())
        }
        Action::Refund => {
            let o = a
                .sell(&f.owner, &setup.sale(&[(&setup.b, 1)]), now)
                .await
                .unwrap();
            a.refund(
                s,
                &RefundInput {
                    order_id: o.order.id.to_string(),
                    amount: Some("1.00".into()),
                    ..Default::default()
                },
                now,
            )
            .await
            .map(|_| ())
        }
        Action::RunShift => a.current_shift(s, now).await.map(|_| ()),
        Action::SendMail => {
            let o = a
                .sell(
                    &f.owner,
                    &SaleInput {
                        buyer_email: Some("buyer@example.org".into()),
                        ..setup.sale(&[(&setup.b, 1)])
                    },
                    now,
                )
                .await
                .unwrap();
            a.resend_confirmation(s, &o.order.id.to_string(), None, now)
                .await
                .map(|_| ())
        }
        Action::ConfigureMail => {
            let smtp = admit_api::mail::SmtpSettings::parse(&admit_api::mail::SmtpInput {
                host: "127.0.0.1".into(),
                port: Some(1),
                security: Some("none".into()),
                from_address: "box-office@example.org".into(),
                ..Default::default()
            })
            .unwrap();
            // Nothing listens on port 1: an allowed caller gets the mail server's refusal.
            match a.send_test_mail(s, &smtp, "someone@example.org").await {
                Err(ApiError::Forbidden { action }) => Err(ApiError::Forbidden { action }),
                _ => Ok(()),
            }
        }
        Action::ManageDevices => a
            .create_pairing_code(
                s,
                &PairingCodeInput {
                    name: format!("Till {n}"),
                    role: "box_office".into(),
                    expires_in_minutes: None,
                },
                now,
            )
            .await
            .map(|_| ()),
        Action::Redeem => {
            let list = setup_list(f, setup).await;
            a.redeem(
                s,
                &RedeemInput {
                    raw: "not a ticket".into(),
                    list_id: list,
                    nonce: format!("nonce-{n}"),
                    ..Default::default()
                },
                now,
            )
            .await
            .map(|_| ())
        }
    }
}

/// The event's first check-in list, made by the owner when a cell needs one.
async fn setup_list(f: &Fixture, setup: &crate::fixture::Setup) -> String {
    let ev = setup.event.id.to_string();
    match f
        .admit
        .list_checkin_lists(&f.owner, &ev)
        .await
        .unwrap()
        .first()
    {
        Some(l) => l.id.to_string(),
        None => f
            .admit
            .create_checkin_list(
                &f.owner,
                &CheckinListInput {
                    event_id: ev,
                    name: "Main".into(),
                    ..Default::default()
                },
                f.now,
            )
            .await
            .unwrap()
            .id
            .to_string(),
    }
}

async fn role_action_matrix(f: Fixture) {
    let setup = f.event(1000, 1000).await;
    let mut n = 0;
    let mut cells = 0;
    for role in Role::ALL {
        let s = if role == Role::Owner {
            f.owner.clone()
        } else {
            f.user(
                &format!("user-{}", role.as_str().replace('_', "-")),
                role.as_str(),
            )
            .await
        };
        for action in Action::ALL {
            n += 1;
            let before = f.snapshot().await;
            let r = attempt(&f, &s, action, &setup, n).await;
            if allowed(role, action) {
                assert!(r.is_ok(), "{role:?} should be allowed to {action:?}: {r:?}");
            } else {
                assert_eq!(
                    r,
                    Err(ApiError::Forbidden { action }),
                    "{role:?} must not {action:?}"
                );
                // The cells that set something up first (a sale to cancel, a draft to
                // cancel) wrote that as the owner; compare only when nothing was set up.
                if !matches!(
                    action,
                    Action::CancelOrder
                        | Action::CancelEvent
                        | Action::IssueTickets
                        | Action::BlockTickets
                        | Action::Redeem
                        | Action::TakePayment
                        | Action::Refund
                        | Action::SendMail
                ) {
                    assert_eq!(
                        before,
                        f.snapshot().await,
                        "a forbidden call wrote something"
                    );
                }
            }
            cells += 1;
        }
    }
    assert_eq!(cells, Role::ALL.len() * Action::ALL.len());
    // Spot checks of the policy itself, so the matrix is not just allowed() against allowed().
    assert!(!allowed(Role::Door, Action::Sell));
    assert!(!allowed(Role::Door, Action::ViewOrders));
    assert!(!allowed(Role::BoxOffice, Action::ManageEvents));
    assert!(!allowed(Role::Manager, Action::ManageUsers));
    assert!(!allowed(Role::Manager, Action::ManageDevices));
    assert!(allowed(Role::Owner, Action::ManageDevices));
    assert!(allowed(Role::BoxOffice, Action::Sell));
    assert!(allowed(Role::Door, Action::Redeem));
    assert!(!allowed(Role::Door, Action::IssueTickets));
    assert!(!allowed(Role::BoxOffice, Action::BlockTickets));
}
