"""The TCP client: one connection, many requests in flight, subscriptions demultiplexed.

A background reader thread parses every ServerMessage and routes it:

- ``Ack`` to the waiting ingest or reset by ``seq``;
- ``Estimates`` with a ``query_id`` to the waiting query, ``DaemonStats`` by its ``id``;
- publish ticks (``Estimates`` with query_id 0) and ``Anomaly`` events to the subscriptions
  whose stream patterns match (see ``Subscription`` for the one ambiguity of the wire);
- ``Error`` to the oldest request still waiting: the daemon answers the frames of a connection
  in order, so an Error arrives after the answers to every earlier request.

Every method is thread-safe.
"""

import collections
import concurrent.futures
import datetime
import logging
import socket
import threading

from ._proto import wire_pb2
from .framing import FrameReader, FramingError, frame
from .glob import StreamMatcher
from .types import Ack, AnomalyEvent, Estimate, EstimatesUpdate, code_name, stats_dict

_log = logging.getLogger("mled_client")

DEFAULT_ADDRESS = "127.0.0.1:7070"


class MledError(Exception):
    """Base class of the client's errors."""


class MledConnectionError(MledError, ConnectionError):
    """Could not connect, or the connection to the daemon was lost or closed."""


class MledTimeoutError(MledError, TimeoutError):
    """The daemon did not answer within the timeout."""


class DaemonError(MledError):
    """The daemon answered with an ``Error`` frame (``ServerMessage.error``).

    ``code`` is the Code name ("RESOURCE_EXHAUSTED", "FRAME_TOO_LARGE", ...).
    """

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RejectedError(MledError):
    """An Ack reported rejected rows (raised with ``check=True``, and always by ``reset``).

    ``ack`` is the whole Ack; ``rejections`` its list of ``Rejection``.
    """

    def __init__(self, ack):
        self.ack = ack
        self.rejections = ack.rejections
        first = "; ".join(f"{r.stream or '?'}: {r.code}: {r.message}" for r in ack.rejections[:3])
        more = len(ack.rejections) - 3
        super().__init__(
            f"{ack.rejected} rejected, {ack.accepted} accepted"
            + (f": {first}" if first else "") + (f" (+{more} more)" if more > 0 else ""))


def parse_address(address):
    """"HOST:PORT" or "[V6]:PORT" to (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"address must be HOST:PORT, got {address!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "127.0.0.1", int(port)


def _patterns(streams):
    if streams is None:
        return []
    if isinstance(streams, str):
        return [streams]
    return list(streams)


def _tolist(value):
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars, without needing numpy
    return tolist() if callable(tolist) else value


def _rows(rows):
    """Rows to (dim, flat values). A row is a number (D = 1) or a sequence of D numbers;
    ``rows`` is one number, a sequence of rows, or a 1-D/2-D numpy array."""
    rows = _tolist(rows)
    if isinstance(rows, (int, float)):
        return 1, [float(rows)]
    rows = [_tolist(r) for r in rows]
    if not rows:
        return 1, []
    if all(isinstance(r, (int, float)) for r in rows):
        return 1, [float(r) for r in rows]
    if isinstance(rows[0], (int, float)):
        raise ValueError("rows mix numbers and sequences; give every row as a sequence")
    dim = len(rows[0])
    values = []
    for i, row in enumerate(rows):
        if isinstance(row, (int, float)) or len(row) != dim:
            raise ValueError(f"row {i} does not have {dim} values; rows of one send share a "
                             "dimension (use send_samples for mixed rows)")
        values.extend(float(v) for v in row)
    return dim, values


def _time(t):
    t = _tolist(t)
    if isinstance(t, datetime.datetime):
        if t.tzinfo is None:
            raise ValueError("a naive datetime has no time zone; give an aware one")
        delta = t - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    if isinstance(t, bool) or not isinstance(t, int):
        raise TypeError(f"sample times are int nanoseconds since the Unix epoch or aware "
                        f"datetimes, not {type(t).__name__} (0 or None: time of receipt)")
    return t


def _times(times):
    if times is None:
        return []
    times = _tolist(times)
    if isinstance(times, (int, datetime.datetime)):
        times = [times]
    return [0 if t is None else _time(t) for t in times]


class Subscription:
    """Updates of one ``Client.subscribe``: iterate it, or call ``get(timeout)``.

    Items are ``EstimatesUpdate`` (each publish tick with a changed matching stream) and, with
    ``anomalies=True``, ``AnomalyEvent``. Iteration ends after ``close()`` or when the client
    closes; it raises ``MledConnectionError`` when the connection is lost.

    The wire's ``Estimates`` carry no subscription id, so an update goes to every subscription
    of the connection whose patterns match one of its streams, filtered to those streams. With
    overlapping patterns on one connection a subscription may therefore also see (its part of)
    another one's ticks; use one connection per subscription when that matters. Anomalies are
    exact: the daemon sends each once per connection.

    There is no Unsubscribe message: ``close()`` stops delivery here, and the daemon keeps
    sending until the connection closes.
    """

    _END = object()

    def __init__(self, client, patterns, interval_ms, anomalies, max_queue):
        self.patterns = patterns
        self.interval_ms = interval_ms
        self.anomalies = anomalies
        self.dropped = 0  # updates dropped (oldest first) because the queue was full
        self._client = client
        self._matcher = StreamMatcher(patterns)
        self._queue = collections.deque()
        self._max_queue = max_queue
        self._cond = threading.Condition()
        self._closed = False
        self._error = None
        self._thread = None

    # Called by the reader thread.
    def _offer_estimates(self, message):
        estimates = [e for e in message.estimates if self._matcher.matches(e.stream)]
        if estimates:
            self._put(EstimatesUpdate(message.time_unix_nano,
                                      [Estimate.from_proto(e) for e in estimates], message))

    def _offer_anomaly(self, anomaly):
        if self.anomalies and self._matcher.matches(anomaly.stream):
            self._put(AnomalyEvent.from_proto(anomaly))

    def _put(self, item):
        with self._cond:
            if self._closed:
                return
            if self._max_queue and len(self._queue) >= self._max_queue:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(item)
            self._cond.notify_all()

    def _end(self, error):
        with self._cond:
            if not self._closed:
                self._closed = True
                self._error = error
                self._queue.append(self._END)
            self._cond.notify_all()

    def get(self, timeout=None):
        """The next update; raises ``MledTimeoutError`` after ``timeout`` seconds without one,
        ``StopIteration`` once closed, ``MledConnectionError`` if the connection was lost."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._queue, timeout):
                raise MledTimeoutError(f"no update within {timeout} s")
            item = self._queue[0]
            if item is self._END:
                if self._error is not None:
                    raise self._error
                raise StopIteration
            return self._queue.popleft()

    def __iter__(self):
        return self

    def __next__(self):
        return self.get()

    def close(self):
        """Stops delivery (and ends the callback thread); the connection stays open."""
        self._client._remove_subscription(self)
        self._end(None)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    @property
    def closed(self):
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _run_callback(self, callback, on_error):
        while True:
            try:
                item = self.get()
            except StopIteration:
                return
            except MledError as error:
                if on_error is not None:
                    on_error(error)
                else:
                    _log.warning("subscription %s ended: %s", self.patterns, error)
                return
            try:
                callback(item)
            except Exception:  # a failing callback must not end the subscription
                _log.exception("subscription callback raised")


class Client:
    """A connection to mled over TCP.

        with Client("127.0.0.1:7070") as mled:
            mled.send("cpu/load", [0.5, 0.7, 0.6])
            print(mled.query("cpu/*"))

    ``timeout`` (seconds, None: wait forever) bounds connecting and each wait for an answer;
    every method also takes its own ``timeout``.
    """

    def __init__(self, address=DEFAULT_ADDRESS, *, timeout=10.0, max_frame_bytes=1 << 30):
        self.address = address
        self.timeout = timeout
        host, port = parse_address(address)
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as error:
            raise MledConnectionError(f"cannot connect to mled at {address}: {error}") from error
        self._sock.settimeout(None)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._reader = FrameReader(max_frame_bytes)
        self._write_lock = threading.Lock()  # orders frames on the wire and `_pending`
        self._lock = threading.Lock()  # guards the state below
        self._next_id = 1
        self._pending = collections.OrderedDict()  # (kind, id) -> Future, in the order sent
        self._subscriptions = []
        self._error = None  # set once the connection is gone; every later call raises it
        self._closing = False
        self.unclaimed_errors = []  # DaemonErrors that came when no request was waiting
        self._thread = threading.Thread(target=self._read_loop, name="mled-client-reader",
                                        daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------------------- ingest

    def send(self, stream, rows, times=None, *, return_scores=False, check=False, timeout=None):
        """Sends rows of one stream (one ``StreamBatch``) and waits for the Ack.

        ``rows``: a number, a list of numbers (D = 1), a list of rows of D numbers, or a numpy
        array (1-D: D = 1, 2-D: n×D). ``times``: None, or one int (Unix nanoseconds) or aware
        datetime per row (0/None: time of receipt). ``return_scores``: the Ack lists each
        accepted row's anomaly score. ``check``: raise ``RejectedError`` if any row was
        rejected. Returns the ``Ack``.
        """
        return self.ingest(batches=[(stream, rows, times)], return_scores=return_scores,
                           check=check, timeout=timeout)

    def send_batches(self, batches, *, return_scores=False, check=False, timeout=None):
        """Many streams in one Ingest: ``{stream: rows}``, or an iterable of ``(stream, rows)``
        or ``(stream, rows, times)``; one StreamBatch each. Returns the ``Ack``."""
        return self.ingest(batches=batches, return_scores=return_scores, check=check,
                           timeout=timeout)

    def send_samples(self, samples, *, return_scores=False, check=False, timeout=None):
        """Single observations of any streams in one Ingest: an iterable of ``(stream, x)`` or
        ``(stream, x, time)``, x a number or a sequence of D numbers. Returns the ``Ack``."""
        return self.ingest(samples=samples, return_scores=return_scores, check=check,
                           timeout=timeout)

    def ingest(self, samples=(), batches=(), *, return_scores=False, check=False, timeout=None):
        """One Ingest with ``Sample``s and ``StreamBatch``es (forms as in ``send_samples`` and
        ``send_batches``); waits for its Ack. Rejection indices refer to these two lists."""
        future = self.ingest_async(samples, batches, return_scores=return_scores)
        ack = self._wait(future, timeout, "the Ack")
        if check and ack.rejected:
            raise RejectedError(ack)
        return ack

    def ingest_async(self, samples=(), batches=(), *, return_scores=False):
        """Like ``ingest`` without waiting: returns a ``concurrent.futures.Future`` of the Ack,
        so that many Ingests can be in flight on the connection."""
        message = wire_pb2.ClientMessage()
        ingest = message.ingest
        ingest.return_scores = return_scores
        for entry in samples:
            if isinstance(entry, wire_pb2.Sample):
                ingest.samples.append(entry)
                continue
            stream, x, *rest = entry
            sample = ingest.samples.add()
            sample.stream = stream
            x = _tolist(x)
            sample.x.extend([float(x)] if isinstance(x, (int, float)) else [float(v) for v in x])
            if rest and rest[0] is not None:
                sample.time_unix_nano = _time(rest[0])
        if isinstance(batches, dict):
            batches = batches.items()
        for entry in batches:
            if isinstance(entry, wire_pb2.StreamBatch):
                ingest.batches.append(entry)
                continue
            stream, rows, *rest = entry
            batch = ingest.batches.add()
            batch.stream = stream
            batch.dim, values = _rows(rows)
            batch.values.extend(values)
            batch.time_unix_nano.extend(_times(rest[0] if rest else None))
        return self._request(message, "ack", lambda m, seq: setattr(m.ingest, "seq", seq))

    # ----------------------------------------------------------------------------- queries

    def query(self, streams=None, *, timeout=None):
        """The current estimates of the named streams (names or globs; None: all, up to the
        daemon's max_query_streams), as a list of ``Estimate``. Unknown names are left out."""
        message = wire_pb2.ClientMessage()
        message.query.streams.extend(_patterns(streams))
        future = self._request(message, "query", lambda m, i: setattr(m.query, "id", i))
        answer = self._wait(future, timeout, "the query answer")
        return [Estimate.from_proto(e) for e in answer.estimates]

    def stats(self, *, timeout=None):
        """The daemon's counters (``DaemonStats``) as a dict of field name to value."""
        message = wire_pb2.ClientMessage()
        future = self._request(message, "stats", lambda m, i: setattr(m.stats, "id", i))
        return stats_dict(self._wait(future, timeout, "the stats"))

    def reset(self, streams, *, timeout=None):
        """Clears the named streams (names or globs; "*" for all) and returns how many were
        cleared. Raises ``RejectedError`` when the daemon refuses (e.g. an empty list)."""
        message = wire_pb2.ClientMessage()
        message.reset.streams.extend(_patterns(streams))
        future = self._request(message, "ack", lambda m, seq: setattr(m.reset, "seq", seq))
        ack = self._wait(future, timeout, "the reset's Ack")
        if ack.rejected:
            raise RejectedError(ack)
        return ack.accepted

    # ----------------------------------------------------------------------------- subscribe

    def subscribe(self, streams=None, interval_ms=0, anomalies=False, *, callback=None,
                  on_error=None, max_queue=10000, timeout=None):
        """Subscribes to the estimates of the named streams (names or globs; None: all) every
        ``interval_ms`` (0: the daemon's publish_interval) and, with ``anomalies``, to their
        Anomaly events as they happen. Returns a ``Subscription`` to iterate; with
        ``callback``, a background thread calls ``callback(update)`` for each update instead
        (and ``on_error(error)`` if the connection is lost). At most ``max_queue`` updates wait
        (the oldest are dropped beyond; 0: no bound).

        The daemon does not answer a Subscribe, so the client sends a StatsRequest right after
        it: an Error before that answer (e.g. max_subscriptions_per_connection) is raised here.
        """
        patterns = _patterns(streams)
        subscription = Subscription(self, patterns, interval_ms, anomalies, max_queue)
        subscribe = wire_pb2.ClientMessage()
        subscribe.subscribe.streams.extend(patterns)
        subscribe.subscribe.interval_ms = interval_ms
        subscribe.subscribe.anomalies = anomalies
        barrier = wire_pb2.ClientMessage()
        with self._lock:
            self._subscriptions.append(subscription)  # before the daemon can send an update
        try:
            future = self._request(barrier, "stats", lambda m, i: setattr(m.stats, "id", i),
                                   before=frame(subscribe.SerializeToString()))
            self._wait(future, timeout, "the subscription's confirmation")
        except BaseException:
            self._remove_subscription(subscription)
            subscription._end(None)
            raise
        if callback is not None:
            subscription._thread = threading.Thread(
                target=subscription._run_callback, args=(callback, on_error),
                name="mled-subscription", daemon=True)
            subscription._thread.start()
        return subscription

    # ----------------------------------------------------------------------------- lifetime

    def close(self):
        """Closes the connection; waiting calls raise ``MledConnectionError`` and
        subscriptions end. Safe to call twice."""
        with self._lock:
            self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self._thread is not threading.current_thread():
            self._thread.join()
        self._sock.close()
        for subscription in list(self._subscriptions):
            if subscription._thread is not None and \
                    subscription._thread is not threading.current_thread():
                subscription._thread.join()

    @property
    def connected(self):
        return self._error is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ----------------------------------------------------------------------------- internals

    def _request(self, message, kind, set_id, before=b""):
        future = concurrent.futures.Future()
        with self._write_lock:
            with self._lock:
                request_id = self._next_id
                self._next_id += 1
            set_id(message, request_id)
            data = before + frame(message.SerializeToString())
            with self._lock:
                if self._error is not None:
                    raise self._error
                self._pending[(kind, request_id)] = future  # in wire order: the write lock
            try:
                self._sock.sendall(data)
            except OSError as error:
                self._fail(MledConnectionError(
                    f"connection to mled at {self.address} lost while sending: {error}"))
        return future

    def _wait(self, future, timeout, what):
        timeout = self.timeout if timeout is None else timeout
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise MledTimeoutError(
                f"mled at {self.address} sent no answer within {timeout} s ({what})") from None

    def _remove_subscription(self, subscription):
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def _resolve(self, key, value):
        with self._lock:
            future = self._pending.pop(key, None)
        if future is not None and not future.done():
            future.set_result(value)

    def _dispatch(self, message):
        kind = message.WhichOneof("kind")
        if kind == "ack":
            self._resolve(("ack", message.ack.seq), Ack.from_proto(message.ack))
        elif kind == "estimates":
            if message.estimates.query_id:
                self._resolve(("query", message.estimates.query_id), message.estimates)
            else:
                with self._lock:
                    subscriptions = list(self._subscriptions)
                for subscription in subscriptions:
                    subscription._offer_estimates(message.estimates)
        elif kind == "anomaly":
            with self._lock:
                subscriptions = list(self._subscriptions)
            for subscription in subscriptions:
                subscription._offer_anomaly(message.anomaly)
        elif kind == "stats":
            self._resolve(("stats", message.stats.id), message.stats)
        elif kind == "error":
            error = DaemonError(code_name(message.error.code), message.error.message)
            with self._lock:
                future = None
                if self._pending:
                    _, future = self._pending.popitem(last=False)
            if future is not None:
                future.set_exception(error)
            else:
                self.unclaimed_errors.append(error)
                _log.warning("mled at %s: %s", self.address, error)
        else:
            _log.debug("ignoring a ServerMessage of kind %s", kind)

    def _read_loop(self):
        error = None
        try:
            while True:
                data = self._sock.recv(1 << 18)
                if not data:
                    error = MledConnectionError(
                        f"mled at {self.address} closed the connection")
                    break
                self._reader.feed(data)
                for payload in self._reader.frames():
                    message = wire_pb2.ServerMessage()
                    message.ParseFromString(payload)
                    self._dispatch(message)
        except FramingError as failure:
            error = MledConnectionError(f"mled at {self.address} sent a corrupt stream: {failure}")
        except OSError as failure:
            error = MledConnectionError(f"connection to mled at {self.address} lost: {failure}")
        except Exception as failure:  # a message that does not parse, a bug: end cleanly
            error = MledConnectionError(f"mled client reader failed: {failure!r}")
        self._fail(error)

    def _fail(self, error):
        """Marks the connection gone: every waiting request fails, subscriptions end."""
        with self._lock:
            if self._closing:
                error = MledConnectionError(f"the client of mled at {self.address} is closed")
                ended_by_user = True
            else:
                ended_by_user = False
            if self._error is None:
                self._error = error
            pending = list(self._pending.values())
            self._pending.clear()
            subscriptions = list(self._subscriptions)
        for future in pending:
            if not future.done():
                future.set_exception(self._error)
        for subscription in subscriptions:
            subscription._end(None if ended_by_user else self._error)
        if not ended_by_user:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
