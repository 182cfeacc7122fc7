"""Which characters a name or a text may hold: one definition for every service's constraints.

A *single-line* field (a tag's name, a title, an activity's name …) is shown in lists and
headings, where an invisible character makes it render as something else: a control character
(C0, DEL, C1), a line or paragraph separator (U+2028, U+2029), or a bidirectional embedding,
override or isolate (U+202A..U+202E, U+2066..U+2069; ``"txt.exe"`` can display as ``"exe.txt"``).
It may hold none of them. A *multi-line* field (content, notes, a description) keeps tab, line
feed and carriage return, and refuses the other control characters; bidirectional formatting
stays allowed there, as mixed-direction prose needs it.

Each rule is a ``pattern`` of the field's ``msgspec.Meta``, so msgspec refuses the value (``422``
naming the field, with :data:`MESSAGES`' words) and the OpenAPI document states it. Patterns are
a search (JSON Schema's and msgspec's reading). The single-line ones are anchored at the start
with a negative lookahead over the whole value and no ``$``, which Python also matches before a
final line feed; ``[\\d\\D]`` is "any character" in Python and ECMA-262 alike (``.`` is not).
"""

from __future__ import annotations

from typing import Any

import msgspec

#: C0 controls, DEL and C1 controls (character-class ranges).
CONTROL = r"\x00-\x1f\x7f-\x9f"
#: The same without tab, line feed and carriage return.
CONTROL_BUT_LINES = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
#: Line and paragraph separators.
SEPARATORS = r"\u2028\u2029"
#: Bidirectional embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI).
BIDI = r"\u202a-\u202e\u2066-\u2069"

#: No control character, line break or bidirectional formatting character.
SINGLE_LINE_PATTERN = rf"^(?![\d\D]*[{CONTROL}{SEPARATORS}{BIDI}])"
#: The same, and at least one character that is not white space.
NOT_BLANK_LINE_PATTERN = SINGLE_LINE_PATTERN + r"[\d\D]*\S"
#: No control character but tab, line feed and carriage return (a line feed is allowed, so
#: Python's ``$`` before a final one does no harm; one scan: 0.35 ms of CPU for 100,000 characters).
MULTI_LINE_PATTERN = rf"^[^{CONTROL_BUT_LINES}]*$"

_LINE = (
    "no control characters, line breaks or bidirectional formatting characters (U+202A-U+202E, U+2066-U+2069)"
)
#: What a field error says instead of msgspec's "Expected `str` matching regex '…'".
MESSAGES: dict[str, str] = {
    f"Expected `str` matching regex {SINGLE_LINE_PATTERN!r}": f"must hold {_LINE}",
    f"Expected `str` matching regex {NOT_BLANK_LINE_PATTERN!r}": f"must not be blank and must hold {_LINE}",
    f"Expected `str` matching regex {MULTI_LINE_PATTERN!r}": (
        "must hold no control characters other than tab, line feed and carriage return"
    ),
}


def single_line(
    *, max_length: int, min_length: int = 0, not_blank: bool = False, **meta: Any
) -> msgspec.Meta:
    """A name or title: ``min_length..max_length`` characters of one line, nothing invisible
    that changes how it reads (``not_blank``: and not only white space)."""
    pattern = NOT_BLANK_LINE_PATTERN if not_blank else SINGLE_LINE_PATTERN
    return msgspec.Meta(min_length=min_length or None, max_length=max_length, pattern=pattern, **meta)


def shaped_line(shape: str, says: str, *, max_length: int, **meta: Any) -> msgspec.Meta:
    """A one-line value of a given form (a URL …): ``shape`` is its regex, read on from the start
    of the value (no ``^``), ``says`` names the form in the field error. The single-line rule
    comes first, so the value holds none of its invisible characters whatever ``shape`` allows."""
    pattern = SINGLE_LINE_PATTERN + shape
    MESSAGES[f"Expected `str` matching regex {pattern!r}"] = f"must be {says} and hold {_LINE}"
    return msgspec.Meta(max_length=max_length, pattern=pattern, **meta)


def multi_line(*, max_length: int, **meta: Any) -> msgspec.Meta:
    """Free text of ``0..max_length`` characters: lines and tabs, no other control character."""
    return msgspec.Meta(max_length=max_length, pattern=MULTI_LINE_PATTERN, **meta)


__all__ = [
    "MESSAGES",
    "MULTI_LINE_PATTERN",
    "NOT_BLANK_LINE_PATTERN",
    "SINGLE_LINE_PATTERN",
    "multi_line",
    "shaped_line",
    "single_line",
]
