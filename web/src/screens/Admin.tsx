import { useCallback, useEffect, useState } from "react";
import { api, must } from "../api/client";
import type { components } from "../api/schema";
import { ProblemBanner } from "../components/ProblemBanner";
import { useAction } from "../lib/useAsync";

type User = components["schemas"]["users_User"];

/** Superusers only (the nav hides it from others; the API answers 403 to them): accounts with deactivate, activate, delete. */
export function Admin({ me }: { me: User }) {
  const [users, setUsers] = useState<User[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const { problem, busy, run } = useAction();

  const load = useCallback(
    (after: string | null) =>
      run(async () => {
        const page = await must(api.GET("/api/v1/admin/users", { params: { query: { limit: 50, ...(after ? { cursor: after } : {}) } } }));
        setUsers((shown) => (after ? [...shown, ...page.items] : page.items));
        setCursor(page.next_cursor);
      }),
    [run],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  const replace = (changed: User) => setUsers((shown) => shown.map((u) => (u.id === changed.id ? changed : u)));

  const setActive = (user: User, active: boolean) =>
    run(async () => {
      const params = { params: { path: { user_id: user.id } } };
      replace(await must(active ? api.POST("/api/v1/admin/users/{user_id}/activate", params) : api.POST("/api/v1/admin/users/{user_id}/deactivate", params)));
    });

  const erase = (user: User) =>
    run(async () => {
      await must(api.DELETE("/api/v1/admin/users/{user_id}", { params: { path: { user_id: user.id } } }));
      setUsers((shown) => shown.filter((u) => u.id !== user.id));
      setConfirming(null);
    });

  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Accounts</h1>
      <ProblemBanner problem={problem} />
      <table className="card">
        <caption>Live accounts, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id}>
              <td>
                {user.email}
                {user.is_superuser && " (admin)"}
              </td>
              <td>
                {user.is_active ? "active" : "deactivated"}
                {user.email_verified_at ? ", verified" : ", not verified"}
              </td>
              <td>
                {user.id !== me.id && (
                  <>
                    <button type="button" disabled={busy} onClick={() => void setActive(user, !user.is_active)} aria-label={`${user.is_active ? "Deactivate" : "Activate"} ${user.email}`}>
                      {user.is_active ? "Deactivate" : "Activate"}
                    </button>{" "}
                    {confirming === user.id ? (
                      <button type="button" className="danger" disabled={busy} onClick={() => void erase(user)} aria-label={`Really delete ${user.email}`}>
                        Really delete
                      </button>
                    ) : (
                      <button type="button" disabled={busy} onClick={() => setConfirming(user.id)} aria-label={`Delete ${user.email}`}>
                        Delete
                      </button>
                    )}
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {cursor && (
        <button type="button" disabled={busy} onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}
