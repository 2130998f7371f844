"""The stand-in's metric store: datapoints, dashboards and alarms in SQLite (a file, or ``:memory:``).

A metric is its namespace, name and set of dimensions; the order the dimensions are given in does not
matter, so they are kept sorted by name. Its datapoints are kept per unit. A datapoint has a timestamp in
whole seconds (a standard-resolution datapoint is kept at the start of its minute, a high-resolution one at
its second) and stands for a count of samples: either samples that all have one ``value`` (a ``Value``, an
entry of ``Values``/``Counts``, a statistic set of copies of one value), or a statistic set of which only
the sum, minimum and maximum are known. Percentiles need the former; see ``aggregate``.

The rows read lately stay in memory (up to ``cache_rows`` of them), since SQLite takes far longer to hand
over a week of rows than numpy takes to aggregate them, and a report reads the same metrics widget after
widget. The store forgets a metric's rows when it writes to that metric, and all of them when another
connection writes to the file.

An alarm is kept as JSON the store does not look into (``alarms`` reads and writes it), with its history.

A store is not thread-safe: the server drives it from one thread.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from reportgen.local.aggregate import Samples

NO_UNIT = "None"  # CloudWatch's name for "no unit"
CACHE_ROWS = 2_000_000  # rows read kept in memory, 48 bytes each: about 100 MB

# A statistic set: (timestamp, sample count, sum, minimum, maximum).
StatisticSet = tuple[int, float, float, float, float]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS metrics (
    id         INTEGER PRIMARY KEY,
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    dimensions TEXT NOT NULL,  -- JSON [[name, value], ...] sorted by name
    published  REAL NOT NULL,  -- when data for it last arrived (epoch seconds), for RecentlyActive
    UNIQUE (namespace, name, dimensions)
);
CREATE TABLE IF NOT EXISTS series (  -- a metric's data in one unit
    id     INTEGER PRIMARY KEY,
    metric INTEGER NOT NULL REFERENCES metrics (id),
    unit   TEXT NOT NULL,
    UNIQUE (metric, unit)
);
-- Samples of one value keep the value (sum, minimum, maximum NULL); a statistic set keeps no value.
CREATE TABLE IF NOT EXISTS datapoints (
    series    INTEGER NOT NULL REFERENCES series (id),
    timestamp INTEGER NOT NULL,
    count     REAL NOT NULL,
    sum       REAL,
    minimum   REAL,
    maximum   REAL,
    value     REAL
);
CREATE INDEX IF NOT EXISTS datapoints_by_time ON datapoints (series, timestamp);
CREATE TABLE IF NOT EXISTS dashboards (
    name     TEXT PRIMARY KEY,
    body     TEXT NOT NULL,
    modified REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS alarms (
    name      TEXT PRIMARY KEY,
    config    TEXT NOT NULL,  -- JSON: the alarm's settings
    state     TEXT NOT NULL,  -- JSON: its state
    evaluated REAL NOT NULL   -- epoch seconds it has been evaluated up to
);
CREATE TABLE IF NOT EXISTS alarm_history (
    id        INTEGER PRIMARY KEY,  -- the order items were written in, for items at the same moment
    alarm     TEXT NOT NULL,
    timestamp REAL NOT NULL,
    kind      TEXT NOT NULL,  -- HistoryItemType
    summary   TEXT NOT NULL,
    data      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_history_by_time ON alarm_history (alarm, timestamp);
"""
# A series' rows of values and its statistic sets, each in the index's time order. Apart, because a row of
# values needs only three columns, and SQLite takes far longer to hand over a column than numpy to derive one.
_VALUES = """
SELECT timestamp, count, value FROM datapoints
WHERE series = ? AND timestamp >= ? AND timestamp < ? AND value IS NOT NULL ORDER BY timestamp
"""
_SETS = """
SELECT timestamp, count, sum, minimum, maximum FROM datapoints
WHERE series = ? AND timestamp >= ? AND timestamp < ? AND value IS NULL ORDER BY timestamp
"""
_VALUE_ROW = np.dtype([("timestamp", np.int64), ("count", np.float64), ("value", np.float64)])
_SET_ROW = np.dtype([("timestamp", np.int64), ("count", np.float64), ("sum", np.float64), ("minimum", np.float64),
                     ("maximum", np.float64)])


@dataclass(frozen=True, order=True)
class MetricKey:
    """A metric's identity. Build it with ``MetricKey.of`` so the dimensions are in canonical order."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, namespace: str, name: str, dimensions: Iterable[tuple[str, str]] = ()) -> MetricKey:
        return cls(namespace, name, tuple(sorted(dimensions)))


def _dimensions_json(metric: MetricKey) -> str:
    return json.dumps([list(pair) for pair in metric.dimensions], separators=(",", ":"))


@dataclass(frozen=True)
class Dashboard:
    name: str
    body: str
    modified: float  # epoch seconds

    @property
    def size(self) -> int:
        return len(self.body.encode())


@dataclass(frozen=True)
class AlarmRow:
    name: str
    config: str
    state: str
    evaluated: float


@dataclass(frozen=True)
class HistoryRow:
    alarm: str
    timestamp: float  # epoch seconds
    kind: str
    summary: str
    data: str


@dataclass(frozen=True)
class _Window:
    """A metric's rows (of one unit, or of any) at every timestamp in [start, end)."""

    start: int
    end: int
    samples: Samples

    def __post_init__(self) -> None:
        for column in vars(self.samples).values():
            column.flags.writeable = False  # every reader gets views of them


class _RecentReads:
    """The windows of rows read lately, by (metric id, unit or None), least recently used first; up to
    ``limit`` rows in all."""

    __slots__ = ("limit", "rows", "_windows")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.rows = 0
        self._windows: OrderedDict[tuple[int, str | None], _Window] = OrderedDict()

    def __repr__(self) -> str:
        return f"<_RecentReads windows={len(self._windows)} rows={self.rows}/{self.limit}>"

    def get(self, key: tuple[int, str | None]) -> _Window | None:
        return self._windows.get(key)

    def put(self, key: tuple[int, str | None], window: _Window) -> None:
        self.forget(key)
        self._windows[key] = window
        self.rows += len(window.samples)
        while self.rows > self.limit:
            _, oldest = self._windows.popitem(last=False)
            self.rows -= len(oldest.samples)

    def forget_metric(self, metric_id: int) -> None:
        for key in [key for key in self._windows if key[0] == metric_id]:
            self.forget(key)

    def forget(self, key: tuple[int, str | None]) -> None:
        window = self._windows.pop(key, None)
        if window is not None:
            self.rows -= len(window.samples)

    def clear(self) -> None:
        self._windows.clear()
        self.rows = 0


class MetricStore:
    """Datapoints and dashboards in one SQLite database; ``cache_rows`` bounds the rows kept in memory."""

    def __init__(self, path: str = ":memory:", *, cache_rows: int = CACHE_ROWS) -> None:
        self.path = path
        # The server's store thread is the only user, but it is not the thread that opens the store.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL" if path != ":memory:" else "PRAGMA journal_mode = MEMORY")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)
        self._recent = _RecentReads(cache_rows)
        self._ids: dict[MetricKey, int] = {}  # metrics known to exist; a metric's row is never deleted
        self._version = self._data_version()

    def close(self) -> None:
        self._db.close()

    def __repr__(self) -> str:
        (metrics,), (datapoints,) = (self._db.execute(f"SELECT count(*) FROM {table}").fetchone()
                                     for table in ("metrics", "datapoints"))
        return (f"<MetricStore {self.path!r} cached={self._recent.rows}/{self._recent.limit} metrics={metrics} "
                f"datapoints={datapoints}>")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all of them are kept, or none (and it is much faster than one by one)."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            self._recent.clear()  # it may hold rows read inside the transaction, now undone
            self._ids.clear()     # and metrics made inside it
            raise
        self._db.execute("COMMIT")

    # ---- datapoints -----------------------------------------------------------------------------------

    def add_values(self, metric: MetricKey, unit: str, timestamps: Sequence[int], values: Sequence[float],
                   counts: Sequence[float] | None = None, *, published: float) -> None:
        """Store samples of ``metric``: ``counts[i]`` (default 1) of ``values[i]`` at ``timestamps[i]``.
        ``published`` is when they arrived (epoch seconds)."""
        with self._writing():
            series = self._series(metric, unit, published)
            self._db.executemany("INSERT INTO datapoints (series, timestamp, count, value) VALUES (?, ?, ?, ?)",
                                 zip(repeat(series), timestamps, counts or repeat(1.0), values))

    def add_statistic_sets(self, metric: MetricKey, unit: str, sets: Sequence[StatisticSet], *,
                           published: float) -> None:
        """Store statistic sets whose samples are not known, only their sum, minimum and maximum."""
        with self._writing():
            series = self._series(metric, unit, published)
            self._db.executemany("INSERT INTO datapoints (series, timestamp, count, sum, minimum, maximum) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", ((series, *entry) for entry in sets))

    def delete(self, metric: MetricKey, start: int, end: int) -> None:
        """Remove ``metric``'s datapoints in [start, end)."""
        metric_id = self._id(metric)
        if metric_id is not None:
            self._recent.forget_metric(metric_id)
            with self._writing():
                self._db.execute("DELETE FROM datapoints WHERE series IN (SELECT id FROM series WHERE metric = ?) "
                                 "AND timestamp >= ? AND timestamp < ?", (metric_id, start, end))

    def samples(self, metric: MetricKey, start: int, end: int, unit: str | None = None) -> Samples:
        """``metric``'s rows in [start, end) in time order, of one ``unit`` or of any; read-only arrays."""
        metric_id = self._id(metric)
        if metric_id is None or start >= end:
            return Samples.empty()
        version = self._data_version()
        if version != self._version:  # another connection wrote: anything held may be stale
            self._recent.clear()
            self._version = version
        key = (metric_id, unit)
        held = self._recent.get(key)
        if held is None or end < held.start or start > held.end:
            held = _Window(start, end, self._read(metric_id, unit, start, end))
        elif start < held.start or end > held.end:
            # Only what lies beyond the window held is read; the window grows to cover both.
            held = _Window(min(start, held.start), max(end, held.end), Samples.joined((
                self._read(metric_id, unit, start, held.start), held.samples,
                self._read(metric_id, unit, held.end, end))))
        self._recent.put(key, held)
        return held.samples.between(start, end)

    def _read(self, metric_id: int, unit: str | None, start: int, end: int) -> Samples:
        """From the database: a metric's rows in [start, end) in time order, of one ``unit`` or of any."""
        query, parameters = "SELECT id FROM series WHERE metric = ?", list[str | int]([metric_id])
        if unit is not None:
            query += " AND unit = ?"
            parameters.append(unit)
        parts = []
        for (series,) in self._db.execute(query + " ORDER BY id", parameters).fetchall():
            values = np.fromiter(self._db.execute(_VALUES, (series, start, end)), _VALUE_ROW)
            sets = np.fromiter(self._db.execute(_SETS, (series, start, end)), _SET_ROW)
            each = values["value"]
            parts += [Samples(values["timestamp"], values["count"], each * values["count"], each, each, each),
                      Samples(sets["timestamp"], sets["count"], sets["sum"], sets["minimum"], sets["maximum"],
                              np.full(len(sets), math.nan))]
        return Samples.joined(parts).in_time_order() if parts else Samples.empty()

    def units(self, metric: MetricKey, start: int, end: int) -> list[str]:
        """The units ``metric`` was published with in [start, end), sorted."""
        metric_id = self._id(metric)
        if metric_id is None:
            return []
        rows = self._db.execute(
            "SELECT unit FROM series WHERE metric = ? AND EXISTS (SELECT 1 FROM datapoints WHERE "
            "series = series.id AND timestamp >= ? AND timestamp < ?) ORDER BY unit", (metric_id, start, end))
        return [unit for (unit,) in rows]

    def metrics(self, *, namespace: str | None = None, name: str | None = None,
                published_since: float | None = None) -> list[MetricKey]:
        """The metrics with data, sorted; narrowed to a namespace, a name, and recent publication."""
        query, parameters = "SELECT namespace, name, dimensions FROM metrics WHERE 1", list[str | float]()
        for column, value in (("namespace", namespace), ("name", name)):
            if value is not None:
                query += f" AND {column} = ?"
                parameters.append(value)
        if published_since is not None:
            query += " AND published >= ?"
            parameters.append(published_since)
        rows = self._db.execute(query + " ORDER BY namespace, name, dimensions", parameters)
        return [MetricKey(namespace, metric_name, tuple((n, v) for n, v in json.loads(dimensions)))
                for namespace, metric_name, dimensions in rows]

    def _series(self, metric: MetricKey, unit: str, published: float) -> int:
        """The id of ``metric``'s data in ``unit``, made if new; the metric counts as published then."""
        (metric_id,) = self._db.execute(
            "INSERT INTO metrics (namespace, name, dimensions, published) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (namespace, name, dimensions) DO UPDATE SET published = max(published, excluded.published) "
            "RETURNING id", (metric.namespace, metric.name, _dimensions_json(metric), published)).fetchone()
        self._ids[metric] = metric_id
        self._recent.forget_metric(metric_id)
        (series_id,) = self._db.execute(
            "INSERT INTO series (metric, unit) VALUES (?, ?) ON CONFLICT (metric, unit) DO UPDATE SET unit = unit "
            "RETURNING id", (metric_id, unit)).fetchone()
        return int(series_id)

    def _data_version(self) -> int:
        """A number that changes whenever another connection commits a change to the database."""
        (version,) = self._db.execute("PRAGMA data_version").fetchone()
        return int(version)

    def _id(self, metric: MetricKey) -> int | None:
        """``metric``'s id, or None if it has none yet (which is asked again next time)."""
        if metric in self._ids:
            return self._ids[metric]
        row = self._db.execute("SELECT id FROM metrics WHERE namespace = ? AND name = ? AND dimensions = ?",
                               (metric.namespace, metric.name, _dimensions_json(metric))).fetchone()
        if row is None:
            return None
        self._ids[metric] = int(row[0])
        return self._ids[metric]

    # ---- dashboards -----------------------------------------------------------------------------------

    def put_dashboard(self, dashboard: Dashboard) -> None:
        with self._writing():
            self._db.execute("INSERT INTO dashboards (name, body, modified) VALUES (?, ?, ?) ON CONFLICT (name) "
                             "DO UPDATE SET body = excluded.body, modified = excluded.modified",
                             (dashboard.name, dashboard.body, dashboard.modified))

    def dashboard(self, name: str) -> Dashboard | None:
        row = self._db.execute("SELECT name, body, modified FROM dashboards WHERE name = ?", (name,)).fetchone()
        return None if row is None else Dashboard(*row)

    def dashboards(self, prefix: str = "") -> list[Dashboard]:
        """Dashboards whose names start with ``prefix``, sorted by name."""
        rows = self._db.execute("SELECT name, body, modified FROM dashboards WHERE substr(name, 1, ?) = ? "
                                "ORDER BY name", (len(prefix), prefix))
        return [Dashboard(*row) for row in rows]

    def delete_dashboards(self, names: Sequence[str]) -> list[str]:
        """Delete the named dashboards, all or none: if any is missing, nothing is deleted and the missing
        names are returned."""
        with self._writing():
            missing = [name for name in names if self.dashboard(name) is None]
            if not missing:
                self._db.executemany("DELETE FROM dashboards WHERE name = ?", ((name,) for name in names))
        return missing

    # ---- alarms ---------------------------------------------------------------------------------------------

    def put_alarm(self, alarm: AlarmRow) -> None:
        with self._writing():
            self._db.execute("INSERT INTO alarms (name, config, state, evaluated) VALUES (?, ?, ?, ?) "
                             "ON CONFLICT (name) DO UPDATE SET config = excluded.config, state = excluded.state, "
                             "evaluated = excluded.evaluated", (alarm.name, alarm.config, alarm.state, alarm.evaluated))

    def alarms(self, *, prefix: str = "", names: Sequence[str] | None = None) -> list[AlarmRow]:
        """Alarms whose names start with ``prefix`` (and are among ``names``, if given), sorted by name."""
        query, parameters = "SELECT name, config, state, evaluated FROM alarms WHERE substr(name, 1, ?) = ?", [
            len(prefix), prefix]
        if names is not None:
            query += f" AND name IN ({', '.join('?' * len(names))})"
            parameters += names
        return [AlarmRow(*row) for row in self._db.execute(query + " ORDER BY name", parameters)]

    def delete_alarms(self, names: Sequence[str]) -> list[str]:
        """Delete the named alarms and their history, all or none: if any is missing, nothing is deleted and the
        missing names are returned."""
        with self._writing():
            found = {row.name for row in self.alarms(names=names)}
            missing = [name for name in names if name not in found]
            if not missing:
                for table, column in (("alarms", "name"), ("alarm_history", "alarm")):
                    self._db.executemany(f"DELETE FROM {table} WHERE {column} = ?", ((name,) for name in names))
        return missing

    def add_alarm_history(self, items: Iterable[HistoryRow]) -> None:
        with self._writing():
            self._db.executemany("INSERT INTO alarm_history (alarm, timestamp, kind, summary, data) "
                                 "VALUES (?, ?, ?, ?, ?)",
                                 ((item.alarm, item.timestamp, item.kind, item.summary, item.data) for item in items))

    def alarm_history(self, *, alarm: str | None = None, kind: str | None = None, start: float | None = None,
                      end: float | None = None, descending: bool = True) -> list[HistoryRow]:
        """History items, of one alarm and one kind if given, with ``start`` <= timestamp <= ``end``; newest
        first unless not ``descending`` (items of one moment in the order they were written)."""
        query, parameters = "SELECT alarm, timestamp, kind, summary, data FROM alarm_history WHERE 1", list[
            str | float]()
        for condition, value in (("alarm = ?", alarm), ("kind = ?", kind), ("timestamp >= ?", start),
                                 ("timestamp <= ?", end)):
            if value is not None:
                query += f" AND {condition}"
                parameters.append(value)
        order = "DESC" if descending else "ASC"
        rows = self._db.execute(f"{query} ORDER BY timestamp {order}, id {order}", parameters)
        return [HistoryRow(*row) for row in rows]

    def forget_alarm_history(self, before: float) -> None:
        """Drop history items older than ``before``."""
        with self._writing():
            self._db.execute("DELETE FROM alarm_history WHERE timestamp < ?", (before,))

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A transaction of its own, unless the caller already opened one."""
        if self._db.in_transaction:
            yield
            return
        with self.transaction():
            yield
