"""Plain-Python views of the daemon's messages: dataclasses with lists, no protobuf types.

Each keeps the message it came from in ``raw`` (not shown in repr) for fields added later.
"""

from dataclasses import dataclass, field
from typing import Any, List, Optional

from ._proto import wire_pb2


def code_name(code):
    """``mled.v1.Code`` number to its name, e.g. 2 -> "DIMENSION_MISMATCH"."""
    try:
        return wire_pb2.Code.Name(code)
    except ValueError:
        return str(code)


def _optional(message, name):
    return getattr(message, name) if message.HasField(name) else None


@dataclass
class Rejection:
    """One rejected ``Sample`` or ``StreamBatch`` of an Ingest (or a refused Reset)."""
    stream: str
    code: str          # a Code name: "INVALID_ARGUMENT", "DIMENSION_MISMATCH", ...
    message: str
    index: int         # position in Ingest.samples, or in Ingest.batches when `batch`
    batch: bool
    rows: int          # rows of the entry that were rejected (1 for a Sample)

    @classmethod
    def from_proto(cls, r):
        return cls(r.stream, code_name(r.code), r.message, r.index, r.batch, r.rows)


@dataclass
class RowScore:
    """The anomaly score of one accepted row (``send(..., return_scores=True)``)."""
    index: int
    batch: bool
    row: int
    scored: bool       # False while the stream warms up: the fields below are 0
    score: float       # s(x) = -log p(x | model before the row), nats
    p_value: float
    anomaly: bool
    threshold: float   # the score at which the row would have been an anomaly
    mahalanobis2: float

    @classmethod
    def from_proto(cls, s):
        return cls(s.index, s.batch, s.row, s.scored, s.score, s.p_value, s.anomaly,
                   s.threshold, s.mahalanobis2)


@dataclass
class Ack:
    """The daemon's answer to an Ingest or Reset: exact counts, and the rejected entries
    (capped at max_rejections_per_ack, 100 by default; the counts never are)."""
    seq: int
    accepted: int      # rows applied (for a Reset: streams cleared)
    rejected: int      # rows rejected
    rejections: List[Rejection]
    scores: List[RowScore]
    raw: Any = field(default=None, repr=False, compare=False)

    @property
    def ok(self):
        return self.rejected == 0

    @classmethod
    def from_proto(cls, a):
        return cls(a.seq, a.accepted, a.rejected,
                   [Rejection.from_proto(r) for r in a.rejections],
                   [RowScore.from_proto(s) for s in a.scores], a)


@dataclass
class Estimate:
    """A stream's current maximum-likelihood estimate.

    ``covariance`` is D lists of D values (D = 1: ``[[variance]]``); ``variance`` is its
    diagonal. ``nll`` (J at the MLE) and ``mean_nll`` (J/N) are None when the model is
    degenerate (N <= D, or a covariance that is not positive definite).
    """
    stream: str
    count: int
    dim: int
    mean: List[float]
    covariance: List[List[float]]
    nll: Optional[float]
    mean_nll: Optional[float]
    last_time_unix_nano: int
    anomalies: int
    last_score: Optional[float]
    last_p_value: Optional[float]
    estimator: str     # "cumulative", "exponential", "window" (or "unspecified")
    effective_count: float
    rule: str
    raw: Any = field(default=None, repr=False, compare=False)

    @property
    def variance(self):
        """The MLE variances (divided by N), one per dimension."""
        return [self.covariance[i][i] for i in range(len(self.covariance))]

    @property
    def unbiased_variance(self):
        """The sample variances N/(N-1)·σ̂² (None while N < 2)."""
        if self.count < 2:
            return None
        return [v * self.count / (self.count - 1) for v in self.variance]

    @classmethod
    def from_proto(cls, e):
        dim = e.dim or len(e.mean)
        flat = list(e.covariance)
        covariance = [flat[i * dim:(i + 1) * dim] for i in range(dim)] if dim else []
        estimator = wire_pb2.Estimator.Name(e.estimator) if e.estimator in \
            wire_pb2.Estimator.values() else str(e.estimator)
        return cls(e.stream, e.count, e.dim, list(e.mean), covariance,
                   _optional(e, "nll"), _optional(e, "mean_nll"), e.last_time_unix_nano,
                   e.anomalies, _optional(e, "last_score"), _optional(e, "last_p_value"),
                   estimator.replace("ESTIMATOR_", "").lower(), e.effective_count, e.rule, e)


@dataclass
class EstimatesUpdate:
    """A publish tick for one subscription: the matching streams that changed since the
    previous tick (or, when the client fell behind, the latest of each)."""
    time_unix_nano: int
    estimates: List[Estimate]
    raw: Any = field(default=None, repr=False, compare=False)


@dataclass
class AnomalyEvent:
    """A sample flagged as an anomaly, sent at once to subscriptions with anomalies=True."""
    stream: str
    time_unix_nano: int
    x: List[float]
    score: float
    p_value: float
    threshold: float
    mahalanobis2: float
    suppressed: int    # anomalies of the stream a cooldown held back since the previous event
    rule: str
    effective_count: float
    mean: List[float]  # the mean of the model x was scored against
    raw: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_proto(cls, a):
        return cls(a.stream, a.time_unix_nano, list(a.x), a.score, a.p_value, a.threshold,
                   a.mahalanobis2, a.suppressed, a.rule, a.effective_count, list(a.mean), a)


def stats_dict(s):
    """``DaemonStats`` as a dict of field name to value (maps as dicts, every field present)."""
    out = {}
    for f in s.DESCRIPTOR.fields:
        value = getattr(s, f.name)
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            value = dict(value)
        elif f.label == f.LABEL_REPEATED:
            value = list(value)
        out[f.name] = value
    return out
