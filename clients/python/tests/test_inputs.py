"""Inputs become multipart files typed from their bytes: images, and a content video."""

import pytest

from stylize_client.inputs import sniff_type, to_upload


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm", "video/webm"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
    ],
)
def test_the_type_is_read_from_the_bytes(head, kind):
    assert sniff_type(head) == kind


def test_video_bytes_get_a_video_name_and_type():
    name, _, kind = to_upload(b"\x00\x00\x00\x20ftypisom" + bytes(40), "content")

    assert (name, kind) == ("content.mp4", "video/mp4")
