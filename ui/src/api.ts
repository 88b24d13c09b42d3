// Every call from the UI into Admit's Rust side. One typed wrapper per Tauri command; errors
// reject with an AppError ({code, message, field}).
import { invoke as tauriInvoke } from "@tauri-apps/api/core";

import type { AppStatus } from "./bindings/AppStatus";
import type { CancelInput } from "./bindings/CancelInput";
import type { CheckinCounts } from "./bindings/CheckinCounts";
import type { CheckinList } from "./bindings/CheckinList";
import type { CheckinListInput } from "./bindings/CheckinListInput";
import type { Dashboard } from "./bindings/Dashboard";
import type { DoorList } from "./bindings/DoorList";
import type { Event } from "./bindings/Event";
import type { EventAvailability } from "./bindings/EventAvailability";
import type { EventDetail } from "./bindings/EventDetail";
import type { EventInput } from "./bindings/EventInput";
import type { Hold } from "./bindings/Hold";
import type { HoldInput } from "./bindings/HoldInput";
import type { NewUserInput } from "./bindings/NewUserInput";
import type { Order } from "./bindings/Order";
import type { OrderView } from "./bindings/OrderView";
import type { OrderWithTickets } from "./bindings/OrderWithTickets";
import type { Quota } from "./bindings/Quota";
import type { QuotaInput } from "./bindings/QuotaInput";
import type { RedeemAnswer } from "./bindings/RedeemAnswer";
import type { RedeemInput } from "./bindings/RedeemInput";
import type { SaleInput } from "./bindings/SaleInput";
import type { SessionView } from "./bindings/SessionView";
import type { Settings } from "./bindings/Settings";
import type { SettingsInput } from "./bindings/SettingsInput";
import type { SoldOrder } from "./bindings/SoldOrder";
import type { TicketCard } from "./bindings/TicketCard";
import type { TicketType } from "./bindings/TicketType";
import type { TicketTypeInput } from "./bindings/TicketTypeInput";
import type { UpdateUserInput } from "./bindings/UpdateUserInput";
import type { User } from "./bindings/User";
import { toAppError, type AppError } from "./lib/errors";

export type { AppError };

function insideApp(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  if (!insideApp()) {
    const e: AppError = { code: "no_backend", message: "Admit's desktop app is not connected", field: null };
    throw e;
  }
  try {
    return await tauriInvoke<T>(command, args);
  } catch (e) {
    throw toAppError(e);
  }
}

export const api = {
  // Start, setup and session
  appStatus: () => call<AppStatus>("app_status"),
  chooseDatabase: (location: string | null) => call<AppStatus>("choose_database", { location }),
  createOwner: (input: NewUserInput) => call<SessionView>("create_owner", { input }),
  login: (username: string, password: string) => call<SessionView>("login", { username, password }),
  logout: () => call<null>("logout"),

  // Users
  listUsers: () => call<User[]>("list_users"),
  createUser: (input: NewUserInput) => call<User>("create_user", { input }),
  updateUser: (userId: string, input: UpdateUserInput) => call<User>("update_user", { userId, input }),

  // Settings and kiosk
  saveSettings: (input: SettingsInput) => call<Settings>("save_settings", { input }),
  setKioskPin: (pin: string) => call<Settings>("set_kiosk_pin", { pin }),
  enterKiosk: (pin?: string) => call<AppStatus>("enter_kiosk", pin ? { pin } : {}),
  leaveKiosk: (pin: string) => call<AppStatus>("leave_kiosk", { pin }),

  // Events and catalogue
  listEvents: () => call<Event[]>("list_events"),
  eventDetail: (eventId: string) => call<EventDetail>("event_detail", { eventId }),
  createEvent: (input: EventInput) => call<Event>("create_event", { input }),
  updateEvent: (eventId: string, expectedVersion: number, input: EventInput) =>
    call<Event>("update_event", { eventId, expectedVersion, input }),
  publishEvent: (eventId: string) => call<Event>("publish_event", { eventId }),
  cancelEvent: (eventId: string) => call<Event>("cancel_event", { eventId }),
  createTicketType: (input: TicketTypeInput) => call<TicketType>("create_ticket_type", { input }),
  updateTicketType: (ticketTypeId: string, expectedVersion: number, input: TicketTypeInput) =>
    call<TicketType>("update_ticket_type", { ticketTypeId, expectedVersion, input }),
  createQuota: (input: QuotaInput) => call<Quota>("create_quota", { input }),
  updateQuota: (quotaId: string, expectedVersion: number, input: QuotaInput) =>
    call<Quota>("update_quota", { quotaId, expectedVersion, input }),
  createCheckinList: (input: CheckinListInput) => call<CheckinList>("create_checkin_list", { input }),
  updateCheckinList: (listId: string, expectedVersion: number, input: CheckinListInput) =>
    call<CheckinList>("update_checkin_list", { listId, expectedVersion, input }),
  availability: (eventId: string) => call<EventAvailability>("availability", { eventId }),

  // Sales
  hold: (input: HoldInput) => call<Hold>("hold", { input }),
  releaseHold: (holdId: string) => call<null>("release_hold", { holdId }),
  sell: (input: SaleInput) => call<SoldOrder>("sell", { input }),
  ticketCards: (orderId: string) => call<TicketCard[]>("ticket_cards", { orderId }),
  searchOrders: (query: string, eventId: string | null) => call<Order[]>("search_orders", { query, eventId }),
  getOrder: (orderId: string) => call<OrderView>("get_order", { orderId }),
  cancelTickets: (input: CancelInput) => call<OrderWithTickets>("cancel_tickets", { input }),

  // Door
  doorLists: () => call<DoorList[]>("door_lists"),
  redeem: (input: RedeemInput) => call<RedeemAnswer>("redeem", { input }),
  checkinCounts: (listId: string) => call<CheckinCounts>("checkin_counts", { listId }),
  decodeQr: (width: number, height: number, luma: string) => call<string | null>("decode_qr", { width, height, luma }),

  // Reports
  dashboard: () => call<Dashboard>("dashboard"),
};

export type Api = typeof api;
