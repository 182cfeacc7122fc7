"""`daybook-gateway serve`."""

from __future__ import annotations

from collections.abc import Sequence

from daybook_common.cli import service_main
from daybook_gateway.settings import Settings


def main(argv: Sequence[str] | None = None) -> None:
    service_main("gateway", Settings.from_env, argv)


if __name__ == "__main__":
    main()
