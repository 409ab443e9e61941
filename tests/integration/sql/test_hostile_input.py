"""Hostile input to every route of the real web app (the composition root's wiring, the real
intake and repositories) on SQLite and PostgreSQL: never a 5xx, every notification answered
200 stored exactly once, ``/metrics`` still answering; and the poisoned-timestamp sequence
that once silenced a resource for good."""

import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from adapters.serialization import command_from_json
from adapters.sql.admin import apply_admin_tables
from adapters.sql.rows.jobs import InboxRow, JobRow
from config.bootstrap import Connector
from config.settings import Settings
from config.wsgi import make_app
from connector_core.domain.accounts import Account
from connector_core.domain.commands import ProcessNotification
from connector_core.domain.mapping import Listing, MappingRow, MappingTable
from connector_core.domain.notifications import ML_TOPICS
from connector_core.domain.orders import ErpEventType, Order, OrderLine
from connector_core.domain.questions import Question, QuestionRecord
from connector_core.domain.shipments import Shipment, ShipmentRecord
from tests.fakes import FakeMarketplace, FixedClock
from tests.fakes_after_sale import FakeAfterSale
from tests.integration.sql.conftest import KINDS, Databases, clean_engine

# Requests per database in CI (about 1 s each); FUZZ_EXAMPLES=5000 for a longer hunt.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
TOKEN = "fuzz-erp-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SELLER = 468424240
T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)


class QuietConnector(Connector):
    """Jobs are not run behind the test's back: it runs them itself (:func:`drain`); with
    a queue that only records, nothing else runs them."""


class RecordingQueue:
    def __init__(self) -> None:
        self.submitted: list[Any] = []

    def submit(self, command: Any, *, dedup_key: str | None = None,
               replace: bool = False, lane: Any = None) -> None:
        self.submitted.append(command)

    def submit_new(self, jobs: Any, *, lane: Any = None) -> None:
        self.submitted.extend(command for command, _ in jobs)


SHIPMENT = Shipment(id=40531399184, account="main", status="ready_to_ship", last_updated=T0,
                    substatus="ready_to_print", order_id=2195160686)
QUESTION = Question(id=6894368802, account="main", item_id="MLA1", status="UNANSWERED",
                    text="¿Tiene stock?", date_created=T0)


def build(engine: Engine, url: str, *, gateway: Any = None) -> Connector:
    settings = Settings(database_url=url, erp_api_token=TOKEN, ml_client_id="1",
                        ml_client_secret="s", max_body_bytes=16 * 1024)
    return QuietConnector(settings, engine=engine, clock=FixedClock(T0),
                          queue=RecordingQueue(), gateway=gateway or FakeMarketplace(),
                          after_sale=FakeAfterSale([SHIPMENT], [QUESTION]))


def seed(connector: Connector) -> None:
    """The account, a mapped item, and a shipment and a question the ERP was told about."""
    with connector.uow as uow:
        apply_admin_tables(uow.session, MappingTable([MappingRow("A", Listing("main", "MLA1"))]),
                           accounts=[Account("main", SELLER, "MLA")])
        uow.shipments.save(ShipmentRecord(SHIPMENT.id, "main", (SHIPMENT.order_id,),
                                          shipment=SHIPMENT, emitted={"ready_to_ship"}))
        uow.questions.save(QuestionRecord(QUESTION.id, "main", QUESTION,
                                          emitted={"question.received"}))
        uow.commit()


def drain(connector: Connector, rounds: int = 10) -> list[str]:
    """Run every waiting job (and what they queue) as a worker would; the failures."""
    failures = []
    for _ in range(rounds):
        with connector.uow as uow:
            waiting = [job.command for job in uow.jobs.waiting()]
        if not waiting:
            break
        for command in waiting:
            try:
                connector.jobs.run(command)
            except Exception as exc:
                failures.append(f"{command.dedup_key}: {type(exc).__name__}: {exc}")
    return failures


# --- what a hostile client sends ------------------------------------------------------

HOSTILE_TEXT = st.sampled_from([
    "", " ", "²", "٣", "\ud800", "a\udfffb", "\x00", "NaN", "Infinity", "-1", "0", "2^63",
    "9223372036854775807", "9223372036854775808", "1e400", "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "2026-11-23T12:00:00", "2026-11-23T12:00:00Z", "../../users/me?x=",
    "/orders/2195160686", "/items/MLA1", "orders_v2", "items", "MLA1", "x" * 600])
TEXT = st.one_of(HOSTILE_TEXT, st.text(max_size=20),
                 st.text(st.characters(exclude_categories=()), max_size=20))
NUMBERS = st.one_of(st.integers(), st.sampled_from([2**63, -(2**63), 2**64, 10**30]),
                    st.floats(allow_nan=True, allow_infinity=True))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)
INSTANTS = st.one_of(st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
                     st.datetimes().map(datetime.isoformat))
IDS = st.one_of(st.integers(0, 2**64).map(str), st.integers(0, 2**64))


def field(*plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, often anything at all."""
    return st.one_of(*plausible, *plausible, *plausible, JSON)


NOTIFICATIONS = st.fixed_dictionaries(
    {"topic": field(st.sampled_from(["orders_v2", "items", "questions", "invented"])),
     "resource": field(st.sampled_from(["/orders/2195160686", "/items/MLA1", "/orders/1"]),
                       st.text(max_size=30))},
    optional={"_id": field(st.uuids().map(str)), "user_id": field(st.just(SELLER), IDS),
              "application_id": field(IDS), "attempts": field(st.integers(-5, 2**40)),
              "sent": field(INSTANTS), "received": field(INSTANTS),
              "recieved": field(INSTANTS), "extra": JSON})
AS_OF = {"as_of": field(INSTANTS)}
STOCK = st.fixed_dictionaries(
    {"sku": field(st.sampled_from(["A", "B"]), st.text(min_size=1, max_size=130)),
     "quantity": field(st.integers(-(10**10), 10**10))},
    optional={"warehouse": field(st.sampled_from(["main", "default"])), **AS_OF})
PRICES = st.fixed_dictionaries(
    {"sku": field(st.sampled_from(["A", "B"]), st.text(min_size=1, max_size=130))},
    optional={"cost": field(st.decimals().map(str), NUMBERS),
              "price": field(st.floats(), st.integers()), **AS_OF})


def batch(entry: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(entry, st.fixed_dictionaries(
        {"updates": st.lists(field(entry), max_size=3)}))


ERP_BODIES = st.one_of(batch(STOCK), batch(PRICES))
WORDS = st.one_of(IDS.map(str), st.integers(0, 600).map(str), TEXT)


def deep(n: int) -> bytes:
    return b'{"updates": ' + b"[" * n + b"]" * n + b"}"


def encoded(value: Any, how: str) -> bytes:
    if how == "ascii":  # surrogates as \\udXXX escapes, NaN as NaN
        return json.dumps(value).encode()
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


BODIES = st.one_of(
    st.tuples(st.one_of(NOTIFICATIONS, ERP_BODIES, JSON),
              st.sampled_from(["ascii", "ascii", "raw"])).map(lambda v: encoded(*v)),
    st.binary(max_size=64),
    st.integers(30, 12_000).map(deep),  # past the parser's recursion limit, under 16 KiB
)
SHAPES = {"notifications": NOTIFICATIONS, "stock": batch(STOCK), "prices": batch(PRICES),
          "accounted": st.fixed_dictionaries({}, optional=AS_OF),
          "answer": st.fixed_dictionaries({"text": field(st.text(max_size=2100))},
                                          optional={"extra": JSON})}
SHIPMENT_IDS = st.one_of(WORDS, st.just(str(SHIPMENT.id)),
                         st.lists(st.one_of(st.just(str(SHIPMENT.id)), WORDS), max_size=60)
                         .map(",".join))
QUESTION_IDS = st.one_of(st.just(str(QUESTION.id)), st.just(str(QUESTION.id)), WORDS)
CURSORS = st.one_of(st.integers(-1, 2**63 + 1).map(str), st.integers(-1, 600).map(str), WORDS)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, bytes, str, str]:
    """A route, and what is sent to it: mostly the shape the route expects (so that deep
    paths are reached), often anything at all."""
    route = draw(st.sampled_from(["notifications", "notifications", "stock", "prices",
                                  "accounted", "events", "callback", "labels", "answer"]))
    shaped = SHAPES.get(route)
    if shaped is not None and draw(st.integers(0, 3)):
        body = encoded(draw(shaped), draw(st.sampled_from(["ascii", "ascii", "raw"])))
    else:
        body = draw(BODIES)
    if route == "labels":
        return route, body, draw(SHIPMENT_IDS), draw(st.one_of(
            st.sampled_from(["pdf", "zpl2"]), WORDS))
    if route == "answer":
        return route, body, draw(QUESTION_IDS), ""
    words = CURSORS if route in ("events", "accounted") else WORDS
    return route, body, draw(words), draw(words)


def send(client: Any, route: str, body: bytes, word: str, word2: str) -> Any:
    json_type = {"Content-Type": "application/json"}
    if route == "notifications":
        return client.post("/notifications", data=body, headers=json_type)
    if route in ("stock", "prices"):
        return client.post(f"/erp/{route}", data=body, headers={**AUTH, **json_type})
    if route == "accounted":
        path = "/erp/orders/" + quote(word.encode("utf-8", "surrogatepass"), safe="")
        return client.post(path + "/accounted", data=body, headers={**AUTH, **json_type})
    if route == "labels":
        query = urlencode({"ids": word.encode("utf-8", "surrogatepass"),
                           "format": word2.encode("utf-8", "surrogatepass")})
        return client.get(f"/erp/shipments/labels?{query}", headers=AUTH)
    if route == "answer":
        path = "/erp/questions/" + quote(word.encode("utf-8", "surrogatepass"), safe="")
        return client.post(path + "/answer", data=body, headers={**AUTH, **json_type})
    if route == "events":
        query = urlencode({"after": word.encode("utf-8", "surrogatepass"),
                           "limit": word2.encode("utf-8", "surrogatepass")})
        return client.get(f"/erp/events?{query}", headers=AUTH)
    query = urlencode({"code": word.encode("utf-8", "surrogatepass"),
                       "state": word2.encode("utf-8", "surrogatepass")})
    return client.get(f"/auth/callback?{query}")


@pytest.mark.parametrize("kind", KINDS)
def test_no_input_gets_a_5xx_and_every_200_is_stored_once(kind: str,
                                                         databases: Databases) -> None:
    engine = clean_engine(databases, kind)
    connector = build(engine, databases.urls[kind])
    seed(connector)
    client = make_app(connector).test_client()
    stored: Counter[int] = Counter()  # entry id -> notifications answered 200 with it
    new_ids: list[int] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(request=requests())
    @example(request=("events", b"", "\u00b2", "10"))
    @example(request=("events", b"", str(2**63), "10"))
    @example(request=("accounted", b'{"as_of": "0001-01-01T00:00:00+05:00"}', "1", ""))
    @example(request=("accounted", b"", "\u00b2", ""))
    @example(request=("stock", b'{"sku": "\\ud800", "quantity": 1}', "", ""))
    @example(request=("stock", deep(5000), "", ""))
    @example(request=("notifications", deep(5000), "", ""))
    @example(request=("notifications", deep(100_000), "", ""))  # 413
    @example(request=("notifications",
                      b'{"topic": "\\ud800", "resource": "/orders/1", "user_id": 1}', "", ""))
    @example(request=("notifications",
                      b'{"topic": "orders_v2", "resource": "/orders/1", "n": NaN}', "", ""))
    @example(request=("notifications",
                      b'{"topic": "orders_v2", "resource": "/orders/2", "n": -1e400}', "", ""))
    @example(request=("notifications", b'{"topic": "orders_v2", "resource": "/orders/3", '
                      b'"x": ' + b"[" * 500 + b"]" * 500 + b"}", "", ""))
    @example(request=("notifications", json.dumps(
        {"topic": "orders_v2", "resource": "/orders/9", "sent": "0001-01-01T00:00:00+05:00",
         "received": "9999-12-31T23:59:59-05:00"}).encode(), "", ""))
    @example(request=("callback", b"", "TG-1", "state\x00"))
    @example(request=("labels", b"", f"{SHIPMENT.id},{SHIPMENT.id}", "zpl2"))
    @example(request=("labels", b"", ",".join([str(SHIPMENT.id)] * 600), "pdf"))
    @example(request=("labels", b"", "\u00b2", "pdf"))
    @example(request=("answer", b'{"text": "\\ud800"}', str(QUESTION.id), ""))
    @example(request=("answer", b'{"text": "ok"}', str(QUESTION.id), ""))
    @example(request=("answer", b'{"text": "ok"}', "\u00b2", ""))
    def post(request: tuple[str, bytes, str, str]) -> None:
        route, body, word, word2 = request
        response = send(client, route, body, word, word2)
        assert response.status_code < 500, (route, body[:200], word, word2,
                                            response.get_data(as_text=True)[:300])
        if route == "callback":
            return
        answer = response.get_json(silent=True)
        if response.status_code >= 400:
            assert isinstance(answer, dict) and {"error", "message"} <= set(answer), answer
            assert set(answer) - {"error", "message"} <= {"shipments"}, answer
        if route == "notifications" and response.status_code == 200:
            stored[answer["id"]] += 1
            if not answer["duplicate"]:
                new_ids.append(answer["id"])

    post()
    assert new_ids, "no notification was stored: the strategy is too hostile to be useful"
    with engine.connect() as conn:
        rows = {r.id: r.duplicates for r in conn.execute(
            select(InboxRow.id, InboxRow.duplicates))}
        jobs = [command_from_json(r.command) for r in conn.execute(
            select(JobRow.command).where(JobRow.kind == "ProcessNotification"))]
    assert sorted(rows) == sorted(new_ids) == sorted(set(new_ids))
    assert {entry: 1 + duplicates for entry, duplicates in rows.items()} == dict(stored)
    assert sorted(jobs, key=lambda c: c.inbox_id) == [ProcessNotification(i)
                                                      for i in sorted(new_ids)]
    with connector.uow as uow:  # every stored entry reads back
        assert all(uow.inbox.get(entry) is not None for entry in rows)
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    topics = {line.split('topic="')[1].split('"')[0]
              for line in metrics.get_data(as_text=True).splitlines()
              if line.startswith("connector_notifications_total{")}
    assert topics <= ML_TOPICS | {"other", "-"}  # (the registry is the process's)
    connector.close()


ORDER_ID = 2195160686


def paid_order() -> Order:
    return Order(id=ORDER_ID, account="main", status="paid", last_updated=T0,
                 lines=[OrderLine("MLA1", None, "A", 1, Decimal(10), "ARS")],
                 total_amount=Decimal(10), currency_id="ARS", buyer_id=1, date_created=T0)


def test_a_poisoned_timestamp_does_not_silence_the_resource(databases: Databases) -> None:
    """Issue 16 item 3: a forged notification (no user_id needed) with a year-1 ``sent`` was
    stored, could not be read back (psycopg: year out of range), and every later real
    notification for the order joined it and never got a job."""
    engine = clean_engine(databases, "postgresql")
    connector = build(engine, databases.urls["postgresql"],
                      gateway=FakeMarketplace(orders=[paid_order()]))
    seed(connector)
    client = make_app(connector).test_client()
    resource = f"/orders/{ORDER_ID}"
    poisoned = client.post("/notifications", json={
        "topic": "orders_v2", "resource": resource, "sent": "0001-01-01T00:00:00+05:00",
        "received": "0001-01-01T00:00:00+05:00"})
    assert poisoned.status_code == 200
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sent, received FROM inbox")).one() == (None, None)
    assert drain(connector) == []  # processed: an unknown seller, recorded

    real = client.post("/notifications", json={
        "_id": "real-1", "topic": "orders_v2", "resource": resource, "user_id": SELLER,
        "application_id": 5503910054141466, "attempts": 1,
        "sent": "2026-11-27T08:59:59.129Z", "received": "2026-11-27T08:59:59.106Z"})
    assert real.status_code == 200 and not real.get_json()["duplicate"]
    assert drain(connector) == []
    with connector.uow as uow:
        events = uow.erp_feed.read(0, 10)
        entry = uow.inbox.get(real.get_json()["id"])
    assert [(e.type, e.order.id) for e in events] == [
        (ErpEventType.CREATED, ORDER_ID), (ErpEventType.PAID, ORDER_ID)]
    assert entry is not None and entry.outcome == "queued SyncOrder"
    connector.close()


def test_an_entry_stored_before_the_window_existed_reads_back(databases: Databases) -> None:
    """A row written by an older version with a year-0 ``sent`` is read with ``sent`` null,
    and its job runs, instead of failing every attempt."""
    engine = clean_engine(databases, "postgresql")
    connector = build(engine, databases.urls["postgresql"])
    seed(connector)
    with engine.begin() as conn:
        entry_id = conn.execute(text(
            "INSERT INTO inbox (topic, resource, sent, received, raw, received_at, "
            "duplicates, outcome) VALUES ('orders_v2', '/orders/5', "
            "'0001-01-01T00:00:00+05:00', '294276-01-01T00:00:00Z', '{}', now(), 0, '') "
            "RETURNING id")).scalar_one()
        conn.execute(text("INSERT INTO jobs (dedup_key, kind, command, created_at, attempts) "
                          "VALUES (:key, 'ProcessNotification', :command, now(), 0)"),
                     {"key": f"notification-{entry_id}",
                      "command": json.dumps({"type": "ProcessNotification",
                                             "inbox_id": entry_id})})
    with connector.uow as uow:
        entry = uow.inbox.get(entry_id)
        waiting = uow.inbox.unprocessed(T0 + timedelta(days=3650), 10)
    assert entry is not None and (entry.notification.sent, entry.notification.received) == (
        None, None)
    assert [e.id for e in waiting] == [entry_id]
    assert drain(connector) == []
    with connector.uow as uow:
        done = uow.inbox.get(entry_id)
    assert done is not None and done.processed_at is not None
    connector.close()
