"""Where the Tryton test databases live, set before trytond's test tools are imported.

trytond caches an activated database under ``DB_CACHE`` by the list of module names only,
so a changed module would restore a stale schema: the cache goes to a folder named by a hash
of the module's files and trytond's version. On PostgreSQL the test database is
``tryton_test_<pid>`` unless ``DB_NAME`` says otherwise (trytond drops it after each class).
"""

import hashlib
import os
from importlib.metadata import version
from pathlib import Path

MODULE = Path(__file__).resolve().parent.parent


def _module_key() -> str:
    digest = hashlib.sha256(version("trytond").encode())
    for path in sorted(MODULE.glob("*.py")) + sorted(MODULE.glob("*.xml")) + \
            sorted(MODULE.glob("view/*.xml")) + [MODULE / "tryton.cfg"]:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _configure() -> None:
    base = os.environ.get("DB_CACHE") or str(Path.home() / ".cache/meli-connector-tryton")
    if not base.startswith("postgresql://"):
        # MELI_TRYTON_CACHE_KEY pins the key while iterating on code that keeps the schema.
        key = os.environ.get("MELI_TRYTON_CACHE_KEY") or _module_key()
        os.environ["DB_CACHE"] = str(Path(base) / key)
    uri = os.environ.get("TRYTOND_DATABASE_URI", "")
    if uri.startswith("postgresql") and not os.environ.get("DB_NAME"):
        os.environ["DB_NAME"] = f"tryton_test_{os.getpid()}"


_configure()
