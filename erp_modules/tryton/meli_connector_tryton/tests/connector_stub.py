"""A stand-in for the connector's ``/erp/*`` over real HTTP, for the tests that need answers
the sandbox does not give on demand (a 409 label, a 400 or 503 answer) or a feed written by
hand (a pack, a replay). It serves the events it is given and records every request."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "erp-stub-token-0123456789"


def order_event(event_id, kind, order_id, sku, *, quantity=1, pack_id=None):
    order = {"id": order_id, "buyer_id": None, "currency_id": None, "pack_id": pack_id,
             "lines": [{"item_id": "MLA1000000001", "seller_sku": sku, "quantity": quantity,
                        "unit_price": "4500"}]}
    return {"id": event_id, "type": kind, "account": "demo", "order_id": order_id,
            "pack_id": pack_id, "order": order}


def shipping_event(event_id, order_ids, shipment_id, status, *, substatus=None,
                   tracking=None, logistic="drop_off", pack_id=None, receiver=None):
    return {"id": event_id, "type": "order.shipping", "account": "demo", "order_id": None,
            "order": None, "order_ids": list(order_ids), "pack_id": pack_id,
            "shipment": {"id": shipment_id, "status": status, "substatus": substatus,
                         "logistic_type": logistic, "ml_logistic_type": logistic,
                         "mode": "me2", "tracking_number": tracking,
                         "tracking_method": "MEL Distribution",
                         "date_created": "2026-12-01T10:00:00+00:00",
                         "last_updated": "2026-12-01T10:00:00+00:00", "receiver": receiver}}


def question_event(event_id, kind, question_id, *, text="¿Tiene garantía?", sku="MUG-01",
                   status="UNANSWERED", answered_by=None, answer=None):
    return {"id": event_id, "type": kind, "account": "demo", "order_id": None, "order": None,
            "question_id": question_id, "answered_by": answered_by,
            "question": {"id": question_id, "item_id": "MLA1000000001", "sku": sku,
                         "skus": [sku] if sku else [], "status": status, "text": text,
                         "date_created": "2026-12-01T12:30:00-03:00", "from_id": 74425755,
                         "answer": None if answer is None else {
                             "text": answer, "date_created": "2026-12-01T13:00:00-03:00"}}}


class ConnectorStub:
    """``start`` it, always ``stop`` it. ``label`` and ``answer`` are the next answers of
    ``/erp/shipments/labels`` and ``/erp/questions/<id>/answer``: (status, body bytes,
    content type)."""

    def __init__(self):
        self.events = []
        self.requests = []
        self.label = (200, b"%PDF-1.4 stub label", "application/pdf")
        self.answer = (200, b'{"status": "ANSWERED", "events": ["question.answered"]}',
                       "application/json")
        self.server = None
        self.thread = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                stub.serve(self, None)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                stub.serve(self, json.loads(self.rfile.read(length) or b"null"))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(10)

    def requested(self, prefix):
        return [r for r in self.requests if r[1].startswith(prefix)]

    def serve(self, handler, body):
        url = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.requests.append((handler.command, url.path, query, body))
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _send(handler, 401, b'{"error": "unauthorised"}', "application/json")
        if url.path == "/erp/events":
            after, limit = int(query["after"]), int(query["limit"])
            page = [e for e in self.events if e["id"] > after][:limit]
            answer = {"events": page, "next": page[-1]["id"] if page else after}
            return _send(handler, 200, json.dumps(answer).encode(), "application/json")
        if url.path == "/erp/shipments/labels":
            return _send(handler, *self.label)
        if url.path.startswith("/erp/questions/"):
            return _send(handler, *self.answer)
        return _send(handler, 200, b"{}", "application/json")  # stock, prices, accounted


def _send(handler, status, body, content_type):
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
