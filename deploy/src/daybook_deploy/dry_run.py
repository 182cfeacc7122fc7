"""``daybook migrate --dry-run``: what each pending revision would do, tried and rolled back."""

from __future__ import annotations

from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import Reporter, admin_database_url, run_in_thread
from daybook_deploy.operations import admin_database
from daybook_deploy.services import BY_NAME, MIGRATING, script_location
from daybook_devtools.migration_dry_run import DryRun, dry_run

SQL_WIDTH = 160


def describe(service: str, result: DryRun) -> list[str]:
    """The lines printed for one history."""
    if not result.trials:
        return [f"{service}: nothing pending ({result.current} is the head)"]
    lines = [
        f"{service}: {result.current or 'nothing applied'} -> {result.head}, {len(result.trials)} pending"
    ]
    for trial in result.trials:
        title = f"  {trial.revision}  {trial.doc.splitlines()[0] if trial.doc else ''}".rstrip()
        if trial.skipped:
            lines.append(f"{title}\n    skipped: {trial.skipped}")
            continue
        state = f"FAILED: {trial.error}" if trial.error else "ok"
        lines.append(
            f"{title}\n    {state}; {len(trial.statements)} statements, {trial.rows} rows touched, "
            f"{trial.seconds * 1000:.0f} ms"
        )
        for statement in trial.statements:
            sql = statement.sql if len(statement.sql) <= SQL_WIDTH else statement.sql[: SQL_WIDTH - 1] + "…"
            rows = f", {statement.rows} rows" if statement.rows is not None else ""
            lines.append(f"      {statement.seconds * 1000:7.1f} ms{rows}  {sql}")
    if result.not_tried:
        lines.append(f"  not tried (they build on the failed one): {', '.join(result.not_tried)}")
    if any(t.skipped for t in result.trials) and any(t.error for t in result.trials):
        lines.append("  (a revision was skipped above: a later failure may come from its absence)")
    return lines


def migrate_dry_run(config: StackConfig, names: list[str], report: Reporter) -> list[tuple[str, DryRun]]:
    """Try every pending revision of the named histories (default: all) and roll back; print each."""
    specs = [BY_NAME[n] for n in names] if names else list(MIGRATING)
    results = []
    with admin_database(config, report) as admin:
        url = admin_database_url(admin, config.database)
        for spec in specs:
            assert spec.schema is not None
            result = run_in_thread(dry_run, script_location(spec), url, spec.schema)
            results.append((spec.name, result))
            for line in describe(spec.name, result):
                print(line, flush=True)
    report("dry run: everything was rolled back")
    return results
