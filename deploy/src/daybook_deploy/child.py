"""How the launcher runs a process: import its code first, then wait for the launcher's "go".

``python -m daybook_deploy.child PRELOAD TARGET [ARGS…]`` imports ``PRELOAD`` (the service's
app module: the slow part of a start) while the launcher is still starting PostgreSQL,
NATS and the migrations, then blocks on a line from stdin.  ``go`` runs ``TARGET``
(``module:function``, e.g. ``daybook_users.cli:main``) with ``ARGS`` as its argv; end of
input (the launcher gave up or died) exits quietly.

The collector is off while ``PRELOAD`` is imported: importing an app makes ~150,000 tracked
objects and no garbage worth a collection, and the collections it would trigger cost ~17 % of
the import's CPU (issue 23, measured: 2.80 → 2.32 s median for ``daybook_journal.app`` at load
~14).  It is on again before anything runs; the served app's startup collects and freezes
(:mod:`daybook_common.heap`).
"""

from __future__ import annotations

import gc
import importlib
import sys


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: python -m daybook_deploy.child PRELOAD module:function [ARGS…]", file=sys.stderr)
        return 2
    preload, target, *args = sys.argv[1:]
    gc.disable()
    try:
        for name in filter(None, preload.split(",")):
            importlib.import_module(name)
    finally:
        gc.enable()
    if sys.stdin.readline().strip() != "go":
        return 0
    module_name, _, function = target.partition(":")
    entry = getattr(importlib.import_module(module_name), function or "main")
    sys.argv = [target, *args]
    result = entry()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
