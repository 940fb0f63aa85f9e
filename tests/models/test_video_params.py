"""One rule for a job's parameters whatever its content: ``format`` fits the content's
kind, ``temporal`` is a video's, Gatys is refused for videos (the API and the CLI use it)."""

import pytest

from models.errors import InvalidParameter
from models.video.params import VideoParams, parse_job_params


def test_a_video_gets_mp4_with_temporal_consistency_by_default():
    params, video = parse_job_params({"method": "adain", "size": 256}, video=True)

    assert (params.method, params.size) == ("adain", 256)
    assert video == VideoParams(format="mp4", temporal=True)


@pytest.mark.parametrize(("given", "temporal"), [("off", False), ("false", False), ("on", True)])
def test_temporal_is_a_switch(given, temporal):
    assert parse_job_params({"temporal": given}, video=True)[1].temporal is temporal


@pytest.mark.parametrize("format", ["mp4", "webm", "webp", "gif"])
def test_every_video_format_is_accepted_for_a_video(format):
    assert parse_job_params({"format": format}, video=True)[1].format == format


def test_an_image_keeps_its_formats_and_has_no_video_part():
    params, video = parse_job_params({"format": "webp"}, video=False)

    assert (params.format, video) == ("webp", None)


@pytest.mark.parametrize(
    ("values", "video", "field", "words"),
    [
        ({"format": "png"}, True, "format", "'png' is an image format, and the content is a video"),
        ({"format": "jpeg"}, True, "format", "use one of mp4, webm, webp, gif"),
        (
            {"format": "mp4"},
            False,
            "format",
            "'mp4' is a video format, and the content is an image",
        ),
        ({"format": "gif"}, False, "format", "use one of png, jpeg, webp"),
        ({"format": "avi"}, True, "format", "'mp4', 'webm', 'webp' or 'gif'"),
        ({"temporal": "on"}, False, "temporal", "temporal applies to videos only"),
        ({"temporal": "sometimes"}, True, "temporal", "valid boolean"),
        ({"method": "gatys"}, True, "method", "not available for video"),
        ({"alpha": 2}, True, "alpha", "less than or equal to 1"),
    ],
)
def test_what_does_not_fit_the_content_is_refused_naming_the_field(values, video, field, words):
    with pytest.raises(InvalidParameter) as refused:
        parse_job_params(values, video=video)

    assert refused.value.field == field
    assert words in refused.value.message
