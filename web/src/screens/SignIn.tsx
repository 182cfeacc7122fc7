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

/** Sign in, or sign up (then sign in with the same credentials). */
export function SignIn({ notice }: Props) {
  const [mode, setMode] = useState<"in" | "up">("in");
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
      </form>
    </main>
  );
}
