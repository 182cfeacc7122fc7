import { useCallback, useEffect, useState } from "react";
import { api, must } from "../api/client";
import type { components } from "../api/schema";
import { ProblemBanner } from "../components/ProblemBanner";
import { formatWhen } from "../lib/dates";
import { useAction } from "../lib/useAsync";

type Session = components["schemas"]["users_Session"];
type SecurityEvent = components["schemas"]["users_SecurityEvent"];

const KIND: Record<SecurityEvent["kind"], string> = {
  login: "Signed in",
  login_failed: "Failed sign-in",
  password_changed: "Password changed",
  password_reset: "Password reset",
  session_revoked: "Session revoked",
  email_verified: "Email verified",
  export: "Data exported",
};

/** Signed-in sessions (revocable), recent security events, and the export of all one's data. */
export function Security() {
  const [sessions, setSessions] = useState<Session[]>([]);
  const [events, setEvents] = useState<SecurityEvent[]>([]);
  const [download, setDownload] = useState<{ url: string; name: string } | null>(null);
  const { problem, busy, run } = useAction();

  const load = useCallback(async () => {
    const [s, e] = await Promise.all([
      must(api.GET("/api/v1/users/me/sessions", { params: { query: { limit: 50 } } })),
      must(api.GET("/api/v1/users/me/activity", { params: { query: { limit: 10 } } })),
    ]);
    setSessions(s.items);
    setEvents(e.items);
  }, []);

  useEffect(() => {
    void run(load);
  }, [run, load]);

  useEffect(() => () => void (download && URL.revokeObjectURL(download.url)), [download]);

  const revoke = (session: Session) =>
    run(async () => {
      await must(api.DELETE("/api/v1/users/me/sessions/{session_id}", { params: { path: { session_id: session.id } } }));
      await load();
    });

  const exportData = () =>
    run(async () => {
      const blob = await must(api.GET("/api/v1/users/me/export", { parseAs: "blob" }));
      const name = `daybook-export-${new Date().toISOString().slice(0, 10)}.zip`;
      setDownload({ url: URL.createObjectURL(blob as Blob), name });
      await load();
    });

  return (
    <>
      <ProblemBanner problem={problem} />
      <section className="card" aria-labelledby="export-title">
        <h2 id="export-title">Your data</h2>
        <p>One zip with everything you keep in Daybook (encrypted entries stay encrypted).</p>
        <div className="actions">
          <button type="button" onClick={() => void exportData()} disabled={busy}>
            Prepare export
          </button>
          {download && (
            <a href={download.url} download={download.name} className="button-link">
              Download {download.name}
            </a>
          )}
        </div>
      </section>
      <section className="card" aria-labelledby="sessions-title">
        <h2 id="sessions-title">Signed-in sessions</h2>
        <ul className="plain">
          {sessions.map((s) => (
            <li key={s.id} className="goal-row">
              <span>
                {s.user_agent ?? "Unknown device"} · since {formatWhen(s.created_at)} · last used {formatWhen(s.last_used_at)}
                {s.current && <strong> (this browser)</strong>}
              </span>
              {!s.current && (
                <button type="button" onClick={() => void revoke(s)} disabled={busy}>
                  Revoke<span className="visually-hidden"> the session since {formatWhen(s.created_at)}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
      <section className="card" aria-labelledby="activity-title">
        <h2 id="activity-title">Recent security activity</h2>
        <ul className="plain">
          {events.map((e) => (
            <li key={e.id}>
              {KIND[e.kind]} · {formatWhen(e.at)}
              {e.ip && <span className="muted"> · {e.ip}</span>}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}
