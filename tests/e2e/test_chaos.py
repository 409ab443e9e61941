"""CONTRACT §1 rule 5 under chaos: workers SIGKILLed mid-job again and again, Redis restarted
empty once, no reconcile; every order notified once gets exactly one ``order.paid`` within
120 s of the last fault (issue 16). The scenario is in :mod:`tests.e2e.chaos`;
``bench/recovery.py`` runs it to record the figure."""

import pytest

from tests.e2e.chaos import run_chaos

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_every_order_is_paid_once_within_120_s_of_the_last_fault(tmp_path, private_redis):
    report = run_chaos(tmp_path, private_redis, orders=30, workers=2, kills=3)
    print(f"\nchaos: {report.line()}")
    assert report.duplicated == (), "an order.paid was emitted twice"
    assert report.paid_once == report.orders, report.line()
    assert report.last_fault_to_done_s is not None and report.last_fault_to_done_s <= 120
