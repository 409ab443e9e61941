"""The console's reads and its record of operators' actions, in SQL (the ports
:class:`~connector_core.ports.console.ConsoleReads` and
:class:`~connector_core.ports.console.ConsoleLog`).

Every method opens its own short session: the console reads what is committed, and a page
never holds a transaction open while it renders.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ColumnElement, Engine, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from adapters.serialization import order_from_json
from adapters.sql.repositories import _hold_from_row
from adapters.sql.rows.accounts import AccountRow
from adapters.sql.rows.catalog import ListingMappingRow
from adapters.sql.rows.console import ConsoleActionRow, ListingTitleRow, MlCallMinuteRow
from adapters.sql.rows.events import AuditRow, ErpEventRow
from adapters.sql.rows.jobs import CheckpointRow, InboxRow, JobRow
from adapters.sql.rows.stock import HoldRow, OrderRow
from connector_core.domain.console import (
    AccountState,
    AuditLine,
    ErpEventLine,
    JobCounts,
    ListingHit,
    MinuteCounts,
    OperatorAction,
    OrderSummary,
    TopicCount,
)

ORDERS_CHECKPOINT = "orders"


class SqlConsoleReads:
    def __init__(self, engine: Engine, now: Callable[[], datetime], *,
                 max_attempts: int) -> None:
        self._sessions = sessionmaker(engine)
        self._now = now
        self._max_attempts = max_attempts

    def _session(self) -> Session:
        return self._sessions()

    def accounts(self) -> list[AccountState]:
        with self._session() as session:
            checkpoints = dict(session.execute(
                select(CheckpointRow.account, CheckpointRow.at)
                .where(CheckpointRow.name == ORDERS_CHECKPOINT)).all())
            return [AccountState(
                name=row.name, user_id=row.user_id, site_id=row.site_id, nickname=row.nickname,
                connected=row.refresh_token_enc is not None, expires_at=row.token_expires_at,
                refreshed_at=row.token_refreshed_at, revoked_reason=row.revoked_reason,
                revoked_at=row.revoked_at, reconciled_to=checkpoints.get(row.name))
                for row in session.scalars(select(AccountRow).order_by(AccountRow.name))]

    def job_counts(self) -> JobCounts:
        unclaimed = JobRow.claimed_at.is_(None)
        alive = JobRow.attempts < self._max_attempts
        with self._session() as session:
            def count(*where: object) -> int:
                return int(session.scalar(select(func.count()).select_from(JobRow)
                                          .where(*where)) or 0)  # type: ignore[arg-type]

            return JobCounts(
                waiting=count(unclaimed, alive, JobRow.not_before.is_(None)),
                held_back=count(unclaimed, alive, JobRow.not_before.is_not(None)),
                running=count(JobRow.claimed_at.is_not(None)),
                dead=count(unclaimed, JobRow.attempts >= self._max_attempts))

    def job_counts_by_account(self) -> list[JobCounts]:
        account = type_coerce(JobRow.command, JSON)["account"].as_string()
        alive = JobRow.attempts < self._max_attempts
        unclaimed = JobRow.claimed_at.is_(None)

        def count(condition: ColumnElement[bool]) -> Any:
            return func.sum(case((condition, 1), else_=0))

        stmt = (select(account, count(unclaimed & alive & JobRow.not_before.is_(None)),
                       count(unclaimed & alive & JobRow.not_before.is_not(None)),
                       count(JobRow.claimed_at.is_not(None)),
                       count(unclaimed & (JobRow.attempts >= self._max_attempts)))
                .group_by(account))
        with self._session() as session:
            rows = [JobCounts(account=name, waiting=int(w or 0), held_back=int(h or 0),
                              running=int(r or 0), dead=int(d or 0))
                    for name, w, h, r, d in session.execute(stmt)]
        return sorted(rows, key=lambda c: (c.account is None, c.account or ""))

    def minutes(self, since: datetime) -> list[MinuteCounts]:
        start = since.replace(second=0, microsecond=0)
        counts: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        with self._session() as session:
            for minute, kind, status, n in session.execute(
                    select(MlCallMinuteRow.minute, MlCallMinuteRow.kind, MlCallMinuteRow.status,
                           MlCallMinuteRow.count).where(MlCallMinuteRow.minute >= start)):
                counts[minute]["calls"] += n
                if status == 429:
                    counts[minute]["throttled"] += n
                if kind == "oauth" and status >= 400:
                    counts[minute]["token_failures"] += n
            for (at,) in session.execute(
                    select(AuditRow.at).where(AuditRow.at >= start, AuditRow.action == "push",
                                              AuditRow.outcome == "sent")):
                counts[at.replace(second=0, microsecond=0)]["pushes"] += 1
        minutes = []
        minute, end = start, self._now()
        while minute <= end:
            minutes.append(MinuteCounts(minute=minute, **counts.get(minute, {})))
            minute += timedelta(minutes=1)
        return minutes

    def topics(self, since: datetime) -> list[TopicCount]:
        waiting = func.sum(case((InboxRow.processed_at.is_(None), 1), else_=0))
        with self._session() as session:
            rows = session.execute(
                select(InboxRow.topic, func.count() + func.sum(InboxRow.duplicates), waiting)
                .where(InboxRow.received_at >= since)
                .group_by(InboxRow.topic).order_by(InboxRow.topic))
            return [TopicCount(topic=topic, received=int(received or 0),
                               waiting=int(still or 0)) for topic, received, still in rows]

    def search(self, query: str, limit: int) -> list[ListingHit]:
        text = query.strip()
        if not text:
            return []
        like = f"%{_escape_like(text.lower())}%"
        title = ListingTitleRow.title
        with self._session() as session:
            stmt = (select(ListingMappingRow, title)
                    .outerjoin(ListingTitleRow,
                               (ListingTitleRow.account == ListingMappingRow.account)
                               & (ListingTitleRow.item_id == ListingMappingRow.item_id))
                    .where(or_(func.lower(ListingMappingRow.sku).like(like, escape="\\"),
                               func.lower(ListingMappingRow.item_id).like(like, escape="\\"),
                               func.lower(title).like(like, escape="\\")))
                    .order_by(ListingMappingRow.account, ListingMappingRow.item_id,
                              ListingMappingRow.variation_id).limit(limit))
            return [ListingHit(account=row.account, item_id=row.item_id,
                               variation_id=row.variation_id or None, sku=row.sku,
                               title=seen_title, active=bool(row.active))
                    for row, seen_title in session.execute(stmt)]

    def audit_trail(self, account: str, item_id: str, limit: int) -> list[AuditLine]:
        with self._session() as session:
            rows = session.scalars(
                select(AuditRow).where(AuditRow.account == account, AuditRow.item_id == item_id)
                .order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit))
            return [AuditLine(at=r.at, account=r.account, item_id=r.item_id, action=r.action,
                              outcome=r.outcome, reason=r.reason, before=r.before,
                              after=r.after, response=r.response) for r in rows]

    def orders(self, limit: int, order_id: int | None = None) -> list[OrderSummary]:
        with self._session() as session:
            stmt = select(OrderRow).where(
                (OrderRow.payload.is_not(None)) | (OrderRow.accounted_at.is_not(None)))
            if order_id is not None:
                stmt = stmt.where(OrderRow.order_id == order_id)
            stmt = stmt.order_by(OrderRow.last_updated.desc().nulls_last(),
                                 OrderRow.order_id.desc()).limit(limit)
            rows = list(session.scalars(stmt))
            ids = [r.order_id for r in rows]
            holds = defaultdict(list)
            for hold in session.scalars(select(HoldRow).where(HoldRow.order_id.in_(ids))
                                        .order_by(HoldRow.line, HoldRow.sku)):
                holds[hold.order_id].append(_hold_from_row(hold))
            events = defaultdict(list)
            for event in session.scalars(select(ErpEventRow).where(ErpEventRow.order_id.in_(ids))
                                         .order_by(ErpEventRow.cursor)):
                events[event.order_id].append(ErpEventLine(
                    cursor=event.cursor, type=event.type, created_at=event.created_at))
            return [OrderSummary(
                order_id=r.order_id,
                order=None if r.payload is None else order_from_json(r.payload),
                accounted_at=r.accounted_at, holds=tuple(holds[r.order_id]),
                events=tuple(events[r.order_id])) for r in rows]

    def operator_actions(self, limit: int) -> list[OperatorAction]:
        with self._session() as session:
            rows = session.scalars(select(ConsoleActionRow)
                                   .order_by(ConsoleActionRow.id.desc()).limit(limit))
            return [OperatorAction(at=r.at, operator=r.operator, action=r.action,
                                   target=r.target, outcome=r.outcome) for r in rows]

    def record(self, action: OperatorAction) -> None:
        with self._session() as session:
            session.add(ConsoleActionRow(at=action.at, operator=action.operator,
                                         action=action.action, target=action.target[:200],
                                         outcome=action.outcome))
            session.commit()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
