import { useCallback, useEffect, useState } from "react";
import { api, must } from "../api/client";
import type { components } from "../api/schema";
import { ProblemBanner } from "../components/ProblemBanner";
import { open } from "../lib/crypto";
import { formatWhen } from "../lib/dates";
import { useAction } from "../lib/useAsync";

type Revision = components["schemas"]["journal_Revision"];

interface Props {
  entryId: string;
  etag: string | null;
  entryKey: CryptoKey | null;
  /** After a restore: the entry is current again at that version, and has a new ETag. */
  onRestored: () => void;
}

function RevisionText({ revision, entryKey }: { revision: Revision; entryKey: CryptoKey | null }) {
  const [text, setText] = useState<string | null>(null);
  useEffect(() => {
    if (!revision.encrypted) {
      setText(`${revision.title ?? "Untitled"} — ${revision.content ?? ""}`);
    } else if (entryKey) {
      open(revision.encrypted, entryKey).then(
        (secret) => setText(`${secret.title || "Untitled"} — ${secret.content}`),
        () => setText("(encrypted with another passphrase)"),
      );
    } else {
      setText("(encrypted)");
    }
  }, [revision, entryKey]);
  return <span className="revision-text">{text}</span>;
}

/** An entry's earlier versions, newest first, each one restorable (If-Match on the entry's ETag). */
export function Revisions({ entryId, etag, entryKey, onRestored }: Props) {
  const [items, setItems] = useState<Revision[]>([]);
  const { problem, busy, run } = useAction();

  const load = useCallback(async () => {
    const page = await must(api.GET("/api/v1/journal/entries/{entry_id}/revisions", { params: { path: { entry_id: entryId }, query: { limit: 20 } } }));
    setItems(page.items);
  }, [entryId]);

  // Again whenever the entry's version changes (saved elsewhere and reloaded, or restored here).
  useEffect(() => {
    void run(load);
  }, [run, load, etag]);

  const restore = (revision: Revision) =>
    run(async () => {
      await must(
        api.POST("/api/v1/journal/entries/{entry_id}/revisions/{revision}/restore", {
          params: { path: { entry_id: entryId, revision: revision.revision } },
          headers: etag ? { "If-Match": etag } : {},
        }),
      );
      onRestored();
    });

  return (
    <section className="card" aria-labelledby="revisions-title">
      <h2 id="revisions-title">Earlier versions</h2>
      <ProblemBanner problem={problem} onReload={onRestored} />
      {items.length === 0 ? (
        <p className="muted">None yet: each save keeps the version it replaced (for 90 days).</p>
      ) : (
        <ul className="plain">
          {items.map((r) => (
            <li key={r.revision} className="goal-row">
              <span>
                <strong>{formatWhen(r.saved_at)}</strong> <RevisionText revision={r} entryKey={entryKey} />
              </span>
              <button type="button" onClick={() => void restore(r)} disabled={busy}>
                Restore<span className="visually-hidden"> the version saved {formatWhen(r.saved_at)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
