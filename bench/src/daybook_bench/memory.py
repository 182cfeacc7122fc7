"""Case 14: memory (issue 23) — PSS of the stack's process trees idle and after the hot read.

PSS (proportional set size, ``/proc/<pid>/smaps_rollup``) shares each page among the processes
that map it, so the sum over processes is what the stack really holds (a Granian master and its
forked workers share their pages). The Python processes (one per service with one worker) and
PostgreSQL (postmaster + backends; mostly ``shared_buffers`` once read) are reported apart. The
launcher is the bench's own process here, so it is not in the sum (``daybook up``'s launcher
holds ~80 MiB more).
"""

from __future__ import annotations

from pathlib import Path

from daybook_bench import cpu
from daybook_bench.cases import ENTRIES_PATH, Context, Probe, interleaved, warm_tokens
from daybook_bench.results import CaseResult, Row, Target

MIB = 1024 * 1024
NOT_PYTHON = {"postgres", "nats"}


def _pss(pid: str) -> int:
    """Bytes of PSS of one process (0 if it is gone or unreadable)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def snapshot(ctx: Context) -> dict[str, int]:
    """PSS bytes of each part of the stack (its whole process tree)."""
    return {
        name: sum(_pss(pid) for pid in pids) for name, pids in cpu.trees(ctx.stack.process_roots()).items()
    }


def describe(parts: dict[str, int]) -> tuple[float, str]:
    """Python processes' MiB in all, and a line with every part."""
    python = sum(v for k, v in parts.items() if k not in NOT_PYTHON) / MIB
    each = ", ".join(f"{k} {v / MIB:,.0f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]))
    return python, f"Python {python:,.0f} MiB; PostgreSQL {parts.get('postgres', 0) / MIB:,.0f} MiB ({each})"


async def case_memory(ctx: Context, result: CaseResult) -> None:
    assert ctx.tokens_file is not None
    idle_python, idle_text = describe(snapshot(ctx))
    await warm_tokens(ctx)
    query = f"{ENTRIES_PATH}?limit=20"
    probes: dict[str, Probe] = {
        "read": (
            ctx.stack.gateway_url + query,
            ctx.plan.connections,
            {"DAYBOOK_TOKENS_FILE": str(ctx.tokens_file)},
        )
    }
    await interleaved(ctx, probes)
    after_python, after_text = describe(snapshot(ctx))
    result.rows += [
        Row("PSS idle (MiB)", text=idle_text),
        Row(
            f"PSS after the hot read through the gateway ({ctx.rounds} rounds, c={ctx.plan.connections}) (MiB)",
            text=after_text,
        ),
    ]
    result.extra["python_mib"] = {"idle": round(idle_python, 1), "after_read": round(after_python, 1)}
    result.targets.append(Target("Python processes ≤ 400 MiB PSS after load", after_python, "<=", 400, "MiB"))
    result.notes.append(
        "PSS from /proc/<pid>/smaps_rollup summed over each process tree; the bench itself plays "
        "the launcher, so the launcher's own memory is not counted."
    )
