"""The networks' precision: bfloat16 networks give the float32 pictures up to grain, and
the statistics of bfloat16 features are as exact as float32 ones."""

import numpy as np
import pytest
import torch

from models import precision
from models.cascade import Networks, Recipe, Step
from models.params import StyleParams
from models.tensors import to_tensor
from models.transforms import calc_mean_std, flatten, moments
from tests.support.paths import DEVICE


def test_the_setting_is_read_from_the_environment_and_a_bad_value_is_named(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setenv("STYLIZE_PRECISION", "bfloat16")
    assert precision.network_dtype(None, cpu) == torch.bfloat16
    monkeypatch.setenv("STYLIZE_PRECISION", "Float32")
    assert precision.network_dtype(None, cpu) == torch.float32
    assert precision.network_dtype("bfloat16", cpu) == torch.bfloat16  # an argument wins
    monkeypatch.setenv("STYLIZE_PRECISION", "half")
    with pytest.raises(ValueError, match="STYLIZE_PRECISION must be one of auto, float32"):
        precision.network_dtype(None, cpu)
    with pytest.raises(ValueError, match="not 'fp8'"):
        precision.network_dtype("fp8", cpu)  # type: ignore[arg-type]


def _cpu(
    monkeypatch,
    *,
    amx: bool = False,
    tiles_granted: bool = True,
    avx512_bf16: bool = False,
    vendor: str = "GenuineIntel",
) -> None:
    """Make the probes describe a CPU: its AMX tiles (and whether the kernel grants
    them), its AVX512-BF16, its vendor."""
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_init_amx", lambda: tiles_granted)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(precision, "cpu_vendor", lambda: vendor)


def test_auto_is_bfloat16_only_where_it_was_measured_to_pay(monkeypatch):
    monkeypatch.delenv("STYLIZE_PRECISION", raising=False)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    _cpu(monkeypatch, amx=True, avx512_bf16=True)  # Sapphire Rapids and later
    assert precision.network_dtype(None, cpu) == torch.bfloat16
    assert precision.network_dtype("auto", cuda) == torch.float32  # not measured on GPUs
    _cpu(monkeypatch, amx=True, tiles_granted=False, avx512_bf16=True)  # the kernel refused
    assert precision.network_dtype("auto", cpu) == torch.float32
    _cpu(monkeypatch, avx512_bf16=True)  # Cooper Lake: not measured, mixed when emulated
    assert precision.network_dtype("auto", cpu) == torch.float32
    _cpu(monkeypatch, avx512_bf16=True, vendor="AuthenticAMD")  # Zen 4 and later
    assert precision.network_dtype("auto", cpu) == torch.bfloat16
    assert precision.network_dtype("float32", cpu) == torch.float32  # asked for wins
    _cpu(monkeypatch, vendor="AuthenticAMD")  # Zen 3: no bfloat16 instructions
    assert precision.network_dtype("auto", cpu) == torch.float32


def test_the_vendor_is_read_from_cpuinfo_and_is_empty_without_it(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n"
        "model name\t: AMD EPYC 9R14\n\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\n"
    )
    assert precision.cpu_vendor(str(cpuinfo)) == "AuthenticAMD"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: an ARM core\n")  # no vendor_id line
    assert precision.cpu_vendor(str(cpuinfo)) == ""
    assert precision.cpu_vendor(str(tmp_path / "absent")) == ""  # not Linux


@pytest.mark.parametrize("level", [1, 2, 4])
def test_bfloat16_networks_follow_the_float32_ones(stylizer32, photo, level):
    fast = Networks(torch.device(DEVICE), torch.bfloat16)
    fast.load(Recipe("cd16x", (Step(level, "adain"),)))
    key = ("cd16x", level)
    x = to_tensor(photo, DEVICE)[..., :96, :128]
    with torch.inference_mode():
        exact = stylizer32.networks.encoders[key](x)
        feature = fast.encoders[key](x)
        assert feature.dtype == torch.bfloat16 and exact.dtype == torch.float32
        error = (feature.float() - exact).norm() / exact.norm()
        assert error < 0.02  # bfloat16 keeps 8 bits: ~0.4 % per value, a few layers deep
        image = fast.decoders[key](feature)
        assert image.dtype == torch.float32  # images leave the networks in float32
        reference = stylizer32.networks.decoders[key](exact)
        assert (image - reference).abs().mean() < 2 / 255


def test_a_bfloat16_stylization_is_the_float32_one_up_to_grain(stylizer32, photo, painting):
    from models.stylizer import Stylizer

    params = StyleParams(size=256)
    fast = Stylizer(device="cpu", precision="bfloat16")
    assert fast.precision == "bfloat16" and stylizer32.precision == "float32"
    a = np.asarray(fast.stylize(photo, [painting], params).image, dtype=np.float64)
    b = np.asarray(stylizer32.stylize(photo, [painting], params).image, dtype=np.float64)
    psnr = 10 * np.log10(255**2 / np.mean((a - b) ** 2))
    assert psnr > 35  # 38-45 dB measured at 512 and 1024 px


def test_statistics_of_bfloat16_features_are_the_exact_statistics_of_their_values():
    # Channels-last (the encoders' layout), a mean far above the spread, and a first
    # stretch (where the centring shift is taken) unlike the rest.
    torch.manual_seed(0)
    x = torch.randn(1, 24, 150, 400) * 2 + 40
    x[..., :12, :] += 6  # the first 4800 positions are brighter
    feature = flatten(x.contiguous(memory_format=torch.channels_last).to(torch.bfloat16))
    exact = feature.double()
    reference = (exact.mean(dim=1, keepdim=True), torch.cov(exact), exact.var(dim=1, correction=0))
    mean, covariance, variance = moments(feature)
    torch.testing.assert_close(mean, reference[0], atol=0, rtol=1e-7)
    torch.testing.assert_close(covariance, reference[1], atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(variance[:, 0], reference[2], atol=1e-4, rtol=1e-5)
    m, s = calc_mean_std(feature)
    assert m.dtype == torch.float32
    torch.testing.assert_close(m.double(), reference[0], atol=0, rtol=1e-6)
    torch.testing.assert_close(s[:, 0].double() ** 2, reference[2] + 1e-5, atol=1e-4, rtol=1e-5)
