"""``daybook_common.logs`` stays free of the web framework (the reminders scheduler imports it)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_logs_does_not_import_litestar() -> None:
    code = "import daybook_common.logs, sys; assert 'litestar' not in sys.modules, 'litestar was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_observability_re_exports_the_same_objects() -> None:
    from daybook_common import logs, observability

    assert observability.JsonFormatter is logs.JsonFormatter
    assert observability.configure_logging is logs.configure_logging
    assert observability.access_log is logs.access_log
    assert observability.request_id_var is logs.request_id_var
