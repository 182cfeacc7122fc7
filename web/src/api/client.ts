import createClient from "openapi-fetch";
import type { paths } from "./schema";
import { ProblemError, toProblem, type Problem } from "./problem";
import { authFetch, refreshSession } from "./session";

/** What a form shows when no answer came at all (offline, the gateway down): not the browser's "Failed to fetch". */
export const UNREACHABLE = toProblem(0, {
  title: "No connection",
  detail: "Daybook could not be reached. Check your connection and try again.",
});

/** fetch through the session; a request that gets no answer is a ProblemError like any refusal. */
export async function apiFetch(request: Request, fetchImpl: typeof fetch = fetch): Promise<Response> {
  try {
    return await authFetch(request, fetchImpl);
  } catch (error) {
    if (error instanceof TypeError) throw new ProblemError(UNREACHABLE);
    throw error;
  }
}

/**
 * The refresh at start-up, resuming a session kept from before a reload. Never rejects: it answers
 * why the session was not resumed when no answer came (offline, the gateway down) or the gateway
 * answered a problem (the users service down: its detail, or the unreachable text for a 502/503/504
 * without one) — the refresh token is kept, so a reload once the server is back resumes it — and
 * null otherwise (a refused token has already signed out with its reason).
 */
export async function resumeSession(fetchImpl: typeof fetch = fetch): Promise<string | null> {
  try {
    const outcome = await refreshSession(fetchImpl);
    if (outcome.refreshed || outcome.problem === null) return null;
    return problemMessage(outcome.problem);
  } catch (error) {
    return error instanceof TypeError ? UNREACHABLE.detail : "Your session could not be resumed. Please sign in again.";
  }
}

/** The problem's own detail; a 502/503/504 without one (a proxy's HTML page) reads as unreachable. */
function problemMessage(problem: Problem): string {
  const withoutDetail = problem.detail === toProblem(problem.status, null).detail;
  if (withoutDetail && [502, 503, 504].includes(problem.status)) return UNREACHABLE.detail;
  return problem.detail;
}

/** The typed client of the gateway's merged OpenAPI document (types: `npm run generate`). */
export const api = createClient<paths>({ baseUrl: "", fetch: (request) => apiFetch(request) });

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The success body, or a ProblemError carrying the problem+json answer. */
export async function must<T>(call: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) throw new ProblemError(toProblem(response.status, error));
  return data as T;
}

/** Like must(), and the ETag for a later If-Match. */
export async function withEtag<T>(call: Promise<Result<T>>): Promise<{ data: T; etag: string | null }> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) throw new ProblemError(toProblem(response.status, error));
  return { data: data as T, etag: response.headers.get("ETag") };
}

export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
