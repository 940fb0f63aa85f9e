"""Parameters are checked as the API checks them, before anything is sent, and written as
the API's form fields."""

import math

import pytest

from stylize_client import GatysParams, InvalidParameterError, StyleParams


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"alpha": 1.5}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"alpha": math.nan}, "alpha"),
        ({"alpha": "0.5"}, "alpha"),
        ({"size": 0}, "size"),
        ({"size": 4097}, "size"),
        ({"size": 512.0}, "size"),
        ({"style_size": 5000}, "style_size"),
        ({"quality": 0}, "quality"),
        ({"quality": 101}, "quality"),
        ({"method": "picasso"}, "method"),
        ({"format": "bmp"}, "format"),
        ({"temporal": "off"}, "temporal"),
        ({"preserve_color": "yes"}, "preserve_color"),
        ({"style_weights": []}, "style_weights"),
        ({"style_weights": [0, 0]}, "style_weights"),
        ({"style_weights": [1, -1]}, "style_weights"),
        ({"style_weights": [1] * 9}, "style_weights"),
        ({"style_weights": "0.3,0.7"}, "style_weights"),
        ({"gatys": {"iterations": 0}}, "gatys.iterations"),
        ({"gatys": {"iterations": 2001}}, "gatys.iterations"),
        ({"gatys": {"max_seconds": 0}}, "gatys.max_seconds"),
        ({"gatys": {"max_seconds": 3601}}, "gatys.max_seconds"),
        ({"gatys": {"tolerance": 1.5}}, "gatys.tolerance"),
        ({"gatys": {"learning_rate": 0}}, "gatys.learning_rate"),
        ({"gatys": {"style_weight": -1}}, "gatys.style_weight"),
        ({"gatys": {"seed": -1}}, "gatys.seed"),
        ({"gatys": {"optimizer": "sgd"}}, "gatys.optimizer"),
        ({"gatys": {"init": "random"}}, "gatys.init"),
        ({"gatys": {"iterationz": 5}}, "gatys.iterationz"),
        ({"alpah": 0.5}, "alpah"),
    ],
)
def test_a_value_outside_the_apis_bounds_names_its_field(values, field):
    with pytest.raises(InvalidParameterError) as caught:
        StyleParams.of(values)

    assert caught.value.field == field
    assert caught.value.status is None  # found before sending


@pytest.mark.parametrize(
    "values",
    [
        {"alpha": 0},
        {"alpha": 1},
        {"size": 1},
        {"size": 4096},
        {"quality": 100},
        {"style_weights": [0, 1]},
        {"gatys": {"iterations": 2000, "max_seconds": 3600, "tolerance": 0, "learning_rate": 10}},
    ],
)
def test_the_bounds_themselves_are_allowed(values):
    StyleParams.of(values)


def test_nothing_is_sent_for_parameters_left_to_the_server():
    assert list(StyleParams().form()) == []


def test_the_form_spells_fields_as_the_api_does():
    params = StyleParams(
        method="gatys",
        alpha=0.8,
        preserve_color=True,
        style_weights=[0.3, 0.7],
        size=256,
        format="jpeg",
        gatys=GatysParams(iterations=100, max_seconds=60.5, optimizer="adam"),
    )

    assert list(params.form()) == [
        ("method", "gatys"),
        ("alpha", "0.8"),
        ("preserve_color", "true"),
        ("style_weights", "0.3,0.7"),
        ("size", "256"),
        ("format", "jpeg"),
        ("gatys.optimizer", "adam"),
        ("gatys.iterations", "100"),
        ("gatys.max_seconds", "60.5"),
    ]


def test_gatys_parameters_may_be_a_dict():
    assert StyleParams.of({"gatys": {"iterations": 5}}).gatys == GatysParams(iterations=5)
