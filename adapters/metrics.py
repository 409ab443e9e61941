"""Prometheus metrics of the job runners and of the calls to ML (the web process's are in
``webhook_app.metrics``; ``/metrics`` renders the one registry)."""

import httpx
from prometheus_client import Counter, Histogram

JOBS = Counter("connector_jobs_total", "Jobs run", ["kind", "outcome"])
JOB_SECONDS = Histogram("connector_job_seconds", "Time to run a job", ["kind"],
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
ML_CALLS = Counter("connector_ml_calls_total", "Calls to the ML API", ["method", "status"])
PUSHES = Counter("connector_pushes_total", "Item pushes by outcome", ["outcome"])


class PrometheusJobMetrics:
    """:class:`~connector_core.ports.metrics.JobMetrics` on the Prometheus registry."""

    def job_finished(self, kind: str, outcome: str, seconds: float | None) -> None:
        JOBS.labels(kind=kind, outcome=outcome).inc()
        if seconds is not None:
            JOB_SECONDS.labels(kind=kind).observe(seconds)

    def pushed(self, outcome: str) -> None:
        PUSHES.labels(outcome=outcome).inc()


def count_ml_call(response: httpx.Response) -> None:
    """An httpx response hook: one count per call to ML, by method and status."""
    ML_CALLS.labels(method=response.request.method, status=str(response.status_code)).inc()
