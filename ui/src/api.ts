// Every call from the UI into Admit's Rust side. One typed wrapper per Tauri command; errors
// reject with an AppError ({code, message, field}).
import { Channel, invoke as tauriInvoke } from "@tauri-apps/api/core";

import type { AppStatus } from "./bindings/AppStatus";
import type { CancelInput } from "./bindings/CancelInput";
import type { ChartInput } from "./bindings/ChartInput";
import type { CloseShiftInput } from "./bindings/CloseShiftInput";
import type { Coupon } from "./bindings/Coupon";
import type { CouponInput } from "./bindings/CouponInput";
import type { CheckinCounts } from "./bindings/CheckinCounts";
import type { CheckinList } from "./bindings/CheckinList";
import type { CheckinListInput } from "./bindings/CheckinListInput";
import type { Dashboard } from "./bindings/Dashboard";
import type { DoorList } from "./bindings/DoorList";
import type { Event } from "./bindings/Event";
import type { EventAvailability } from "./bindings/EventAvailability";
import type { EventDetail } from "./bindings/EventDetail";
import type { EventInput } from "./bindings/EventInput";
import type { ExportInput } from "./bindings/ExportInput";
import type { ExportProgress } from "./bindings/ExportProgress";
import type { Hold } from "./bindings/Hold";
import type { HoldInput } from "./bindings/HoldInput";
import type { MailMessage } from "./bindings/MailMessage";
import type { MailSettings } from "./bindings/MailSettings";
import type { ImportInput } from "./bindings/ImportInput";
import type { ImportPreview } from "./bindings/ImportPreview";
import type { ImportResult } from "./bindings/ImportResult";
import type { NewUserInput } from "./bindings/NewUserInput";
import type { OpenShiftInput } from "./bindings/OpenShiftInput";
import type { Order } from "./bindings/Order";
import type { OrderMoney } from "./bindings/OrderMoney";
import type { OrderView } from "./bindings/OrderView";
import type { OrderWithTickets } from "./bindings/OrderWithTickets";
import type { PaymentInput } from "./bindings/PaymentInput";
import type { Quota } from "./bindings/Quota";
import type { QuotaInput } from "./bindings/QuotaInput";
import type { Quote } from "./bindings/Quote";
import type { QuoteInput } from "./bindings/QuoteInput";
import type { RedeemAnswer } from "./bindings/RedeemAnswer";
import type { RedeemInput } from "./bindings/RedeemInput";
import type { RefundInput } from "./bindings/RefundInput";
import type { SaleInput } from "./bindings/SaleInput";
import type { SavedFile } from "./bindings/SavedFile";
import type { SessionView } from "./bindings/SessionView";
import type { Settings } from "./bindings/Settings";
import type { SettingsInput } from "./bindings/SettingsInput";
import type { Shift } from "./bindings/Shift";
import type { ShiftReport } from "./bindings/ShiftReport";
import type { ShiftReportInput } from "./bindings/ShiftReportInput";
import type { ShiftStatus } from "./bindings/ShiftStatus";
import type { SmtpInput } from "./bindings/SmtpInput";
import type { SoldOrder } from "./bindings/SoldOrder";
import type { ConnectInput } from "./bindings/ConnectInput";
import type { IssuedPairingCode } from "./bindings/IssuedPairingCode";
import type { PairingCodeRequest } from "./bindings/PairingCodeRequest";
import type { SyncConflicts } from "./bindings/SyncConflicts";
import type { SyncStatus } from "./bindings/SyncStatus";
import type { TicketCard } from "./bindings/TicketCard";
import type { TicketsPdfInput } from "./bindings/TicketsPdfInput";
import type { TicketType } from "./bindings/TicketType";
import type { TicketTypeInput } from "./bindings/TicketTypeInput";
import type { UpdateUserInput } from "./bindings/UpdateUserInput";
import type { User } from "./bindings/User";
import type { WaitlistEntry } from "./bindings/WaitlistEntry";
import type { WaitlistInput } from "./bindings/WaitlistInput";
import { announce, type ChangeKind } from "./lib/changes";
import { toAppError, type AppError } from "./lib/errors";

export type { AppError };

function insideApp(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

function requireApp(): void {
  if (!insideApp()) {
    const e: AppError = { code: "no_backend", message: "Admit's desktop app is not connected", field: null };
    throw e;
  }
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  requireApp();
  try {
    return await tauriInvoke<T>(command, args);
  } catch (e) {
    throw toAppError(e);
  }
}

/** A call that changes figures other screens show: they hear of it once it succeeded. */
async function changing<T>(kind: ChangeKind, command: string, args: Record<string, unknown>): Promise<T> {
  const result = await call<T>(command, args);
  announce(kind);
  return result;
}

/** A CSV export; `onProgress` hears {done, total} rows as the file is written. */
async function exportCsv(input: ExportInput, onProgress: (p: ExportProgress) => void): Promise<SavedFile> {
  requireApp();
  const channel = new Channel<ExportProgress>();
  channel.onmessage = onProgress;
  return call<SavedFile>("export_csv", { input, onProgress: channel });
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
  sell: (input: SaleInput) => changing<SoldOrder>("sale", "sell", { input }),
  ticketCards: (orderId: string) => call<TicketCard[]>("ticket_cards", { orderId }),
  searchOrders: (query: string, eventId: string | null) => call<Order[]>("search_orders", { query, eventId }),
  getOrder: (orderId: string) => call<OrderView>("get_order", { orderId }),
  cancelTickets: (input: CancelInput) => changing<OrderWithTickets>("cancel", "cancel_tickets", { input }),

  // Prices, coupons, paying later and refunds
  quote: (input: QuoteInput) => call<Quote>("quote", { input }),
  listCoupons: (eventId: string) => call<Coupon[]>("list_coupons", { eventId }),
  createCoupon: (input: CouponInput) => call<Coupon>("create_coupon", { input }),
  updateCoupon: (couponId: string, expectedVersion: number, input: CouponInput) =>
    call<Coupon>("update_coupon", { couponId, expectedVersion, input }),
  payOrder: (input: PaymentInput) => changing<SoldOrder>("sale", "pay_order", { input }),
  orderMoney: (orderId: string) => call<OrderMoney>("order_money", { orderId }),
  refund: (input: RefundInput) => changing<OrderMoney>("cancel", "refund", { input }),

  // Waiting list
  joinWaitlist: (input: WaitlistInput) => call<WaitlistEntry>("join_waitlist", { input }),
  listWaitlist: (eventId: string) => call<WaitlistEntry[]>("list_waitlist", { eventId }),
  withdrawWaitlist: (entryId: string) => call<WaitlistEntry>("withdraw_waitlist", { entryId }),

  // Cashier shifts
  openShift: (input: OpenShiftInput) => call<ShiftStatus>("open_shift", { input }),
  currentShift: () => call<ShiftStatus | null>("current_shift"),
  closeShift: (input: CloseShiftInput) => call<ShiftStatus>("close_shift", { input }),
  listShifts: (userId: string | null, limit: number | null) => call<Shift[]>("list_shifts", { userId, limit }),

  // E-mail
  orderMail: (orderId: string) => call<MailMessage[]>("order_mail", { orderId }),
  resendConfirmation: (orderId: string, to: string | null) => call<MailMessage>("resend_confirmation", { orderId, to }),
  getMailSettings: () => call<MailSettings>("get_mail_settings"),
  saveMailSettings: (input: SmtpInput | null) => call<MailSettings>("save_mail_settings", { input }),
  sendTestMail: (input: SmtpInput, to: string) => call<null>("send_test_mail", { input, to }),

  // Door
  doorLists: () => call<DoorList[]>("door_lists"),
  redeem: (input: RedeemInput) => changing<RedeemAnswer>("scan", "redeem", { input }),
  checkinCounts: (listId: string) => call<CheckinCounts>("checkin_counts", { listId }),
  decodeQr: (width: number, height: number, luma: string) => call<string | null>("decode_qr", { width, height, luma }),

  // Reports
  dashboard: () => call<Dashboard>("dashboard"),
  chartSvg: (input: ChartInput) => call<string>("chart_svg", { input }),
  saveChartPng: (input: ChartInput) => call<SavedFile>("save_chart_png", { input }),
  exportCsv,
  saveTicketsPdf: (input: TicketsPdfInput) => call<SavedFile>("save_tickets_pdf", { input }),
  shiftReport: (input: ShiftReportInput) => call<ShiftReport>("shift_report", { input }),
  importPreview: (input: ImportInput) => call<ImportPreview>("import_preview", { input }),
  importOrders: (input: ImportInput) => changing<ImportResult>("import", "import_orders", { input }),

  // Sync with a server
  syncStatus: () => call<SyncStatus>("sync_status"),
  syncNow: () => call<SyncStatus>("sync_now"),
  syncConflicts: () => call<SyncConflicts>("sync_conflicts"),
  connectServer: (input: ConnectInput) => call<SyncStatus>("connect_server", { input }),
  disconnectServer: () => call<SyncStatus>("disconnect_server"),
  createPairingCode: (input: PairingCodeRequest) => call<IssuedPairingCode>("create_pairing_code", { input }),
};

export type Api = typeof api;
