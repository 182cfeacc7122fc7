import { useState, type FormEvent } from "react";
import { api, must, newIdempotencyKey } from "../api/client";
import { errorFor } from "../api/problem";
import { storeTokens } from "../api/session";
import { Field } from "../components/Field";
import { ProblemBanner } from "../components/ProblemBanner";
import { useAction } from "../lib/useAsync";

interface Props {
  notice: string | null;
}

/** Sign in, or sign up (then sign in with the same credentials), or ask for a password reset link. */
export function SignIn({ notice }: Props) {
  const [mode, setMode] = useState<"in" | "up" | "forgot">(() => (location.hash === "#/forgot" ? "forgot" : "in"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [fullName, setFullName] = useState("");
  const { problem, busy, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    await run(async () => {
      if (mode === "up") {
        await must(
          api.POST("/api/v1/auth/register", {
            body: { email, password, ...(fullName ? { full_name: fullName } : {}) },
            headers: { "Idempotency-Key": newIdempotencyKey() },
          }),
        );
      }
      storeTokens(await must(api.POST("/api/v1/auth/login", { body: { email, password } })));
    });
  }

  if (mode === "forgot") return <ForgotPassword notice={notice} onBack={() => setMode("in")} />;

  return (
    <main className="auth" id="main">
      <h1>Daybook</h1>
      <p className="tagline">Your journal, tasks, goals and reminders.</p>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit} className="card" aria-labelledby="auth-title">
        <h2 id="auth-title">{mode === "in" ? "Sign in" : "Create your account"}</h2>
        <Field label="Email" error={errorFor(problem, "email")}>
          {(p) => <input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field label="Password" error={errorFor(problem, "password")} {...(mode === "up" ? { hint: "8 to 128 characters" } : {})}>
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete={mode === "in" ? "current-password" : "new-password"}
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        {mode === "up" && (
          <Field label="Full name (optional)" error={errorFor(problem, "full_name")}>
            {(p) => <input {...p} autoComplete="name" value={fullName} onChange={(e) => setFullName(e.target.value)} />}
          </Field>
        )}
        <ProblemBanner problem={problem} shownFields={["email", "password", "full_name"]} />
        <button type="submit" className="primary" disabled={busy}>
          {mode === "in" ? "Sign in" : "Sign up"}
        </button>
        <button type="button" className="link" onClick={() => setMode(mode === "in" ? "up" : "in")}>
          {mode === "in" ? "No account yet? Sign up" : "Have an account? Sign in"}
        </button>
        {mode === "in" && (
          <button type="button" className="link" onClick={() => setMode("forgot")}>
            Forgot your password?
          </button>
        )}
      </form>
    </main>
  );
}

/** POST /auth/password-reset: the answer is the same whether or not the address has an account. */
function ForgotPassword({ notice, onBack }: { notice: string | null; onBack: () => void }) {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const { problem, busy, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    await run(async () => {
      await must(api.POST("/api/v1/auth/password-reset", { body: { email } }));
      setSent(true);
    });
  }

  return (
    <main className="auth" id="main">
      <h1>Daybook</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit} className="card" aria-labelledby="forgot-title">
        <h2 id="forgot-title">Reset your password</h2>
        {sent ? (
          <p role="status">If an account has this address, an email with a link to choose a new password is on its way. The link works once, for 30 minutes.</p>
        ) : (
          <>
            <Field label="Email" error={errorFor(problem, "email")}>
              {(p) => <input {...p} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}
            </Field>
            <ProblemBanner problem={problem} shownFields={["email"]} />
            <button type="submit" className="primary" disabled={busy}>
              Send the reset link
            </button>
          </>
        )}
        <button type="button" className="link" onClick={onBack}>
          Back to sign in
        </button>
      </form>
    </main>
  );
}
