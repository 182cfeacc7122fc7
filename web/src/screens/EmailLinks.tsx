import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, must } from "../api/client";
import { errorFor } from "../api/problem";
import { clearSession } from "../api/session";
import { Field } from "../components/Field";
import { ProblemBanner } from "../components/ProblemBanner";
import type { EmailLink } from "../lib/route";
import { useAction } from "../lib/useAsync";

/** Where an emailed link leads: a new password from the reset link, or the address verified. */
export function EmailLinkPage({ link }: { link: EmailLink }) {
  return (
    <main className="auth" id="main">
      <h1>Daybook</h1>
      {link.kind === "reset-password" ? <ResetPassword token={link.token} /> : <VerifyEmail token={link.token} />}
    </main>
  );
}

function ResetPassword({ token }: { token: string }) {
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const { problem, busy, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    await run(async () => {
      await must(api.POST("/api/v1/auth/password-reset/confirm", { body: { token, new_password: password } }));
      clearSession("Your password was changed: sign in with the new one.");
      setDone(true);
    });
  }

  if (done) {
    return (
      <section className="card" aria-labelledby="reset-title">
        <h2 id="reset-title">Password changed</h2>
        <p role="status">Every session was signed out. Sign in with your new password.</p>
        <a href="/">Go to sign in</a>
      </section>
    );
  }
  return (
    <form onSubmit={submit} className="card" aria-labelledby="reset-title">
      <h2 id="reset-title">Choose a new password</h2>
      <Field label="New password" error={errorFor(problem, "new_password")} hint="8 to 128 characters">
        {(p) => <input {...p} type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}
      </Field>
      <ProblemBanner problem={problem} shownFields={["new_password"]} />
      {problem?.status === 400 && (
        <p>
          This link was used already or has expired. <a href="/#/forgot">Ask for a new one</a>.
        </p>
      )}
      <button type="submit" className="primary" disabled={busy || !token}>
        Set new password
      </button>
    </form>
  );
}

function VerifyEmail({ token }: { token: string }) {
  const [verified, setVerified] = useState(false);
  const { problem, busy, run } = useAction();
  const sent = useRef(false);

  useEffect(() => {
    if (sent.current) return; // React's strict mode runs effects twice in development; a token is single use
    sent.current = true;
    void run(async () => {
      await must(api.POST("/api/v1/auth/verify-email", { body: { token } }));
      setVerified(true);
    });
  }, [run, token]);

  return (
    <section className="card" aria-labelledby="verify-title" aria-busy={busy}>
      <h2 id="verify-title">Verify your email</h2>
      {verified && <p role="status">Your email address is verified.</p>}
      {busy && <p>Verifying…</p>}
      <ProblemBanner problem={problem} />
      {problem && <p>Open the account screen to have the link sent again.</p>}
      <a href="/">Continue to Daybook</a>
    </section>
  );
}
