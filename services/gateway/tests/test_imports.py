"""What a served gateway process imports (memory, bench case 14)."""

from __future__ import annotations

import subprocess
import sys

#: Migration and CLI machinery the gateway never runs: ~13 MiB of every gateway process.
UNUSED = ("alembic", "mako", "pygments", "advanced_alchemy.extensions.litestar", "litestar.cli")


def test_the_served_gateway_does_not_import_migration_or_cli_machinery() -> None:
    """What ``daybook-gateway serve`` imports: its command line and its app module."""
    code = (
        "import sys, daybook_gateway.cli, daybook_gateway.app; "
        f"loaded = [m for m in {UNUSED!r} if m in sys.modules]; "
        "assert not loaded, f'imported: {loaded}'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
