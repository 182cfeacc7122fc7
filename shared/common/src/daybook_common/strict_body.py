"""Request bodies are checked as strictly as the OpenAPI document describes them.

Litestar converts a JSON body to the handler's ``data`` type with msgspec's lax rules, so
``{"entry_date": 0}`` became a date and ``{"is_active": 0}`` a boolean although the document
says ``string`` and ``boolean``.  :class:`StrictBodyRequest` first checks the decoded body
against that type with ``strict=True`` and answers 422 for what the document rejects, and
for an instant outside the range of :mod:`daybook_common.instants` (naming its field).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from daybook_common.errors import Invalid
from daybook_common.instants import OUT_OF_RANGE, out_of_range


def _integral_floats_as_ints(value: Any) -> Any:
    """JSON Schema counts ``126.0`` as an integer: so does this check (a float field takes ints)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value


class StrictBodyRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        value = await super().json()
        field = self.route_handler.parsed_data_field
        if field is None or value is None:
            return value
        try:
            decoded = msgspec.convert(_integral_floats_as_ints(value), type=field.annotation, strict=True)
        except msgspec.ValidationError as exc:
            message = str(exc)
            # A message without "at `$…`" is about the body as a whole (an array where an object goes).
            where = {} if "at `$" in message else {"key": "body"}
            raise ValidationException(
                detail="Validation failed", extra=[{"message": message, **where}]
            ) from None
        except (TypeError, ValueError):
            return value  # a type msgspec cannot check on its own: Litestar's conversion decides
        for path in out_of_range(decoded):
            raise Invalid(path, OUT_OF_RANGE)
        return value
