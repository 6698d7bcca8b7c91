"""All repositories over one warehouse, and the transaction they share (a unit of work).

Services take a `Warehouse` (production) or any `Repositories` (the in-memory fakes of the
unit tests) and call `repositories(source)`; inside `with repos.transaction("jobs") as tx:`
every repository of `tx` writes in one transaction that holds the named tables' write locks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from mlops.adapters.warehouse.alerts import AlertRepository, SqlAlertRepository
from mlops.adapters.warehouse.audit import AuditRepository, SqlAuditRepository
from mlops.adapters.warehouse.base import Session, Warehouse, WarehouseError
from mlops.adapters.warehouse.feedback import FeedbackRepository, SqlFeedbackRepository
from mlops.adapters.warehouse.jobs import JobRepository, SqlJobRepository
from mlops.adapters.warehouse.monitoring import MonitoringQueries, SqlMonitoringQueries
from mlops.adapters.warehouse.predictions import PredictionRepository, SqlPredictionRepository
from mlops.adapters.warehouse.taxonomy import SqlTaxonomyRepository, TaxonomyRepository
from mlops.adapters.warehouse.tokens import SqlTokenRepository, TokenRepository
from mlops.adapters.warehouse.training_pairs import SqlTrainingPairRepository, TrainingPairRepository
from mlops.adapters.warehouse.users import SqlUserRepository, UserRepository


class Repositories(ABC):
    """One repository per aggregate, all on the same connection or transaction."""

    alerts: AlertRepository
    audit: AuditRepository
    feedback: FeedbackRepository
    jobs: JobRepository
    monitoring: MonitoringQueries
    predictions: PredictionRepository
    taxonomy: TaxonomyRepository
    tokens: TokenRepository
    training_pairs: TrainingPairRepository
    users: UserRepository

    @abstractmethod
    def transaction(self, *locks: str) -> AbstractContextManager[Repositories]:
        """The repositories inside one transaction (all writes or none) that holds the write
        locks of the tables named in `locks` until it ends; called inside an open transaction,
        that transaction (taking the locks)."""


class SqlRepositories(Repositories):
    """The repositories on a warehouse (each statement commits on its own) or on one of its
    open transactions (`session`)."""

    def __init__(self, warehouse: Warehouse, session: Session | None = None) -> None:
        self.warehouse = warehouse
        self.session = session
        db: Session = session if session is not None else warehouse
        self.alerts = SqlAlertRepository(db)
        self.audit = SqlAuditRepository(db)
        self.feedback = SqlFeedbackRepository(db)
        self.jobs = SqlJobRepository(db)
        self.monitoring = SqlMonitoringQueries(db, warehouse.native_percentiles)
        self.predictions = SqlPredictionRepository(db)
        self.taxonomy = SqlTaxonomyRepository(db)
        self.tokens = SqlTokenRepository(db)
        self.training_pairs = SqlTrainingPairRepository(db)
        self.users = SqlUserRepository(db)

    @contextmanager
    def transaction(self, *locks: str) -> Iterator[SqlRepositories]:
        if self.session is not None:
            with self.warehouse.lock(*locks, session=self.session):
                yield self
            return
        with self.warehouse.lock(*locks) as session:
            yield SqlRepositories(self.warehouse, session)


Source = Warehouse | Session | Repositories


def repositories(source: Source) -> Repositories:
    """The repositories of a warehouse, of one of its open transactions, or `source` itself
    when it already is a `Repositories` (e.g. a test's in-memory fake)."""
    if isinstance(source, Repositories):
        return source
    if isinstance(source, Warehouse):
        return SqlRepositories(source)
    warehouse = getattr(source, "warehouse", None)
    if isinstance(source, Session) and isinstance(warehouse, Warehouse):
        return SqlRepositories(warehouse, source)
    raise WarehouseError(f"not a warehouse, transaction or repositories: {type(source).__name__}")
