"""The speed measures (channels-last layout, the hand-written reflection pad, the folded
WCT, malloc settings) change how the engine computes, never what it computes."""

import resource
import subprocess
import sys

import pytest
import torch
from torch.nn import functional as F

from models import runtime, weights
from models.networks import cd16x
from models.networks.layers import (
    conv3x3,
    max_pool2,
    reflect_pad1,
    upsample2_bilinear_reflect_pad1,
    upsample2_reflect_pad1,
)
from models.networks.vgg import reflect_pad_by_slices
from models.params import StyleParams
from models.stylizer import Stylizer
from models.tensors import to_tensor
from tests.support.paths import DEVICE, ROOT


@pytest.mark.parametrize("shape", [(1, 3, 2, 2), (1, 16, 5, 7), (2, 24, 33, 18)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_reflect_pad1_is_f_pad_reflect(shape, channels_last):
    x = torch.randn(shape)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out = reflect_pad1(x)
    assert torch.equal(out, F.pad(x, (1, 1, 1, 1), mode="reflect"))
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_reflect_pad1_carries_gradients_like_f_pad():
    x = torch.randn(1, 4, 6, 5, requires_grad=True)
    weights = torch.randn(1, 4, 8, 7)
    (grad,) = torch.autograd.grad((reflect_pad1(x) * weights).sum(), x)
    (expected,) = torch.autograd.grad((F.pad(x, (1, 1, 1, 1), mode="reflect") * weights).sum(), x)
    torch.testing.assert_close(grad, expected)


def test_images_enter_the_networks_channels_last(photo):
    assert to_tensor(photo, DEVICE).is_contiguous(memory_format=torch.channels_last)


def _reference_encoder(state: dict, level: int, x: torch.Tensor) -> torch.Tensor:
    """The compressed encoder written plainly from its weight file: NCHW, F.pad, no fusion."""
    x = F.conv2d(x, state["conv0.weight"], state["conv0.bias"])
    for step in cd16x._plan(level):
        if step == "pool":
            x = F.max_pool2d(x, 2, 2, ceil_mode=True)
        else:
            name = step[0]
            x = F.pad(x, (1, 1, 1, 1), mode="reflect")
            x = F.relu(F.conv2d(x, state[f"{name}.weight"], state[f"{name}.bias"]))
    return x


def _reference_decoder(state: dict, level: int, x: torch.Tensor) -> torch.Tensor:
    names = [s[0] for s in reversed(cd16x._plan(level)) if s != "pool"]
    for name in names:
        x = F.pad(x, (1, 1, 1, 1), mode="reflect")
        x = F.conv2d(x, state[f"{name}.weight"], state[f"{name}.bias"])
        if name != "conv11":
            x = F.relu(x)
        if name in ("conv51", "conv41", "conv31", "conv21"):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
    return x


@pytest.mark.parametrize("level", [1, 2, 4])
def test_fast_networks_compute_what_the_plain_layers_do(stylizer32, photo, level):
    # The engine's networks (channels-last, conv0 folded into conv11, ReLU fused into
    # the conv, hand-written pad/pool/upsample) against the weight files run through
    # plain NCHW PyTorch ops.
    encoder = stylizer32.networks.encoders[("cd16x", level)]
    decoder = stylizer32.networks.decoders[("cd16x", level)]
    x = to_tensor(photo, DEVICE)[..., :120, :96]  # even sides: the fast pooling path
    odd = to_tensor(photo, DEVICE)[..., :97, :75]  # odd sides: F.max_pool2d's ceil mode
    enc_state, dec_state = (
        {
            k: v.to(DEVICE)
            for k, v in weights.load_state_dict(f"vgg19-cd16x/{part}_relu{level}_1").items()
        }
        for part in ("encoder", "decoder")
    )
    with torch.inference_mode():
        for image in (x, odd):
            feature = encoder(image)
            expected = _reference_encoder(enc_state, level, image.contiguous())
            torch.testing.assert_close(feature, expected, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(
                decoder(feature), _reference_decoder(dec_state, level, expected),
                atol=1e-4, rtol=1e-4,
            )  # fmt: skip


def test_fused_conv_relu_matches_and_keeps_autograd():
    conv = torch.nn.Conv2d(16, 8, 3)
    x = torch.randn(1, 16, 20, 17).contiguous(memory_format=torch.channels_last)
    expected = F.relu(conv(F.pad(x, (1, 1, 1, 1), mode="reflect")))
    with torch.inference_mode():
        torch.testing.assert_close(conv3x3(x, conv), expected)
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(conv3x3(x, conv).sum(), x)  # Gatys needs this path
    (ref,) = torch.autograd.grad(F.relu(conv(F.pad(x, (1, 1, 1, 1), mode="reflect"))).sum(), x)
    torch.testing.assert_close(grad, ref)


@pytest.mark.parametrize("shape", [(1, 16, 8, 6), (1, 4, 7, 6), (1, 4, 6, 9), (2, 3, 2, 2)])
def test_max_pool2_is_f_max_pool2d_ceil_mode(shape):
    x = torch.randn(shape).contiguous(memory_format=torch.channels_last)
    out = max_pool2(x)
    assert torch.equal(out, F.max_pool2d(x, 2, 2, ceil_mode=True))
    assert out.is_contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    weights_ = torch.randn(out.shape)
    (grad,) = torch.autograd.grad((max_pool2(x) * weights_).sum(), x)
    (ref,) = torch.autograd.grad((F.max_pool2d(x, 2, 2, ceil_mode=True) * weights_).sum(), x)
    assert torch.equal(grad, ref)


@pytest.mark.parametrize("shape", [(1, 16, 5, 7), (2, 3, 1, 1), (1, 8, 2, 3)])
def test_upsample2_reflect_pad1_is_interpolate_then_pad(shape):
    x = torch.randn(shape).contiguous(memory_format=torch.channels_last)
    expected = F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), (1, 1, 1, 1), "reflect")
    out = upsample2_reflect_pad1(x)
    assert torch.equal(out, expected)
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_bilinear_upsample2_reflect_pad1_keeps_channels_last():
    x = torch.randn(1, 16, 5, 7).contiguous(memory_format=torch.channels_last)
    expected = F.pad(F.interpolate(x, scale_factor=2, mode="bilinear"), (1, 1, 1, 1), "reflect")
    out = upsample2_bilinear_reflect_pad1(x)
    torch.testing.assert_close(out, expected)
    assert out.is_contiguous(memory_format=torch.channels_last)


def test_reused_memory_leaves_nothing_behind_between_jobs(photo, painting):
    # With freed blocks kept and reused (uninitialised) by the next job, a repeat on the
    # same engine and a second engine give exactly the same pixels.
    runtime.configure(keep_memory=True)
    first = Stylizer(device="cpu")
    params = StyleParams(size=96, style_size=96)
    a = first.stylize(photo, [painting], params).image
    b = first.stylize(photo, [painting], params).image
    c = Stylizer(device="cpu").stylize(photo, [painting], params).image
    assert a.tobytes() == b.tobytes() == c.tobytes()


def test_malloc_keeps_freed_memory_on_linux(photo, painting):
    # The behaviour, not mallopt's return value: once the heap has grown to a job's size,
    # the same job again reuses its pages instead of page-faulting them in. (A trim
    # threshold too large for C's int would silently make glibc trim on every free:
    # ≥ 14 000 page faults per 384-px job.)
    assert runtime.keep_freed_memory() is True
    assert runtime.keep_freed_memory() is True  # idempotent
    stylizer = Stylizer(device="cpu")
    params = StyleParams(size=384, style_size=256)

    def page_faults_of_one_job() -> int:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        stylizer.stylize(photo, [painting], params)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    faults = [page_faults_of_one_job() for _ in range(4)]
    assert min(faults[2:]) < 1000, faults


def test_a_large_job_gives_its_memory_back(photo, painting):
    # Above LARGE_JOB_PIXELS big blocks are mmapped during the job and the heap is trimmed
    # after it, so a worker does not keep a poster's gigabytes for the rest of its life.
    stylizer = Stylizer(device="cpu")
    params = StyleParams(size=2560, style_size=128)  # 2560×1798 > 2048²: a large job
    before = _resident_bytes()
    stylizer.stylize(photo, [painting], params)
    assert _resident_bytes() - before < 200 << 20


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def test_building_a_stylizer_leaves_the_process_allocator_alone():
    # Changing malloc's policy is the worker's and the command line's decision
    # (runtime.configure), not a side effect of a library call in someone's notebook.
    code = (
        "from models import runtime; from models.stylizer import Stylizer; "
        "Stylizer(device='cpu'); print(runtime.memory_kept()); "
        "runtime.configure(); print(runtime.memory_kept())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("shape", [(1, 3, 5, 7), (2, 4, 2, 2)])
def test_the_gpus_reflection_pad_is_f_pad_in_values_and_gradient(shape):
    # ``vgg.ReflectionPad1`` pads by slices on CUDA (a backward in a fixed order); held
    # here, on the CPU, against F.pad's reflection, forward and backward.
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    padded = reflect_pad_by_slices(x)
    expected = F.pad(x, (1, 1, 1, 1), mode="reflect")
    assert torch.equal(padded, expected)
    upstream = torch.randn_like(expected)
    (grad,) = torch.autograd.grad(padded, x, upstream)
    (ref,) = torch.autograd.grad(expected, x, upstream)
    torch.testing.assert_close(grad, ref, rtol=0, atol=1e-12)
