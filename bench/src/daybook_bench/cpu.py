"""How much of the machine the bench had: CPU used by other processes while a case ran.

A shared machine skews absolute numbers; the table reports, per case, the share of all CPUs that
processes outside the bench's own tree (the bench, wrk, the stack, PostgreSQL, NATS, nginx,
schedulers) used meanwhile. Linux only (``/proc``); elsewhere it reports nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Snapshot:
    busy: int
    """All CPUs' non-idle jiffies since boot."""
    ours: int
    """Jiffies of this process and its descendants (reaped children included via cutime/cstime)."""


def _stat_fields(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces: split after its closing parenthesis
    return text[text.rfind(")") + 2 :].split()


def snapshot() -> Snapshot | None:
    try:
        cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [int(v) for v in cpu]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    busy = sum(values[:8]) - idle  # user nice system idle iowait irq softirq steal
    parents, ticks = _table()
    mine = {str(os.getpid())}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                changed = True
    return Snapshot(busy=busy, ours=sum(ticks.get(pid, 0) for pid in mine))


def foreign_share(before: Snapshot | None, after: Snapshot | None, seconds: float) -> float | None:
    """Share (0..1) of all CPUs used by processes outside the bench's tree between two snapshots."""
    if before is None or after is None or seconds <= 0:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    capacity = (os.cpu_count() or 1) * seconds * hz
    foreign = (after.busy - before.busy) - (after.ours - before.ours)
    return max(0.0, min(1.0, foreign / capacity))


def _table() -> tuple[dict[str, str], dict[str, int]]:
    parents: dict[str, str] = {}
    ticks: dict[str, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if fields is None or len(fields) < 15:
            continue
        parents[entry.name] = fields[1]
        ticks[entry.name] = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return parents, ticks


def tree_ticks(roots: dict[str, int]) -> dict[str, int]:
    """CPU jiffies of each named process and its descendants (living ones, plus what they reaped)."""
    parents, ticks = _table()
    children: dict[str, list[str]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[str, int] = {}
    for name, root in roots.items():
        total, stack = 0, [str(root)]
        while stack:
            pid = stack.pop()
            total += ticks.get(pid, 0)
            stack.extend(children.get(pid, ()))
        out[name] = total
    return out


def self_children_ticks() -> int:
    """Jiffies of this process's reaped children (wrk runs are reaped here)."""
    times = os.times()
    return round((times.children_user + times.children_system) * os.sysconf("SC_CLK_TCK"))


def per_request_us(before: dict[str, int], after: dict[str, int], requests: int) -> dict[str, float]:
    hz = os.sysconf("SC_CLK_TCK")
    if requests <= 0:
        return {}
    return {name: (after[name] - before.get(name, 0)) * 1e6 / hz / requests for name in after}


def trees(roots: dict[str, int]) -> dict[str, list[str]]:
    """The living pids of each named process's tree (the root and all its descendants)."""
    parents, _ = _table()
    children: dict[str, list[str]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[str, list[str]] = {}
    for name, root in roots.items():
        pids, stack = [], [str(root)]
        while stack:
            pid = stack.pop()
            if pid in parents:
                pids.append(pid)
            stack.extend(children.get(pid, ()))
        out[name] = pids
    return out
