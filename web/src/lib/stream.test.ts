// @vitest-environment jsdom
import { expect, it } from "vitest";
import { clearSession, storeTokens } from "../api/session";
import { follow } from "./stream";

function sse(chunks: string[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

it("delivers each event, keeps reading across chunk boundaries, and reconnects with Last-Event-ID", async () => {
  clearSession();
  storeTokens({ access_token: "access", refresh_token: "refresh", expires_in: 900 });
  const stop = new AbortController();
  const calls: { auth: string | null; lastId: string | null }[] = [];
  const fake = async (input: RequestInfo | URL) => {
    const request = input as Request;
    calls.push({ auth: request.headers.get("Authorization"), lastId: request.headers.get("Last-Event-ID") });
    if (calls.length === 1) {
      return sse(["retry: 10\n\n: keep-alive\n\nid: n1\ndata: {\"id\":\"n1\",\"ti", "tle\":\"Stretch\"}\n\n", "id: n2\ndata: {\"id\":\"n2\",\"title\":\"Drink\"}\n\n"]);
    }
    stop.abort();
    throw new DOMException("aborted", "AbortError");
  };
  const seen: { id: string; title: string }[] = [];
  const statuses: boolean[] = [];
  await follow<{ id: string; title: string }>({ onMessage: (n) => seen.push(n), onStatus: (s) => statuses.push(s) }, stop.signal, fake as typeof fetch);
  expect(seen).toEqual([
    { id: "n1", title: "Stretch" },
    { id: "n2", title: "Drink" },
  ]);
  expect(calls).toEqual([
    { auth: "Bearer access", lastId: null },
    { auth: "Bearer access", lastId: "n2" },
  ]);
  expect(statuses).toEqual([true, false]);
});
