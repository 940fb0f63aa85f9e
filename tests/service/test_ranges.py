"""One byte range per request, as players ask; anything else is the whole result, and a
range past the end is 416."""

import pytest

from service.errors import RangeNotSatisfiable
from service.ranges import byte_range


@pytest.mark.parametrize(
    ("header", "span"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=90-", (90, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-1000", (0, 99)),  # more than there is: all of it
        ("bytes=95-200", (95, 99)),  # the end is clipped
        (None, None),
        ("bytes=5-2", None),  # not a range: ignored
        ("bytes=0-1,5-6", None),  # several ranges: the whole result
        ("items=0-5", None),
    ],
)
def test_a_range_header_is_read_as_players_send_it(header, span):
    assert byte_range(header, 100) == span


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=250-300", "bytes=-0"])
def test_a_range_past_the_end_is_416_saying_the_size(header):
    with pytest.raises(RangeNotSatisfiable) as refused:
        byte_range(header, 100)

    assert refused.value.headers == {"Content-Range": "bytes */100"}
    assert refused.value.status == 416
