"""Byte ranges of a result (``Range: bytes=…``), so a video plays from its signed URL.

Browsers fetch a ``<video src>`` in pieces and need ranges to seek; Safari plays no
video from a server without them. One range per request, as players ask: ``a-b``,
``a-`` or the last ``-n`` bytes. A header this does not understand (several ranges,
another unit) is ignored and the whole result sent, as RFC 9110 allows; a range that
starts past the end is 416 ``range_not_satisfiable``.
"""

import re

from service.errors import RangeNotSatisfiable

_SINGLE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte asked for, inclusive, or None for the whole result."""
    match = _SINGLE.match((header or "").replace(" ", ""))
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last n bytes
        length = int(last)
        if length == 0:
            raise _unsatisfiable(header, size)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None  # not a valid range: ignored
    if start >= size:
        raise _unsatisfiable(header, size)
    return start, end


def _unsatisfiable(header: str | None, size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(f"{header} is outside the result's {size:,} bytes", size)
