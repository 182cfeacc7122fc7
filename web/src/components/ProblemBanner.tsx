import { generalMessage, type Problem } from "../api/problem";

interface Props {
  problem: Problem | null;
  /** Fields the form shows next to their control; the banner shows everything else. */
  shownFields?: readonly string[];
  onReload?: () => void;
}

export function ProblemBanner({ problem, shownFields = [], onReload }: Props) {
  if (!problem) return null;
  return (
    <div className="problem" role="alert">
      <p>{generalMessage(problem, shownFields)}</p>
      {problem.status === 412 && onReload && (
        <button type="button" onClick={onReload}>
          Reload the latest version
        </button>
      )}
    </div>
  );
}
