"""The quality benchmark's images: where each one comes from, its licence, its split.

Nothing is copied into this repository. Each image is named by the package that ships it
and its path inside that package; ``find`` locates it on this machine. The 12 images of
``../shared/testdata`` were used to choose the current cascade, so they all belong to the
tuning split. The validation split holds contents *and* styles that tuning never sees:
validation scores are reported on validation contents × validation styles only.

To have every image on a machine (Debian 12 and the project's virtualenv):

    apt-get install --no-install-recommends plasma-workspace-wallpapers mate-backgrounds \
        ukui-wallpapers lomiri-wallpapers-20.04 gcompris-qt-data
    pip install scikit-image matplotlib        # the "bench" extra of pyproject.toml

Images whose package is missing are skipped (``missing`` lists them); CI never runs the
quality benchmark and nothing in ``models/`` or ``tests/`` depends on these packages.

GCompris ships its pictures inside Qt resource bundles (``.rcc``); ``read_qt_resource``
reads one file out of such a bundle (format: Qt's ``rcc`` tool, versions 1–3).
"""

import importlib.metadata
import io
import struct
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

Kind = Literal["content", "style"]
Split = Literal["tune", "val"]

APT_PACKAGES = (
    "plasma-workspace-wallpapers",
    "mate-backgrounds",
    "ukui-wallpapers",
    "lomiri-wallpapers-20.04",
    "gcompris-qt-data",
)
PIP_PACKAGES = ("scikit-image", "matplotlib")


@dataclass(frozen=True)
class Source:
    """One image: ``origin`` is ``shared``, ``pypi:<dist>`` or ``debian:<package>``.

    ``path`` is relative to ../shared, to the distribution's root, or to ``/`` for a
    Debian package; ``bundle.rcc:/resource/path`` names a file inside a Qt resource bundle.
    """

    name: str
    kind: Kind
    split: Split
    origin: str
    path: str
    licence: str
    what: str = ""


_GC = "usr/share/gcompris-qt/rcc"
_VG = f"{_GC}/details.rcc:/gcompris/src/activities/details/resource/image"
_GC_LICENCE = "GPL-3 (debian/copyright of gcompris-qt-data)"
_VG_LICENCE = "painting public domain (van Gogh, d. 1890); reproduction " + _GC_LICENCE
_KDE = "usr/share/wallpapers"
_KDE_LICENCE = "GPL-2+ (KDE Visual Design Group)"
_MATE = "usr/share/backgrounds/mate"

SOURCES: tuple[Source, ...] = (
    # -- contents, tuning ------------------------------------------------------------------
    *(
        Source(n, "content", "tune", "shared", f"testdata/content/{n}.jpg", "MIT (pytorch-AdaIN)")
        for n in ("chicago", "cornell", "golden_gate", "modern", "sailboat")
    ),
    Source("astronaut", "content", "tune", "pypi:scikit-image", "skimage/data/astronaut.png",
           "public domain (NASA)", "portrait"),
    Source("coffee", "content", "tune", "pypi:scikit-image", "skimage/data/coffee.png",
           "CC0 (Rachel Michetti)", "still life"),
    Source("evening_glow", "content", "tune", "debian:plasma-workspace-wallpapers",
           f"{_KDE}/EveningGlow/contents/images/2560x1600.jpg", _KDE_LICENCE, "boats, harbour"),
    Source("forest_path", "content", "tune", "debian:plasma-workspace-wallpapers",
           f"{_KDE}/Path/contents/images/2560x1600.jpg", _KDE_LICENCE, "forest"),
    Source("fresh_flower", "content", "tune", "debian:mate-backgrounds",
           f"{_MATE}/nature/FreshFlower.jpg", "GPL-2+ (Jens Ansorg)", "flower close-up"),
    Source("red_panda", "content", "tune", "debian:gcompris-qt-data",
           f"{_GC}/erase.rcc:/gcompris/src/activities/erase/resource/red_panda.webp",
           _GC_LICENCE, "animal"),
    Source("eiffel_tower", "content", "tune", "debian:gcompris-qt-data",
           f"{_GC}/explore_monuments.rcc:/gcompris/src/activities/explore_monuments/resource/france/eiffelTower.webp",
           _GC_LICENCE, "city"),
    # -- contents, validation --------------------------------------------------------------
    Source("grace_hopper", "content", "val", "pypi:matplotlib",
           "matplotlib/mpl-data/sample_data/grace_hopper.jpg", "public domain (US Navy)",
           "portrait"),
    Source("chelsea", "content", "val", "pypi:scikit-image", "skimage/data/chelsea.png",
           "CC0 (Stefan van der Walt)", "cat"),
    Source("rocket", "content", "val", "pypi:scikit-image", "skimage/data/rocket.jpg",
           "public domain (SpaceX)", "launch"),
    Source("kleiber", "content", "val", "debian:lomiri-wallpapers-20.04",
           "usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg", "CC-BY-SA-3.0 (Lukas Baubkus)",
           "bird on a tree"),
    Source("by_the_water", "content", "val", "debian:plasma-workspace-wallpapers",
           f"{_KDE}/BytheWater/contents/images/2560x1600.jpg", _KDE_LICENCE, "lake, jetty"),
    Source("grey", "content", "val", "debian:plasma-workspace-wallpapers",
           f"{_KDE}/Grey/contents/images/2560x1600.jpg", _KDE_LICENCE, "architecture"),
    Source("two_wings", "content", "val", "debian:mate-backgrounds",
           f"{_MATE}/nature/TwoWings.jpg", "GPL-2+ (Charles Barbin)", "seed, bokeh"),
    Source("ladybird", "content", "val", "debian:mate-backgrounds",
           f"{_MATE}/nature/LadyBird.jpg", "GPL-2+ (Charles Barbin)", "flowers, insect"),
    Source("yellow_flower", "content", "val", "debian:mate-backgrounds",
           f"{_MATE}/nature/YellowFlower.jpg", "GPL-2+ (Charles Barbin)", "flower"),
    Source("kingfisher", "content", "val", "debian:gcompris-qt-data",
           f"{_GC}/erase.rcc:/gcompris/src/activities/erase/resource/kingfisher.webp",
           _GC_LICENCE, "bird"),
    Source("mont_st_michel", "content", "val", "debian:gcompris-qt-data",
           f"{_GC}/explore_monuments.rcc:/gcompris/src/activities/explore_monuments/resource/france/montStMichel.webp",
           _GC_LICENCE, "landscape, town"),
    Source("colosseum", "content", "val", "debian:gcompris-qt-data",
           f"{_GC}/explore_monuments.rcc:/gcompris/src/activities/explore_monuments/resource/wonders/colosseum.webp",
           _GC_LICENCE, "city"),
    # -- styles, tuning --------------------------------------------------------------------
    *(
        Source(n, "style", "tune", "shared", f"testdata/style/{n}.{ext}", "MIT (pytorch-AdaIN)")
        for n, ext in (
            ("brushstrokes", "jpg"), ("contrast_of_forms", "jpg"), ("en_campo_gris", "jpg"),
            ("mondrian_cropped", "jpg"), ("scene_de_rue", "jpg"), ("sketch", "png"),
            ("woman_with_hat_matisse", "jpg"),
        )
    ),
    Source("pere_tanguy", "style", "tune", "debian:gcompris-qt-data",
           f"{_VG}/PortraitOfPereTanguy_background.webp", _VG_LICENCE, "van Gogh 1887"),
    Source("night_cafe", "style", "tune", "debian:gcompris-qt-data",
           f"{_VG}/Van_Gogh_The_Night_Cafe_background.webp", _VG_LICENCE, "van Gogh 1888"),
    Source("asylum_vestibule", "style", "tune", "debian:gcompris-qt-data",
           f"{_VG}/VincentVanGogh0012_background.webp", _VG_LICENCE, "van Gogh 1889"),
    Source("autumn", "style", "tune", "debian:plasma-workspace-wallpapers",
           f"{_KDE}/Autumn/contents/images/2560x1600.jpg", _KDE_LICENCE, "digital painting"),
    Source("pastel_hills", "style", "tune", "debian:plasma-workspace-wallpapers",
           f"{_KDE}/PastelHills/contents/images/3200x2000.jpg", _KDE_LICENCE, "low-poly"),
    # -- styles, validation ----------------------------------------------------------------
    Source("auvers_church", "style", "val", "debian:gcompris-qt-data",
           f"{_VG}/Eglise_dAuvers-sur-Oise_background.webp", _VG_LICENCE, "van Gogh 1890"),
    Source("langlois_bridge", "style", "val", "debian:gcompris-qt-data",
           f"{_VG}/VincentVanGoghBridge_background.webp", _VG_LICENCE, "van Gogh 1888"),
    Source("painter_tarascon", "style", "val", "debian:gcompris-qt-data",
           f"{_VG}/VincentVanGogh0013_background.webp", _VG_LICENCE, "van Gogh 1888"),
    Source("cafe_terrace", "style", "val", "debian:gcompris-qt-data",
           f"{_VG}/Gogh4_background.webp", _VG_LICENCE, "van Gogh 1888"),
    Source("harvest", "style", "val", "debian:gcompris-qt-data",
           f"{_VG}/VincentVanGogh0019_background.webp", _VG_LICENCE, "van Gogh 1888"),
    Source("elephants", "style", "val", "debian:mate-backgrounds",
           f"{_MATE}/abstract/Elephants.jpg", "GPL-2+ (Wyng Stancikaite)", "painting"),
    Source("safe_landing", "style", "val", "debian:plasma-workspace-wallpapers",
           f"{_KDE}/SafeLanding/contents/images/5120x2880.jpg", _KDE_LICENCE, "illustration"),
    Source("painting_colors", "style", "val", "debian:lomiri-wallpapers-20.04",
           "usr/share/backgrounds/Painting-Colors_by__herobrine7gamer.jpg",
           "CC-BY-SA-3.0 (herobrine7gamer)", "flat colour bands"),
    Source("honeywave", "style", "val", "debian:plasma-workspace-wallpapers",
           f"{_KDE}/Honeywave/contents/images/5120x2880.jpg", _KDE_LICENCE, "paper cut-out"),
    Source("altai", "style", "val", "debian:plasma-workspace-wallpapers",
           f"{_KDE}/Altai/contents/images/5120x2880.png", _KDE_LICENCE, "low-poly landscape"),
    Source("goldfish", "style", "val", "debian:ukui-wallpapers",
           "usr/share/backgrounds/goldfish.png", "CC-BY-SA-3.0 (Ubuntu Kylin)", "vector art"),
    Source("volna", "style", "val", "debian:plasma-workspace-wallpapers",
           f"{_KDE}/Volna/contents/images/5120x2880.jpg", _KDE_LICENCE, "shore, stylised"),
)  # fmt: skip


def locate(source: Source) -> Path:
    """The file (or resource bundle) that holds ``source`` on this machine."""
    path = source.path.split(".rcc:", 1)[0] + ".rcc" if ".rcc:" in source.path else source.path
    if source.origin == "shared":
        return SHARED / path
    if source.origin.startswith("pypi:"):
        try:
            return Path(str(importlib.metadata.distribution(source.origin[5:]).locate_file(path)))
        except importlib.metadata.PackageNotFoundError:
            return Path("/nonexistent") / path
    return Path("/") / path


def exists(source: Source) -> bool:
    return locate(source).is_file()


def load(source: Source) -> Image.Image:
    """The image as RGB (alpha flattened onto white), at its stored size."""
    if ".rcc:" in source.path:
        data = read_qt_resource(locate(source), source.path.split(".rcc:", 1)[1])
        image = Image.open(io.BytesIO(data))
    else:
        image = Image.open(locate(source))
    image.load()
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, "white")
        flat.paste(image, mask=image.getchannel("A"))
        return flat
    return image.convert("RGB")


def select(kind: Kind, split: Split) -> list[Source]:
    """The images of one kind and split that are present here, in manifest order."""
    return [s for s in SOURCES if s.kind == kind and s.split == split and exists(s)]


def missing() -> list[Source]:
    return [s for s in SOURCES if not exists(s)]


def pairs(split: str) -> list[tuple[Source, Source]]:
    """Content × style pairs: ``tune``, ``val`` (held-out × held-out) or ``mixed``.

    ``mixed`` pairs one split's contents with the other's styles (reported separately).
    """
    if split in ("tune", "val"):
        return [(c, s) for c in select("content", split) for s in select("style", split)]
    if split == "mixed":
        return [
            (c, s)
            for a, b in (("tune", "val"), ("val", "tune"))
            for c in select("content", a)  # type: ignore[arg-type]
            for s in select("style", b)  # type: ignore[arg-type]
        ]
    raise ValueError(f"unknown split {split!r}: tune, val or mixed")


@cache
def _qt_resources(bundle: Path) -> dict[str, tuple[int, int, int]]:
    """Resource path → (offset, size, flags) of every file in a Qt ``.rcc`` bundle."""
    data = bundle.read_bytes()
    if data[:4] != b"qres":
        raise ValueError(f"{bundle} is not a Qt resource bundle")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    node_size = 14 if version == 1 else 22  # version ≥ 2 adds a 64-bit modification time

    def name(offset: int) -> str:
        (length,) = struct.unpack(">H", data[names + offset : names + offset + 2])
        start = names + offset + 6  # after the length and a 32-bit hash
        return data[start : start + 2 * length].decode("utf-16-be")

    found: dict[str, tuple[int, int, int]] = {}

    def walk(index: int, prefix: str) -> None:
        node = tree + index * node_size
        name_offset, flags = struct.unpack(">IH", data[node : node + 6])
        path = prefix + (name(name_offset) if index else "")
        if flags & 2:  # directory: child count, first child's index
            count, first = struct.unpack(">II", data[node + 6 : node + 14])
            for child in range(first, first + count):
                walk(child, path + "/")
        else:  # file: territory and language (2 + 2 bytes), then its data offset
            (offset,) = struct.unpack(">I", data[node + 10 : node + 14])
            (size,) = struct.unpack(">I", data[payload + offset : payload + offset + 4])
            found[path] = (payload + offset + 4, size, flags)

    walk(0, "")
    return found


def read_qt_resource(bundle: Path, resource: str) -> bytes:
    """The bytes of ``resource`` (e.g. ``/gcompris/.../x.webp``) inside ``bundle``."""
    offset, size, flags = _qt_resources(bundle)[resource]
    with bundle.open("rb") as f:
        f.seek(offset)
        blob = f.read(size)
    if flags & 1:  # zlib, after a 4-byte uncompressed length
        return zlib.decompress(blob[4:])
    if flags & 4:
        raise ValueError(f"{resource} is zstd-compressed; not supported here")
    return blob


def main() -> None:
    """Print the manifest: counts per split and kind, and what is missing here."""
    for split in ("tune", "val"):
        for kind in ("content", "style"):
            names = [s.name for s in select(kind, split)]  # type: ignore[arg-type]
            print(f"{split:5} {kind:8} {len(names):3}  {' '.join(names)}")
    for split in ("tune", "val", "mixed"):
        print(f"{split} pairs: {len(pairs(split))}")
    for s in missing():
        print(f"missing: {s.name} ({s.origin}: {s.path})")


if __name__ == "__main__":
    main()
