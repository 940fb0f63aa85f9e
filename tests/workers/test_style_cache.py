"""The worker's bounded LRU of encoded styles (its use is tested end to end in
tests/service/test_styles_api.py)."""

from workers.engine import StyleCache, StyleKey


def key(name: str, size: int = 128) -> StyleKey:
    return StyleKey(sha256=name * 64, style_size=size, family="cd16x", levels=(1, 2, 3, 4, 5))


def test_the_cache_evicts_the_least_recently_used_style():
    cache = StyleCache(capacity=2)
    cache.put(key("a"), "features a")
    cache.put(key("b"), "features b")
    assert cache.get(key("a")) == "features a"  # a is now the most recent

    cache.put(key("c"), "features c")

    assert len(cache) == 2
    assert cache.get(key("b")) is None
    assert cache.get(key("a")) == "features a"
    assert cache.get(key("c")) == "features c"


def test_the_same_image_at_another_size_or_encoder_is_another_entry():
    cache = StyleCache(capacity=8)
    cache.put(key("a", 128), "at 128")

    assert cache.get(key("a", 256)) is None
    assert cache.get(StyleKey("a" * 64, 128, "gatys", ())) is None
    assert cache.get(key("a", 128)) == "at 128"


def test_a_cache_of_capacity_zero_keeps_nothing():
    cache = StyleCache(capacity=0)
    cache.put(key("a"), "features a")

    assert cache.get(key("a")) is None
