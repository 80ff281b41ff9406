"""mled_client: a Python client for mled, the streaming Gaussian-MLE daemon.

    from mled_client import Client

    with Client("127.0.0.1:7070") as mled:
        ack = mled.send("plant7/boiler/temp", [80.1, 79.9, 80.3])   # waits for the Ack
        for e in mled.query("plant7/*"):
            print(e.stream, e.count, e.mean, e.variance, e.nll)
        for update in mled.subscribe("plant7/*", anomalies=True):    # EstimatesUpdate / AnomalyEvent
            print(update)

Speaks the TCP wire contract (proto/mled/v1/wire.proto, length-delimited ClientMessage and
ServerMessage frames) with messages generated from the same .proto by the build. Needs only
protobuf (Debian's python3-protobuf); accepts numpy arrays where it takes rows, if numpy is
there. See clients/python/README.md.
"""

from .client import (
    DEFAULT_ADDRESS,
    Client,
    DaemonError,
    MledConnectionError,
    MledError,
    MledTimeoutError,
    RejectedError,
    Subscription,
    parse_address,
)
from .types import Ack, AnomalyEvent, Estimate, EstimatesUpdate, Rejection, RowScore
from ._proto import wire_pb2

__all__ = [
    "Ack", "AnomalyEvent", "Client", "DEFAULT_ADDRESS", "DaemonError", "Estimate",
    "EstimatesUpdate", "MledConnectionError", "MledError", "MledTimeoutError", "RejectedError",
    "Rejection", "RowScore", "Subscription", "parse_address", "wire_pb2",
]
