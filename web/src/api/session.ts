// Tokens: the access token lives in memory only; the refresh token in localStorage so a reload keeps
// the user signed in. A 401 is retried once after a refresh; a refresh the server refuses (expired,
// revoked, or a reused token, which revokes the whole family) signs the user out everywhere here.
import { toProblem, type Problem } from "./problem";

const REFRESH_KEY = "daybook.refresh";

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

type Listener = (signedIn: boolean, reason?: string) => void;

let accessToken: string | null = null;
const listeners = new Set<Listener>();

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(signedIn: boolean, reason?: string): void {
  for (const listener of listeners) listener(signedIn, reason);
}

export function storeTokens(pair: TokenPair): void {
  accessToken = pair.access_token;
  localStorage.setItem(REFRESH_KEY, pair.refresh_token);
  emit(true);
}

export function refreshToken(): string | null {
  return localStorage.getItem(REFRESH_KEY);
}

export function currentAccessToken(): string | null {
  return accessToken;
}

export function clearSession(reason?: string): void {
  accessToken = null;
  localStorage.removeItem(REFRESH_KEY);
  emit(false, reason);
}

/**
 * A refresh's outcome: refreshed, or not — `problem` is the server's answer when it answered but could
 * neither refresh nor refuse (502/503/504 from the gateway while users is down, 429, …: the refresh
 * token is kept); null when the token was refused (signed out with its reason) or there was none.
 */
export type RefreshOutcome = { refreshed: true } | { refreshed: false; problem: Problem | null };

let refreshing: Promise<RefreshOutcome> | null = null;

/** One refresh at a time: concurrent 401s wait for the same answer. Rejects (TypeError) when no answer came. */
export function refreshSession(fetchImpl: typeof fetch = fetch): Promise<RefreshOutcome> {
  refreshing ??= (async (): Promise<RefreshOutcome> => {
    const token = refreshToken();
    if (!token) return { refreshed: false, problem: null };
    try {
      const response = await fetchImpl("/api/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: token }),
      });
      if (response.ok) {
        storeTokens((await response.json()) as TokenPair);
        return { refreshed: true };
      }
      if (response.status === 401 || response.status === 400 || response.status === 422) {
        clearSession("Your session ended (signed out, expired, or used elsewhere). Please sign in again.");
        return { refreshed: false, problem: null };
      }
      const body: unknown = await response.json().catch(() => null);
      return { refreshed: false, problem: toProblem(response.status, body) };
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** refreshSession as a yes/no. */
export async function refresh(fetchImpl: typeof fetch = fetch): Promise<boolean> {
  return (await refreshSession(fetchImpl)).refreshed;
}

/** fetch with the bearer token, refreshing once on a 401. */
export async function authFetch(request: Request, fetchImpl: typeof fetch = fetch): Promise<Response> {
  const isAuthRoute = new URL(request.url, location.origin).pathname.startsWith("/api/v1/auth/");
  const retry = isAuthRoute ? null : request.clone();
  const send = (req: Request): Promise<Response> => {
    if (accessToken && !isAuthRoute) req.headers.set("Authorization", `Bearer ${accessToken}`);
    return fetchImpl(req);
  };
  const response = await send(request);
  if (response.status !== 401 || retry === null) return response;
  if (!(await refresh(fetchImpl))) {
    if (!refreshToken()) clearSession("Please sign in.");
    return response;
  }
  return send(retry);
}
