"""The number format the compressed networks run in: float32, or bfloat16 where the CPU
multiplies it in hardware.

Why: a CPU with AMX tile units (Intel Xeon since Sapphire Rapids) runs oneDNN's
bfloat16 convolutions on them. Measured on a 2-core Xeon with AMX, a 16→16-channel
3×3 convolution at 1024×688 took 21 ms in float32 and 2.3 ms in bfloat16, and memory
passes (pads, upsampling, pooling) move half the bytes; a 1024-px job went from 0.55 s
to 0.27 s. AMD's Zen 4 (EPYC 9004) multiplies bfloat16 pairs with AVX512-BF16: on a
2-core one the same convolution took 31 ms against 8.8, a 64→64 one at 512×344
70 against 29, and a 1024-px job 0.66 s against 0.39. The pictures barely move: 38–45
dB PSNR against float32, the differences are grain inside textures; on the 144
held-out pairs, pair by pair, content, style and Gram distances move by about 0.1 % and
SSIM by −0.3 % (``bench/RESULTS.md``).

Only the networks run in bfloat16. The images between levels, the statistics (summed in
float32 and float64, ``transforms.moments``), the transforms, the detail and shading
transfers stay in float32; so do Gatys' loss networks, which are differentiated.

``STYLIZE_PRECISION`` (``auto``, ``float32`` or ``bfloat16``) sets it for every
``Stylizer`` a process builds without saying (workers, ``stylize run``, the benchmarks),
as ``STYLIZE_WEIGHTS_DIR`` says where the weights are. ``auto``, the default, picks
bfloat16 where it was measured to pay: a CPU with AMX, or an AMD CPU with AVX512-BF16.
Not on an Intel CPU with AVX512-BF16 and no AMX (Cooper Lake): with oneDNN capped
below AMX on a Xeon (``ONEDNN_MAX_CPU_ISA``) the 16→16 convolution took 17 ms in
bfloat16 (float32: 26) but a 64→64 one 16.5 ms (float32: 9.9); no such CPU was at
hand to settle it. Without the instructions it is slower still (47 ms on plain
AVX-512, 350 on AVX2). Those stay float32 unless asked. So do GPUs: on an H200 a job
took as long in bfloat16 as in float32, whose convolutions cuDNN already runs on TF32
tensor cores (0.026 against 0.023 s at 512 px, 0.435 against 0.388 s at 4096), and the
pictures moved more (36–42 dB PSNR against the CPU's float32; float32 on the GPU:
52–56 dB). A GPU's video workers are set to bfloat16 all the same
(``docker-compose.gpu.yml``): as fast there, and steadier on the video clip float32
falls short on (``bench/RESULTS.md``, "On a GPU").
"""

import os
from typing import Literal, cast

import torch

Precision = Literal["auto", "float32", "bfloat16"]
PRECISIONS: tuple[Precision, ...] = ("auto", "float32", "bfloat16")


def has_amx() -> bool:
    """Whether this CPU has AMX tile units and this process may use them: Linux hands
    out the tiles' register state on request (``_init_amx`` asks), and a kernel that
    refuses leaves oneDNN without them, where bfloat16 would be slower, not faster."""
    supported = getattr(torch.cpu, "_is_amx_tile_supported", None)
    initialise = getattr(torch.cpu, "_init_amx", None)
    try:
        return bool(supported and initialise and supported() and initialise())
    except RuntimeError:  # pragma: no cover - an unusual build without the probes
        return False


def cpu_vendor(cpuinfo_path: str = "/proc/cpuinfo") -> str:
    """The CPU's vendor string as Linux reports it (``GenuineIntel``, ``AuthenticAMD``),
    or "" where ``/proc/cpuinfo`` is not there to say."""
    try:
        with open(cpuinfo_path, encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "vendor_id":
                    return value.strip()
    except OSError:
        pass
    return ""


def has_avx512_bf16() -> bool:
    """Whether this CPU has AVX512-BF16's dot products (``vdpbf16ps``)."""
    supported = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    try:
        return bool(supported and supported())
    except RuntimeError:  # pragma: no cover - an unusual build without the probe
        return False


def bfloat16_pays() -> bool:
    """Whether bfloat16 networks were measured faster than float32 on a CPU like this
    one: AMX, or AVX512-BF16 on AMD (the module's docstring has the numbers)."""
    return has_amx() or (has_avx512_bf16() and cpu_vendor() == "AuthenticAMD")


def from_environment() -> Precision:
    """``STYLIZE_PRECISION``, or ``auto`` when unset or empty."""
    value = os.environ.get("STYLIZE_PRECISION", "").strip().lower() or "auto"
    if value not in PRECISIONS:
        raise ValueError(f"STYLIZE_PRECISION must be one of {', '.join(PRECISIONS)}, not {value!r}")
    return cast(Precision, value)


def network_dtype(precision: Precision | None, device: torch.device) -> torch.dtype:
    """The dtype the compressed encoders and decoders are held and run in; ``precision``
    None reads ``STYLIZE_PRECISION``."""
    if precision is None:
        precision = from_environment()
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "bfloat16":
        return torch.bfloat16
    if precision == "auto" and device.type == "cpu" and bfloat16_pays():
        return torch.bfloat16
    return torch.float32
