import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { api, must, newIdempotencyKey, withEtag } from "../api/client";
import { ProblemError, errorFor, toProblem, type Problem } from "../api/problem";
import type { components } from "../api/schema";
import { Field } from "../components/Field";
import { ProblemBanner } from "../components/ProblemBanner";
import { latestAfterPause } from "../lib/latest";
import { DAYS, FREQUENCIES, browserTimeZone, formatOccurrences, formOf, reminderBody, scheduleBody, timeZones, type Day, type Frequency, type ReminderForm, type ScheduleBody } from "../lib/reminders";
import { useAction } from "../lib/useAsync";

type Reminder = components["schemas"]["reminders_Reminder"];
type ReminderCreate = components["schemas"]["reminders_ReminderCreate"];
type ReminderUpdate = components["schemas"]["reminders_ReminderUpdate"];
const FIELDS = ["title", "message", "frequency", "time", "timezone", "start_date", "custom_days", "rrule"];

function Occurrences({ reminder }: { reminder: Reminder }) {
  const [items, setItems] = useState<string[] | null>(null);
  useEffect(() => {
    let live = true;
    void api
      .GET("/api/v1/reminders/{reminder_id}/occurrences", { params: { path: { reminder_id: reminder.id }, query: { limit: 3 } } })
      .then(
        ({ data }) => live && setItems(data?.items ?? []),
        () => live && setItems(null), // no answer: no "Next" line rather than an unhandled rejection
      );
    return () => {
      live = false;
    };
  }, [reminder]);
  if (!items) return null;
  if (items.length === 0) return <p className="muted">No upcoming occurrence.</p>;
  return (
    <p className="muted">
      Next: {formatOccurrences(items, reminder.timezone)}
    </p>
  );
}

type Preview = { items: string[] } | { problem: Problem } | null;
const PREVIEW_PAUSE_MS = 400;

/** The next occurrences of the schedule being edited, as the server computes them, before it is saved. */
function usePreview(schedule: ScheduleBody): Preview {
  const [preview, setPreview] = useState<Preview>(null);
  const previewer = useMemo(
    () =>
      latestAfterPause(
        (body: ScheduleBody) =>
          // The body is a union the document's oneOf types stricter than a form builds (as for create).
          must(api.POST("/api/v1/reminders/occurrences", { params: { query: { limit: 3 } }, body: body as never })),
        (answer) =>
          setPreview(
            answer.ok
              ? { items: answer.value.items }
              : { problem: answer.error instanceof ProblemError ? answer.error.problem : toProblem(0, null) },
          ),
        PREVIEW_PAUSE_MS,
      ),
    [],
  );
  useEffect(() => () => previewer.stop(), [previewer]);
  const key = JSON.stringify(schedule);
  useEffect(() => previewer.update(JSON.parse(key) as ScheduleBody), [previewer, key]);
  return preview;
}

function PreviewLine({ preview, zone }: { preview: Preview; zone: string }) {
  if (!preview) return null;
  if ("problem" in preview) {
    const named = preview.problem.errors.length > 0;
    return <p className="muted">{named ? "No preview until the schedule is valid." : `No preview: ${preview.problem.detail}`}</p>;
  }
  if (preview.items.length === 0) return <p className="muted">It would not fire.</p>;
  return <p className="muted">Would fire: {formatOccurrences(preview.items, zone)}</p>;
}

/** Days and rule a form starts with, for switching to those frequencies. */
const NEW_REMINDER: Pick<ReminderForm, "customDays" | "rrule"> = { customDays: ["mon", "wed", "fri"], rrule: "FREQ=MONTHLY;BYDAY=-1FR" };

type Setter = <K extends keyof ReminderForm>(key: K, value: ReminderForm[K]) => void;

/** The fields of a reminder and the preview of its schedule: the create form's and the edit form's. */
function ReminderFields({ form, set, problemAt, preview }: { form: ReminderForm; set: Setter; problemAt: (field: string) => string | undefined; preview: Preview }) {
  return (
    <>
          <div className="grid">
            <Field label="Title" error={problemAt("title")}>
              {(p) => <input {...p} required maxLength={200} value={form.title} onChange={(e) => set("title", e.target.value)} />}
            </Field>
            <Field label="Message" error={problemAt("message")}>
              {(p) => <input {...p} maxLength={2000} value={form.message} onChange={(e) => set("message", e.target.value)} />}
            </Field>
            <Field label="Repeats" error={problemAt("frequency")}>
              {(p) => (
                <select {...p} value={form.frequency} onChange={(e) => set("frequency", e.target.value as Frequency)}>
                  {Object.entries(FREQUENCIES).map(([value, label]) => (
                    <option key={value} value={value}>
                      {label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Time" error={problemAt("time")}>
              {(p) => <input {...p} type="time" required value={form.time} onChange={(e) => set("time", e.target.value)} />}
            </Field>
            <Field label="Time zone" error={problemAt("timezone")}>
              {(p) => (
                <select {...p} value={form.timezone} onChange={(e) => set("timezone", e.target.value)}>
                  {timeZones().map((zone) => (
                    <option key={zone} value={zone}>
                      {zone}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label={form.frequency === "once" ? "Date" : "Starting"} error={problemAt("start_date")}>
              {(p) => <input {...p} type="date" value={form.startDate} onChange={(e) => set("startDate", e.target.value)} />}
            </Field>
          </div>
          {form.frequency === "custom" && (
            <fieldset>
              <legend>Days</legend>
              {DAYS.map((day) => (
                <label key={day} className="check">
                  <input
                    type="checkbox"
                    checked={form.customDays.includes(day)}
                    onChange={(e) => set("customDays", e.target.checked ? [...form.customDays, day] : form.customDays.filter((d): d is Day => d !== day))}
                  />
                  {day}
                </label>
              ))}
              {problemAt("custom_days") && <small className="field-error">{problemAt("custom_days")}</small>}
            </fieldset>
          )}
          {form.frequency === "rrule" && (
            <Field label="Rule" error={problemAt("rrule")} hint="e.g. FREQ=MONTHLY;BYDAY=-1FR (last Friday of each month); FREQ=WEEKLY;INTERVAL=2;BYDAY=MO">
              {(p) => <input {...p} required value={form.rrule} onChange={(e) => set("rrule", e.target.value)} />}
            </Field>
          )}
          <div aria-live="polite">
            <PreviewLine preview={preview} zone={form.timezone} />
          </div>
    </>
  );
}

/** A hook for the state of one reminder form: the schedule's preview and where each field's message comes from. */
function useReminderForm(form: ReminderForm, saveProblem: Problem | null, setSaveProblem: (problem: Problem | null) => void) {
  const schedule = scheduleBody(form);
  const preview = usePreview(schedule);
  // A save's refusal is about the schedule it sent: a changed schedule has the preview's verdict.
  const scheduleKey = JSON.stringify(schedule);
  useEffect(() => setSaveProblem(null), [scheduleKey, setSaveProblem]);
  // A field's message: from the last save, else from the preview (so a bad rule shows before saving).
  const problemAt = (field: string) => errorFor(saveProblem, field) ?? (preview && "problem" in preview ? errorFor(preview.problem, field) : undefined);
  return { preview, problemAt };
}

/** Editing a saved reminder: its ETag is read when the form opens and sent as If-Match (412 if it
 * changed meanwhile, e.g. fired: reopen the form). */
function ReminderEditor({ reminder, onSaved, onCancel }: { reminder: Reminder; onSaved: (saved: Reminder) => void; onCancel: () => void }) {
  const [form, setForm] = useState<ReminderForm>(() => formOf(reminder, NEW_REMINDER));
  const [etag, setEtag] = useState<string | null>(null);
  const save = useAction();
  const { preview, problemAt } = useReminderForm(form, save.problem, save.setProblem);
  const set: Setter = (key, value) => setForm((f) => ({ ...f, [key]: value }));
  const { run } = save;

  useEffect(() => {
    void run(async () => {
      const { data, etag: tag } = await withEtag(api.GET("/api/v1/reminders/{reminder_id}", { params: { path: { reminder_id: reminder.id } } }));
      setForm(formOf(data, NEW_REMINDER));
      setEtag(tag);
    });
  }, [run, reminder.id]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const saved = await run(() =>
      must(
        api.PATCH("/api/v1/reminders/{reminder_id}", {
          params: { path: { reminder_id: reminder.id } },
          // The same union as the create form's body (see create()).
          body: reminderBody(form) as ReminderUpdate as never,
          headers: etag ? { "If-Match": etag } : {},
        }),
      ),
    );
    if (saved) onSaved(saved);
  }

  return (
    <form className="edit" onSubmit={submit} aria-label={`Edit ${reminder.title}`}>
      <ReminderFields form={form} set={set} problemAt={problemAt} preview={preview} />
      <ProblemBanner problem={save.problem} shownFields={FIELDS} />
      <div className="actions">
        <button type="submit" className="primary" disabled={save.busy}>
          Save changes
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

const today = () => new Date().toLocaleDateString("sv-SE"); // YYYY-MM-DD in the browser's zone

export function Reminders() {
  const [reminders, setReminders] = useState<Reminder[]>([]);
  const [form, setForm] = useState<ReminderForm>(() => ({
    title: "",
    message: "",
    frequency: "daily",
    time: "08:00",
    timezone: browserTimeZone(),
    startDate: today(),
    ...NEW_REMINDER,
  }));
  const [editing, setEditing] = useState<string | null>(null);
  const list = useAction();
  const save = useAction();
  const { preview, problemAt } = useReminderForm(form, save.problem, save.setProblem);
  const set: Setter = (key, value) => setForm((f) => ({ ...f, [key]: value }));

  const load = useCallback(async () => {
    setReminders((await must(api.GET("/api/v1/reminders", { params: { query: { limit: 100 } } }))).items);
  }, []);
  useEffect(() => {
    void list.run(load);
  }, [list.run, load]);

  async function create(event: FormEvent) {
    event.preventDefault();
    const made = await save.run(() =>
      must(
        api.POST("/api/v1/reminders", {
          // reminderBody() sends rrule only with frequency "rrule" (the document's oneOf); openapi-fetch's
          // view of that oneOf rejects the union the form builds, so the body is cast here.
          body: reminderBody(form) as ReminderCreate as never,
          headers: { "Idempotency-Key": newIdempotencyKey() },
        }),
      ),
    );
    if (made) {
      setForm((f) => ({ ...f, title: "", message: "" }));
      await list.run(load);
    }
  }

  async function toggle(reminder: Reminder) {
    await list.run(async () => {
      const updated = await must(
        api.PATCH("/api/v1/reminders/{reminder_id}", { params: { path: { reminder_id: reminder.id } }, body: { is_active: !reminder.is_active } }),
      );
      setReminders((all) => all.map((r) => (r.id === reminder.id ? updated : r)));
    });
  }

  async function remove(reminder: Reminder) {
    await list.run(async () => {
      await must(api.DELETE("/api/v1/reminders/{reminder_id}", { params: { path: { reminder_id: reminder.id } } }));
      setReminders((all) => all.filter((r) => r.id !== reminder.id));
    });
  }

  return (
    <section aria-labelledby="reminders-title">
      <h1 id="reminders-title">Reminders</h1>
      <form className="card" onSubmit={create} aria-label="New reminder">
        <ReminderFields form={form} set={set} problemAt={problemAt} preview={preview} />
        <ProblemBanner problem={save.problem} shownFields={FIELDS} />
        <button type="submit" className="primary" disabled={save.busy}>
          Add reminder
        </button>
      </form>
      <ProblemBanner problem={list.problem} />
      {reminders.length === 0 && <p className="muted">No reminders yet.</p>}
      <ul className="reminders" aria-label="Reminders">
        {reminders.map((r) => (
          <li key={r.id} className={`card ${r.is_active ? "" : "inactive"}`}>
            <h3>{r.title}</h3>
            <p>
              {FREQUENCIES[r.frequency]}
              {r.frequency === "custom" && r.custom_days ? ` (${r.custom_days.join(", ")})` : ""}
              {r.frequency === "rrule" && r.rrule ? ` (${r.rrule})` : ""} at {r.time} {r.timezone}
              {r.message && <> · {r.message}</>}
            </p>
            {r.is_active ? <Occurrences reminder={r} /> : <p className="muted">Paused</p>}
            {editing === r.id && (
              <ReminderEditor
                reminder={r}
                onCancel={() => setEditing(null)}
                onSaved={(saved) => {
                  setReminders((all) => all.map((each) => (each.id === saved.id ? saved : each)));
                  setEditing(null);
                }}
              />
            )}
            <div className="actions">
              {editing !== r.id && (
                <button type="button" onClick={() => setEditing(r.id)}>
                  Edit<span className="visually-hidden"> {r.title}</span>
                </button>
              )}
              <button type="button" onClick={() => void toggle(r)}>
                {r.is_active ? "Pause" : "Resume"}
                <span className="visually-hidden"> {r.title}</span>
              </button>
              <button type="button" onClick={() => void remove(r)}>
                Delete<span className="visually-hidden"> {r.title}</span>
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
