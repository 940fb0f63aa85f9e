"""The form's fields become the engine's parameters; the rules that join several inputs
are the engine's own, worded the same."""

import io

import pytest
from fastapi import UploadFile

from models.errors import InvalidParameter, StylizeError
from models.params import check_inputs
from service.forms import StylizeForm
from tests.support.images import png_bytes, style_upload


def form(**fields: object) -> StylizeForm:
    content = UploadFile(io.BytesIO(b""), filename="c.png")
    return StylizeForm.model_validate({"content": content, **fields})


def test_form_fields_become_nested_style_params():
    params = form(method="gatys", alpha="0.5", **{"gatys.iterations": "30"}).to_params(
        2048, video=False
    )[0]

    assert (params.method, params.alpha, params.gatys.iterations) == ("gatys", 0.5, 30)
    assert params.size == 512  # not given: the engine's default


def test_style_weights_may_be_comma_separated_or_repeated():
    comma = form(style_weights=["0.25, 0.75"]).to_params(2048, video=False)[0]
    repeated = form(style_weights=["0.25", "0.75"]).to_params(2048, video=False)[0]

    assert comma.style_weights == repeated.style_weights == (0.25, 0.75)


def test_a_size_over_the_server_maximum_is_refused_naming_it():
    with pytest.raises(InvalidParameter) as refused:
        form(style_size="1024").to_params(512, video=False)

    assert refused.value.field == "style_size"


@pytest.mark.parametrize(
    ("fields", "styles", "mask"),
    [
        ({"style_weights": "1,2,3"}, 2, None),  # a weight per style
        ({}, 9, None),  # at most 8 styles
        ({}, 1, (712, 474)),  # a mask needs two styles
        ({}, 2, (100, 100)),  # a mask has the content's aspect ratio
        ({"style_weights": "1,1"}, 2, (712, 474)),  # weights or a mask, not both
    ],
)
def test_the_api_refuses_what_the_engine_refuses_in_the_same_words(
    api_without_worker, fields, styles, mask
):
    files = {"styles": [style_upload()] * styles}
    if mask:
        files["mask"] = ("m.png", png_bytes(*mask), "image/png")
    response = api_without_worker.submit(**files, **fields)

    params = form(**{k: [v] if k == "style_weights" else v for k, v in fields.items()})
    with pytest.raises(StylizeError) as engine:
        check_inputs(params.to_params(2048, video=False)[0], styles, (712, 474), mask)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["message"], error["field"]) == (engine.value.message, engine.value.field)
