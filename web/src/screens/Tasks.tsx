import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, must, newIdempotencyKey } from "../api/client";
import { errorFor } from "../api/problem";
import type { components } from "../api/schema";
import { Field } from "../components/Field";
import { ProblemBanner } from "../components/ProblemBanner";
import { formatWhen, localToRfc3339 } from "../lib/dates";
import { useAction } from "../lib/useAsync";
import { TaskTrash } from "./TaskTrash";

type Task = components["schemas"]["journal_Task"];
type Goal = components["schemas"]["journal_Goal"];
type Status = Task["status"];
type Priority = Task["priority"];
const SORTS = { "-created_at": "Newest first", due_at: "Due soonest", "-priority": "Highest priority" } as const;
const STATUS_LABEL: Record<Status, string> = { todo: "To do", in_progress: "In progress", done: "Done" };

export function Tasks() {
  const [showTrash, setShowTrash] = useState(false);
  if (showTrash) return <TaskTrash onBack={() => setShowTrash(false)} />;
  return <TaskList onTrash={() => setShowTrash(true)} />;
}

function TaskList({ onTrash }: { onTrash: () => void }) {
  const [tasks, setTasks] = useState<Task[]>([]);
  const [goals, setGoals] = useState<Goal[]>([]);
  const [status, setStatus] = useState<Status | "">("");
  const [priorityFilter, setPriorityFilter] = useState<Priority | "">("");
  const [sort, setSort] = useState<keyof typeof SORTS>("-created_at");
  const [title, setTitle] = useState("");
  const [priority, setPriority] = useState<Priority>("medium");
  const [due, setDue] = useState("");
  const [goalId, setGoalId] = useState("");
  const list = useAction();
  const form = useAction();

  const load = useCallback(async () => {
    const page = await must(
      api.GET("/api/v1/tasks", {
        params: { query: { limit: 100, sort, ...(status ? { status: [status] } : {}), ...(priorityFilter ? { priority: [priorityFilter] } : {}) } },
      }),
    );
    setTasks(page.items);
  }, [sort, status, priorityFilter]);

  useEffect(() => {
    void list.run(load);
  }, [list.run, load]);

  useEffect(() => {
    void list.run(async () => {
      // A task can serve any goal, sub-goals too: the roots, then each tree (parents before children).
      const roots = (await must(api.GET("/api/v1/goals", { params: { query: { limit: 100 } } }))).items;
      const trees = await Promise.all(roots.map((root) => must(api.GET("/api/v1/goals", { params: { query: { limit: 100, root_id: root.id } } }))));
      setGoals(trees.flatMap((tree) => tree.items));
    });
  }, [list.run]);

  async function create(event: FormEvent) {
    event.preventDefault();
    const created = await form.run(() =>
      must(
        api.POST("/api/v1/tasks", {
          body: { title, priority, status: "todo", ...(due ? { due_at: localToRfc3339(due) } : {}), ...(goalId ? { goal_id: goalId } : {}) },
          headers: { "Idempotency-Key": newIdempotencyKey() },
        }),
      ),
    );
    if (created) {
      setTitle("");
      setDue("");
      await list.run(load);
    }
  }

  async function changeStatus(task: Task, next: Status) {
    await list.run(async () => {
      const updated = await must(api.PATCH("/api/v1/tasks/{task_id}", { params: { path: { task_id: task.id } }, body: { status: next } }));
      // Under a status filter, a task whose status no longer matches leaves the list (as a reload would show).
      setTasks((all) => (status && updated.status !== status ? all.filter((t) => t.id !== task.id) : all.map((t) => (t.id === task.id ? updated : t))));
    });
  }

  async function remove(task: Task) {
    await list.run(async () => {
      await must(api.DELETE("/api/v1/tasks/{task_id}", { params: { path: { task_id: task.id } } }));
      setTasks((all) => all.filter((t) => t.id !== task.id));
    });
  }

  const goalTitle = (id: string | null | undefined) => goals.find((g) => g.id === id)?.title;

  return (
    <section aria-labelledby="tasks-title">
      <div className="toolbar">
        <h1 id="tasks-title">Tasks</h1>
        <button type="button" onClick={onTrash}>
          Trash
        </button>
      </div>
      <form className="card" onSubmit={create} aria-label="New task">
        <div className="grid">
          <Field label="Task" error={errorFor(form.problem, "title")}>
            {(p) => <input {...p} required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />}
          </Field>
          <Field label="Priority" error={errorFor(form.problem, "priority")}>
            {(p) => (
              <select {...p} value={priority} onChange={(e) => setPriority(e.target.value as Priority)}>
                <option value="low">Low</option>
                <option value="medium">Medium</option>
                <option value="high">High</option>
              </select>
            )}
          </Field>
          <Field label="Due" error={errorFor(form.problem, "due_at")}>
            {(p) => <input {...p} type="datetime-local" value={due} onChange={(e) => setDue(e.target.value)} />}
          </Field>
          <Field label="Goal" error={errorFor(form.problem, "goal_id")}>
            {(p) => (
              <select {...p} value={goalId} onChange={(e) => setGoalId(e.target.value)}>
                <option value="">No goal</option>
                {goals.map((g) => (
                  <option key={g.id} value={g.id}>
                    {"\u00a0\u00a0\u00a0".repeat(g.depth)}
                    {g.title}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <ProblemBanner problem={form.problem} shownFields={["title", "priority", "due_at", "goal_id"]} />
        <button type="submit" className="primary" disabled={form.busy}>
          Add task
        </button>
      </form>
      <div className="filters" aria-label="Filters">
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value as Status | "")}>
            <option value="">Any status</option>
            {Object.entries(STATUS_LABEL).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Priority
          <select value={priorityFilter} onChange={(e) => setPriorityFilter(e.target.value as Priority | "")}>
            <option value="">Any priority</option>
            <option value="high">High</option>
            <option value="medium">Medium</option>
            <option value="low">Low</option>
          </select>
        </label>
        <label>
          Sort
          <select value={sort} onChange={(e) => setSort(e.target.value as keyof typeof SORTS)}>
            {Object.entries(SORTS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ProblemBanner problem={list.problem} />
      {tasks.length === 0 && <p className="muted">No tasks here.</p>}
      <ul className="tasks" aria-label="Tasks">
        {tasks.map((task) => (
          <li key={task.id} className={`card task ${task.status}`}>
            <div>
              <h3>{task.title}</h3>
              <p className="muted">
                <span className={`priority ${task.priority}`}>{task.priority}</span> · due {formatWhen(task.due_at)}
                {task.goal_id && <> · goal: {goalTitle(task.goal_id) ?? "…"}</>}
              </p>
            </div>
            <div className="actions">
              <label>
                <span className="visually-hidden">Status of {task.title}</span>
                <select value={task.status} onChange={(e) => void changeStatus(task, e.target.value as Status)}>
                  {Object.entries(STATUS_LABEL).map(([value, label]) => (
                    <option key={value} value={value}>
                      {label}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" onClick={() => void remove(task)}>
                Delete<span className="visually-hidden"> {task.title}</span>
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
