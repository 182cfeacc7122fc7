import { useCallback, useEffect, useState } from "react";
import { api, must } from "../api/client";
import type { components } from "../api/schema";
import { EmptyTrash } from "../components/EmptyTrash";
import { ProblemBanner } from "../components/ProblemBanner";
import { formatWhen } from "../lib/dates";
import { useAction } from "../lib/useAsync";

type Task = components["schemas"]["journal_Task"];

/** The deleted tasks, latest first: restore one, delete one for good, or empty the trash. */
export function TaskTrash({ onBack }: { onBack: () => void }) {
  const [tasks, setTasks] = useState<Task[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const { problem, run } = useAction();

  const loadPage = useCallback(
    async (after: string | null) => {
      await run(async () => {
        const page = await must(api.GET("/api/v1/tasks/trash", { params: { query: { limit: 50, ...(after ? { cursor: after } : {}) } } }));
        setTasks((previous) => (after ? [...previous, ...page.items] : page.items));
        setCursor(page.next_cursor);
        setLoaded(true);
      });
    },
    [run],
  );

  useEffect(() => {
    void loadPage(null);
  }, [loadPage]);

  const drop = (task: Task) => setTasks((all) => all.filter((t) => t.id !== task.id));

  async function restore(task: Task) {
    await run(async () => {
      await must(api.POST("/api/v1/tasks/{task_id}/restore", { params: { path: { task_id: task.id } } }));
      drop(task);
    });
  }

  async function purge(task: Task) {
    await run(async () => {
      await must(api.DELETE("/api/v1/tasks/trash/{task_id}", { params: { path: { task_id: task.id } } }));
      drop(task);
    });
  }

  async function emptyTrash() {
    await run(async () => {
      await must(api.DELETE("/api/v1/tasks/trash"));
      setTasks([]);
      setCursor(null);
    });
  }

  return (
    <section aria-labelledby="task-trash-title">
      <div className="toolbar">
        <h1 id="task-trash-title">Deleted tasks</h1>
        {tasks.length > 0 && <EmptyTrash onEmpty={emptyTrash} />}
        <button type="button" onClick={onBack}>
          Back to the tasks
        </button>
      </div>
      <ProblemBanner problem={problem} />
      {loaded && tasks.length === 0 && <p className="muted">The trash is empty.</p>}
      <ul className="tasks" aria-label="Deleted tasks">
        {tasks.map((task) => (
          <li key={task.id} className={`card task ${task.status}`}>
            <div>
              <h3>{task.title}</h3>
              <p className="muted">
                <span className={`priority ${task.priority}`}>{task.priority}</span> · deleted {formatWhen(task.deleted_at)}
              </p>
            </div>
            <div className="actions">
              <button type="button" onClick={() => void restore(task)}>
                Restore<span className="visually-hidden"> {task.title}</span>
              </button>
              <button type="button" onClick={() => void purge(task)}>
                Delete for good<span className="visually-hidden"> {task.title}</span>
              </button>
            </div>
          </li>
        ))}
      </ul>
      {cursor && (
        <div className="more">
          <button type="button" onClick={() => void loadPage(cursor)}>
            Load more
          </button>
        </div>
      )}
    </section>
  );
}
