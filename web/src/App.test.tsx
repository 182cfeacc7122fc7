// @vitest-environment jsdom
import { act } from "react";
import { createRoot } from "react-dom/client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { resumeSession } from "./api/client";

// React's act() outside a test renderer.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const offline = () => Promise.reject(new TypeError("Failed to fetch"));

/** The whole app mounted in the document, after its start-up refresh has settled. */
async function renderApp() {
  const container = document.body.appendChild(document.createElement("div"));
  const root = createRoot(container);
  await act(async () => root.render(<App />));
  await act(async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
  });
  return { container, root };
}

describe("start-up with the server out of reach", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    localStorage.clear();
    document.body.innerHTML = "";
  });

  it("resumeSession answers why instead of rejecting, and keeps the refresh token", async () => {
    localStorage.setItem("daybook.refresh", "refresh-1");
    await expect(resumeSession(offline as typeof fetch)).resolves.toMatch(/^Daybook could not be reached/);
    expect(localStorage.getItem("daybook.refresh")).toBe("refresh-1");
  });

  it("shows the sign-in page with the unreachable message (an unhandled rejection fails this run)", async () => {
    localStorage.setItem("daybook.refresh", "refresh-1");
    const fetchMock = vi.fn(offline);
    vi.stubGlobal("fetch", fetchMock);
    const { container, root } = await renderApp();
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(container.querySelector('[role="status"]')?.textContent).toMatch(/^Daybook could not be reached/);
    expect(container.textContent).not.toContain("Loading…");
    act(() => root.unmount());
  });
});

describe("start-up with the gateway up but the users service down", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    localStorage.clear();
    document.body.innerHTML = "";
  });

  const problem = (status: number, detail: string) => () =>
    Promise.resolve(
      new Response(JSON.stringify({ type: "about:blank", title: "Service Unavailable", status, detail }), {
        status,
        headers: { "Content-Type": "application/problem+json" },
      }),
    );

  it("resumeSession answers the gateway's problem, or the unreachable text without one, and keeps the token", async () => {
    localStorage.setItem("daybook.refresh", "refresh-1");
    await expect(resumeSession(problem(503, "The users service is unavailable") as typeof fetch)).resolves.toBe(
      "The users service is unavailable",
    );
    const htmlPage = () => Promise.resolve(new Response("<html>Bad Gateway</html>", { status: 502 }));
    await expect(resumeSession(htmlPage as typeof fetch)).resolves.toMatch(/^Daybook could not be reached/);
    expect(localStorage.getItem("daybook.refresh")).toBe("refresh-1");
  });

  it("shows the sign-in page with the problem's message (an unhandled rejection fails this run)", async () => {
    localStorage.setItem("daybook.refresh", "refresh-1");
    const fetchMock = vi.fn(problem(504, "The users service did not answer in time"));
    vi.stubGlobal("fetch", fetchMock);
    const { container, root } = await renderApp();
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(container.querySelector('[role="status"]')?.textContent).toBe("The users service did not answer in time");
    expect(container.textContent).not.toContain("Loading…");
    expect(localStorage.getItem("daybook.refresh")).toBe("refresh-1");
    act(() => root.unmount());
  });

  it("a refused refresh (401) still signs out with the existing reason", async () => {
    localStorage.setItem("daybook.refresh", "refresh-1");
    vi.stubGlobal("fetch", vi.fn(problem(401, "invalid refresh token")));
    const { container, root } = await renderApp();
    expect(container.querySelector('[role="status"]')?.textContent).toMatch(/^Your session ended/);
    expect(localStorage.getItem("daybook.refresh")).toBeNull();
    act(() => root.unmount());
  });
});
