"""The replay store and the demo EHR key: the parts of auth that live on disk."""

from __future__ import annotations

import stat
import threading
from datetime import datetime, timedelta
from pathlib import Path

import jwt
import pytest

from cds_service.auth.demo import DEMO_ISSUER, KEY_FILE, ensure_demo_key, public_jwk, sign_demo_jwt
from cds_service.config import Settings
from cds_service.storage.errors import StoreError
from cds_service.storage.replay import DatabaseReplayCache
from cds_service.storage.stores import open_stores
from tests.conftest import NOW
from tests.security.tokens import record


class Clock:
    def __init__(self) -> None:
        self.instant = NOW

    def now(self) -> datetime:
        return self.instant


def replay_cache(data_dir: Path, clock: Clock) -> DatabaseReplayCache:
    """The replay cache the app uses: the storage layer's, on the embedded SQLite database."""
    return open_stores(Settings(mode="development", data_dir=data_dir), clock).replay


def test_a_jti_is_refused_until_its_token_expires(tmp_path: Path) -> None:
    clock = Clock()
    cache = replay_cache(tmp_path, clock)
    expires = NOW + timedelta(minutes=5)
    assert cache.remember("jti-1", "https://ehr.example.org", expires) is True
    assert cache.remember("jti-1", "https://ehr.example.org", expires) is False
    assert cache.remember("jti-1", "https://other.example.org", expires) is True  # jti is per issuer
    clock.instant = expires + timedelta(seconds=cache.leeway_s + 1)  # kept for the JWT leeway, then forgotten
    assert cache.remember("jti-1", "https://ehr.example.org", clock.instant + timedelta(minutes=5)) is True


def test_the_replay_store_is_shared_by_two_connections_and_threads(tmp_path: Path) -> None:
    caches = [replay_cache(tmp_path, Clock()) for _ in range(8)]
    results: list[bool] = []
    barrier = threading.Barrier(len(caches))

    def use(cache: DatabaseReplayCache) -> None:
        barrier.wait()
        results.append(cache.remember("same", "https://ehr.example.org", NOW + timedelta(minutes=5)))

    threads = [threading.Thread(target=use, args=(cache,)) for cache in caches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_an_unusable_replay_store_fails_closed(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where the folder should be")
    with pytest.raises(StoreError):
        replay_cache(tmp_path / "blocked", Clock())


def test_the_demo_key_is_made_once_private_to_its_owner(tmp_path: Path) -> None:
    key = ensure_demo_key(tmp_path)
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_jwk(ensure_demo_key(tmp_path)) == public_jwk(key)  # the same key on the next start
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no temporary file left behind


def test_concurrent_first_starts_agree_on_one_demo_key(tmp_path: Path) -> None:
    kids: list[str] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        kids.append(public_jwk(ensure_demo_key(tmp_path))["kid"])

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(kids)) == 1
    assert kids[0] == public_jwk(ensure_demo_key(tmp_path))["kid"]


def test_a_demo_jwt_has_the_shape_cds_hooks_requires(tmp_path: Path) -> None:
    settings = Settings(mode="development", data_dir=tmp_path)
    token = record(sign_demo_jwt(settings, "http://127.0.0.1:8080/cds-services", NOW, tenant="demo"))
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    kid = public_jwk(ensure_demo_key(tmp_path))["kid"]
    assert (header["alg"], header["typ"], header["kid"]) == ("ES384", "JWT", kid)
    assert claims["iss"] == DEMO_ISSUER and claims["aud"] == "http://127.0.0.1:8080/cds-services"
    assert claims["exp"] - claims["iat"] == 300 and claims["tenant"] == "demo" and claims["jti"]
