"""Shared pieces of the benchmarks: a generated sandbox catalog and its mapping table."""

import collections
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
from cryptography.fernet import Fernet
from rq import Worker

from adapters.sql.admin import apply_admin_tables
from adapters.sql.migrate import upgrade
from connector_core.domain.accounts import Account, TokenSet
from connector_core.domain.mapping import Kit, Listing, MappingRow, MappingTable

ROOT = Path(__file__).resolve().parent.parent
SELLER = 1001
ACCOUNT = "main"
APP_ID = 555


def catalog(items: int, with_variations: int, variations: int = 3
            ) -> tuple[dict[str, Any], list[tuple[str, str, int | None]]]:
    """A sandbox seed with ``items`` items (the first ``with_variations`` have
    ``variations`` variations each) and the (sku, item_id, variation_id) of every listing."""
    seed_items: list[dict[str, Any]] = []
    listings: list[tuple[str, str, int | None]] = []
    for n in range(1, items + 1):
        item_id = f"MLA{n:06d}"
        if n <= with_variations:
            vars_ = []
            for v in range(1, variations + 1):
                var_id = n * 100 + v
                sku = f"SKU-{n}-{v}"
                vars_.append({"id": var_id, "available_quantity": 1, "seller_sku": sku})
                listings.append((sku, item_id, var_id))
            seed_items.append({"id": item_id, "seller_id": SELLER, "price": 1000,
                               "variations": vars_})
        else:
            sku = f"SKU-{n}"
            seed_items.append({"id": item_id, "seller_id": SELLER, "price": 1000,
                               "available_quantity": 1, "seller_sku": sku})
            listings.append((sku, item_id, None))
    return seed_for(seed_items), listings


def prepare(connector: Any, listings: list[tuple[str, str, int | None]],
            kits: Sequence[Kit] = ()) -> None:
    """Migrate, apply the mapping table (and kits) and the account, store the refresh token."""
    upgrade(connector.engine)
    table = MappingTable([MappingRow(sku, Listing(ACCOUNT, item, var))
                          for sku, item, var in listings], kits)
    with connector.uow as uow:
        apply_admin_tables(uow.session, table, accounts=[Account(ACCOUNT, SELLER, "MLA")])
        uow.commit()
    connector.tokens.save(ACCOUNT, TokenSet(
        access_token="", refresh_token="TG-bench-1001", user_id=SELLER,
        expires_at=datetime.now(UTC) - timedelta(seconds=1)))


def _version(*argv: str) -> str:
    if shutil.which(argv[0]) is None:
        return "not found"
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10,
                              check=False).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def machine() -> str:
    """CPU model and count, RAM, Python, PostgreSQL and Redis versions, in one line."""
    ram, cpu = "?", "?"
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            kb = int(meminfo.readline().split()[1])
            ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo
                        if line.startswith("model name")), "?")
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({cpu}), {ram} RAM, Python {platform.python_version()}, "
            f"{_version('psql', '--version')}, {_version('redis-server', '--version')}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server of our own on a free port (the shared one is never touched)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not on PATH")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def __enter__(self) -> "PrivateRedis":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most events inside any ``window``-second interval (sliding)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


# --- the pieces of a benchmark with real processes (sales_first, rate_use, catalog_scale) ---

def seed_for(items: list[dict[str, Any]]) -> dict[str, Any]:
    """A sandbox seed: the bench seller, its refresh token and ``items``."""
    return {"app": {"client_id": "123", "client_secret": "shh", "application_id": APP_ID},
            "sellers": [{"id": SELLER, "nickname": "BENCH", "site_id": "MLA"}],
            "items": items,
            "tokens": [{"user_id": SELLER, "refresh_token": "TG-bench-1001",
                        "expires_in": 21600}]}


def connector_env(folder: Path, *, redis_url: str, database_url: str, ml_url: str,
                  rate: float, queue: str) -> dict[str, str]:
    """The environment of every connector process of a run (its connector.toml in
    ``folder``): the rate limit, a queue name of its own, reconciliation out of the way."""
    config = folder / "connector.toml"
    config.write_text(f"""[connector]
rate_limit_per_second = {rate}
application_id = {APP_ID}
queue_name = "{queue}-{os.getpid()}"
reconcile_interval_minutes = 600
""", encoding="utf-8")
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "ML_API_URL": ml_url, "ML_SANDBOX": "1", "ML_CLIENT_ID": "123",
            "ML_CLIENT_SECRET": "shh", "CONNECTOR_SECRET_KEY": Fernet.generate_key().decode(),
            "CONNECTOR_CONFIG": str(config)}


def cap_sandbox(sandbox_url: str, rate: float) -> None:
    """The sandbox answers 429 above ``rate`` requests/s (so going over shows)."""
    httpx.post(f"{sandbox_url}/_sandbox/faults",
               json={"rate_cap": int(rate)}).raise_for_status()


PEAK = [sys.executable, str(ROOT / "bench" / "_peak.py")]  # + module: notes its peak RSS


def _peak(path: Path) -> tuple[int, float]:
    """(peak RSS KiB, CPU seconds) a process run through ``PEAK`` wrote at exit; 0s if none."""
    try:
        kib, cpu = path.read_text(encoding="ascii").split()
        return int(kib), float(cpu)
    except (OSError, ValueError):
        return 0, 0.0


def _alive_peak(pid: int) -> tuple[int, float]:
    """(peak RSS KiB, CPU seconds) of a running process, from /proc; 0s if gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            kib = next((int(line.split()[1]) for line in status
                        if line.startswith("VmHWM:")), 0)
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return kib, (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    except (OSError, ValueError, IndexError, StopIteration):
        return 0, 0.0


def start_workers(command: Sequence[str], env: dict[str, str], logs: Path, name: str,
                  count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` worker processes (``command`` + ``worker``), their output in ``logs``;
    with ``command`` = ``[*PEAK, module]`` each notes its peak RSS for :func:`stop_workers`."""
    workers = []
    logs.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        with (logs / f"{name}-worker{n}.log").open("wb") as log:
            peak = logs / f"{name}-worker{n}.peak"
            peak.unlink(missing_ok=True)
            process = subprocess.Popen([*command, "worker"], cwd=ROOT,
                                       env={**env, "PEAK_RSS_FILE": str(peak)},
                                       stdout=log, stderr=subprocess.STDOUT)
            process.peak_file = peak  # type: ignore[attr-defined]
            workers.append(process)
    return workers


def wait_workers(url: str, count: int, timeout: float = 60) -> None:
    """Until ``count`` RQ workers are registered on the Redis at ``url``."""
    connection = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    while len(Worker.all(connection=connection)) < count:
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start")
        time.sleep(0.1)
    connection.close()


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> list[tuple[int, float]]:
    """Terminate the workers (SIGTERM: they finish their job), wait; each one's (peak RSS
    KiB, CPU seconds), read just before (0s for a worker already gone and not run through
    ``PEAK``)."""
    peaks = [_alive_peak(p.pid) if p.poll() is None else (0, 0.0) for p in workers]
    for process in workers:
        if process.poll() is None:
            process.terminate()
    for process in workers:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return [max(alive, _peak(p.peak_file))  # type: ignore[attr-defined]
            for alive, p in zip(peaks, workers, strict=True)]


def run_cli(module: str, argv: Sequence[str], env: dict[str, str],
            timeout: float = 1800) -> tuple[int, str, str, tuple[int, float]]:
    """Run ``python -m module argv...`` to its end: (exit code, stdout, stderr, (peak RSS KiB,
    CPU seconds))."""
    with tempfile.TemporaryDirectory() as tmp:
        peak = Path(tmp) / "peak"
        done = subprocess.run([*PEAK, module, *argv], cwd=ROOT, capture_output=True,
                              env={**env, "PEAK_RSS_FILE": str(peak)}, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
        return done.returncode, done.stdout.decode(), done.stderr.decode(), _peak(peak)


def ml_calls(sandbox: Any, since: float) -> list[dict[str, Any]]:
    """The ML requests the sandbox answered since ``since`` (not its own /_sandbox ones)."""
    return [c for c in sandbox.calls(since) if not c["path"].startswith("/_sandbox")]


def over_the_rate(calls: list[dict[str, Any]], rate: float) -> tuple[int, int]:
    """(the most requests in any sliding second, calendar seconds with more than ``rate``)."""
    times = [float(c["time"]) for c in calls]
    per_second = collections.Counter(int(t) for t in times)
    return max_in_window(times), sum(1 for n in per_second.values() if n > rate)
