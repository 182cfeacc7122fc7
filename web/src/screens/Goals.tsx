import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, must, newIdempotencyKey } from "../api/client";
import { errorFor } from "../api/problem";
import type { components } from "../api/schema";
import { Field } from "../components/Field";
import { ProblemBanner } from "../components/ProblemBanner";
import { useAction } from "../lib/useAsync";
import { Practice } from "./Practice";

type Goal = components["schemas"]["journal_Goal"];
type Tree = components["schemas"]["journal_GoalTree"];

/** New positions for siblings after moving one of them by `step`: [goal id, sort_order] to save. */
export function reorder(siblings: readonly { id: string; sort_order: number }[], id: string, step: -1 | 1): [string, number][] {
  const order = siblings.map((s) => s.id);
  const at = order.indexOf(id);
  const to = at + step;
  if (at < 0 || to < 0 || to >= order.length) return [];
  [order[at], order[to]] = [order[to]!, order[at]!];
  return order.flatMap((goalId, index) => (siblings.find((s) => s.id === goalId)?.sort_order === index ? [] : [[goalId, index] as [string, number]]));
}

function AddGoal({ parentId, onAdded, label }: { parentId: string | null; onAdded: () => void; label: string }) {
  const [title, setTitle] = useState("");
  const { problem, busy, run } = useAction();
  async function submit(event: FormEvent) {
    event.preventDefault();
    const made = await run(() =>
      must(
        api.POST("/api/v1/goals", {
          body: { title, sort_order: 1_000_000, ...(parentId ? { parent_id: parentId } : {}) },
          headers: { "Idempotency-Key": newIdempotencyKey() },
        }),
      ),
    );
    if (made) {
      setTitle("");
      onAdded();
    }
  }
  return (
    <form className="inline" onSubmit={submit}>
      <Field label={label} error={errorFor(problem, "title")}>
        {(p) => <input {...p} required maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />}
      </Field>
      <button type="submit" disabled={busy}>
        Add
      </button>
      <ProblemBanner problem={problem} shownFields={["title"]} />
    </form>
  );
}

interface NodeProps {
  node: Tree;
  siblings: Tree[];
  onChanged: () => void;
  run: ReturnType<typeof useAction>["run"];
}

function GoalNode({ node, siblings, onChanged, run }: NodeProps) {
  const [adding, setAdding] = useState(false);
  const index = siblings.findIndex((s) => s.id === node.id);

  async function move(step: -1 | 1) {
    await run(async () => {
      for (const [id, sortOrder] of reorder(siblings, node.id, step)) {
        await must(api.PATCH("/api/v1/goals/{goal_id}", { params: { path: { goal_id: id } }, body: { sort_order: sortOrder } }));
      }
      onChanged();
    });
  }

  async function toggleDone() {
    await run(async () => {
      await must(
        api.PATCH("/api/v1/goals/{goal_id}", { params: { path: { goal_id: node.id } }, body: { status: node.status === "done" ? "active" : "done" } }),
      );
      onChanged();
    });
  }

  async function remove() {
    await run(async () => {
      await must(api.DELETE("/api/v1/goals/{goal_id}", { params: { path: { goal_id: node.id } } }));
      onChanged();
    });
  }

  return (
    <li className={`goal ${node.status}`}>
      <div className="goal-row">
        <span className="goal-title">
          {node.status === "done" ? "✓ " : ""}
          {node.title}
        </span>
        <span className="actions small">
          {node.depth > 0 && (
            <>
              <button type="button" onClick={() => void move(-1)} disabled={index <= 0} aria-label={`Move ${node.title} up`}>
                ↑
              </button>
              <button type="button" onClick={() => void move(1)} disabled={index >= siblings.length - 1} aria-label={`Move ${node.title} down`}>
                ↓
              </button>
            </>
          )}
          <button type="button" onClick={() => setAdding(!adding)} aria-expanded={adding}>
            Sub-goal<span className="visually-hidden"> of {node.title}</span>
          </button>
          <button type="button" onClick={() => void toggleDone()}>
            {node.status === "done" ? "Reopen" : "Done"}
            <span className="visually-hidden"> {node.title}</span>
          </button>
          <button type="button" onClick={() => void remove()}>
            Delete<span className="visually-hidden"> {node.title}</span>
          </button>
        </span>
      </div>
      {adding && (
        <AddGoal
          parentId={node.id}
          label={`New sub-goal of ${node.title}`}
          onAdded={() => {
            setAdding(false);
            onChanged();
          }}
        />
      )}
      {node.children.length > 0 && (
        <ul>
          {node.children.map((child) => (
            <GoalNode key={child.id} node={child} siblings={node.children} onChanged={onChanged} run={run} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function Goals() {
  const [roots, setRoots] = useState<Goal[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [tree, setTree] = useState<Tree | null>(null);
  const [treeVersion, setTreeVersion] = useState(0);
  const { problem, run } = useAction();

  const loadRoots = useCallback(async () => {
    const page = await must(api.GET("/api/v1/goals", { params: { query: { limit: 100 } } }));
    setRoots(page.items);
    setSelected((current) => (current && page.items.some((g) => g.id === current) ? current : (page.items[0]?.id ?? null)));
  }, []);

  // After a change in the tree: the roots first, then the tree of the selection they leave (a deleted
  // root's tree is not asked for, which would be a 404), re-read even when the selection stays.
  const refresh = () =>
    void run(async () => {
      await loadRoots();
      setTreeVersion((v) => v + 1);
    });

  const loadTree = useCallback(async () => {
    if (!selected) {
      setTree(null);
      return;
    }
    setTree(await must(api.GET("/api/v1/goals/{goal_id}/tree", { params: { path: { goal_id: selected } } })));
  }, [selected]);

  useEffect(() => {
    void run(loadRoots);
  }, [run, loadRoots]);
  useEffect(() => {
    void run(loadTree);
  }, [run, loadTree, treeVersion]);

  return (
    <section aria-labelledby="goals-title">
      <h1 id="goals-title">Goals</h1>
      <div className="card">
        <AddGoal parentId={null} label="New goal" onAdded={() => void run(loadRoots)} />
        {roots.length > 0 && (
          <label>
            Goal tree
            <select value={selected ?? ""} onChange={(e) => setSelected(e.target.value)}>
              {roots.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.title}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <ProblemBanner problem={problem} />
      {roots.length === 0 && <p className="muted">No goals yet: name what you are working towards.</p>}
      {tree && (
        <>
          <ul className="goal-tree" aria-label="Goal tree">
            <GoalNode node={tree} siblings={[tree]} onChanged={refresh} run={run} />
          </ul>
          <Practice rootId={tree.id} />
        </>
      )}
    </section>
  );
}
