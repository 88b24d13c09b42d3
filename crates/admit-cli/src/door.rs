//! Door commands: check-in lists, ticket secrets and QR images, scanning, door packages.

use chrono::Utc;
use clap::{Args, Subcommand};

use admit_api::*;

use crate::Ctx;

#[derive(Subcommand)]
pub enum ListsCmd {
    /// The check-in lists of an event.
    List {
        #[arg(long)]
        event: String,
    },
    /// A new check-in list (single entry unless --multi-entry).
    Create(ListArgs),
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(long)]
    event: String,
    #[arg(long)]
    name: String,
    /// Admitted ticket type (name or id); repeat. None: every type.
    #[arg(long = "type")]
    types: Vec<String>,
    #[arg(long)]
    admit_pending: bool,
    #[arg(long)]
    multi_entry: bool,
    /// Single-entry lists: may enter again after an exit.
    #[arg(long)]
    reentry: bool,
    /// RFC 3339; admission from this time (inclusive).
    #[arg(long)]
    opens: Option<String>,
    /// RFC 3339; admission until this time (exclusive).
    #[arg(long)]
    closes: Option<String>,
    #[arg(long)]
    max_entries: Option<i64>,
    #[arg(long)]
    max_entries_per_day: Option<i64>,
    /// A gate this list is used at; repeat. None: any gate.
    #[arg(long = "gate")]
    gates: Vec<String>,
}

#[derive(Subcommand)]
pub enum TicketCmd {
    /// Print a ticket's secret (issued on first use, the same ever after).
    Secret {
        ticket: String,
    },
    /// Write a ticket's QR code (.svg or .png) or, with --card, the printable ticket (.png or .svg page).
    Qr {
        ticket: String,
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long)]
        card: bool,
    },
    /// A new secret for a ticket; the old one is revoked at every door.
    Reissue {
        ticket: String,
    },
    /// Refuse a ticket at every door of its event.
    Block {
        ticket: String,
        #[arg(long)]
        reason: String,
    },
    Unblock {
        ticket: String,
    },
}

#[derive(Args)]
pub struct ScanArgs {
    /// The scanned text; `-` reads one line from standard input (a keyboard-wedge scanner).
    code: String,
    #[arg(long)]
    list: String,
    /// entry or exit
    #[arg(long, default_value = "entry")]
    direction: String,
    #[arg(long)]
    gate: Option<String>,
    /// Unique per scan; a repeat returns the first answer. Default: a fresh one.
    #[arg(long)]
    nonce: Option<String>,
    /// When the scan happened (RFC 3339), for uploads of offline scans. Default: now.
    #[arg(long)]
    at: Option<String>,
    /// Record the scan as taken effect whatever the verdict (flagged `forced`).
    #[arg(long)]
    force: bool,
}

#[derive(Subcommand)]
pub enum DoorCmd {
    /// Write what an offline door needs for an event (no ticket rows, no signing keys) as JSON.
    Export {
        #[arg(long)]
        event: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Load a door package written by `door export`.
    Import { file: std::path::PathBuf },
    /// Tickets admitted and inside now on a list.
    Counts {
        #[arg(long)]
        list: String,
    },
}

fn type_ids(
    types: &[admit_core::model::TicketType],
    wanted: &[String],
) -> Result<Vec<String>, ApiError> {
    wanted
        .iter()
        .enumerate()
        .map(|(i, w)| {
            types
                .iter()
                .find(|t| {
                    t.id.to_string() == w.trim() || t.name.as_str().eq_ignore_ascii_case(w.trim())
                })
                .map(|t| t.id.to_string())
                .ok_or_else(|| {
                    ApiError::invalid(format!("type[{i}]"), format!("no ticket type named {w:?}"))
                })
        })
        .collect()
}

pub async fn lists(ctx: &Ctx, cmd: ListsCmd) -> anyhow::Result<()> {
    let s = ctx.session().await?;
    match cmd {
        ListsCmd::List { event } => {
            let lists = ctx.admit.list_checkin_lists(&s, &event).await?;
            ctx.print(&lists, |v| {
                v.iter()
                    .map(|l| {
                        let mode = if l.allow_multi_entry {
                            "multi-entry"
                        } else {
                            "single entry"
                        };
                        format!("{}  {}  ({mode})", l.id, l.name)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        ListsCmd::Create(a) => {
            let types = ctx.admit.list_ticket_types(&s, &a.event).await?;
            let input = CheckinListInput {
                event_id: a.event,
                name: a.name,
                ticket_type_ids: type_ids(&types, &a.types)?,
                admit_pending: a.admit_pending,
                allow_multi_entry: a.multi_entry,
                allow_entry_after_exit: a.reentry,
                admission_opens: a.opens,
                admission_closes: a.closes,
                max_entries_total: a.max_entries,
                max_entries_per_day: a.max_entries_per_day,
                gates: a.gates,
            };
            let l = ctx
                .admit
                .create_checkin_list(&s, &input, Utc::now())
                .await?;
            ctx.print(&l, |l| {
                format!("check-in list {} created: {}", l.id, l.name)
            });
        }
    }
    Ok(())
}

pub async fn ticket(ctx: &Ctx, cmd: TicketCmd) -> anyhow::Result<()> {
    let s = ctx.session().await?;
    let now = Utc::now();
    match cmd {
        TicketCmd::Secret { ticket } => {
            let issued = ctx.admit.ticket_secret(&s, &ticket, now).await?;
            ctx.print(&issued, |i| i.secret.clone());
        }
        TicketCmd::Qr { ticket, out, card } => {
            let issued = ctx.admit.ticket_secret(&s, &ticket, now).await?;
            let ext = out
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            let bytes = match (card, ext.as_str()) {
                (false, "svg") => {
                    admit_qr::qr_svg(&issued.secret, admit_qr::SvgSize::Mm(40.0))?.into_bytes()
                }
                (false, "png") => admit_qr::qr_png(&issued.secret, 8)?,
                (true, e @ ("png" | "svg")) => {
                    let order = ctx.admit.get_order_of_ticket(&s, &ticket).await?;
                    let event = ctx
                        .admit
                        .get_event(&s, &order.order.event_id.to_string())
                        .await?;
                    let t = order
                        .tickets
                        .iter()
                        .find(|t| t.id == issued.ticket_id)
                        .expect("the ticket is in its order");
                    let types = ctx
                        .admit
                        .list_ticket_types(&s, &event.id.to_string())
                        .await?;
                    let type_name = types
                        .iter()
                        .find(|x| x.id == t.ticket_type_id)
                        .map(|x| x.name.as_str())
                        .unwrap_or("");
                    let card = admit_qr::TicketCard {
                        event_name: event.name.as_str(),
                        starts_at: event.starts_at,
                        time_zone: event.time_zone,
                        venue: event.venue.as_str(),
                        ticket_type: type_name,
                        attendee: t.attendee_name.as_ref().map(|n| n.as_str()),
                        order_code: order.order.code.as_str(),
                        secret: &issued.secret,
                    };
                    if e == "png" {
                        admit_qr::ticket_png(&card)?
                    } else {
                        admit_qr::ticket_page_svg(&card, admit_qr::PageSize::A6)?.into_bytes()
                    }
                }
                _ => return Err(ApiError::invalid("out", "must end in .svg or .png").into()),
            };
            std::fs::write(&out, &bytes)?;
            ctx.print(
                &serde_json::json!({ "file": out, "bytes": bytes.len(), "secret": issued.secret }),
                |_| format!("wrote {}", out.display()),
            );
        }
        TicketCmd::Reissue { ticket } => {
            let issued = ctx.admit.reissue_ticket_secret(&s, &ticket, now).await?;
            ctx.print(&issued, |i| i.secret.clone());
        }
        TicketCmd::Block { ticket, reason } => {
            ctx.admit
                .set_ticket_blocked(&s, &ticket, true, &reason, now)
                .await?;
            ctx.print(
                &serde_json::json!({ "ticket_id": ticket, "blocked": true }),
                |_| "blocked".into(),
            );
        }
        TicketCmd::Unblock { ticket } => {
            ctx.admit
                .set_ticket_blocked(&s, &ticket, false, "", now)
                .await?;
            ctx.print(
                &serde_json::json!({ "ticket_id": ticket, "blocked": false }),
                |_| "unblocked".into(),
            );
        }
    }
    Ok(())
}

pub async fn scan(ctx: &Ctx, a: ScanArgs) -> anyhow::Result<()> {
    let s = ctx.session().await?;
    let raw = if a.code == "-" {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        a.code
    };
    let input = RedeemInput {
        raw,
        list_id: a.list,
        direction: Some(a.direction),
        gate: a.gate,
        nonce: a.nonce.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        at: a.at,
        force: a.force,
    };
    let answer = ctx.admit.redeem(&s, &input, Utc::now()).await?;
    ctx.print(&answer, |r| {
        let mut out = r.verdict.as_str().to_uppercase();
        if !r.explanation.is_empty() {
            out.push_str(&format!(": {}", r.explanation));
        }
        if let Some(name) = &r.attendee_name {
            out.push_str(&format!("\n{name}"));
        }
        if let Some(t) = &r.ticket_type {
            out.push_str(&format!("\n{t}"));
        }
        if let Some(e) = &r.earlier_entry {
            out.push_str(&format!(
                "\nfirst entry {} at {}",
                e.at.format("%Y-%m-%d %H:%M:%S UTC"),
                e.gate.as_deref().unwrap_or("any gate")
            ));
        }
        if r.forced {
            out.push_str("\n(recorded as forced)");
        }
        out
    });
    Ok(())
}

pub async fn door(ctx: &Ctx, cmd: DoorCmd) -> anyhow::Result<()> {
    let s = ctx.session().await?;
    match cmd {
        DoorCmd::Export { event, out } => {
            let pkg = ctx.admit.export_door_package(&s, &event).await?;
            std::fs::write(&out, serde_json::to_vec_pretty(&pkg)?)?;
            ctx.print(&serde_json::json!({ "file": out, "lists": pkg.lists.len(), "keys": pkg.keys.len(), "revocations": pkg.revocations.len() }), |_| {
                format!("wrote {}", out.display())
            });
        }
        DoorCmd::Import { file } => {
            let bytes = std::fs::read(&file)?;
            let pkg: DoorPackage = serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::invalid("file", format!("is not a door package: {e}")))?;
            ctx.admit.import_door_package(&s, &pkg, Utc::now()).await?;
            ctx.print(
                &serde_json::json!({ "event_id": pkg.event.id, "lists": pkg.lists.len() }),
                |_| format!("imported the door package of {}", pkg.event.name),
            );
        }
        DoorCmd::Counts { list } => {
            let c = ctx.admit.checkin_counts(&s, &list).await?;
            ctx.print(&c, |c| {
                format!("admitted {}, inside {}", c.admitted, c.inside)
            });
        }
    }
    Ok(())
}
