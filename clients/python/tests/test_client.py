"""Integration tests of mled_client against the real daemon (MLED_BINARY), stdlib + protobuf.

Each test starts mled on ephemeral loopback ports, reads the port from its startup line, and
stops it with SIGTERM (expecting exit code 0). No timed assertions: waits poll with deadlines.
"""

import math
import os
import re
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import unittest
from fractions import Fraction

from mled_client import (AnomalyEvent, Client, DaemonError, EstimatesUpdate, MledConnectionError,
                         MledTimeoutError, RejectedError)

MLED_BINARY = os.environ.get("MLED_BINARY", "")
# Generous: the same tests run against sanitizer builds.
DEADLINE_S = 60.0
NO_ANOMALIES = "--default_rule=anomaly { enabled: false }"
STARTUP = re.compile(r"mled listening on tcp (\S+), udp (\S+), http (\S+), statsd (\S+) \(")


class Daemon:
    """The mled binary on ephemeral loopback ports."""

    def __init__(self, *flags):
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._final_stderr = ""
        self.command = [MLED_BINARY, "--listen=127.0.0.1:0", "--udp=", "--http=", "--statsd=",
                        "--publish_interval=100ms", *flags]
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                        stderr=self._stderr, text=True)
        self._lines = []
        self._got_line = threading.Event()
        self._drain = threading.Thread(target=self._read_stdout, daemon=True)
        self._drain.start()
        if not self._got_line.wait(DEADLINE_S) or not self._lines:
            self.fail_start(f"no startup line from {' '.join(self.command)}")
        match = STARTUP.search(self._lines[0])
        if not match:
            self.fail_start(f"unexpected startup line {self._lines[0]!r}")
        self.address = match.group(1)
        self.port = int(self.address.rpartition(":")[2])

    def fail_start(self, why):
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait()
        stderr = self.stderr()
        self.kill()
        raise AssertionError(f"{why} (exit code {code}); stderr:\n{stderr}")

    def _read_stdout(self):
        for line in self.process.stdout:  # keeps the pipe drained
            self._lines.append(line)
            self._got_line.set()
        self._got_line.set()  # EOF: exited before (or after) the line

    def stderr(self):
        """The end of the daemon's stderr (kept once the daemon is reaped)."""
        if not self._stderr.closed:
            self._stderr.seek(0)
            self._final_stderr = self._stderr.read()[-4000:]
        return self._final_stderr

    def terminate(self):
        """SIGTERM, then the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(DEADLINE_S)
        finally:
            self.kill()

    def kill(self):
        """Kills the daemon if it still runs, and releases its pipes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._drain.join(DEADLINE_S)
        self.process.stdout.close()
        self.stderr()
        self._stderr.close()


def deterministic_normal(n, offset=0.0, scale=1.0):
    """n values spread like N(0, 1) (normal quantiles), in a scrambled but fixed order."""
    quantiles = [statistics.NormalDist().inv_cdf((i + 0.5) / n) for i in range(n)]
    order = sorted(range(n), key=lambda i: (i * 37) % n)
    return [offset + scale * quantiles[i] for i in order]


def reference(rows):
    """Exact mean and MLE covariance (divided by N) of rows of D values, with Fractions."""
    n = len(rows)
    dim = len(rows[0])
    exact = [[Fraction(v) for v in row] for row in rows]
    mean = [sum(row[j] for row in exact) / n for j in range(dim)]
    cov = [[sum((row[a] - mean[a]) * (row[b] - mean[b]) for row in exact) / n
            for b in range(dim)] for a in range(dim)]
    return mean, cov


def determinant(m):
    if len(m) == 1:
        return m[0][0]
    return m[0][0] * m[1][1] - m[0][1] * m[1][0]


class DaemonTestCase(unittest.TestCase):
    flags = (NO_ANOMALIES,)

    def setUp(self):
        if not MLED_BINARY or not os.access(MLED_BINARY, os.X_OK):
            self.fail(f"MLED_BINARY must name the mled binary (got {MLED_BINARY!r})")
        self.daemon = Daemon(*self.flags)
        self.clients = []

    def tearDown(self):
        for client in self.clients:
            client.close()
        if self.daemon.process.poll() is None:
            code = self.daemon.terminate()
            self.assertEqual(code, 0,
                             f"mled exited {code} on SIGTERM; stderr:\n{self.daemon.stderr()}")
        else:
            self.daemon.kill()

    def connect(self, **kwargs):
        client = Client(self.daemon.address, timeout=DEADLINE_S, **kwargs)
        self.clients.append(client)
        return client

    def wait_for_update(self, subscription, predicate, what):
        """Reads updates until one satisfies `predicate`; returns it."""
        deadline = time.monotonic() + DEADLINE_S
        seen = []
        while time.monotonic() < deadline:
            try:
                update = subscription.get(timeout=max(0.0, deadline - time.monotonic()))
            except MledTimeoutError:
                break
            seen.append(update)
            if predicate(update):
                return update, seen
        self.fail(f"no {what} within {DEADLINE_S} s; saw {seen!r}")


def estimate_of(update, stream):
    if isinstance(update, EstimatesUpdate):
        for e in update.estimates:
            if e.stream == stream:
                return e
    return None


class IngestTest(DaemonTestCase):

    def test_send_waits_for_the_ack(self):
        mled = self.connect()
        ack = mled.send("ingest/a", [1.0, 2.0, 3.0])
        self.assertNotEqual(ack.seq, 0)
        self.assertEqual((ack.accepted, ack.rejected, ack.rejections), (3, 0, []))
        self.assertTrue(ack.ok)
        self.assertEqual(mled.send("ingest/a", 4.0).accepted, 1)  # one number: one sample
        ack = mled.send("ingest/v", [[1, 2], [3, 4.5]])  # rows of D = 2
        self.assertEqual(ack.accepted, 2)
        [v] = mled.query("ingest/v")
        self.assertEqual((v.dim, v.count, v.mean), (2, 2, [2.0, 3.25]))

    def test_batch_forms_for_many_streams(self):
        mled = self.connect()
        ack = mled.send_batches({"many/a": [1, 2, 3], "many/b": [[1, 1], [2, 3]]})
        self.assertEqual((ack.accepted, ack.rejected), (5, 0))
        now = time.time_ns()
        ack = mled.send_batches([("many/c", [5.0, 6.0], [now - 2000, now - 1000]),
                                 ("many/a", [4.0])])
        self.assertEqual(ack.accepted, 3)
        ack = mled.send_samples([("many/a", 5.0), ("many/b", [3, 5]), ("many/d", 1.5, now)])
        self.assertEqual((ack.accepted, ack.rejected), (3, 0))
        ack = mled.ingest(samples=[("many/a", 6)], batches=[("many/d", [2.5], [now - 500])])
        self.assertEqual(ack.accepted, 2)
        got = {e.stream: e for e in mled.query("many/*")}
        self.assertEqual(sorted(got), ["many/a", "many/b", "many/c", "many/d"])
        self.assertEqual((got["many/a"].count, got["many/a"].mean), (6, [3.5]))
        self.assertEqual((got["many/b"].count, got["many/b"].dim), (3, 2))
        self.assertEqual(got["many/c"].last_time_unix_nano, now - 1000)
        self.assertEqual(got["many/d"].last_time_unix_nano, now)

    def test_array_likes_are_accepted(self):
        class ArrayLike:  # what the client uses of a numpy array: tolist()
            def __init__(self, value):
                self.value = value

            def tolist(self):
                return self.value

        mled = self.connect()
        self.assertEqual(mled.send("np/a", ArrayLike([[1.0, 2.0], [3.0, 4.0]])).accepted, 2)
        self.assertEqual(mled.send("np/b", ArrayLike([1.0, 2.0, 3.0])).accepted, 3)
        [a] = mled.query("np/a")
        self.assertEqual(a.dim, 2)
        try:
            import numpy
        except ImportError:
            return
        self.assertEqual(mled.send("np/c", numpy.arange(6.0).reshape(3, 2)).accepted, 3)

    def test_pipelined_ingests_are_acked_by_seq(self):
        mled = self.connect()
        futures = [mled.ingest_async(batches=[("pipe/a", [float(i)])]) for i in range(200)]
        acks = [f.result(DEADLINE_S) for f in futures]
        self.assertEqual([a.accepted for a in acks], [1] * 200)
        seqs = [a.seq for a in acks]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), 200)
        [e] = mled.query("pipe/a")
        self.assertEqual(e.count, 200)

    def test_many_threads_share_one_connection(self):
        mled = self.connect()
        errors = []

        def work(t):
            try:
                for i in range(50):
                    self.assertEqual(mled.send(f"threads/{t}", [float(i)]).accepted, 1)
                    if i % 10 == 0:
                        mled.query(f"threads/{t}")
                        mled.stats()
            except Exception as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual([e.count for e in mled.query("threads/*")], [50] * 4)

    def test_return_scores(self):
        mled = self.connect()
        ack = mled.send("scores/a", [1.0, 2.0, 3.0], return_scores=True)
        self.assertEqual(len(ack.scores), 3)
        self.assertEqual([(s.batch, s.row) for s in ack.scores], [(True, 0), (True, 1), (True, 2)])
        self.assertFalse(any(s.scored for s in ack.scores))  # scoring is off in these tests
        self.assertEqual(mled.send("scores/a", [1.0]).scores, [])


class RejectionTest(DaemonTestCase):

    def test_dimension_mismatch_and_nan_are_rejected(self):
        mled = self.connect()
        self.assertEqual(mled.send("rej/v", [[1.0, 2.0]]).accepted, 1)
        ack = mled.send_samples([("rej/v", [1.0, 2.0, 3.0]), ("rej/v", [3.0, 4.0]),
                                 ("rej/n", float("nan")), ("rej/n", 1.0)])
        self.assertEqual((ack.accepted, ack.rejected), (2, 2))
        codes = {(r.index, r.code, r.stream, r.batch) for r in ack.rejections}
        self.assertEqual(codes, {(0, "DIMENSION_MISMATCH", "rej/v", False),
                                 (2, "INVALID_ARGUMENT", "rej/n", False)})
        self.assertTrue(all(r.message for r in ack.rejections))
        [v] = mled.query("rej/v")
        self.assertEqual(v.count, 2)  # the valid rest was applied

    def test_check_raises_with_the_rejections(self):
        mled = self.connect()
        with self.assertRaises(RejectedError) as raised:
            mled.send("rej/c", [1.0, float("inf"), 2.0], check=True)
        error = raised.exception
        self.assertEqual((error.ack.accepted, error.ack.rejected), (2, 1))
        self.assertEqual([r.code for r in error.rejections], ["INVALID_ARGUMENT"])
        self.assertEqual(error.rejections[0].stream, "rej/c")
        self.assertIn("INVALID_ARGUMENT", str(error))
        with self.assertRaises(RejectedError):
            mled.send("bad\nname", [1.0], check=True)
        self.assertEqual(mled.send("rej/c", [3.0], check=True).accepted, 1)


class QueryTest(DaemonTestCase):

    def test_univariate_estimate_equals_the_two_pass_reference(self):
        mled = self.connect()
        values = deterministic_normal(1000, offset=1e6, scale=3.0)
        for start in range(0, len(values), 128):  # several batches
            mled.send("q/x", values[start:start + 128], check=True)
        mled.send_samples([("q/x", v) for v in values[:17]], check=True)  # and single samples
        values = values + values[:17]
        [e] = mled.query("q/x")
        mean, cov = reference([[v] for v in values])
        n = len(values)
        self.assertEqual((e.stream, e.count, e.dim), ("q/x", n, 1))
        self.assertAlmostEqual(e.mean[0], float(mean[0]), delta=1e-12 * abs(float(mean[0])))
        variance = float(cov[0][0])
        self.assertAlmostEqual(e.covariance[0][0], variance, delta=1e-9 * variance)
        self.assertEqual(e.variance, [e.covariance[0][0]])
        self.assertAlmostEqual(e.unbiased_variance[0], variance * n / (n - 1),
                               delta=1e-9 * variance)
        nll = n / 2 * (math.log(2 * math.pi) + math.log(variance) + 1)
        self.assertAlmostEqual(e.nll, nll, delta=1e-9 * abs(nll))
        self.assertAlmostEqual(e.mean_nll, nll / n, delta=1e-9 * abs(nll / n))
        self.assertEqual((e.estimator, e.effective_count), ("cumulative", n))

    def test_bivariate_estimate_equals_the_two_pass_reference(self):
        mled = self.connect()
        xs = deterministic_normal(500, offset=10.0, scale=2.0)
        ys = deterministic_normal(500, offset=-5.0, scale=0.5)
        rows = [[x, 0.3 * x + y] for x, y in zip(xs, reversed(ys))]
        mled.send("q/xy", rows[:300], check=True)
        mled.send("q/xy", rows[300:], check=True)
        [e] = mled.query(["q/xy"])
        mean, cov = reference(rows)
        n, dim = len(rows), 2
        self.assertEqual((e.count, e.dim), (n, dim))
        for j in range(dim):
            self.assertAlmostEqual(e.mean[j], float(mean[j]), delta=1e-12 * abs(float(mean[j])))
        scale = float(max(cov[0][0], cov[1][1]))
        for a in range(dim):
            for b in range(dim):
                self.assertAlmostEqual(e.covariance[a][b], float(cov[a][b]), delta=1e-9 * scale)
        nll = n / 2 * (dim * math.log(2 * math.pi) + math.log(float(determinant(cov))) + dim)
        self.assertAlmostEqual(e.nll, nll, delta=1e-9 * abs(nll))

    def test_degenerate_model_has_no_nll_and_unknown_names_are_left_out(self):
        mled = self.connect()
        mled.send("q/one", [5.0], check=True)
        [e] = mled.query("q/one")
        self.assertEqual((e.count, e.mean, e.covariance), (1, [5.0], [[0.0]]))
        self.assertIsNone(e.nll)
        self.assertIsNone(e.mean_nll)
        self.assertEqual(mled.query("q/nothing-here"), [])
        self.assertEqual([x.stream for x in mled.query()], ["q/one"])


class SubscribeTest(DaemonTestCase):

    def test_iterator_receives_updates_after_sends(self):
        mled = self.connect()
        with mled.subscribe("sub/*") as subscription:
            mled.send("sub/a", [1.0, 2.0, 3.0], check=True)
            mled.send("other/a", [1.0], check=True)
            update, seen = self.wait_for_update(
                subscription, lambda u: getattr(estimate_of(u, "sub/a"), "count", 0) == 3,
                "update with sub/a at count 3")
            self.assertEqual(estimate_of(update, "sub/a").mean, [2.0])
            for u in seen:
                self.assertIsInstance(u, EstimatesUpdate)
                self.assertTrue(all(e.stream.startswith("sub/") for e in u.estimates))
            mled.send("sub/a", [4.0], check=True)
            self.wait_for_update(subscription,
                                 lambda u: getattr(estimate_of(u, "sub/a"), "count", 0) == 4,
                                 "update with sub/a at count 4")
        self.assertTrue(subscription.closed)
        with self.assertRaises(StopIteration):
            next(subscription)

    def test_iteration_in_a_for_loop_ends_when_the_client_closes(self):
        mled = Client(self.daemon.address, timeout=DEADLINE_S)
        subscription = mled.subscribe(interval_ms=50)
        mled.send("loop/a", [1.0], check=True)
        got = []
        for update in subscription:
            got.append(update)
            if estimate_of(update, "loop/a") is not None:
                mled.close()  # ends the loop
        self.assertTrue(any(estimate_of(u, "loop/a") for u in got))

    def test_callback_runs_on_a_background_thread(self):
        mled = self.connect()
        received = []
        done = threading.Event()

        def on_update(update):
            received.append((threading.current_thread(), update))
            e = estimate_of(update, "cb/a")
            if e is not None and e.count == 5:
                done.set()

        subscription = mled.subscribe(["cb/a"], interval_ms=50, callback=on_update)
        mled.send("cb/a", [1, 2, 3, 4, 5], check=True)
        self.assertTrue(done.wait(DEADLINE_S), f"callback saw {received!r}")
        self.assertTrue(all(t is not threading.main_thread() for t, _ in received))
        subscription.close()

    def test_updates_are_demultiplexed_between_subscriptions_and_answers(self):
        mled = self.connect()
        a = mled.subscribe("demux/a/*")
        b = mled.subscribe(["demux/b/x", "demux/b/y"], interval_ms=50)
        for i in range(20):  # answers and acks interleave with the updates
            mled.send_batches({"demux/a/1": [float(i)], "demux/b/x": [float(i), 1.0]},
                              check=True)
            self.assertEqual(len(mled.query("demux/*")), 2)
        self.wait_for_update(a, lambda u: getattr(estimate_of(u, "demux/a/1"), "count", 0) == 20,
                             "demux/a/1 at 20")
        self.wait_for_update(b, lambda u: getattr(estimate_of(u, "demux/b/x"), "count", 0) == 40,
                             "demux/b/x at 40")
        mled.send("demux/a/1", [0.0], check=True)
        _, seen_a = self.wait_for_update(
            a, lambda u: getattr(estimate_of(u, "demux/a/1"), "count", 0) == 21, "a at 21")
        mled.send("demux/b/y", [0.0], check=True)
        _, seen_b = self.wait_for_update(b, lambda u: estimate_of(u, "demux/b/y") is not None,
                                         "demux/b/y")
        self.assertTrue(all(e.stream.startswith("demux/a/") for u in seen_a for e in u.estimates))
        self.assertTrue(all(e.stream.startswith("demux/b/") for u in seen_b for e in u.estimates))

    def test_subscription_limit_is_a_daemon_error(self):
        self.assertEqual(self.daemon.terminate(), 0)
        self.daemon = Daemon(NO_ANOMALIES, "--max_subscriptions_per_connection=2")
        mled = self.connect()
        mled.subscribe("lim/a")
        mled.subscribe("lim/b")
        in_flight = [mled.ingest_async(batches=[("lim/a", [1.0])]) for _ in range(50)]
        with self.assertRaises(DaemonError) as raised:
            mled.subscribe("lim/c")
        # The Error went to the subscription, not to the requests answered before it.
        self.assertEqual([f.result(DEADLINE_S).accepted for f in in_flight], [1] * 50)
        self.assertEqual(raised.exception.code, "RESOURCE_EXHAUSTED")
        self.assertIn("max_subscriptions_per_connection", str(raised.exception))
        self.assertEqual(mled.send("lim/a", [1.0]).accepted, 1)  # the connection goes on


class ErrorFrameTest(DaemonTestCase):
    flags = (NO_ANOMALIES, "--max_frame_bytes=1000")

    def test_an_oversized_frame_is_a_daemon_error_then_the_connection_closes(self):
        mled = self.connect()
        self.assertEqual(mled.send("big/a", [1.0]).accepted, 1)
        with self.assertRaises(DaemonError) as raised:
            mled.send("big/a", [float(i) for i in range(500)])  # about 4 kB
        self.assertEqual(raised.exception.code, "FRAME_TOO_LARGE")
        self.assertIn("max_frame_bytes", raised.exception.message)
        with self.assertRaises(MledConnectionError):
            deadline = time.monotonic() + DEADLINE_S
            while time.monotonic() < deadline:  # until the client sees the close
                mled.query()
                time.sleep(0.01)
        other = self.connect()  # other connections are untouched
        self.assertEqual([e.count for e in other.query("big/a")], [1])


class AnomalyTest(DaemonTestCase):
    flags = ()  # the default anomaly policy: p < 1e-6 after a 30-sample warm-up

    def test_anomaly_subscription_receives_the_outlier(self):
        mled = self.connect()
        subscription = mled.subscribe("anom/*", anomalies=True)
        mled.send("anom/x", deterministic_normal(100), check=True)
        ack = mled.send("anom/x", [1000.0], return_scores=True, check=True)
        [score] = ack.scores
        self.assertTrue(score.scored and score.anomaly)
        self.assertLess(score.p_value, 1e-6)
        event, _ = self.wait_for_update(subscription, lambda u: isinstance(u, AnomalyEvent),
                                        "Anomaly")
        self.assertEqual((event.stream, event.x), ("anom/x", [1000.0]))
        self.assertGreater(event.score, event.threshold)
        self.assertEqual(event.effective_count, 100)
        self.assertAlmostEqual(event.mean[0], 0.0, delta=1e-9)
        # The anomaly stays out of the model, and the estimate counts it.
        [e] = mled.query("anom/x")
        self.assertEqual((e.count, e.anomalies), (100, 1))

    def test_subscription_without_anomalies_gets_no_events(self):
        mled = self.connect()
        estimates_only = mled.subscribe("anom/*")
        with_anomalies = mled.subscribe("anom/*", anomalies=True)
        mled.send("anom/y", deterministic_normal(100), check=True)
        mled.send("anom/y", [-500.0], check=True)
        self.wait_for_update(with_anomalies, lambda u: isinstance(u, AnomalyEvent), "Anomaly")
        mled.send("anom/y", [0.5], check=True)  # then a tick after the anomaly
        _, seen = self.wait_for_update(
            estimates_only, lambda u: getattr(estimate_of(u, "anom/y"), "count", 0) == 101,
            "anom/y at 101")
        self.assertFalse(any(isinstance(u, AnomalyEvent) for u in seen))


class ResetAndStatsTest(DaemonTestCase):

    def test_reset_clears_matching_streams(self):
        mled = self.connect()
        mled.send_batches({"r/a": [1.0], "r/b": [2.0], "keep/c": [3.0]}, check=True)
        self.assertEqual(mled.reset("r/*"), 2)
        self.assertEqual([e.stream for e in mled.query()], ["keep/c"])
        self.assertEqual(mled.reset("r/*"), 0)
        with self.assertRaises(RejectedError) as raised:
            mled.reset([])
        self.assertEqual(raised.exception.rejections[0].code, "INVALID_ARGUMENT")
        self.assertEqual(mled.reset("*"), 1)
        self.assertEqual(mled.query(), [])

    def test_stats(self):
        mled = self.connect()
        mled.send("st/a", [1.0, 2.0, float("nan")])
        mled.query()
        stats = mled.stats()
        self.assertEqual(stats["samples_accepted"], 2)
        self.assertEqual(stats["samples_rejected"], 1)
        self.assertEqual(stats["samples_rejected_by_code"], {"INVALID_ARGUMENT": 1})
        self.assertEqual(stats["streams"], 1)
        self.assertGreaterEqual(stats["queries"], 1)
        self.assertEqual(stats["connections_current"], 1)
        self.assertIn("uptime_ns", stats)


class ConnectionTest(DaemonTestCase):

    def test_connecting_to_nothing_is_a_connection_error(self):
        with socket.socket() as probe:  # a port with no listener
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with self.assertRaises(MledConnectionError) as raised:
            Client(f"127.0.0.1:{port}", timeout=DEADLINE_S)
        self.assertIn(f"127.0.0.1:{port}", str(raised.exception))

    def test_a_daemon_that_goes_away_raises_a_clear_error(self):
        mled = self.connect()
        subscription = mled.subscribe()
        mled.send("gone/a", [1.0], check=True)
        self.assertEqual(self.daemon.terminate(), 0)  # SIGTERM: clean stop, exit 0
        deadline = time.monotonic() + DEADLINE_S
        while mled.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertFalse(mled.connected)
        with self.assertRaises(MledConnectionError) as raised:
            mled.send("gone/a", [2.0])
        self.assertIn("closed the connection", str(raised.exception))
        with self.assertRaises(MledConnectionError):
            mled.query()
        with self.assertRaises(MledConnectionError):  # after any updates already received
            while True:
                subscription.get(timeout=DEADLINE_S)

    def test_a_killed_daemon_fails_waiting_requests(self):
        mled = self.connect()
        mled.send("kill/a", [1.0], check=True)
        self.daemon.process.kill()
        self.daemon.process.wait()
        with self.assertRaises(MledConnectionError):
            deadline = time.monotonic() + DEADLINE_S
            while time.monotonic() < deadline:  # until the client notices
                mled.query()
                time.sleep(0.01)

    def test_close_is_idempotent_and_later_calls_raise(self):
        mled = Client(self.daemon.address, timeout=DEADLINE_S)
        mled.close()
        mled.close()
        with self.assertRaises(MledConnectionError) as raised:
            mled.stats()
        self.assertIn("closed", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
