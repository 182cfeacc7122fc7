"""What a case measured, the targets it is checked against, and the one table that shows them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.table import Table

from daybook_bench.wrk import Summary, WrkResult

EN_DASH = "\u2013"
TIMES = "\u00d7"


@dataclass
class Row:
    """One measured thing: a value (median, min-max over the timed rounds) and maybe latencies."""

    measure: str
    value: Summary | None = None
    unit: str = ""
    p50: Summary | None = None
    p95: Summary | None = None
    p99: Summary | None = None
    text: str | None = None
    """Shown instead of ``value`` (counts, checks)."""
    problems: list[str] = field(default_factory=list)
    """Errors seen while measuring (non-2xx answers, socket errors): the row is marked."""

    @classmethod
    def of_wrk(cls, measure: str, runs: Sequence[WrkResult], *, unit: str = "req/s") -> Row:
        row = cls(
            measure,
            Summary.of([r.requests_per_s for r in runs]),
            unit,
            p50=Summary.of([r.p50_ms for r in runs]),
            p95=Summary.of([r.p95_ms for r in runs]),
            p99=Summary.of([r.p99_ms for r in runs]),
        )
        errors = sum(r.errors for r in runs)
        non_2xx = sum(r.non_2xx for r in runs)
        if errors:
            row.problems.append(f"{errors} socket errors")
        if non_2xx:
            row.problems.append(f"{non_2xx} non-2xx")
        return row

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"measure": self.measure, "unit": self.unit}
        for name in ("value", "p50", "p95", "p99"):
            summary = getattr(self, name)
            if summary is not None:
                out[name if name == "value" else f"{name}_ms"] = summary.as_dict()
        if self.text is not None:
            out["text"] = self.text
        if self.problems:
            out["problems"] = self.problems
        return out


@dataclass
class Target:
    """A floor from the issue: ``value op threshold`` (``None`` value: not measurable here)."""

    description: str
    value: float | None
    op: Literal[">=", "<="]
    threshold: float
    unit: str = ""
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None or math.isnan(self.value):
            return None
        return self.value >= self.threshold if self.op == ">=" else self.value <= self.threshold

    @property
    def status(self) -> str:
        return {True: "met", False: "MISSED", None: "n/a"}[self.met]

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.description,
            "value": self.value,
            "op": self.op,
            "threshold": self.threshold,
            "unit": self.unit,
            "status": self.status,
            **({"note": self.note} if self.note else {}),
        }


@dataclass
class CaseResult:
    number: int
    title: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    load: tuple[float, float] | None = None
    """1-minute load average before and after the case."""
    foreign_cpu: float | None = None
    """Share of all CPUs that processes outside the bench's tree used while the case ran."""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.number,
            "title": self.title,
            "seconds": round(self.seconds, 1),
            "load_1m": list(self.load) if self.load else None,
            "foreign_cpu_share": round(self.foreign_cpu, 3) if self.foreign_cpu is not None else None,
            "rows": [row.as_dict() for row in self.rows],
            "targets": [t.as_dict() for t in self.targets],
            "notes": self.notes,
            "error": self.error,
            **self.extra,
        }


def num(value: float) -> str:
    """About three significant digits, thousands separated: 12,345 · 123 · 12.3 · 1.23 · 0.123."""
    size = abs(value)
    if size >= 100 or value == 0:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _fmt(summary: Summary | None) -> str:
    if summary is None:
        return ""
    return f"{num(summary.median)} ({num(summary.low)}{EN_DASH}{num(summary.high)})"


def _threshold(target: Target) -> str:
    sign = "≥" if target.op == ">=" else "≤"
    return f"{sign} {num(target.threshold)} {target.unit}".strip()


def _others(case: CaseResult) -> str:
    if case.foreign_cpu is None:
        return ""
    return f" (other processes: {case.foreign_cpu:.0%} of the CPUs)"


def table(cases: Sequence[CaseResult], title: str) -> Table:
    t = Table(title=title, title_justify="left", show_lines=False, expand=False)
    t.add_column("case", justify="right", no_wrap=True)
    t.add_column("measure", min_width=36, ratio=3)
    t.add_column(f"median (min{EN_DASH}max)", justify="right")
    t.add_column("p50 ms", justify="right")
    t.add_column("p95 ms", justify="right")
    t.add_column("p99 ms", justify="right")
    t.add_column("target", justify="right", no_wrap=True)
    t.add_column("status", no_wrap=True)
    for case in cases:
        label = f"{case.number}"
        t.add_row(
            label, f"[bold]{case.title}[/bold]{_others(case)}", "", "", "", "", "", "", end_section=False
        )
        if case.error:
            t.add_row("", f"[red]error: {case.error}[/red]", "", "", "", "", "", "[red]error[/red]")
        for row in case.rows:
            value = row.text if row.text is not None else _fmt(row.value)
            if row.unit and row.text is None and row.value is not None:
                value = f"{value} {row.unit}"
            status = "[yellow]" + "; ".join(row.problems) + "[/yellow]" if row.problems else ""
            t.add_row(
                "",
                row.measure,
                value,
                _fmt(row.p50),
                _fmt(row.p95),
                _fmt(row.p99),
                "",
                status,
            )
        for target in case.targets:
            shown = EN_DASH if target.value is None else f"{num(target.value)} {target.unit}".strip()
            colour = {True: "green", False: "red", None: "yellow"}[target.met]
            t.add_row(
                "",
                f"[italic]target:[/italic] {target.description}",
                shown,
                "",
                "",
                "",
                _threshold(target),
                f"[{colour}]{target.status}[/{colour}]",
            )
        t.add_section()
    return t


def markdown(cases: Sequence[CaseResult]) -> str:
    """The same table as GitHub Markdown (for the README)."""
    lines = [
        f"| case | measure | median (min{EN_DASH}max) | p50 ms | p95 ms | p99 ms | target | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        lines.append(f"| **{case.number}** | **{case.title}**{_others(case)} | | | | | | |")
        if case.error:
            lines.append(f"| | error: {case.error} | | | | | | error |")
        for row in case.rows:
            value = row.text if row.text is not None else _fmt(row.value)
            if row.unit and row.text is None and row.value is not None:
                value = f"{value} {row.unit}"
            lines.append(
                f"| | {row.measure} | {value} | {_fmt(row.p50)} | "
                f"{_fmt(row.p95)} | {_fmt(row.p99)} | | "
                f"{'; '.join(row.problems)} |"
            )
        for target in case.targets:
            shown = EN_DASH if target.value is None else f"{num(target.value)} {target.unit}".strip()
            lines.append(
                f"| | *target:* {target.description} | {shown} | | | | {_threshold(target)} | "
                f"**{target.status}** |"
            )
    return "\n".join(lines)
