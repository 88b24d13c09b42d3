import type { TicketCard } from "../bindings/TicketCard";
import { formatMoney } from "../lib/money";

/** Printable tickets: one per page when printed. */
export function TicketCards({ cards, testId = "bo-cards" }: { cards: TicketCard[]; testId?: string }) {
  return (
    <div className="ticket-cards print-area" data-testid={testId}>
      {cards.map((c) => (
        <article key={c.ticket_id} className="ticket-card" data-testid="ticket-card" data-ticket-id={c.ticket_id}>
          <div className="ticket-qr" aria-label="Ticket code" dangerouslySetInnerHTML={{ __html: c.qr_svg }} />
          <div className="ticket-info">
            <div className="ticket-event">{c.event_name}</div>
            <div className="ticket-when">{c.starts_local}</div>
            <div className="ticket-venue">{c.venue}</div>
            <div className="ticket-type">{c.ticket_type}</div>
            {c.attendee_name && <div className="ticket-attendee">{c.attendee_name}</div>}
            <div className="ticket-meta">
              <span>
                Order <strong data-testid="ticket-order-code">{c.order_code}</strong>
              </span>
              <span>{formatMoney(c.price)}</span>
            </div>
            <div className="ticket-secret" data-testid="ticket-secret">
              {c.secret}
            </div>
          </div>
        </article>
      ))}
    </div>
  );
}
