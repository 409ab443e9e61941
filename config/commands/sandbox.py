"""``meli-connector sandbox``: run the bundled ML API emulator alone (CONTRACT §4, §7)."""

import argparse
import json
from pathlib import Path
from typing import Any

from connector_core.domain.errors import InvalidInput


def _sandbox(args: argparse.Namespace) -> int:
    from ml_sandbox import DEMO_SEED, SandboxState, create_app

    seed: dict[str, Any] = DEMO_SEED
    if args.seed:
        try:
            seed = json.loads(Path(args.seed).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"--seed {args.seed}: {exc}") from exc
        if not isinstance(seed, dict):
            raise InvalidInput(f"--seed {args.seed}: expected a JSON object")
    state = SandboxState()
    issued = state.seed(seed)
    app = create_app(state)
    base = f"http://{args.host}:{args.port}"
    print(f"ML sandbox on {base} (controls under {base}/_sandbox)", flush=True)
    print(f"  point the connector at it: ML_API_URL={base} ML_SANDBOX=1", flush=True)
    for user_id, tokens in issued["tokens"].items():
        print(f"  seller {user_id}: access token {tokens['access_token']}")
    if seed is DEMO_SEED:
        print(f"  try: curl -H 'Authorization: Bearer {DEMO_SEED['tokens'][0]['access_token']}' "
              f"'{base}/items/MLA1000000003?include_attributes=all'", flush=True)
    from werkzeug.serving import run_simple

    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("sandbox", help="run the bundled MercadoLibre API emulator")
    parser.add_argument("--port", type=int, default=8900, help="port to listen on (8900)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--seed", metavar="FILE",
                        help="JSON seed ({app, sellers, items, tokens}); default: demo catalog")
    parser.set_defaults(handler=_sandbox)
