"""Figures from raw phase results: percentiles, merging the worker processes' records, summaries over
repeated runs, and the persistence check against the database."""

import statistics
from collections import Counter

from sqlalchemy import create_engine, text

from app.config import normalize_database_url


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(seconds: list[float]) -> dict:
    """p50/p95/p99/max in milliseconds, with the sample count."""
    ms = [value * 1000 for value in seconds]

    def rounded(value):
        return None if value is None else round(value, 2)

    return {
        "p50_ms": rounded(percentile(ms, 50)),
        "p95_ms": rounded(percentile(ms, 95)),
        "p99_ms": rounded(percentile(ms, 99)),
        "max_ms": rounded(max(ms) if ms else None),
        "samples": len(ms),
    }


def merge(results: list[dict]) -> dict:
    """One record from the worker processes' records of a phase."""
    merged = {"sent": {}, "acked": {}, "received": {}, "window_deliveries": 0, "errors": Counter(), "late_sends": 0}
    for result in results:
        merged["sent"].update(result["sent"])
        merged["acked"].update(result["acked"])
        merged["window_deliveries"] += result["window_deliveries"]
        merged["errors"].update(result["errors"])
        merged["late_sends"] += result.get("late_sends", 0)
        for client_id, (count, first, last) in result["received"].items():
            entry = merged["received"].get(client_id)
            if entry is None:
                merged["received"][client_id] = [count, first, last]
            else:
                entry[0] += count
                entry[1] = min(entry[1], first)
                entry[2] = max(entry[2], last)
    return merged


def phase_metrics(merged: dict, window: tuple[float, float], recipients: int = 1) -> dict:
    """Delivered msg/s in the window, latency (to the last of `recipients`) of the messages sent (or
    scheduled) in the window, and losses: acked messages not delivered to every recipient."""
    start, end = window
    duration = end - start
    sent, acked, received = merged["sent"], merged["acked"], merged["received"]
    latencies = []
    for client_id, moment in sent.items():
        entry = received.get(client_id)
        if start <= moment <= end and entry is not None and entry[0] >= recipients:
            latencies.append(entry[2] - moment)
    lost = sum(1 for client_id in acked if received.get(client_id, (0,))[0] < recipients)
    acked_in_window = sum(1 for moment in acked.values() if start <= moment <= end)
    return {
        "delivered_per_s": round(merged["window_deliveries"] / duration / recipients, 1),
        "deliveries_per_s": round(merged["window_deliveries"] / duration, 1),
        "acked_per_s": round(acked_in_window / duration, 1),
        **latency_summary(latencies),
        "sent": len(sent),
        "acked": len(acked),
        "unacked": len(sent) - len(acked),
        "lost": lost,
        "errors": dict(merged["errors"]),
        "late_sends": merged["late_sends"],
    }


def spread(values: list[float | None]) -> dict:
    """Median with min and max over runs (None values are left out)."""
    present = [value for value in values if value is not None]
    if not present:
        return {"median": None, "min": None, "max": None, "runs": values}
    return {
        "median": round(statistics.median(present), 2),
        "min": round(min(present), 2),
        "max": round(max(present), 2),
        "runs": values,
    }


def summarise(runs: list[dict], keys: tuple[str, ...]) -> dict:
    """spread() of each key over the runs' metrics."""
    return {key: spread([run.get(key) for run in runs]) for key in keys}


class Persistence:
    """Checks that every acked message is in the database exactly once, phase by phase."""

    def __init__(self, database_url: str):
        self.engine = create_engine(normalize_database_url(database_url))
        self.totals = Counter()

    def check(self, tag: str, acked: dict, sent: dict) -> dict:
        """Compare the phase's acked client_ids with the stored ones (client_id LIKE '<tag>-%')."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT client_id, COUNT(*) FROM messages WHERE client_id LIKE :prefix GROUP BY client_id"),
                {"prefix": f"{tag}-%"},
            ).all()
        stored = dict(rows)
        result = {
            "acked": len(acked),
            "missing": sum(1 for client_id in acked if client_id not in stored),
            "duplicated": sum(1 for count in stored.values() if count > 1),
            "stored_not_acked": sum(1 for client_id in stored if client_id not in acked and client_id in sent),
        }
        self.totals.update(result)
        return result

    def summary(self) -> dict:
        """Totals over every checked phase; ok when nothing acked is missing or stored twice."""
        totals = dict(self.totals)
        totals["ok"] = not self.totals["missing"] and not self.totals["duplicated"]
        return totals

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()
