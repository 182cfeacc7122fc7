import { useCallback, useState } from "react";
import { ProblemError, type Problem } from "../api/problem";

/** Runs an action, keeping its problem (if it failed) and a busy flag for the form. */
export function useAction() {
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setProblem(null);
    try {
      return await action();
    } catch (error) {
      if (error instanceof ProblemError) setProblem(error.problem);
      else setProblem({ status: 0, title: "Error", detail: error instanceof Error ? error.message : String(error), errors: [] });
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { problem, busy, run, setProblem };
}
