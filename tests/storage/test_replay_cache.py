"""The JWT replay cache on both backends: a jti is accepted once per issuer while it lives, atomically
across processes, and expired rows are purged."""

from __future__ import annotations

from datetime import datetime, timedelta

from cds_service.config import Settings
from cds_service.storage.replay import DatabaseReplayCache
from cds_service.storage.stores import Stores
from cds_service.support.clock import FixedClock
from tests.conftest import NOW
from tests.storage.workers import remember_jtis, run_together

ISSUER = "https://ehr.example"


class MovingClock:
    def __init__(self) -> None:
        self.instant = NOW

    def now(self) -> datetime:
        return self.instant


def test_a_jti_is_accepted_once_per_issuer(stores: Stores) -> None:
    cache = DatabaseReplayCache(stores.database, clock=FixedClock(NOW))
    expires = NOW + timedelta(minutes=5)
    assert cache.remember("jti-1", ISSUER, expires) is True
    assert cache.remember("jti-1", ISSUER, expires) is False
    assert cache.remember("jti-1", "https://other-ehr.example", expires) is True  # another issuer's id space
    assert cache.remember("jti-2", ISSUER, expires.timestamp()) is True  # a JWT `exp` number works too


def test_a_jti_is_refused_until_its_expiry_plus_leeway_then_accepted_and_purged(stores: Stores) -> None:
    clock = MovingClock()
    cache = DatabaseReplayCache(stores.database, clock=clock, leeway_s=60, purge_every_s=3600)
    expires = NOW + timedelta(minutes=5)
    assert cache.remember("jti-1", ISSUER, expires)
    assert cache.remember("old", ISSUER, NOW + timedelta(minutes=1))
    clock.instant = expires + timedelta(seconds=59)
    assert not cache.remember("jti-1", ISSUER, expires)  # still within the leeway the JWT check allows
    assert cache.count() == 2  # no purge before purge_every_s has passed since the first one
    clock.instant = expires + timedelta(seconds=61)
    assert cache.purge() == 2
    assert cache.count() == 0
    # A (necessarily expired) token seen again after its row is gone is the JWT check's to refuse, not ours.
    assert cache.remember("jti-1", ISSUER, expires)


def test_an_expired_row_not_yet_purged_does_not_block_a_new_token(stores: Stores) -> None:
    clock = MovingClock()
    cache = DatabaseReplayCache(stores.database, clock=clock, leeway_s=0, purge_every_s=3600)
    assert cache.remember("jti-1", ISSUER, NOW + timedelta(minutes=1))
    clock.instant = NOW + timedelta(minutes=2)
    assert cache.remember("jti-1", ISSUER, NOW + timedelta(minutes=7))  # row taken over, not purged yet
    assert not cache.remember("jti-1", ISSUER, NOW + timedelta(minutes=7))


def test_expired_rows_are_purged_as_tokens_are_remembered(stores: Stores) -> None:
    clock = MovingClock()
    cache = DatabaseReplayCache(stores.database, clock=clock, leeway_s=0, purge_every_s=60)
    for n in range(5):
        cache.remember(f"jti-{n}", ISSUER, NOW + timedelta(seconds=30))
    assert cache.purges.idle(10)  # the first purge (nothing expired yet) has finished
    clock.instant = NOW + timedelta(seconds=61)
    cache.remember("new", ISSUER, NOW + timedelta(minutes=5))
    assert cache.purges.idle(10)  # the purge runs beside the request, never in it
    assert cache.count() == 1


def test_processes_remembering_the_same_jtis_accept_each_exactly_once(
    stores: Stores, storage_settings: Settings
) -> None:
    jtis = [f"jti-{n}" for n in range(50)]
    orders = [jtis[p * 7:] + jtis[:p * 7] for p in range(4)]  # each process starts at another jti
    reports = run_together(remember_jtis, [(storage_settings, order) for order in orders])
    accepted = [jti for fresh in reports for jti in fresh]
    assert sorted(accepted) == sorted(jtis)

