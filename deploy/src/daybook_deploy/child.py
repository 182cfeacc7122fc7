"""How the launcher runs a process: import its code first, then wait for the launcher's "go".

``python -m daybook_deploy.child PRELOAD TARGET [ARGS…]`` imports ``PRELOAD`` (the service's
app module: the slow part of a start) while the launcher is still starting PostgreSQL,
NATS and the migrations, then blocks on a line from stdin.  ``go`` runs ``TARGET``
(``module:function``, e.g. ``daybook_users.cli:main``) with ``ARGS`` as its argv; end of
input (the launcher gave up or died) exits quietly.
"""

from __future__ import annotations

import importlib
import sys


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: python -m daybook_deploy.child PRELOAD module:function [ARGS…]", file=sys.stderr)
        return 2
    preload, target, *args = sys.argv[1:]
    for name in filter(None, preload.split(",")):
        importlib.import_module(name)
    if sys.stdin.readline().strip() != "go":
        return 0
    module_name, _, function = target.partition(":")
    entry = getattr(importlib.import_module(module_name), function or "main")
    sys.argv = [target, *args]
    result = entry()
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
