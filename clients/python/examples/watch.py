#!/usr/bin/env python3
"""Subscribes to mled and prints each update: one line per changed stream, and anomalies.

    PYTHONPATH=build/clients/python/gen:clients/python \\
        /usr/bin/python3 clients/python/examples/watch.py 'plant7/*' --anomalies

Stops after --count updates, or on Ctrl-C.
"""

import argparse
import datetime
import sys

from mled_client import AnomalyEvent, Client, MledError


def when(unix_nanos):
    return datetime.datetime.fromtimestamp(unix_nanos / 1e9).strftime("%H:%M:%S.%f")[:-3]


def short(values):
    text = ", ".join(f"{v:.6g}" for v in values)
    return text if len(values) == 1 else f"[{text}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("streams", nargs="*", help="names or globs (default: every stream)")
    parser.add_argument("--addr", default="127.0.0.1:7070", help="mled's TCP address")
    parser.add_argument("--interval-ms", type=int, default=0,
                        help="publish interval (0: the daemon's publish_interval)")
    parser.add_argument("--anomalies", action="store_true", help="also print anomalies")
    parser.add_argument("--count", type=int, default=0, help="exit after this many updates")
    args = parser.parse_args()

    try:
        with Client(args.addr) as mled:
            subscription = mled.subscribe(args.streams or None, args.interval_ms, args.anomalies)
            for n, update in enumerate(subscription, 1):
                if isinstance(update, AnomalyEvent):
                    print(f"{when(update.time_unix_nano)} ANOMALY {update.stream} "
                          f"x={short(update.x)} mean={short(update.mean)} "
                          f"score={update.score:.4g} > {update.threshold:.4g} "
                          f"p={update.p_value:.3g}", flush=True)
                else:
                    for e in update.estimates:
                        nll = "degenerate" if e.nll is None else f"nll/N={e.mean_nll:.6g}"
                        print(f"{when(update.time_unix_nano)} {e.stream} n={e.count} "
                              f"mean={short(e.mean)} var={short(e.variance)} {nll} "
                              f"anomalies={e.anomalies}", flush=True)
                if args.count and n >= args.count:
                    return 0
    except KeyboardInterrupt:
        return 0
    except MledError as error:
        print(f"watch.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
