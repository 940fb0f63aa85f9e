"""Signed result URLs: valid until they expire, broken by any change."""

from urllib.parse import parse_qs, urlsplit

from contract.keys import Keys
from contract.signing import Check, UrlSigner

JOB = "0123456789abcdef0123456789abcdef"


def test_a_signed_url_checks_until_it_expires():
    signer = UrlSigner(None, Keys("unused"), secret="s3cret")  # type: ignore[arg-type]
    url = signer.result_url("https://api.example.com/v1/", JOB, 2_000_000_000)

    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == f"/v1/results/{JOB}"
    assert signer.check(JOB, int(query["expires"]), query["signature"], 1.9e9) is Check.valid
    assert signer.check(JOB, int(query["expires"]), query["signature"], 2.1e9) is Check.expired


def test_changing_the_id_the_expiry_or_the_signature_breaks_it():
    signer = UrlSigner(None, Keys("unused"), secret="s3cret")  # type: ignore[arg-type]
    signature = signer.signature(JOB, 2_000_000_000)

    assert signer.check(JOB[::-1], 2_000_000_000, signature, 0) is Check.invalid
    assert signer.check(JOB, 2_000_000_001, signature, 0) is Check.invalid
    flipped = signature[:-1] + ("1" if signature[-1] == "0" else "0")
    assert signer.check(JOB, 2_000_000_000, flipped, 0) is Check.invalid
    other = UrlSigner(None, Keys("unused"), secret="another")  # type: ignore[arg-type]
    assert other.check(JOB, 2_000_000_000, signature, 0) is Check.invalid


def test_without_a_secret_every_process_shares_one_random_key_kept_in_redis(redis, prefix):
    api, worker = UrlSigner(redis, Keys(prefix)), UrlSigner(redis, Keys(prefix))

    assert api.signature(JOB, 1) == worker.signature(JOB, 1)
    assert len(api.key()) == 64
    assert api.signature(JOB, 1) != UrlSigner(redis, Keys(prefix + "x")).signature(JOB, 1)
