"""The engine inside a worker process: one ``Stylizer`` (every network loaded once) and
a bounded cache of encoded styles, shared by all the jobs the process runs.

RQ job functions are plain functions, so they reach the engine through
``current_engine()``; the worker command calls ``load_engine`` once at start, before it
takes any job.
"""

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PIL import Image
from redis import Redis

from contract.settings import Settings, connect_redis
from models import runtime
from models.cascade import StyleFeatures
from models.images import ImageLimits, decode_image
from models.params import StyleParams
from models.stylizer import Stylizer
from models.video.source import VideoLimits

log = logging.getLogger("stylize.worker")


@dataclass(frozen=True)
class StyleKey:
    """What ``Stylizer.encode_style`` output depends on, and nothing else.

    The image (by the sha256 of its bytes, which is also its id in Redis), the size it
    is resized to, and the encoder: its weight family and the levels it encodes. Methods
    whose cascades use the same family and levels share entries; gatys (family
    ``gatys``, which adds Gram targets) has its own.
    """

    sha256: str
    style_size: int | None
    family: str
    levels: tuple[int, ...]


class StyleCache:
    """Least-recently-used encoded styles, at most ``capacity`` of them (0 = off)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[StyleKey, StyleFeatures] = OrderedDict()

    def get(self, key: StyleKey) -> StyleFeatures | None:
        features = self._entries.get(key)
        if features is not None:
            self._entries.move_to_end(key)
        return features

    def put(self, key: StyleKey, features: StyleFeatures) -> None:
        if self.capacity <= 0:
            return
        self._entries[key] = features
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class PreparedStyles:
    styles: list[StyleFeatures]
    hits: int
    misses: int


class Engine:
    def __init__(self, settings: Settings) -> None:
        started = time.perf_counter()
        self.settings = settings
        self.redis: Redis = connect_redis(settings)
        self.stylizer = Stylizer()
        runtime.configure(
            threads=settings.torch_threads,
            keep_memory=settings.keep_freed_memory and self.stylizer.device.type == "cpu",
        )
        self.styles = StyleCache(settings.style_cache_size)
        self.limits: ImageLimits = settings.image_limits
        self.video_limits: VideoLimits = settings.video_limits
        log.info(
            "engine loaded on %s (%s networks) in %.1f s",
            self.stylizer.device,
            self.stylizer.precision,
            time.perf_counter() - started,
        )

    def prepare_styles(
        self, shas: tuple[str, ...], params: StyleParams, read: Callable[[str], bytes]
    ) -> PreparedStyles:
        """Encoded features for each style, from the cache when possible; ``read(sha)``
        gives a style's bytes when it has to be encoded."""
        family, levels = self.encoder_of(params.method)
        prepared = PreparedStyles([], 0, 0)
        for i, sha in enumerate(shas):
            key = StyleKey(sha, params.style_size, family, levels)
            features = self.styles.get(key)
            if features is None:
                image = self.decode_style(read(sha), i, len(shas), params.style_size)
                features = self.stylizer.encode_style(image, params.style_size, params.method)
                self.styles.put(key, features)
                prepared.misses += 1
            else:
                prepared.hits += 1
            prepared.styles.append(features)
        return prepared

    def encoder_of(self, method: str) -> tuple[str, tuple[int, ...]]:
        """The (family, levels) that encode a style for ``method``: a cascade's recipe, or
        for gatys its own encoding (cascade statistics plus Gram targets)."""
        if method in self.stylizer.recipes:
            recipe = self.stylizer.recipes[method]
            return recipe.family, recipe.levels
        return method, ()

    def decode_style(
        self, data: bytes, index: int, count: int, longest: int | None = None
    ) -> Image.Image:
        """Style ``index`` of ``count``, at the longest side it is encoded at."""
        field = f"style[{index}]" if count > 1 else "style"
        return decode_image(data, field=field, limits=self.limits, longest=longest)

    def warm_up(self, methods: Iterable[str]) -> None:
        """Run one tiny job per method so one-off costs (loading the Gatys loss network,
        kernel selection, allocator growth) are paid before the first real job."""
        started = time.perf_counter()
        image = Image.new("RGB", (64, 48), (120, 90, 60))
        for method in methods:
            params = StyleParams(method=method, size=64, style_size=64, gatys={"iterations": 1})
            self.stylizer.stylize(image, [image], params)
        log.info("engine warmed up in %.1f s", time.perf_counter() - started)


_engine: Engine | None = None


def load_engine(settings: Settings, warm_up: Iterable[str] = ()) -> Engine:
    """Load the process's engine (once; later calls return it), warming up ``warm_up``
    methods (those of the queues the worker serves)."""
    global _engine
    if _engine is None:
        _engine = Engine(settings)
        _engine.warm_up(warm_up)
    return _engine


def current_engine() -> Engine:
    """The process's engine, loading it from the environment's settings if needed."""
    return _engine or load_engine(Settings())
