import { useState, type FormEvent } from "react";
import { api, must } from "../api/client";
import type { components } from "../api/schema";
import { clearSession, refreshToken } from "../api/session";
import { Field } from "../components/Field";
import { ProblemBanner } from "../components/ProblemBanner";
import { useAction } from "../lib/useAsync";
import { Security } from "./Security";

type User = components["schemas"]["users_User"];

export async function signOut(): Promise<void> {
  const token = refreshToken();
  if (token) await api.POST("/api/v1/auth/logout", { body: { refresh_token: token } });
  clearSession("You are signed out.");
}

export function Account({ user }: { user: User }) {
  const [confirm, setConfirm] = useState("");
  const { problem, busy, run } = useAction();
  const verification = useAction();
  const [verificationSent, setVerificationSent] = useState(false);

  async function sendVerification() {
    await verification.run(async () => {
      await must(api.POST("/api/v1/users/me/verify-email"));
      setVerificationSent(true);
    });
  }

  async function deleteAccount(event: FormEvent) {
    event.preventDefault();
    await run(async () => {
      await must(api.DELETE("/api/v1/users/me"));
      clearSession("Your account was deleted. Everything in it is being erased.");
    });
  }

  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">Account</h1>
      <dl className="card">
        <dt>Email</dt>
        <dd>{user.email}</dd>
        <dt>Email verified</dt>
        <dd>
          {user.email_verified_at ? (
            new Date(user.email_verified_at).toLocaleString()
          ) : (
            <>
              Not yet: open the link in the email we sent.{" "}
              <button type="button" onClick={() => void sendVerification()} disabled={verification.busy}>
                Send the link again
              </button>
              {verificationSent && <span role="status"> Sent: check your inbox.</span>}
              <ProblemBanner problem={verification.problem} />
            </>
          )}
        </dd>
        <dt>Name</dt>
        <dd>{user.full_name ?? "—"}</dd>
        <dt>Member since</dt>
        <dd>{new Date(user.created_at).toLocaleDateString()}</dd>
      </dl>
      <p>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </p>
      <Security />
      <form className="card danger" onSubmit={deleteAccount} aria-labelledby="delete-title">
        <h2 id="delete-title">Delete account</h2>
        <p>This signs you out everywhere and erases your journal, tasks, goals and reminders. It cannot be undone.</p>
        <Field label='Type "delete" to confirm'>
          {(p) => <input {...p} value={confirm} onChange={(e) => setConfirm(e.target.value)} autoComplete="off" />}
        </Field>
        <ProblemBanner problem={problem} />
        <button type="submit" className="danger" disabled={busy || confirm !== "delete"}>
          Delete my account
        </button>
      </form>
    </section>
  );
}
