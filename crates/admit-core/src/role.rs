//! Roles and the one table that says which role may do what.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Owner,
    Manager,
    BoxOffice,
    Door,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Manager, Role::BoxOffice, Role::Door];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::BoxOffice => "box_office",
            Role::Door => "door",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "owner" => Ok(Role::Owner),
            "manager" => Ok(Role::Manager),
            "box_office" | "boxoffice" | "box-office" => Ok(Role::BoxOffice),
            "door" => Ok(Role::Door),
            _ => Err(DomainError::invalid(
                field,
                "must be one of owner, manager, box_office, door",
            )),
        }
    }
}

/// Every user action that a role check guards. The use-case layer names one per function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Action {
    ManageUsers,
    ViewUsers,
    ManageCategories,
    ManageEvents,
    PublishEvent,
    CancelEvent,
    ViewEvents,
    ManageTicketTypes,
    ManageQuotas,
    ViewAvailability,
    Hold,
    Sell,
    CancelOrder,
    ViewOrders,
    ViewAudit,
    ManageCheckinLists,
    IssueTickets,
    BlockTickets,
    Redeem,
    /// Sales and door figures: the dashboard and reports.
    ViewReports,
    /// CSV exports of orders, attendees and scans (personal data leaves the app).
    ExportData,
    /// Orders and attendees brought in from another system's CSV.
    ImportOrders,
    /// End-of-shift reports: the box office sees its own, managers everyone's.
    ViewShiftReport,
    /// Create and change coupons.
    ManageCoupons,
    /// Put buyers on a sold-out type's waiting list, offer them units, take them off.
    UseWaitlist,
    /// Take the money for a pay-later order.
    TakePayment,
    /// Hand money back, in full or in part.
    Refund,
    /// Open and close one's own cash drawer shift.
    RunShift,
    /// E-mail an order's confirmation (again).
    SendMail,
    /// The outgoing mail server and other device settings.
    ConfigureMail,
    /// Pair devices with the server (pairing codes), list and revoke them.
    ManageDevices,
}

impl Action {
    pub const ALL: [Action; 31] = [
        Action::ManageUsers,
        Action::ViewUsers,
        Action::ManageCategories,
        Action::ManageEvents,
        Action::PublishEvent,
        Action::CancelEvent,
        Action::ViewEvents,
        Action::ManageTicketTypes,
        Action::ManageQuotas,
        Action::ViewAvailability,
        Action::Hold,
        Action::Sell,
        Action::CancelOrder,
        Action::ViewOrders,
        Action::ViewAudit,
        Action::ManageCheckinLists,
        Action::IssueTickets,
        Action::BlockTickets,
        Action::Redeem,
        Action::ViewReports,
        Action::ExportData,
        Action::ImportOrders,
        Action::ViewShiftReport,
        Action::ManageCoupons,
        Action::UseWaitlist,
        Action::TakePayment,
        Action::Refund,
        Action::RunShift,
        Action::SendMail,
        Action::ConfigureMail,
        Action::ManageDevices,
    ];
}

/// The policy. Owners do everything; managers run events but neither accounts nor devices (a
/// paired device acts with a role of its own, so pairing one is as weighty as making a user);
/// the box office sells, prints tickets and looks up orders; door staff scan and see events,
/// nothing else.
pub fn allowed(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Owner => true,
        Role::Manager => !matches!(action, ManageUsers | ManageDevices),
        Role::BoxOffice => matches!(
            action,
            ViewEvents
                | ViewAvailability
                | Hold
                | Sell
                | CancelOrder
                | ViewOrders
                | IssueTickets
                | Redeem
                | ViewShiftReport
                | UseWaitlist
                | TakePayment
                | Refund
                | RunShift
                | SendMail
        ),
        Role::Door => matches!(action, ViewEvents | Redeem),
    }
}
