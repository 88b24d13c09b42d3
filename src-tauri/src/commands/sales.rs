//! Holds, sales, tickets to print, order look-up and cancellation.

use std::collections::BTreeMap;

use chrono::Utc;
use tauri::State;

use admit_api::{Admit, CancelInput, HoldInput, SaleInput, Session};
use admit_core::model::{Hold, Order, OrderStatus, OrderWithTickets, TicketStatus};

use crate::state::{api, fail, CmdResult, Desktop};
use crate::views::{OrderView, SoldOrder, TicketCard};

#[tauri::command]
pub async fn hold(desktop: State<'_, Desktop>, input: HoldInput) -> CmdResult<Hold> {
    let (admit, s) = desktop.staff()?;
    admit.hold(&s, &input, Utc::now()).await.map_err(api)
}

#[tauri::command]
pub async fn release_hold(desktop: State<'_, Desktop>, hold_id: String) -> CmdResult<()> {
    let (admit, s) = desktop.staff()?;
    admit
        .release_hold(&s, &hold_id, Utc::now())
        .await
        .map_err(api)
}

/// Sell, then hand back the tickets ready to show and print (none yet for a pay-later order).
#[tauri::command]
pub async fn sell(desktop: State<'_, Desktop>, input: SaleInput) -> CmdResult<SoldOrder> {
    let (admit, s) = desktop.staff()?;
    let order = admit.sell(&s, &input, Utc::now()).await.map_err(api)?;
    sold(&admit, &s, order).await
}

/// An order with its printable tickets; an unpaid order's tickets have no QR code yet.
pub(crate) async fn sold(
    admit: &Admit,
    s: &Session,
    order: OrderWithTickets,
) -> CmdResult<SoldOrder> {
    let cards = if order.order.status == OrderStatus::Pending {
        Vec::new()
    } else {
        cards(admit, s, &order).await?
    };
    Ok(SoldOrder { order, cards })
}

/// The valid tickets of an order, to print again.
#[tauri::command]
pub async fn ticket_cards(
    desktop: State<'_, Desktop>,
    order_id: String,
) -> CmdResult<Vec<TicketCard>> {
    let (admit, s) = desktop.staff()?;
    let order = admit.get_order(&s, &order_id).await.map_err(api)?;
    cards(&admit, &s, &order).await
}

async fn cards(admit: &Admit, s: &Session, o: &OrderWithTickets) -> CmdResult<Vec<TicketCard>> {
    let now = Utc::now();
    let event = admit
        .get_event(s, &o.order.event_id.to_string())
        .await
        .map_err(api)?;
    let types = admit
        .list_ticket_types(s, &event.id.to_string())
        .await
        .map_err(api)?;
    let mut out = Vec::with_capacity(o.tickets.len());
    for t in o.tickets.iter().filter(|t| t.status == TicketStatus::Valid) {
        let issued = admit
            .ticket_secret(s, &t.id.to_string(), now)
            .await
            .map_err(api)?;
        let qr_svg = admit_qr::qr_svg(&issued.secret, admit_qr::SvgSize::Fluid)
            .map_err(|e| fail("internal", format!("QR code: {e}")))?;
        let type_name = types
            .iter()
            .find(|tt| tt.id == t.ticket_type_id)
            .map(|tt| tt.name.as_str().to_string())
            .unwrap_or_default();
        let card = admit_qr::TicketCard {
            event_name: event.name.as_str(),
            starts_at: event.starts_at,
            time_zone: event.time_zone,
            venue: event.venue.as_str(),
            ticket_type: &type_name,
            attendee: t.attendee_name.as_ref().map(|n| n.as_str()),
            order_code: o.order.code.as_str(),
            secret: &issued.secret,
        };
        out.push(TicketCard {
            ticket_id: t.id.to_string(),
            event_name: event.name.as_str().to_string(),
            venue: event.venue.as_str().to_string(),
            starts_local: card.date_line(),
            ticket_type: type_name.clone(),
            attendee_name: t.attendee_name.as_ref().map(|n| n.as_str().to_string()),
            order_code: o.order.code.as_str().to_string(),
            price: t.price,
            qr_svg,
            secret: issued.secret,
        });
    }
    Ok(out)
}

/// As-you-type search by order code, buyer name or e-mail; blank lists the latest orders.
#[tauri::command]
pub async fn search_orders(
    desktop: State<'_, Desktop>,
    query: String,
    event_id: Option<String>,
) -> CmdResult<Vec<Order>> {
    let (admit, s) = desktop.staff()?;
    admit
        .search_orders(&s, event_id.as_deref(), &query, 50)
        .await
        .map_err(api)
}

#[tauri::command]
pub async fn get_order(desktop: State<'_, Desktop>, order_id: String) -> CmdResult<OrderView> {
    let (admit, s) = desktop.staff()?;
    let order = admit.get_order(&s, &order_id).await.map_err(api)?;
    let event_id = order.order.event_id.to_string();
    let event = admit.get_event(&s, &event_id).await.map_err(api)?;
    let types = admit.list_ticket_types(&s, &event_id).await.map_err(api)?;
    let type_names: BTreeMap<String, String> = types
        .into_iter()
        .filter(|t| order.tickets.iter().any(|x| x.ticket_type_id == t.id))
        .map(|t| (t.id.to_string(), t.name.as_str().to_string()))
        .collect();
    Ok(OrderView {
        order,
        type_names,
        event_name: event.name.as_str().to_string(),
        time_zone: event.time_zone,
    })
}

#[tauri::command]
pub async fn cancel_tickets(
    desktop: State<'_, Desktop>,
    input: CancelInput,
) -> CmdResult<OrderWithTickets> {
    let (admit, s) = desktop.staff()?;
    admit.cancel(&s, &input, Utc::now()).await.map_err(api)
}
