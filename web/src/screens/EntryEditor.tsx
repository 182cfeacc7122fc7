import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { api, must, newIdempotencyKey, withEtag } from "../api/client";
import { errorFor } from "../api/problem";
import type { components } from "../api/schema";
import { Field } from "../components/Field";
import { ProblemBanner } from "../components/ProblemBanner";
import { open, seal } from "../lib/crypto";
import { localToRfc3339, rfc3339ToLocal } from "../lib/dates";
import { useAction } from "../lib/useAsync";
import { Revisions } from "./Revisions";
import { Unlock } from "./Unlock";

type Entry = components["schemas"]["journal_Entry"];
type Tag = components["schemas"]["journal_Tag"];

interface Props {
  entry: Entry | null;
  tags: Tag[];
  userId: string;
  entryKey: CryptoKey | null;
  onUnlock: (key: CryptoKey | null) => void;
  onTagsChanged: () => void;
  onDone: () => void;
}

const FIELDS = ["title", "content", "entry_date", "tag_ids", "encrypted"];

export function EntryEditor({ entry, tags, userId, entryKey, onUnlock, onTagsChanged, onDone }: Props) {
  const [title, setTitle] = useState("");
  const [content, setContent] = useState("");
  const [when, setWhen] = useState(() => rfc3339ToLocal(new Date().toISOString()));
  const [tagIds, setTagIds] = useState<string[]>([]);
  const [encrypt, setEncrypt] = useState(false);
  const [etag, setEtag] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(entry === null);
  const [newTag, setNewTag] = useState("");
  const [newTagColor, setNewTagColor] = useState("#3366ff");
  const { problem, busy, run } = useAction();
  const tagAction = useAction();

  // The key as of now, for (re)loading: unlocking while editing must not reload the entry, which
  // would drop the typed changes and untick "Encrypt" on an entry being encrypted.
  const keyRef = useRef(entryKey);
  keyRef.current = entryKey;

  const load = useCallback(async () => {
    if (!entry) return;
    const entryKey = keyRef.current;
    const { data, etag: tag } = await withEtag(api.GET("/api/v1/journal/entries/{entry_id}", { params: { path: { entry_id: entry.id } } }));
    setEtag(tag);
    setWhen(rfc3339ToLocal(data.entry_date));
    setTagIds(data.tags.map((t) => t.id));
    if (data.encrypted) {
      setEncrypt(true);
      if (entryKey) {
        const secret = await open(data.encrypted, entryKey);
        setTitle(secret.title);
        setContent(secret.content);
      }
    } else {
      setEncrypt(false);
      setTitle(data.title ?? "");
      setContent(data.content ?? "");
    }
    setLoaded(true);
  }, [entry]);

  useEffect(() => {
    if (entry) void run(load);
  }, [run, load, entry]);

  async function save(event: FormEvent) {
    event.preventDefault();
    await run(async () => {
      const sealed = encrypt ? (entryKey ? await seal({ title, content }, entryKey) : null) : null;
      if (encrypt && !sealed) throw new Error("Unlock encrypted entries with your passphrase first.");
      const entryDate = localToRfc3339(when);
      if (entry) {
        const text = sealed ? { title: null, content: null, encrypted: sealed } : { title: title || null, content, encrypted: null };
        await must(
          api.PATCH("/api/v1/journal/entries/{entry_id}", {
            params: { path: { entry_id: entry.id } },
            body: { ...text, entry_date: entryDate, tag_ids: tagIds },
            headers: etag ? { "If-Match": etag } : {},
          }),
        );
      } else {
        const headers = { "Idempotency-Key": newIdempotencyKey() };
        if (sealed) {
          // The document's oneOf branch of an encrypted entry types `encrypted` as an empty object
          // (Record<string, never>), so this one body is cast.
          const body = { entry_date: entryDate, tag_ids: tagIds, encrypted: sealed };
          await must(api.POST("/api/v1/journal/entries", { body: body as never, headers }));
        } else {
          const body = { entry_date: entryDate, tag_ids: tagIds, title: title || null, content };
          await must(api.POST("/api/v1/journal/entries", { body, headers }));
        }
      }
      onDone();
    });
  }

  async function addTag() {
    await tagAction.run(async () => {
      const tag = await must(api.POST("/api/v1/journal/tags", { body: { name: newTag, color: newTagColor } }));
      setTagIds((ids) => [...ids, tag.id]);
      setNewTag("");
      onTagsChanged();
    });
  }

  return (
    <section aria-labelledby="editor-title">
      <h1 id="editor-title">{entry ? "Edit entry" : "New entry"}</h1>
      {!loaded && !problem && <p className="muted">Loading…</p>}
      {!loaded && problem && <ProblemBanner problem={problem} />}
      {loaded && (
      <form className="card editor" onSubmit={save}>
        <Field label="Title" error={errorFor(problem, "title")}>
          {(p) => <input {...p} value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />}
        </Field>
        <Field label="Date" error={errorFor(problem, "entry_date")}>
          {(p) => <input {...p} type="datetime-local" required value={when} onChange={(e) => setWhen(e.target.value)} />}
        </Field>
        <Field label="Text" error={errorFor(problem, "content")}>
          {(p) => <textarea {...p} rows={8} value={content} onChange={(e) => setContent(e.target.value)} />}
        </Field>
        <fieldset className="tag-picker">
          <legend>Tags</legend>
          {tags.length === 0 && <p className="muted">No tags yet.</p>}
          {tags.map((tag) => (
            <label key={tag.id} className="check">
              <input
                type="checkbox"
                checked={tagIds.includes(tag.id)}
                onChange={(e) => setTagIds((ids) => (e.target.checked ? [...ids, tag.id] : ids.filter((id) => id !== tag.id)))}
              />
              <span className="tag" style={{ borderColor: tag.color }}>
                {tag.name}
              </span>
            </label>
          ))}
          <div className="inline">
            <Field label="New tag" error={errorFor(tagAction.problem, "name")}>
              {(p) => (
                <input
                  {...p}
                  value={newTag}
                  maxLength={50}
                  onChange={(e) => setNewTag(e.target.value)}
                  onKeyDown={(e) => {
                    // Enter adds the tag; it must not submit (save and close) the entry around it.
                    if (e.key === "Enter") {
                      e.preventDefault();
                      if (newTag.trim() && !tagAction.busy) void addTag();
                    }
                  }}
                />
              )}
            </Field>
            <Field label="Colour" error={errorFor(tagAction.problem, "color")}>
              {(p) => <input {...p} type="color" value={newTagColor} onChange={(e) => setNewTagColor(e.target.value)} />}
            </Field>
            <button type="button" onClick={() => void addTag()} disabled={!newTag.trim() || tagAction.busy}>
              Add tag
            </button>
          </div>
          <ProblemBanner problem={tagAction.problem} shownFields={["name", "color"]} />
        </fieldset>
        <label className="check">
          <input type="checkbox" checked={encrypt} onChange={(e) => setEncrypt(e.target.checked)} />
          Encrypt this entry in this browser
        </label>
        {encrypt && <Unlock userId={userId} entryKey={entryKey} onUnlock={onUnlock} />}
        <ProblemBanner problem={problem} shownFields={FIELDS} onReload={() => void run(load)} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Save
          </button>
          <button type="button" onClick={onDone}>
            Cancel
          </button>
        </div>
      </form>
      )}
      {entry && loaded && <Revisions entryId={entry.id} etag={etag} entryKey={entryKey} onRestored={() => void run(load)} />}
    </section>
  );
}
