import { useEffect, useState } from "react";

export const SCREENS = ["journal", "tasks", "goals", "reminders", "account"] as const;
export type Screen = (typeof SCREENS)[number];

export function parseRoute(hash: string): Screen {
  const name = hash.replace(/^#\/?/, "").split("/")[0] ?? "";
  return (SCREENS as readonly string[]).includes(name) ? (name as Screen) : "journal";
}

/** Hash routes (#/journal …): the gateway serves one page at /, so no server-side routes are needed. */
export function useRoute(): Screen {
  const [screen, setScreen] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setScreen(parseRoute(location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return screen;
}
