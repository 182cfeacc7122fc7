/** A datetime-local input's value ("2026-12-04T09:30") → RFC 3339 with the browser's offset. */
export function localToRfc3339(value: string): string {
  return new Date(value).toISOString();
}

/** An RFC 3339 instant → a datetime-local input's value, in the browser's zone. */
export function rfc3339ToLocal(value: string): string {
  const date = new Date(value);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** An instant for people: the browser's zone, or the given IANA zone (a reminder's own). */
export function formatWhen(value: string | null | undefined, timeZone?: string): string {
  if (!value) return "—";
  return new Date(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short", ...(timeZone ? { timeZone } : {}) });
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}:${String(s).padStart(2, "0")}`;
}
