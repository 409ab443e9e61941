"""A stateful emulator of the MercadoLibre API endpoints the connector uses (CONTRACT §7).

Embed it with :func:`start_sandbox` (tests, the demo) or run ``meli-connector sandbox``.
"""

from ml_sandbox.app import create_app
from ml_sandbox.demo_seed import DEMO_SEED
from ml_sandbox.server import RunningSandbox, start_sandbox
from ml_sandbox.state import SandboxState

__all__ = ["DEMO_SEED", "RunningSandbox", "SandboxState", "create_app", "start_sandbox"]
