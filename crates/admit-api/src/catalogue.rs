//! Events, categories, ticket types and quotas.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use admit_core::model::*;
use admit_core::money::{Currency, Money};
use admit_core::role::Action;
use admit_core::stock;
use admit_core::text::{Description, Name};
use admit_core::time::{ensure_ordered, parse_timestamp, TimeZone};
use admit_core::*;

use crate::{optional, Admit, ApiError, ApiResult, Session};

/// Most units one quota may hold: a stadium, with room to spare.
pub const MAX_QUOTA_SIZE: i64 = 10_000_000;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub venue: String,
    /// RFC 3339, e.g. 2026-05-01T19:30:00+02:00
    pub starts_at: String,
    pub ends_at: String,
    /// IANA zone, e.g. Europe/Berlin
    pub time_zone: String,
    #[serde(default)]
    pub category_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketTypeInput {
    pub event_id: String,
    pub name: String,
    /// Integer minor units (cents): 1250 is 12.50 EUR.
    pub price_minor: i64,
    pub currency: String,
    #[serde(default)]
    pub sales_start: Option<String>,
    #[serde(default)]
    pub sales_end: Option<String>,
    #[serde(default)]
    pub min_per_order: Option<i64>,
    #[serde(default)]
    pub max_per_order: Option<i64>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub sort_order: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaInput {
    pub event_id: String,
    pub name: String,
    pub size: i64,
    pub ticket_type_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketTypeAvailability {
    pub ticket_type: TicketType,
    /// None: no quota covers the type, so it is not limited.
    pub available: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventAvailability {
    pub event: Event,
    pub ticket_types: Vec<TicketTypeAvailability>,
    pub quotas: Vec<QuotaUsage>,
}

struct ParsedEvent {
    name: Name,
    description: Description,
    venue: Name,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    time_zone: TimeZone,
    category_id: Option<CategoryId>,
}

fn parse_event(input: &EventInput) -> ApiResult<ParsedEvent> {
    let starts_at = parse_timestamp("starts_at", &input.starts_at)?;
    let ends_at = parse_timestamp("ends_at", &input.ends_at)?;
    ensure_ordered("ends_at", starts_at, ends_at)?;
    Ok(ParsedEvent {
        name: Name::parse("name", &input.name)?,
        description: Description::parse("description", &input.description)?,
        venue: Name::parse("venue", &input.venue)?,
        starts_at,
        ends_at,
        time_zone: TimeZone::parse("time_zone", &input.time_zone)?,
        category_id: optional(&input.category_id, |s| CategoryId::parse("category_id", s))?,
    })
}

fn bounded(field: &str, v: i64, min: i64, max: i64) -> ApiResult<u32> {
    if v < min || v > max {
        return Err(ApiError::invalid(
            field,
            format!("must be between {min} and {max}"),
        ));
    }
    Ok(v as u32)
}

impl Admit {
    pub async fn create_category(
        &self,
        s: &Session,
        name: &str,
        parent_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> ApiResult<Category> {
        s.require(Action::ManageCategories)?;
        let name = Name::parse("name", name)?;
        let parent_id = optional(&parent_id.map(str::to_string), |p| {
            CategoryId::parse("parent_id", p)
        })?;
        if let Some(p) = parent_id {
            if !self
                .store
                .list_categories()
                .await?
                .iter()
                .any(|c| c.id == p)
            {
                return Err(ApiError::invalid("parent_id", "is not a category"));
            }
        }
        let c = Category {
            id: CategoryId::new(now),
            parent_id,
            name,
            meta: Meta::new(now),
        };
        let change = s
            .change(
                now,
                "category.create",
                "category",
                c.id.0,
                json!({ "name": c.name.as_str() }),
            )
            .sync(now, "category", c.id.0, 1, &c);
        self.store.create_category(&c, &change).await?;
        Ok(c)
    }

    pub async fn list_categories(&self, s: &Session) -> ApiResult<Vec<Category>> {
        s.require(Action::ViewEvents)?;
        Ok(self.store.list_categories().await?)
    }

    async fn check_category(&self, id: Option<CategoryId>) -> ApiResult<()> {
        if let Some(id) = id {
            if !self
                .store
                .list_categories()
                .await?
                .iter()
                .any(|c| c.id == id)
            {
                return Err(ApiError::invalid("category_id", "is not a category"));
            }
        }
        Ok(())
    }

    /// A new event starts as a draft.
    pub async fn create_event(
        &self,
        s: &Session,
        input: &EventInput,
        now: DateTime<Utc>,
    ) -> ApiResult<Event> {
        s.require(Action::ManageEvents)?;
        let p = parse_event(input)?;
        self.check_category(p.category_id).await?;
        let e = Event {
            id: EventId::new(now),
            name: p.name,
            description: p.description,
            venue: p.venue,
            starts_at: p.starts_at,
            ends_at: p.ends_at,
            time_zone: p.time_zone,
            status: EventStatus::Draft,
            category_id: p.category_id,
            meta: Meta::new(now),
        };
        let change = s
            .change(
                now,
                "event.create",
                "event",
                e.id.0,
                json!({ "name": e.name.as_str() }),
            )
            .sync(now, "event", e.id.0, 1, &e);
        self.store.create_event(&e, &change).await?;
        Ok(e)
    }

    pub async fn update_event(
        &self,
        s: &Session,
        id: &str,
        expected_version: i64,
        input: &EventInput,
        now: DateTime<Utc>,
    ) -> ApiResult<Event> {
        s.require(Action::ManageEvents)?;
        let id = EventId::parse("id", id)?;
        let p = parse_event(input)?;
        self.check_category(p.category_id).await?;
        let current = self.store.get_event(id).await?;
        let e = Event {
            name: p.name,
            description: p.description,
            venue: p.venue,
            starts_at: p.starts_at,
            ends_at: p.ends_at,
            time_zone: p.time_zone,
            category_id: p.category_id,
            meta: current.meta.touched(now),
            ..current
        };
        self.save_event(s, e, expected_version, "event.update", now)
            .await
    }

    async fn save_event(
        &self,
        s: &Session,
        e: Event,
        expected_version: i64,
        action: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<Event> {
        let change = s
            .change(now, action, "event", e.id.0, json!({ "status": e.status }))
            .sync(now, "event", e.id.0, e.meta.version, &e);
        self.store
            .update_event(&e, expected_version, &change)
            .await?;
        self.forget_catalogue();
        Ok(e)
    }

    async fn set_status(
        &self,
        s: &Session,
        id: &str,
        to: EventStatus,
        action: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<Event> {
        let id = EventId::parse("id", id)?;
        let current = self.store.get_event(id).await?;
        use EventStatus::*;
        let ok = matches!(
            (current.status, to),
            (Draft, Published)
                | (Draft, Cancelled)
                | (Published, Cancelled)
                | (Published, Archived)
                | (Cancelled, Archived)
        );
        if !ok {
            return Err(ApiError::Conflict {
                message: format!("an event that is {} cannot become {}", current.status, to),
            });
        }
        let expected = current.meta.version;
        let e = Event {
            status: to,
            meta: current.meta.touched(now),
            ..current
        };
        self.save_event(s, e, expected, action, now).await
    }

    /// Put a draft on sale. It needs at least one active ticket type.
    pub async fn publish_event(
        &self,
        s: &Session,
        id: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<Event> {
        s.require(Action::PublishEvent)?;
        let eid = EventId::parse("id", id)?;
        if !self
            .store
            .list_ticket_types(eid)
            .await?
            .iter()
            .any(|t| t.active)
        {
            return Err(ApiError::Conflict {
                message: "add an active ticket type before publishing".into(),
            });
        }
        self.set_status(s, id, EventStatus::Published, "event.publish", now)
            .await
    }

    pub async fn cancel_event(
        &self,
        s: &Session,
        id: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<Event> {
        s.require(Action::CancelEvent)?;
        self.set_status(s, id, EventStatus::Cancelled, "event.cancel", now)
            .await
    }

    pub async fn archive_event(
        &self,
        s: &Session,
        id: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<Event> {
        s.require(Action::ManageEvents)?;
        self.set_status(s, id, EventStatus::Archived, "event.archive", now)
            .await
    }

    pub async fn list_events(&self, s: &Session) -> ApiResult<Vec<Event>> {
        s.require(Action::ViewEvents)?;
        Ok(self.store.list_events().await?)
    }

    pub async fn get_event(&self, s: &Session, id: &str) -> ApiResult<Event> {
        s.require(Action::ViewEvents)?;
        Ok(self.store.get_event(EventId::parse("id", id)?).await?)
    }

    fn parse_ticket_type(input: &TicketTypeInput) -> ApiResult<(EventId, TicketTypeFields)> {
        let event_id = EventId::parse("event_id", &input.event_id)?;
        let name = Name::parse("name", &input.name)?;
        let currency = Currency::parse("currency", &input.currency)?;
        let price = Money::price("price_minor", input.price_minor, currency)?;
        let sales_start = optional(&input.sales_start, |t| parse_timestamp("sales_start", t))?;
        let sales_end = optional(&input.sales_end, |t| parse_timestamp("sales_end", t))?;
        if let (Some(a), Some(b)) = (sales_start, sales_end) {
            ensure_ordered("sales_end", a, b)?;
        }
        let max_total = stock::MAX_TICKETS_PER_ORDER as i64;
        let min_per_order = bounded(
            "min_per_order",
            input.min_per_order.unwrap_or(1),
            1,
            max_total,
        )?;
        let max_per_order = bounded(
            "max_per_order",
            input.max_per_order.unwrap_or(max_total.min(50)),
            1,
            max_total,
        )?;
        if max_per_order < min_per_order {
            return Err(ApiError::invalid(
                "max_per_order",
                "must not be below min_per_order",
            ));
        }
        let sort_order = bounded("sort_order", input.sort_order.unwrap_or(0), 0, 1_000_000)? as i32;
        Ok((
            event_id,
            TicketTypeFields {
                name,
                price,
                sales_start,
                sales_end,
                min_per_order,
                max_per_order,
                active: input.active.unwrap_or(true),
                sort_order,
            },
        ))
    }

    async fn check_currency(
        &self,
        event_id: EventId,
        currency: Currency,
        except: Option<TicketTypeId>,
    ) -> ApiResult<()> {
        // One currency per event keeps order totals meaningful.
        let types = self.store.list_ticket_types(event_id).await?;
        if types
            .iter()
            .any(|t| Some(t.id) != except && t.price.currency != currency)
        {
            return Err(ApiError::invalid(
                "currency",
                "must match the event's other ticket types",
            ));
        }
        Ok(())
    }

    pub async fn create_ticket_type(
        &self,
        s: &Session,
        input: &TicketTypeInput,
        now: DateTime<Utc>,
    ) -> ApiResult<TicketType> {
        s.require(Action::ManageTicketTypes)?;
        let (event_id, f) = Self::parse_ticket_type(input)?;
        self.store
            .get_event(event_id)
            .await
            .map_err(|_| ApiError::invalid("event_id", "is not an event"))?;
        self.check_currency(event_id, f.price.currency, None)
            .await?;
        let t = TicketType {
            id: TicketTypeId::new(now),
            event_id,
            name: f.name,
            price: f.price,
            sales_start: f.sales_start,
            sales_end: f.sales_end,
            min_per_order: f.min_per_order,
            max_per_order: f.max_per_order,
            active: f.active,
            sort_order: f.sort_order,
            meta: Meta::new(now),
        };
        let change = s
            .change(
                now,
                "ticket_type.create",
                "ticket_type",
                t.id.0,
                json!({ "name": t.name.as_str(), "price_minor": t.price.minor }),
            )
            .sync(now, "ticket_type", t.id.0, 1, &t);
        self.store.create_ticket_type(&t, &change).await?;
        self.forget_catalogue();
        Ok(t)
    }

    pub async fn update_ticket_type(
        &self,
        s: &Session,
        id: &str,
        expected_version: i64,
        input: &TicketTypeInput,
        now: DateTime<Utc>,
    ) -> ApiResult<TicketType> {
        s.require(Action::ManageTicketTypes)?;
        let id = TicketTypeId::parse("id", id)?;
        let (event_id, f) = Self::parse_ticket_type(input)?;
        let current = self
            .store
            .list_ticket_types(event_id)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or(ApiError::NotFound {
                entity: "ticket type".into(),
            })?;
        self.check_currency(event_id, f.price.currency, Some(id))
            .await?;
        let t = TicketType {
            name: f.name,
            price: f.price,
            sales_start: f.sales_start,
            sales_end: f.sales_end,
            min_per_order: f.min_per_order,
            max_per_order: f.max_per_order,
            active: f.active,
            sort_order: f.sort_order,
            meta: current.meta.touched(now),
            ..current
        };
        let change = s
            .change(
                now,
                "ticket_type.update",
                "ticket_type",
                t.id.0,
                json!({ "name": t.name.as_str(), "price_minor": t.price.minor }),
            )
            .sync(now, "ticket_type", t.id.0, t.meta.version, &t);
        self.store
            .update_ticket_type(&t, expected_version, &change)
            .await?;
        self.forget_catalogue();
        Ok(t)
    }

    async fn parse_quota(
        &self,
        input: &QuotaInput,
    ) -> ApiResult<(EventId, Name, u32, Vec<TicketTypeId>)> {
        let event_id = EventId::parse("event_id", &input.event_id)?;
        let name = Name::parse("name", &input.name)?;
        let size = bounded("size", input.size, 0, MAX_QUOTA_SIZE)?;
        if input.ticket_type_ids.is_empty() {
            return Err(ApiError::invalid(
                "ticket_type_ids",
                "must name at least one ticket type",
            ));
        }
        let types = self.store.list_ticket_types(event_id).await?;
        let mut ids = Vec::new();
        for (i, raw) in input.ticket_type_ids.iter().enumerate() {
            let field = format!("ticket_type_ids[{i}]");
            let id = TicketTypeId::parse(&field, raw)?;
            if !types.iter().any(|t| t.id == id) {
                return Err(ApiError::invalid(
                    field,
                    "is not a ticket type of this event",
                ));
            }
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.sort();
        Ok((event_id, name, size, ids))
    }

    pub async fn create_quota(
        &self,
        s: &Session,
        input: &QuotaInput,
        now: DateTime<Utc>,
    ) -> ApiResult<Quota> {
        s.require(Action::ManageQuotas)?;
        let (event_id, name, size, ticket_type_ids) = self.parse_quota(input).await?;
        let q = Quota {
            id: QuotaId::new(now),
            event_id,
            name,
            size,
            ticket_type_ids,
            meta: Meta::new(now),
        };
        let change = s
            .change(
                now,
                "quota.create",
                "quota",
                q.id.0,
                json!({ "name": q.name.as_str(), "size": size }),
            )
            .sync(now, "quota", q.id.0, 1, &q);
        self.store.create_quota(&q, &change).await?;
        self.forget_catalogue();
        Ok(q)
    }

    /// Resize or re-cover a quota. The size may not go below what is sold and held; units
    /// already taken go back to the quotas they came from whatever the new coverage.
    pub async fn update_quota(
        &self,
        s: &Session,
        id: &str,
        expected_version: i64,
        input: &QuotaInput,
        now: DateTime<Utc>,
    ) -> ApiResult<Quota> {
        s.require(Action::ManageQuotas)?;
        let id = QuotaId::parse("id", id)?;
        let (event_id, name, size, ticket_type_ids) = self.parse_quota(input).await?;
        let current = self
            .store
            .list_quotas(event_id)
            .await?
            .into_iter()
            .find(|q| q.quota.id == id)
            .ok_or(ApiError::NotFound {
                entity: "quota".into(),
            })?
            .quota;
        let q = Quota {
            name,
            size,
            ticket_type_ids,
            meta: current.meta.touched(now),
            ..current
        };
        let change = s
            .change(
                now,
                "quota.update",
                "quota",
                q.id.0,
                json!({ "name": q.name.as_str(), "size": size }),
            )
            .sync(now, "quota", q.id.0, q.meta.version, &q);
        self.store
            .update_quota(&q, expected_version, &change)
            .await?;
        self.forget_catalogue();
        Ok(q)
    }

    /// Live availability per ticket type: the minimum over the quotas covering it.
    pub async fn availability(&self, s: &Session, event_id: &str) -> ApiResult<EventAvailability> {
        s.require(Action::ViewAvailability)?;
        let event_id = EventId::parse("event_id", event_id)?;
        let event = self.store.get_event(event_id).await?;
        let types = self.store.list_ticket_types(event_id).await?;
        let quotas = self.store.list_quotas(event_id).await?;
        let avail = stock::availability(&types, &quotas);
        Ok(EventAvailability {
            event,
            ticket_types: types
                .into_iter()
                .map(|t| TicketTypeAvailability {
                    available: avail.get(&t.id).copied().flatten(),
                    ticket_type: t,
                })
                .collect(),
            quotas,
        })
    }

    pub async fn list_ticket_types(
        &self,
        s: &Session,
        event_id: &str,
    ) -> ApiResult<Vec<TicketType>> {
        s.require(Action::ViewEvents)?;
        Ok(self
            .store
            .list_ticket_types(EventId::parse("event_id", event_id)?)
            .await?)
    }
}

struct TicketTypeFields {
    name: Name,
    price: Money,
    sales_start: Option<DateTime<Utc>>,
    sales_end: Option<DateTime<Utc>>,
    min_per_order: u32,
    max_per_order: u32,
    active: bool,
    sort_order: i32,
}
