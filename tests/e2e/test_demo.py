"""`meli-connector demo` as a newcomer runs it: exit 0, the story's key lines, under 30 s."""

import time

import pytest

from config.cli import main

pytestmark = pytest.mark.e2e


def test_the_demo_tells_the_whole_story_in_under_30_seconds(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # ignored, and said so
    monkeypatch.chdir(tmp_path)  # the example config is found without the clone as cwd
    started = time.monotonic()
    code = main(["demo"])
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    assert code == 0
    assert elapsed < 30, f"the demo took {elapsed:.1f} s"
    assert "REDIS_URL is set and ignored" in out
    for line in (
            "MLA1000000001                MUG-01     25 -> 12",
            "MLA1000000002                MUG-01-X2  10 -> 6",
            "MLA1000000003  180000000103  TEE-WHT-M  0 -> 3",
            "MLA1000000004                YERBA-1KG  40 -> 30",
            "MLA1000000001                MUG-01     12 -> 8",
            "ERP event feed: order.created, order.paid (once each",
            "MLA1000000003  180000000101  TEE-BLK-M  4 -> 6",
            "cost_plus target 4022.99 within [3304.60, 6250.00]",
            "price not published: floor 8218.40 is above ceiling 7000.00",
            "ERP feed: order.shipping ready_to_ship (ready_to_print, drop_off, SBX",
            "-> labels.pdf",
            "ERP feed: question.answered by rule:envios (SKU MUG-01)",
            'ML shows the answer: "¡Hola! Sí, enviamos Taza de cerámica blanca'):
        assert line in out, line
    last = out.strip().splitlines()[-1]
    assert last.startswith("demo done in ") and "every listing matches" in last
