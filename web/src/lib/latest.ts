/**
 * Asks `ask` about the last value given, once the changes have paused for `wait` ms, and shows
 * only the answer to that last question: an answer that arrives after a newer value is dropped.
 * (The reminder form's occurrence preview: one request per pause in typing, never a stale one.)
 */
export function latestAfterPause<T, R>(ask: (value: T) => Promise<R>, show: (answer: { ok: true; value: R } | { ok: false; error: unknown }) => void, wait: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked = 0;
  return {
    update(value: T) {
      clearTimeout(timer);
      const question = ++asked;
      timer = setTimeout(() => {
        ask(value).then(
          (answer) => question === asked && show({ ok: true, value: answer }),
          (error: unknown) => question === asked && show({ ok: false, error }),
        );
      }, wait);
    },
    /** No more answers (the form is gone). */
    stop() {
      clearTimeout(timer);
      asked++;
    },
  };
}
