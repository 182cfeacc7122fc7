import { useCallback, useEffect, useState } from "react";
import { api, must } from "../api/client";
import type { components } from "../api/schema";
import { formatWhen } from "../lib/dates";
import { follow } from "../lib/stream";

type Notification = components["schemas"]["reminders_Notification"];

/** Unread notifications (fired reminders): listed at start and on focus, then fed by the live stream. */
export function Bell() {
  const [items, setItems] = useState<Notification[]>([]);
  const [open, setOpen] = useState(false);
  const [live, setLive] = useState(false);

  const load = useCallback(async () => {
    try {
      setItems((await must(api.GET("/api/v1/notifications", { params: { query: { unread: true, limit: 20 } } }))).items);
    } catch {
      // A failed poll shows the last known list; the next one tries again.
    }
  }, []);

  useEffect(() => {
    void load();
    const stop = new AbortController();
    void follow<Notification>(
      {
        onMessage: (n) => setItems((all) => (all.some((x) => x.id === n.id) || n.read_at ? all : [n, ...all])),
        onStatus: (connected) => {
          setLive(connected);
          if (connected) void load(); // what arrived while it was away
        },
      },
      stop.signal,
    );
    window.addEventListener("focus", load);
    return () => {
      stop.abort();
      window.removeEventListener("focus", load);
    };
  }, [load]);

  async function markRead(notification: Notification) {
    await api.POST("/api/v1/notifications/{notification_id}/read", { params: { path: { notification_id: notification.id } } });
    setItems((all) => all.filter((n) => n.id !== notification.id));
  }

  async function snooze(notification: Notification) {
    const { response } = await api.POST("/api/v1/notifications/{notification_id}/snooze", {
      params: { path: { notification_id: notification.id } },
      body: { minutes: 10 },
    });
    if (response.ok) await markRead(notification);
  }

  return (
    <div className="bell">
      <button type="button" aria-expanded={open} aria-controls="bell-panel" onClick={() => setOpen(!open)} title={live ? "Live" : "Reconnecting…"}>
        <svg aria-hidden="true" viewBox="0 0 24 24" className="icon">
          <path d="M12 2a6 6 0 0 0-6 6v4l-2 4h16l-2-4V8a6 6 0 0 0-6-6zm0 20a3 3 0 0 0 3-3H9a3 3 0 0 0 3 3z" />
        </svg>{" "}
        Notifications{items.length > 0 && <span className="badge"> {items.length}</span>}
      </button>
      {open && (
        <div id="bell-panel" className="bell-panel card" role="region" aria-label="Unread notifications">
          {items.length === 0 ? (
            <p className="muted">Nothing new.</p>
          ) : (
            <ul>
              {items.map((n) => (
                <li key={n.id}>
                  <strong>{n.title}</strong> {n.message && <span>{n.message}</span>}
                  <small className="muted"> {formatWhen(n.occurrence_at)}</small>
                  <button type="button" className="link" onClick={() => void markRead(n)}>
                    Mark read<span className="visually-hidden"> {n.title}</span>
                  </button>
                  <button type="button" className="link" onClick={() => void snooze(n)}>
                    Snooze 10 min<span className="visually-hidden"> {n.title}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
