"""``meli-connector sandbox`` serves the seeded demo catalog that curl can read and update."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from config.cli import main
from ml_sandbox import DEMO_SEED
from tests import processes

ROOT = Path(__file__).parents[3]
TOKEN = DEMO_SEED["tokens"][0]["access_token"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.integration
def test_sandbox_command_serves_a_catalog_to_read_and_update() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from config.cli import main; raise SystemExit(main())",
         "sandbox", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                item = httpx.get(f"{base}/items/MLA1000000003",
                                 params={"include_attributes": "all"}, headers=headers)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert item.status_code == 200
        assert len(item.json()["variations"]) == 3
        updated = httpx.put(f"{base}/items/MLA1000000001", json={"available_quantity": 7},
                            headers=headers)
        assert updated.json()["available_quantity"] == 7
        again = httpx.get(f"{base}/items/MLA1000000001", headers=headers).json()
        assert again["available_quantity"] == 7
    finally:
        process.terminate()
        try:
            out, _err = process.communicate(timeout=10)
        finally:
            processes.stop(process)
    assert f"ML sandbox on {base}" in out


def test_bad_seed_file_is_a_one_line_error(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--seed", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("meli-connector sandbox: --seed") and "\n" not in err
    (tmp_path / "list.json").write_text(json.dumps([1]))
    assert main(["sandbox", "--seed", str(tmp_path / "list.json")]) == 2
