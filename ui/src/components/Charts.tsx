import { useEffect, useRef, useState, type RefObject } from "react";

import { api } from "../api";
import type { ChartKind } from "../bindings/ChartKind";
import type { SavedFile } from "../bindings/SavedFile";
import { toAppError, type AppError } from "../lib/errors";
import { chartHeight, chartWidth, svgDataUrl } from "../lib/reports";
import { ErrorBox, Spinner, useAction } from "./common";

export const CHARTS: readonly { kind: ChartKind; title: string; alt: string }[] = [
  { kind: "sales", title: "Sales velocity", alt: "Tickets sold over time, per ticket type" },
  { kind: "revenue", title: "Revenue", alt: "Revenue by ticket type, channel and payment method" },
  { kind: "door", title: "Door", alt: "Arrivals per gate and people inside over time" },
];

/** Saved PNGs are drawn larger than the screen's, for documents and slides. */
const PNG_WIDTH = 1600;
const PNG_HEIGHT = 900;

/** The pixel width a box is shown at, following the window's size; null until measured. */
function useBoxWidth(box: RefObject<HTMLElement | null>): number | null {
  const [width, setWidth] = useState<number | null>(null);
  useEffect(() => {
    const measure = () => setWidth(chartWidth(box.current?.clientWidth ?? 0));
    measure();
    window.addEventListener("resize", measure);
    return () => window.removeEventListener("resize", measure);
  }, [box]);
  return width;
}

/** The three charts of one event. `tick` changes to draw them again with fresh figures. */
export function EventCharts({ eventId, tick }: { eventId: string; tick: number }) {
  return (
    <div className="charts">
      {CHARTS.map((c) => (
        <ChartPanel key={c.kind} eventId={eventId} kind={c.kind} title={c.title} alt={c.alt} tick={tick} />
      ))}
    </div>
  );
}

function ChartPanel({ eventId, kind, title, alt, tick }: { eventId: string; kind: ChartKind; title: string; alt: string; tick: number }) {
  const box = useRef<HTMLDivElement>(null);
  const measured = useBoxWidth(box);
  const width = measured ?? chartWidth(0);
  const [svg, setSvg] = useState<{ eventId: string; text: string } | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  const [saved, setSaved] = useState<SavedFile | null>(null);
  const save = useAction();

  useEffect(() => {
    if (measured === null) return undefined;
    let current = true;
    api
      .chartSvg({ event_id: eventId, kind, width, height: chartHeight(width, kind), step: null, currency: null })
      .then((text) => {
        if (!current) return;
        setSvg({ eventId, text });
        setError(null);
      })
      .catch((e) => {
        if (current) setError(toAppError(e));
      });
    return () => {
      current = false;
    };
  }, [eventId, kind, width, measured, tick]);

  useEffect(() => setSaved(null), [eventId]);

  const savePng = async () => {
    setSaved(null);
    const file = await save.run(() =>
      api.saveChartPng({ event_id: eventId, kind, width: PNG_WIDTH, height: PNG_HEIGHT, step: null, currency: null }),
    );
    if (file) setSaved(file);
  };

  // The last picture stays up while the next one is drawn, unless it shows another event.
  const shown = svg && svg.eventId === eventId ? svg.text : null;
  return (
    <figure className={`chart card chart-${kind}`} data-testid={`chart-${kind}`}>
      <div className="row-between">
        <figcaption>
          <h3>{title}</h3>
        </figcaption>
        <button type="button" className="small" data-testid="chart-save" onClick={() => void savePng()} disabled={save.busy || !shown}>
          {save.busy ? <Spinner label="Saving…" /> : "Save PNG"}
        </button>
      </div>
      <div className="chart-box" ref={box} style={{ aspectRatio: `${width} / ${chartHeight(width, kind)}` }}>
        {shown ? (
          <img data-testid="chart-img" src={svgDataUrl(shown)} alt={alt} width={width} height={chartHeight(width, kind)} />
        ) : error ? null : (
          <Spinner label="Drawing…" />
        )}
      </div>
      <ErrorBox error={error ?? save.error} />
      {saved && (
        <p className="saved small" data-testid="chart-saved" role="status">
          Saved to <span className="mono">{saved.path}</span>
        </p>
      )}
    </figure>
  );
}
