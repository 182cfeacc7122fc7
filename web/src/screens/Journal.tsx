import { useCallback, useEffect, useRef, useState } from "react";
import { api, must } from "../api/client";
import type { components } from "../api/schema";
import { EmptyTrash } from "../components/EmptyTrash";
import { ProblemBanner } from "../components/ProblemBanner";
import { open } from "../lib/crypto";
import { formatWhen } from "../lib/dates";
import { useAction } from "../lib/useAsync";
import { EntryEditor } from "./EntryEditor";
import { Unlock } from "./Unlock";

type Entry = components["schemas"]["journal_Entry"];
type Tag = components["schemas"]["journal_Tag"];

interface Props {
  userId: string;
  entryKey: CryptoKey | null;
  onUnlock: (key: CryptoKey | null) => void;
}

function SealedBody({ entry, entryKey }: { entry: Entry; entryKey: CryptoKey | null }) {
  const [text, setText] = useState<{ title: string; content: string } | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    // Locking (no key) hides what an earlier key opened.
    setText(null);
    setFailed(false);
    if (!entryKey || !entry.encrypted) return;
    let live = true;
    open(entry.encrypted, entryKey).then(
      (secret) => live && setText(secret),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [entry, entryKey]);
  if (text) {
    return (
      <>
        <h3>
          <span className="lock">Encrypted</span> {text.title || "Untitled"}
        </h3>
        <p className="content">{text.content}</p>
      </>
    );
  }
  return (
    <>
      <h3>
        Encrypted entry
      </h3>
      <p className="muted">{failed ? "This passphrase does not open this entry." : "Unlock with your passphrase to read it."}</p>
    </>
  );
}

export function Journal({ userId, entryKey, onUnlock }: Props) {
  const [view, setView] = useState<"entries" | "trash">("entries");
  const [q, setQ] = useState("");
  const [query, setQuery] = useState("");
  const [tagId, setTagId] = useState("");
  const [tags, setTags] = useState<Tag[]>([]);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [editing, setEditing] = useState<Entry | "new" | null>(null);
  const { problem, run } = useAction();
  const sentinel = useRef<HTMLDivElement>(null);
  const loading = useRef(false);

  useEffect(() => {
    const timer = setTimeout(() => setQuery(q.trim()), 300);
    return () => clearTimeout(timer);
  }, [q]);

  const loadTags = useCallback(async () => {
    const page = await must(api.GET("/api/v1/journal/tags", { params: { query: { limit: 100 } } }));
    setTags(page.items);
  }, []);

  const loadPage = useCallback(
    async (after: string | null) => {
      if (loading.current) return;
      loading.current = true;
      try {
        await run(async () => {
          const page =
            view === "trash"
              ? await must(api.GET("/api/v1/journal/trash", { params: { query: { limit: 20, ...(after ? { cursor: after } : {}) } } }))
              : await must(
                  api.GET("/api/v1/journal/entries", {
                    params: {
                      query: { limit: 20, ...(after ? { cursor: after } : {}), ...(query ? { q: query } : {}), ...(tagId ? { tag: [tagId] } : {}) },
                    },
                  }),
                );
          setEntries((previous) => (after ? [...previous, ...page.items] : page.items));
          setCursor(page.next_cursor);
          setLoaded(true);
        });
      } finally {
        loading.current = false;
      }
    },
    [view, query, tagId, run],
  );

  useEffect(() => {
    void run(loadTags);
  }, [run, loadTags]);

  useEffect(() => {
    setLoaded(false);
    void loadPage(null);
  }, [loadPage]);

  // Infinite scroll: the next page loads when the end of the list comes into view.
  useEffect(() => {
    const node = sentinel.current;
    if (!node || !cursor || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver((seen) => {
      if (seen.some((e) => e.isIntersecting)) void loadPage(cursor);
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, [cursor, loadPage]);

  async function remove(entry: Entry) {
    await run(async () => {
      await must(api.DELETE("/api/v1/journal/entries/{entry_id}", { params: { path: { entry_id: entry.id } } }));
      setEntries((list) => list.filter((e) => e.id !== entry.id));
    });
  }

  async function restore(entry: Entry) {
    await run(async () => {
      await must(api.POST("/api/v1/journal/entries/{entry_id}/restore", { params: { path: { entry_id: entry.id } } }));
      setEntries((list) => list.filter((e) => e.id !== entry.id));
    });
  }

  async function purge(entry: Entry) {
    await run(async () => {
      await must(api.DELETE("/api/v1/journal/trash/{entry_id}", { params: { path: { entry_id: entry.id } } }));
      setEntries((list) => list.filter((e) => e.id !== entry.id));
    });
  }

  async function emptyTrash() {
    await run(async () => {
      await must(api.DELETE("/api/v1/journal/trash"));
      setEntries([]);
      setCursor(null);
    });
  }

  if (editing) {
    return (
      <EntryEditor
        entry={editing === "new" ? null : editing}
        tags={tags}
        userId={userId}
        entryKey={entryKey}
        onUnlock={onUnlock}
        onTagsChanged={() => void run(loadTags)}
        onDone={() => {
          setEditing(null);
          void loadPage(null);
        }}
      />
    );
  }

  return (
    <section aria-labelledby="journal-title">
      <div className="toolbar">
        <h1 id="journal-title">{view === "trash" ? "Trash" : "Journal"}</h1>
        {view === "entries" ? (
          <>
            <button type="button" className="primary" onClick={() => setEditing("new")}>
              New entry
            </button>
            <button type="button" onClick={() => setView("trash")}>
              Trash
            </button>
          </>
        ) : (
          <>
            {entries.length > 0 && <EmptyTrash onEmpty={emptyTrash} />}
            <button type="button" onClick={() => setView("entries")}>
              Back to the journal
            </button>
          </>
        )}
      </div>
      {view === "entries" && (
        <div className="filters" role="search">
          <label>
            Search
            <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Words in titles and text" />
          </label>
          <label>
            Tag
            <select value={tagId} onChange={(e) => setTagId(e.target.value)}>
              <option value="">All tags</option>
              {tags.map((tag) => (
                <option key={tag.id} value={tag.id}>
                  {tag.name}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      {view === "entries" && <Unlock userId={userId} entryKey={entryKey} onUnlock={onUnlock} />}
      <ProblemBanner problem={problem} />
      {loaded && entries.length === 0 && <p className="muted">{view === "trash" ? "The trash is empty." : query || tagId ? "No entry matches." : "No entries yet: write your first one."}</p>}
      <ul className="entries" aria-label={view === "trash" ? "Deleted entries" : "Entries"}>
        {entries.map((entry) => (
          <li key={entry.id} className="card entry">
            <p className="when">{formatWhen(entry.entry_date)}</p>
            {entry.encrypted ? (
              <SealedBody entry={entry} entryKey={entryKey} />
            ) : (
              <>
                <h3>{entry.title || "Untitled"}</h3>
                <p className="content">{entry.content}</p>
              </>
            )}
            {entry.tags.length > 0 && (
              <ul className="tags" aria-label="Tags">
                {entry.tags.map((tag) => (
                  <li key={tag.id} className="tag" style={{ borderColor: tag.color }}>
                    {tag.name}
                  </li>
                ))}
              </ul>
            )}
            <div className="actions">
              {view === "trash" ? (
                <>
                  <button type="button" onClick={() => void restore(entry)}>
                    Restore<span className="visually-hidden"> {entry.encrypted ? "encrypted entry" : entry.title}</span>
                  </button>
                  <button type="button" onClick={() => void purge(entry)}>
                    Delete for good<span className="visually-hidden"> {entry.encrypted ? "encrypted entry" : entry.title}</span>
                  </button>
                </>
              ) : (
                <>
                  <button type="button" onClick={() => setEditing(entry)} disabled={Boolean(entry.encrypted) && !entryKey}>
                    Edit<span className="visually-hidden"> {entry.encrypted ? "encrypted entry" : entry.title}</span>
                  </button>
                  <button type="button" onClick={() => void remove(entry)}>
                    Delete<span className="visually-hidden"> {entry.encrypted ? "encrypted entry" : entry.title}</span>
                  </button>
                </>
              )}
            </div>
          </li>
        ))}
      </ul>
      {cursor && (
        <div ref={sentinel} className="more">
          <button type="button" onClick={() => void loadPage(cursor)}>
            Load more
          </button>
        </div>
      )}
    </section>
  );
}
