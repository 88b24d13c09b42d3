import { useCallback, useEffect, useState } from "react";

import { api } from "../api";
import type { Dashboard as DashboardData } from "../bindings/Dashboard";
import { EventCharts } from "../components/Charts";
import { ErrorBox, Field, Progress, Spinner, StatusBadge, useAction, useInterval } from "../components/common";
import { onChange } from "../lib/changes";
import { formatMoneyList } from "../lib/money";
import { formatInstant } from "../lib/time";

/** Charts are drawn again this often while the dashboard is on screen. */
export const CHART_REFRESH_MS = 5000;

export function Dashboard() {
  const [data, setData] = useState<DashboardData | null>(null);
  const [chartEvent, setChartEvent] = useState("");
  // Bumped to draw the charts again: on a timer, and at once after a sale or scan here.
  const [tick, setTick] = useState(0);
  const { run, busy, error } = useAction();

  const load = useCallback(async () => {
    const d = await run(() => api.dashboard());
    if (d) setData(d);
  }, [run]);

  useEffect(() => {
    void load();
  }, [load]);
  useInterval(() => void load(), 15000);
  useInterval(() => setTick((t) => t + 1), CHART_REFRESH_MS);
  useEffect(
    () =>
      onChange(() => {
        setTick((t) => t + 1);
        void load();
      }),
    [load],
  );

  const events = data?.events ?? [];
  useEffect(() => {
    if (events.length > 0 && !events.some((p) => p.event.id === chartEvent)) setChartEvent(events[0]!.event.id);
  }, [events, chartEvent]);

  return (
    <section className="screen" data-testid="screen-dashboard">
      <div className="screen-head">
        <h1>Today</h1>
        <div className="actions">
          {busy && <Spinner />}
          <button type="button" onClick={() => void load()} disabled={busy}>
            Refresh
          </button>
        </div>
      </div>
      <ErrorBox error={error} />
      {data && (
        <>
          <div className="stats">
            <div className="stat">
              <div className="stat-value" data-testid="dash-orders">{Number(data.today_orders)}</div>
              <div className="stat-label">Orders today</div>
            </div>
            <div className="stat">
              <div className="stat-value" data-testid="dash-tickets">{Number(data.today_tickets)}</div>
              <div className="stat-label">Tickets today</div>
            </div>
            <div className="stat">
              <div className="stat-value" data-testid="dash-revenue">{formatMoneyList(data.today_revenue)}</div>
              <div className="stat-label">Revenue today</div>
            </div>
          </div>
          <section className="charts-section" data-testid="dash-charts" aria-label="Charts">
            <div className="row-between">
              <h2>Charts</h2>
              {events.length > 0 && (
                <Field label="Event">
                  <select data-testid="chart-event" value={chartEvent} onChange={(e) => setChartEvent(e.target.value)}>
                    {events.map((p) => (
                      <option key={p.event.id} value={p.event.id}>
                        {p.event.name}
                      </option>
                    ))}
                  </select>
                </Field>
              )}
            </div>
            {chartEvent ? (
              <EventCharts eventId={chartEvent} tick={tick} />
            ) : (
              <p className="muted">Charts appear once there is an event.</p>
            )}
          </section>
          <h2>Events</h2>
          {data.events.length === 0 && <p className="muted">No events yet. Create one under Events.</p>}
          <div className="event-progress-list">
            {data.events.map((p) => (
              <div key={p.event.id} className="card event-progress" data-testid="dash-event">
                <div className="row-between">
                  <div>
                    <strong>{p.event.name}</strong> <StatusBadge status={p.event.status} />
                    <div className="muted small">
                      {formatInstant(p.event.starts_at, p.event.time_zone)} · {p.event.venue}
                    </div>
                  </div>
                  <div className="num">{formatMoneyList(p.revenue)}</div>
                </div>
                <Progress label="Sold" value={Number(p.sold)} max={p.capacity === null ? null : Number(p.capacity)} />
                <Progress label="Admitted" value={Number(p.admitted)} max={Number(p.sold)} tone="ok" />
                <div className="muted small">Inside now: <span className="num">{Number(p.inside)}</span></div>
              </div>
            ))}
          </div>
        </>
      )}
    </section>
  );
}
