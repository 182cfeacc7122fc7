import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { latestAfterPause } from "./latest";

describe("the occurrence preview's timing", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("asks once, about the last value, after the changes pause", async () => {
    const ask = vi.fn(async (rule: string) => `occurrences of ${rule}`);
    const show = vi.fn();
    const preview = latestAfterPause(ask, show, 400);
    preview.update("FREQ=D");
    await vi.advanceTimersByTimeAsync(200);
    preview.update("FREQ=DAILY");
    await vi.advanceTimersByTimeAsync(399);
    expect(ask).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(ask.mock.calls).toEqual([["FREQ=DAILY"]]);
    expect(show.mock.calls).toEqual([[{ ok: true, value: "occurrences of FREQ=DAILY" }]]);
  });

  it("drops an answer that arrives after a newer change, and everything after stop", async () => {
    const answers: Array<(value: string) => void> = [];
    const show = vi.fn();
    const preview = latestAfterPause((_: string) => new Promise<string>((resolve) => answers.push(resolve)), show, 100);
    preview.update("first");
    await vi.advanceTimersByTimeAsync(100); // asked about "first", no answer yet
    preview.update("second");
    await vi.advanceTimersByTimeAsync(100);
    answers[0]!("late answer to first");
    answers[1]!("answer to second");
    await vi.runAllTimersAsync();
    expect(show.mock.calls).toEqual([[{ ok: true, value: "answer to second" }]]);
    preview.update("third");
    preview.stop();
    await vi.runAllTimersAsync();
    expect(answers).toHaveLength(2);
  });

  it("shows a refusal as an error", async () => {
    const show = vi.fn();
    const preview = latestAfterPause(async () => Promise.reject(new Error("422")), show, 10);
    preview.update("FREQ=HOURLY");
    await vi.runAllTimersAsync();
    expect(show.mock.calls).toEqual([[{ ok: false, error: new Error("422") }]]);
  });
});
