import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, must, newIdempotencyKey } from "../api/client";
import { errorFor } from "../api/problem";
import type { components } from "../api/schema";
import { Field } from "../components/Field";
import { ProblemBanner } from "../components/ProblemBanner";
import { StatsChart } from "../components/StatsChart";
import { formatDuration, formatWhen } from "../lib/dates";
import { useAction } from "../lib/useAsync";

type Activity = components["schemas"]["journal_Activity"];
type Session = components["schemas"]["journal_Session"];
type Instance = components["schemas"]["journal_Instance"];

/** Seconds an instance has run: its stored duration, or (running) since its server-side start. */
export function elapsedSeconds(instance: Pick<Instance, "time_start" | "time_stop" | "duration_seconds">, now: number): number {
  if (instance.duration_seconds != null) return instance.duration_seconds;
  if (instance.time_start && !instance.time_stop) return Math.max(0, Math.floor((now - Date.parse(instance.time_start)) / 1000));
  return 0;
}

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

function InstanceRow({ session, instance, activity, onChanged }: { session: Session; instance: Instance; activity: Activity | undefined; onChanged: (i: Instance) => void }) {
  const running = Boolean(instance.time_start && !instance.time_stop);
  const now = useNow(running);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(instance.metrics.filter((m) => m.split_id === null).map((m) => [m.metric_id, String(m.value)])),
  );
  const { problem, busy, run } = useAction();
  const name = activity?.name ?? "Activity";
  const path = { path: { session_id: session.id, instance_id: instance.id } };

  const timer = (action: "start" | "stop") =>
    run(async () => {
      const url = action === "start" ? "/api/v1/sessions/{session_id}/activities/{instance_id}/start" : "/api/v1/sessions/{session_id}/activities/{instance_id}/stop";
      onChanged(await must(api.POST(url, { params: path })));
    });

  async function saveMetrics(event: FormEvent) {
    event.preventDefault();
    await run(async () => {
      const body = Object.entries(values)
        .filter(([, v]) => v.trim() !== "")
        .map(([metric_id, v]) => ({ metric_id, value: Number(v) }));
      const saved = await must(api.PUT("/api/v1/sessions/{session_id}/activities/{instance_id}/metrics", { params: path, body }));
      onChanged({ ...instance, metrics: Array.isArray(saved) ? saved : instance.metrics });
    });
  }

  return (
    <li className="instance">
      <div className="goal-row">
        <strong>{name}</strong>
        <span className="timer" aria-live="off">
          {formatDuration(elapsedSeconds(instance, now))}
        </span>
        {running ? (
          <button type="button" onClick={() => void timer("stop")} disabled={busy}>
            Stop timer<span className="visually-hidden"> of {name}</span>
          </button>
        ) : (
          <button type="button" onClick={() => void timer("start")} disabled={busy || Boolean(instance.time_stop)}>
            Start timer<span className="visually-hidden"> of {name}</span>
          </button>
        )}
      </div>
      {activity && activity.metrics.length > 0 && (
        <form className="inline" onSubmit={saveMetrics} aria-label={`Metrics of ${name}`}>
          {activity.metrics.map((metric) => (
            <Field key={metric.id} label={`${metric.name} (${metric.unit})`}>
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={0}
                  step="any"
                  inputMode="decimal"
                  value={values[metric.id] ?? ""}
                  onChange={(e) => setValues((v) => ({ ...v, [metric.id]: e.target.value }))}
                />
              )}
            </Field>
          ))}
          <button type="submit" disabled={busy}>
            Save metrics
          </button>
        </form>
      )}
      <ProblemBanner problem={problem} />
    </li>
  );
}

export function Practice({ rootId }: { rootId: string }) {
  const [activities, setActivities] = useState<Activity[]>([]);
  const [sessions, setSessions] = useState<Session[]>([]);
  const [current, setCurrent] = useState<Session | null>(null);
  const [activityName, setActivityName] = useState("");
  const [metricName, setMetricName] = useState("");
  const [metricUnit, setMetricUnit] = useState("");
  const [chosen, setChosen] = useState("");
  const [statsVersion, setStatsVersion] = useState(0);
  const { problem, busy, run } = useAction();
  const activityForm = useAction();

  const load = useCallback(async () => {
    const [acts, page] = await Promise.all([
      must(api.GET("/api/v1/goals/{root_id}/activities", { params: { path: { root_id: rootId }, query: { limit: 100 } } })),
      must(api.GET("/api/v1/goals/{root_id}/sessions", { params: { path: { root_id: rootId }, query: { limit: 10 } } })),
    ]);
    setActivities(acts.items);
    setSessions(page.items);
    // A session started earlier (another visit, a reload) and not ended yet is the current one again.
    setCurrent((c) => c ?? page.items.find((s) => s.ended_at === null) ?? null);
    setChosen((c) => c || acts.items[0]?.id || "");
  }, [rootId]);

  useEffect(() => {
    setCurrent(null);
    void run(load);
  }, [run, load]);

  async function addActivity(event: FormEvent) {
    event.preventDefault();
    const made = await activityForm.run(() =>
      must(
        api.POST("/api/v1/goals/{root_id}/activities", {
          params: { path: { root_id: rootId } },
          body: { name: activityName, ...(metricName ? { metrics: [{ name: metricName, unit: metricUnit || "count", sort_order: 0 }] } : {}) },
        }),
      ),
    );
    if (made) {
      setActivityName("");
      setMetricName("");
      setMetricUnit("");
      setChosen(made.id);
      await run(load);
    }
  }

  const startSession = () =>
    run(async () => {
      const session = await must(
        api.POST("/api/v1/goals/{root_id}/sessions", {
          params: { path: { root_id: rootId } },
          body: { title: `Practice ${new Date().toLocaleDateString()}`, started_at: new Date().toISOString() },
          headers: { "Idempotency-Key": newIdempotencyKey() },
        }),
      );
      setCurrent(session);
      setSessions((all) => [session, ...all]);
    });

  const addInstance = () =>
    run(async () => {
      if (!current || !chosen) return;
      const instance = await must(
        api.POST("/api/v1/sessions/{session_id}/activities", {
          params: { path: { session_id: current.id } },
          body: { activity_id: chosen, sort_order: current.activities.length },
        }),
      );
      setCurrent({ ...current, activities: [...current.activities, instance] });
    });

  const endSession = () =>
    run(async () => {
      if (!current) return;
      await must(api.PATCH("/api/v1/sessions/{session_id}", { params: { path: { session_id: current.id } }, body: { ended_at: new Date().toISOString() } }));
      setCurrent(null);
      setStatsVersion((v) => v + 1);
      await load();
    });

  const replaceInstance = (instance: Instance) => {
    setCurrent((s) => (s ? { ...s, activities: s.activities.map((i) => (i.id === instance.id ? instance : i)) } : s));
    setStatsVersion((v) => v + 1);
  };

  return (
    <div className="practice">
      <section className="card" aria-labelledby="activities-title">
        <h2 id="activities-title">Activities</h2>
        {activities.length === 0 ? <p className="muted">None yet.</p> : <p>{activities.map((a) => a.name).join(", ")}</p>}
        <form className="inline" onSubmit={addActivity}>
          <Field label="New activity" error={errorFor(activityForm.problem, "name")}>
            {(p) => <input {...p} required maxLength={100} value={activityName} onChange={(e) => setActivityName(e.target.value)} />}
          </Field>
          <Field label="Metric (optional)">{(p) => <input {...p} value={metricName} onChange={(e) => setMetricName(e.target.value)} />}</Field>
          <Field label="Unit">{(p) => <input {...p} value={metricUnit} onChange={(e) => setMetricUnit(e.target.value)} />}</Field>
          <button type="submit" disabled={activityForm.busy}>
            Add activity
          </button>
        </form>
        <ProblemBanner problem={activityForm.problem} shownFields={["name"]} />
      </section>
      <section className="card" aria-labelledby="session-title">
        <h2 id="session-title">Session</h2>
        <ProblemBanner problem={problem} />
        {current ? (
          <>
            <p>
              Started {formatWhen(current.started_at)}.{" "}
              <button type="button" onClick={() => void endSession()} disabled={busy}>
                End session
              </button>
            </p>
            <div className="inline">
              <label>
                Activity
                <select value={chosen} onChange={(e) => setChosen(e.target.value)}>
                  {activities.map((a) => (
                    <option key={a.id} value={a.id}>
                      {a.name}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" onClick={() => void addInstance()} disabled={busy || !chosen}>
                Add to session
              </button>
            </div>
            <ul className="instances" aria-label="Activities in this session">
              {current.activities.map((instance) => (
                <InstanceRow
                  key={instance.id}
                  session={current}
                  instance={instance}
                  activity={activities.find((a) => a.id === instance.activity_id)}
                  onChanged={replaceInstance}
                />
              ))}
            </ul>
          </>
        ) : (
          <button type="button" className="primary" onClick={() => void startSession()} disabled={busy || activities.length === 0}>
            Start a session
          </button>
        )}
        {sessions.length > 0 && (
          <>
            <h3>Recent sessions</h3>
            <ul className="sessions">
              {sessions.map((s) => (
                <li key={s.id}>
                  {s.title ?? "Session"} · {formatWhen(s.started_at)} · {formatDuration(s.activities.reduce((sum, i) => sum + (i.duration_seconds ?? 0), 0))}
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
      <StatsChart rootId={rootId} activities={activities} version={statsVersion} />
    </div>
  );
}
