//! `admit`: the command-line front end. Each command maps its arguments to one use case and
//! prints the result, as text or (with `--json`) as JSON for scripts. Errors print as
//! `{code, message}` and exit with status 1.

mod demo;
mod door;

use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use admit_api::*;

#[derive(Parser)]
#[command(name = "admit", version, about = "Admit box office and door control")]
struct Cli {
    /// SQLite file path or postgres:// URL. Default: the desktop's data file.
    #[arg(long, env = "ADMIT_DB", global = true)]
    db: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Log in as this user (commands that act on data).
    #[arg(long, env = "ADMIT_USER", global = true)]
    user: Option<String>,
    /// Password of --user; prefer the environment variable.
    #[arg(long, env = "ADMIT_PASSWORD", global = true, hide_env_values = true)]
    password: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open (creating if needed) the database and apply migrations.
    Migrate,
    /// Create the first owner account of a new database.
    Init(InitArgs),
    /// Fill the database with a realistic sample: a few events, thousands of orders.
    Demo(demo::DemoArgs),
    #[command(subcommand)]
    Users(UsersCmd),
    #[command(subcommand)]
    Events(EventsCmd),
    /// Live availability per ticket type and quota.
    Availability { event: String },
    /// Sell tickets at the box office.
    Sell(SellArgs),
    /// Cancel a whole order, or single tickets with --ticket.
    Cancel(CancelArgs),
    #[command(subcommand)]
    Orders(OrdersCmd),
    /// Check-in lists.
    #[command(subcommand)]
    Lists(door::ListsCmd),
    /// A ticket's secret, QR code and printable card; reissue, block.
    #[command(subcommand)]
    Ticket(door::TicketCmd),
    /// Scan a ticket at a door.
    Scan(Box<door::ScanArgs>),
    /// Offline door packages and check-in counts.
    #[command(subcommand)]
    Door(door::DoorCmd),
}

#[derive(Args)]
struct InitArgs {
    #[arg(long)]
    username: String,
    #[arg(long, default_value = "")]
    display_name: String,
}

#[derive(Subcommand)]
enum UsersCmd {
    List,
    Create {
        #[arg(long)]
        username: String,
        /// owner, manager, box_office or door
        #[arg(long)]
        role: String,
        /// Password of the new user.
        #[arg(long, env = "ADMIT_NEW_PASSWORD", hide_env_values = true)]
        new_password: String,
        #[arg(long, default_value = "")]
        display_name: String,
    },
}

#[derive(Subcommand)]
enum EventsCmd {
    List,
    /// Create an event with its ticket types and quotas in one go.
    Create(Box<CreateEventArgs>),
    Publish {
        id: String,
    },
    Cancel {
        id: String,
    },
}

#[derive(Args)]
struct CreateEventArgs {
    #[arg(long)]
    name: String,
    #[arg(long)]
    venue: String,
    /// RFC 3339, e.g. 2026-06-01T19:30:00+02:00
    #[arg(long)]
    starts: String,
    #[arg(long)]
    ends: String,
    /// IANA time zone
    #[arg(long, default_value = "UTC")]
    tz: String,
    #[arg(long, default_value = "")]
    description: String,
    #[arg(long, default_value = "EUR")]
    currency: String,
    /// A ticket type as NAME=PRICE, e.g. "Standing=25.00"; repeat for more.
    #[arg(long = "type", value_name = "NAME=PRICE")]
    types: Vec<String>,
    /// A quota as NAME=SIZE:TYPE,TYPE, e.g. "Balcony=80:Seated"; repeat for more.
    #[arg(long = "quota", value_name = "NAME=SIZE:TYPES")]
    quotas: Vec<String>,
    /// Event capacity: a quota over all ticket types.
    #[arg(long, allow_negative_numbers = true)]
    capacity: Option<i64>,
    /// Put it on sale right away.
    #[arg(long)]
    publish: bool,
}

#[derive(Args)]
struct SellArgs {
    #[arg(long)]
    event: String,
    /// TYPE=QUANTITY where TYPE is a ticket type's name or id; repeat for more.
    #[arg(long = "line", value_name = "TYPE=QTY", required = true)]
    lines: Vec<String>,
    /// cash, card or comp
    #[arg(long, default_value = "cash")]
    payment: String,
    /// Card: the card terminal approved the payment (required for card).
    #[arg(long)]
    card_approved: bool,
    /// Card: the terminal's reference. Comp: why the tickets are free (required for comp).
    #[arg(long)]
    note: Option<String>,
    #[arg(long)]
    buyer_name: Option<String>,
    #[arg(long)]
    buyer_email: Option<String>,
    /// Attendee names in ticket order; repeat.
    #[arg(long = "attendee")]
    attendees: Vec<String>,
}

#[derive(Args)]
struct CancelArgs {
    /// Order code or id.
    order: String,
    #[arg(long = "ticket")]
    tickets: Vec<String>,
    #[arg(long)]
    refund: bool,
}

#[derive(Subcommand)]
enum OrdersCmd {
    List {
        #[arg(long)]
        event: Option<String>,
        #[arg(long, default_value = "")]
        search: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One order with its tickets, by code or id.
    Show { order: String },
}

/// The default database: beside the desktop app's data.
fn default_db() -> String {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/share"))
        })
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    base.join("admit")
        .join("admit.db")
        .to_string_lossy()
        .into_owned()
}

struct Ctx {
    admit: Admit,
    json: bool,
    user: Option<String>,
    password: Option<String>,
}

impl Ctx {
    async fn session(&self) -> Result<Session, ApiError> {
        let (Some(u), Some(p)) = (&self.user, &self.password) else {
            return Err(ApiError::Unauthenticated);
        };
        self.admit.login(u, p, None, Utc::now()).await
    }

    fn print<T: Serialize>(&self, value: &T, text: impl FnOnce(&T) -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).expect("serialisable")
            );
        } else {
            println!("{}", text(value));
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("ADMIT_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let json = cli.json;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let body = match e.downcast_ref::<ApiError>() {
                Some(api) => api.to_json(),
                None => ErrorBody {
                    code: "internal",
                    message: format!("{e:#}"),
                    field: None,
                },
            };
            if json {
                println!("{}", serde_json::to_string(&body).expect("serialisable"));
            } else {
                eprintln!("error ({}): {}", body.code, body.message);
            }
            ExitCode::FAILURE
        }
    }
}

/// A command line clap cannot parse. With `--json` it is reported like every other error
/// (`invalid_input` naming the option, status 1) so scripts see one shape; otherwise clap
/// prints its usage message. Help and version requests are not errors.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let json_wanted = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    if !json_wanted
        || matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        )
    {
        e.exit();
    }
    // "--capacity <CAPACITY>" names the field "capacity".
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => Some(arg.as_str()),
        Some(ContextValue::Strings(args)) => args.first().map(String::as_str),
        _ => None,
    };
    let field = arg.and_then(|a| a.split_whitespace().next()).map(|a| {
        a.trim_start_matches('-')
            .trim_start_matches('<')
            .trim_end_matches(['>', '.'])
            .to_ascii_lowercase()
            .replace('-', "_")
    });
    let rendered = e.to_string();
    let message = rendered
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string();
    let body = ErrorBody {
        code: "invalid_input",
        message,
        field,
    };
    println!("{}", serde_json::to_string(&body).expect("serialisable"));
    ExitCode::FAILURE
}

fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// The database location for output, without a password.
fn shown_location(location: &str) -> String {
    if !is_postgres(location) {
        return location.to_string();
    }
    let scheme_end = location.find("://").map_or(0, |i| i + 3);
    let rest = &location[scheme_end..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &location[..scheme_end],
            &authority[..colon],
            &location[scheme_end + at..]
        ),
        _ => location.to_string(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let location = cli.db.clone().unwrap_or_else(default_db);
    if !is_postgres(&location) {
        let path = location.strip_prefix("sqlite://").unwrap_or(&location);
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
        }
    }
    let store = admit_store::open(&location).await.map_err(ApiError::from)?;
    let ctx = Ctx {
        admit: Admit::new(store),
        json: cli.json,
        user: cli.user,
        password: cli.password,
    };
    let now = Utc::now();
    match cli.command {
        Command::Migrate => {
            let backend = ctx.admit.store().backend();
            let versions = admit_store::migration_versions(backend);
            let shown = shown_location(&location);
            ctx.print(&serde_json::json!({ "database": shown, "backend": backend, "migrations": versions }), |_| {
                format!("{shown} is up to date ({} migrations)", versions.len())
            });
        }
        Command::Init(a) => {
            let password = ctx
                .password
                .clone()
                .ok_or_else(|| ApiError::invalid("password", "set ADMIT_PASSWORD or --password"))?;
            let s = ctx
                .admit
                .create_first_owner(
                    &NewUserInput {
                        username: a.username,
                        display_name: a.display_name,
                        password,
                        role: String::new(),
                    },
                    None,
                    now,
                )
                .await?;
            ctx.print(&s.user, |u| format!("owner {} created", u.username));
        }
        Command::Demo(args) => demo::run(&ctx.admit, &args, ctx.json).await?,
        Command::Users(cmd) => {
            let s = ctx.session().await?;
            match cmd {
                UsersCmd::List => {
                    let users = ctx.admit.list_users(&s).await?;
                    ctx.print(&users, |v| {
                        v.iter()
                            .map(|u| {
                                format!("{}  {}  {}", u.username, u.role.as_str(), u.display_name)
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    });
                }
                UsersCmd::Create {
                    username,
                    role,
                    new_password,
                    display_name,
                } => {
                    let u = ctx
                        .admit
                        .create_user(
                            &s,
                            &NewUserInput {
                                username,
                                display_name,
                                password: new_password,
                                role,
                            },
                            now,
                        )
                        .await?;
                    ctx.print(&u, |u| {
                        format!("user {} ({}) created", u.username, u.role.as_str())
                    });
                }
            }
        }
        Command::Events(cmd) => {
            let s = ctx.session().await?;
            match cmd {
                EventsCmd::List => {
                    let events = ctx.admit.list_events(&s).await?;
                    ctx.print(&events, |v| {
                        v.iter()
                            .map(|e| {
                                format!(
                                    "{}  {}  {}  {}",
                                    e.id,
                                    e.starts_at.format("%Y-%m-%d %H:%M UTC"),
                                    e.status,
                                    e.name
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    });
                }
                EventsCmd::Create(a) => {
                    let created = create_event(&ctx.admit, &s, *a, now).await?;
                    ctx.print(&created, |v| {
                        format!("event {} created: {}", v.event.id, v.event.name)
                    });
                }
                EventsCmd::Publish { id } => {
                    let e = ctx.admit.publish_event(&s, &id, now).await?;
                    ctx.print(&e, |e| format!("{} is {}", e.name, e.status));
                }
                EventsCmd::Cancel { id } => {
                    let e = ctx.admit.cancel_event(&s, &id, now).await?;
                    ctx.print(&e, |e| format!("{} is {}", e.name, e.status));
                }
            }
        }
        Command::Availability { event } => {
            let s = ctx.session().await?;
            let av = ctx.admit.availability(&s, &event).await?;
            ctx.print(&av, |av| {
                av.ticket_types
                    .iter()
                    .map(|t| {
                        let left = t
                            .available
                            .map(|n| n.to_string())
                            .unwrap_or_else(|| "unlimited".into());
                        format!(
                            "{:<24} {:>10}  {} left",
                            t.ticket_type.name.as_str(),
                            t.ticket_type.price.to_string(),
                            left
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Sell(a) => {
            let s = ctx.session().await?;
            // The role decides before the input does: a door account gets `forbidden`.
            s.require(admit_core::role::Action::Sell)?;
            let types = ctx.admit.list_ticket_types(&s, &a.event).await?;
            if types.is_empty() {
                // An unknown event lists no types; say so rather than "no type named …".
                ctx.admit.get_event(&s, &a.event).await?;
            }
            let attendee_count = a.attendees.len();
            let mut attendees = a.attendees.into_iter();
            let mut lines = Vec::new();
            for (i, l) in a.lines.iter().enumerate() {
                let (name, qty) = l.rsplit_once('=').ok_or_else(|| {
                    ApiError::invalid(format!("line[{i}]"), "must look like TYPE=QUANTITY")
                })?;
                let qty: i64 = qty.trim().parse().map_err(|_| {
                    ApiError::invalid(format!("line[{i}]"), "quantity must be a whole number")
                })?;
                let id = types
                    .iter()
                    .find(|t| {
                        t.id.to_string() == name.trim()
                            || t.name.as_str().eq_ignore_ascii_case(name.trim())
                    })
                    .map(|t| t.id.to_string())
                    .ok_or_else(|| {
                        ApiError::invalid(
                            format!("line[{i}]"),
                            format!("no ticket type named {name:?}"),
                        )
                    })?;
                let names = attendees
                    .by_ref()
                    .take(qty.clamp(0, 500) as usize)
                    .collect();
                lines.push(LineInput {
                    ticket_type_id: id,
                    quantity: qty,
                    attendee_names: names,
                });
            }
            let tickets: i64 = lines.iter().map(|l| l.quantity.max(0)).sum();
            if attendee_count as i64 > tickets {
                return Err(ApiError::invalid(
                    "attendee",
                    format!("{attendee_count} names given for {tickets} tickets"),
                )
                .into());
            }
            let o = ctx
                .admit
                .sell(
                    &s,
                    &SaleInput {
                        event_id: a.event,
                        lines,
                        buyer_name: a.buyer_name,
                        buyer_email: a.buyer_email,
                        channel: None,
                        payment_method: a.payment,
                        card_confirmed: a.card_approved,
                        payment_note: a.note,
                        ..Default::default()
                    },
                    now,
                )
                .await?;
            ctx.print(&o, |o| {
                format!(
                    "order {}: {} tickets, {}",
                    o.order.code,
                    o.tickets.len(),
                    o.order.total
                )
            });
        }
        Command::Cancel(a) => {
            let s = ctx.session().await?;
            let order = find_order(&ctx.admit, &s, &a.order).await?;
            let o = ctx
                .admit
                .cancel(
                    &s,
                    &CancelInput {
                        order_id: order.order.id.to_string(),
                        ticket_ids: a.tickets,
                        refund: a.refund,
                    },
                    now,
                )
                .await?;
            ctx.print(&o, |o| {
                format!(
                    "order {} is {}, total now {}",
                    o.order.code, o.order.status, o.order.total
                )
            });
        }
        Command::Lists(cmd) => door::lists(&ctx, cmd).await?,
        Command::Ticket(cmd) => door::ticket(&ctx, cmd).await?,
        Command::Scan(a) => door::scan(&ctx, *a).await?,
        Command::Door(cmd) => door::door(&ctx, cmd).await?,
        Command::Orders(cmd) => {
            let s = ctx.session().await?;
            match cmd {
                OrdersCmd::List {
                    event,
                    search,
                    limit,
                } => {
                    let orders = ctx
                        .admit
                        .search_orders(&s, event.as_deref(), &search, limit)
                        .await?;
                    ctx.print(&orders, |v| {
                        v.iter()
                            .map(|o| {
                                format!(
                                    "{}  {}  {:<9} {:>12}  {}",
                                    o.code,
                                    o.meta.created_at.format("%Y-%m-%d %H:%M"),
                                    o.status.as_str(),
                                    o.total.to_string(),
                                    o.buyer_name
                                        .as_ref()
                                        .map(|n| n.as_str())
                                        .unwrap_or("walk-in")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    });
                }
                OrdersCmd::Show { order } => {
                    let o = find_order(&ctx.admit, &s, &order).await?;
                    ctx.print(&o, |o| {
                        let mut out = format!(
                            "order {}  {}  {}\n",
                            o.order.code, o.order.status, o.order.total
                        );
                        for t in &o.tickets {
                            out.push_str(&format!(
                                "  {}  {}  {}  {}\n",
                                t.id,
                                t.status,
                                t.price,
                                t.attendee_name.as_ref().map(|n| n.as_str()).unwrap_or("")
                            ));
                        }
                        out.trim_end().to_string()
                    });
                }
            }
        }
    }
    Ok(())
}

async fn find_order(
    admit: &Admit,
    s: &Session,
    key: &str,
) -> Result<admit_core::model::OrderWithTickets, ApiError> {
    if key.trim().len() > 12 {
        admit.get_order(s, key).await
    } else {
        admit.get_order_by_code(s, key).await
    }
}

#[derive(Serialize)]
struct CreatedEvent {
    event: admit_core::model::Event,
    ticket_types: Vec<admit_core::model::TicketType>,
    quotas: Vec<admit_core::model::Quota>,
}

async fn create_event(
    admit: &Admit,
    s: &Session,
    a: CreateEventArgs,
    now: chrono::DateTime<Utc>,
) -> Result<CreatedEvent, ApiError> {
    let currency = admit_core::Currency::parse("currency", &a.currency)?;
    // Parse every spec before writing anything, so a typo leaves no half-made event.
    let mut type_specs = Vec::new();
    for (i, t) in a.types.iter().enumerate() {
        let field = format!("type[{i}]");
        let (name, price) = t
            .rsplit_once('=')
            .ok_or_else(|| ApiError::invalid(&field, "must look like NAME=PRICE"))?;
        let price = admit_core::Money::parse_decimal(&field, price, currency)?;
        admit_core::text::Name::parse(&field, name)?;
        // Types are found by name (quotas here, `sell --line`), so names must differ.
        if type_specs
            .iter()
            .any(|(n, _): &(String, i64)| n.eq_ignore_ascii_case(name.trim()))
        {
            return Err(ApiError::invalid(
                &field,
                format!("a type named {:?} is given already", name.trim()),
            ));
        }
        type_specs.push((name.trim().to_string(), price.minor));
    }
    if type_specs.is_empty() {
        return Err(ApiError::invalid(
            "type",
            "give at least one --type NAME=PRICE",
        ));
    }
    if let Some(cap) = a.capacity {
        if !(0..=10_000_000).contains(&cap) {
            return Err(ApiError::invalid(
                "capacity",
                "must be between 0 and 10000000",
            ));
        }
    }
    let mut quota_specs = Vec::new();
    for (i, q) in a.quotas.iter().enumerate() {
        let field = format!("quota[{i}]");
        let bad = || ApiError::invalid(&field, "must look like NAME=SIZE:TYPE,TYPE");
        let (name, rest) = q.split_once('=').ok_or_else(bad)?;
        let (size, types) = rest.split_once(':').ok_or_else(bad)?;
        let size: i64 = size.trim().parse().map_err(|_| bad())?;
        admit_core::text::Name::parse(&field, name)?;
        if !(0..=10_000_000).contains(&size) {
            return Err(ApiError::invalid(
                &field,
                "size must be between 0 and 10000000",
            ));
        }
        let types: Vec<String> = types.split(',').map(|t| t.trim().to_string()).collect();
        for t in &types {
            if !type_specs.iter().any(|(n, _)| n.eq_ignore_ascii_case(t)) {
                return Err(ApiError::invalid(&field, format!("no --type named {t:?}")));
            }
        }
        quota_specs.push((name.trim().to_string(), size, types));
    }
    let event = admit
        .create_event(
            s,
            &EventInput {
                name: a.name,
                description: a.description,
                venue: a.venue,
                starts_at: a.starts,
                ends_at: a.ends,
                time_zone: a.tz,
                category_id: None,
            },
            now,
        )
        .await?;
    let mut ticket_types = Vec::new();
    for (i, (name, price_minor)) in type_specs.into_iter().enumerate() {
        ticket_types.push(
            admit
                .create_ticket_type(
                    s,
                    &TicketTypeInput {
                        event_id: event.id.to_string(),
                        name,
                        price_minor,
                        currency: currency.code().to_string(),
                        sort_order: Some(i as i64),
                        ..Default::default()
                    },
                    now,
                )
                .await?,
        );
    }
    let id_of = |n: &str| {
        ticket_types
            .iter()
            .find(|t| t.name.as_str().eq_ignore_ascii_case(n))
            .map(|t| t.id.to_string())
            .unwrap_or_default()
    };
    let mut quotas = Vec::new();
    if let Some(cap) = a.capacity {
        quotas.push(
            admit
                .create_quota(
                    s,
                    &QuotaInput {
                        event_id: event.id.to_string(),
                        name: "Capacity".into(),
                        size: cap,
                        ticket_type_ids: ticket_types.iter().map(|t| t.id.to_string()).collect(),
                    },
                    now,
                )
                .await?,
        );
    }
    for (name, size, types) in quota_specs {
        let ids = types.iter().map(|t| id_of(t)).collect();
        quotas.push(
            admit
                .create_quota(
                    s,
                    &QuotaInput {
                        event_id: event.id.to_string(),
                        name,
                        size,
                        ticket_type_ids: ids,
                    },
                    now,
                )
                .await?,
        );
    }
    let event = if a.publish {
        admit.publish_event(s, &event.id.to_string(), now).await?
    } else {
        event
    };
    Ok(CreatedEvent {
        event,
        ticket_types,
        quotas,
    })
}
