import { useEffect, useState } from "react";
import { api, must } from "../api/client";
import type { components } from "../api/schema";
import { formatDuration } from "../lib/dates";
import { ProblemBanner } from "./ProblemBanner";
import { useAction } from "../lib/useAsync";

type Bucket = components["schemas"]["journal_ActivityBucket"];
type Activity = components["schemas"]["journal_Activity"];

/** Seconds practised per day over the last `days` days (oldest first), every activity summed. */
export function dailyTotals(items: readonly Bucket[], days: number, today: Date): { day: string; seconds: number }[] {
  const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - (days - 1) * 86_400_000;
  const totals = Array.from({ length: days }, (_, i) => ({ day: new Date(start + i * 86_400_000).toISOString().slice(0, 10), seconds: 0 }));
  for (const item of items) {
    const slot = totals.find((t) => t.day === item.bucket_start.slice(0, 10));
    if (slot) slot.seconds += item.total_seconds;
  }
  return totals;
}

const DAYS = 14;

export function StatsChart({ rootId, activities, version }: { rootId: string; activities: Activity[]; version: number }) {
  const [items, setItems] = useState<Bucket[]>([]);
  const { problem, run } = useAction();

  useEffect(() => {
    void run(async () => {
      const today = new Date();
      const to = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1));
      const from = new Date(to.getTime() - DAYS * 86_400_000);
      const stats = await must(
        api.GET("/api/v1/goals/{root_id}/stats", { params: { path: { root_id: rootId }, query: { from: from.toISOString(), to: to.toISOString(), bucket: "day" } } }),
      );
      setItems(stats.items);
    });
  }, [rootId, version, run]);

  const totals = dailyTotals(items, DAYS, new Date());
  const max = Math.max(60, ...totals.map((t) => t.seconds));
  const width = 20;
  const height = 120;
  const sessions = items.reduce((sum, i) => sum + i.sessions, 0);
  return (
    <section className="card" aria-labelledby="stats-title">
      <h2 id="stats-title">Last {DAYS} days</h2>
      <ProblemBanner problem={problem} />
      <figure>
        <svg viewBox={`0 0 ${DAYS * width} ${height + 16}`} role="img" aria-labelledby="stats-caption" className="chart">
          {totals.map((t, i) => {
            const h = Math.round((t.seconds / max) * height);
            return (
              <g key={t.day}>
                <title>{`${t.day}: ${formatDuration(t.seconds)}`}</title>
                <rect x={i * width + 3} y={height - h} width={width - 6} height={Math.max(h, 1)} className={t.seconds ? "bar" : "bar empty"} />
                {i % 7 === 6 && (
                  <text x={i * width + width / 2} y={height + 12} textAnchor="middle" className="axis">
                    {t.day.slice(5)}
                  </text>
                )}
              </g>
            );
          })}
        </svg>
        <figcaption id="stats-caption">
          Time practised per day: {formatDuration(totals.reduce((s, t) => s + t.seconds, 0))} in {sessions} session{sessions === 1 ? "" : "s"} across{" "}
          {activities.length} activit{activities.length === 1 ? "y" : "ies"}.
        </figcaption>
      </figure>
    </section>
  );
}
