// @vitest-environment jsdom
import { beforeEach, describe, expect, it, vi } from "vitest";
import { authFetch, clearSession, currentAccessToken, onSessionChange, storeTokens } from "./session";

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("tokens", () => {
  beforeEach(() => {
    clearSession();
    storeTokens({ access_token: "old-access", refresh_token: "refresh-1", expires_in: 900 });
  });

  it("keeps the access token in memory only", () => {
    expect(currentAccessToken()).toBe("old-access");
    expect(JSON.stringify({ ...localStorage })).not.toContain("old-access");
  });

  it("refreshes once on a 401 and retries with the new token", async () => {
    const seen: string[] = [];
    const fake = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(new URL(String(input), "http://app.test"), init);
      seen.push(`${request.method} ${new URL(request.url).pathname} ${request.headers.get("Authorization") ?? ""}`);
      if (request.url.endsWith("/auth/refresh")) return json(200, { access_token: "new-access", refresh_token: "refresh-2", expires_in: 900 });
      return request.headers.get("Authorization") === "Bearer new-access" ? json(200, { ok: true }) : json(401, { detail: "expired" });
    });
    const response = await authFetch(new Request("http://app.test/api/v1/tasks", { method: "POST", body: "{}" }), fake as typeof fetch);
    expect(response.status).toBe(200);
    expect(seen).toEqual(["POST /api/v1/tasks Bearer old-access", "POST /api/v1/auth/refresh ", "POST /api/v1/tasks Bearer new-access"]);
    expect(localStorage.getItem("daybook.refresh")).toBe("refresh-2");
  });

  it("signs out when the refresh token is refused (reuse detected), without a loop", async () => {
    const events: [boolean, string | undefined][] = [];
    const off = onSessionChange((signedIn, reason) => events.push([signedIn, reason]));
    const fake = vi.fn(async () => json(401, { detail: "invalid token" }));
    const response = await authFetch(new Request("http://app.test/api/v1/tasks"), fake as unknown as typeof fetch);
    off();
    expect(response.status).toBe(401);
    expect(fake).toHaveBeenCalledTimes(2);
    expect(currentAccessToken()).toBeNull();
    expect(localStorage.getItem("daybook.refresh")).toBeNull();
    expect(events[0]?.[0]).toBe(false);
    expect(events[0]?.[1]).toMatch(/sign in again/);
  });
});
