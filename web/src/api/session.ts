// Tokens: the access token lives in memory only; the refresh token in localStorage so a reload keeps
// the user signed in. A 401 is retried once after a refresh; a refresh the server refuses (expired,
// revoked, or a reused token, which revokes the whole family) signs the user out everywhere here.
const REFRESH_KEY = "daybook.refresh";

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

type Listener = (signedIn: boolean, reason?: string) => void;

let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
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

/** One refresh at a time: concurrent 401s wait for the same answer. */
export function refresh(fetchImpl: typeof fetch = fetch): Promise<boolean> {
  refreshing ??= (async () => {
    const token = refreshToken();
    if (!token) return false;
    try {
      const response = await fetchImpl("/api/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: token }),
      });
      if (response.ok) {
        storeTokens((await response.json()) as TokenPair);
        return true;
      }
      if (response.status === 401 || response.status === 400 || response.status === 422) {
        clearSession("Your session ended (signed out, expired, or used elsewhere). Please sign in again.");
      }
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
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
