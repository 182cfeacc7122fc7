// The live notification stream (Server-Sent Events through the gateway). EventSource cannot send
// an Authorization header, so the stream is read with fetch (authFetch: bearer token, one refresh
// on 401) and parsed by eventsource-parser. It reconnects after it ends — the server ends it when
// the access token expires — with Last-Event-ID, so nothing recorded in between is missed.
import { createParser } from "eventsource-parser";
import { authFetch, currentAccessToken } from "../api/session";

export const STREAM_PATH = "/api/v1/notifications/stream";
const RETRY_MS = 2000;
const MAX_RETRY_MS = 30_000;

export interface StreamHandlers<T> {
  onMessage: (item: T) => void;
  /** Connected (true) or waiting to reconnect (false). */
  onStatus?: (live: boolean) => void;
}

/** Reads the stream until `signal` aborts or the user is signed out. */
export async function follow<T>(handlers: StreamHandlers<T>, signal: AbortSignal, fetchImpl: typeof fetch = fetch): Promise<void> {
  let lastId: string | undefined;
  let delay = RETRY_MS;
  while (!signal.aborted && currentAccessToken() !== null) {
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      if (lastId) headers["Last-Event-ID"] = lastId;
      const response = await authFetch(new Request(new URL(STREAM_PATH, location.origin), { headers, signal }), fetchImpl);
      if (response.ok && response.body) {
        handlers.onStatus?.(true);
        delay = RETRY_MS;
        const parser = createParser({
          onEvent: (event) => {
            if (event.id) lastId = event.id;
            handlers.onMessage(JSON.parse(event.data) as T);
          },
          onRetry: (ms) => {
            delay = ms;
          },
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.feed(value);
        }
      } else {
        await response.body?.cancel();
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    } catch {
      if (signal.aborted) return;
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
    handlers.onStatus?.(false);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
