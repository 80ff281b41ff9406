"""Length-delimited framing: each frame is a varint length, then that many bytes.

This is protobuf's delimited format (Java's writeDelimitedTo, Go's protodelim). The codec is
written here rather than taken from ``google.protobuf.internal``, which is not a public API.
"""

MAX_VARINT_BYTES = 10


def encode_varint(value):
    """Returns the base-128 varint encoding of a non-negative integer below 2**64."""
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def frame(payload):
    """Returns one frame: the varint length of ``payload``, then ``payload``."""
    return encode_varint(len(payload)) + payload


class FramingError(ValueError):
    """The byte stream is not length-delimited frames (corrupt or oversized length)."""


class FrameReader:
    """Splits a byte stream into frames; feed it bytes as they arrive.

    >>> reader = FrameReader()
    >>> reader.feed(frame(b"abc") + frame(b"de")[:2])
    >>> list(reader.frames())
    [b'abc']
    """

    def __init__(self, max_frame_bytes=1 << 30):
        self._buffer = bytearray()
        self._max = max_frame_bytes

    def feed(self, data):
        self._buffer += data

    def buffered(self):
        """Bytes received that do not yet form a whole frame."""
        return len(self._buffer)

    def frames(self):
        """Yields every complete frame buffered so far, as bytes."""
        buffer = self._buffer
        pos = 0
        try:
            while True:
                length = 0
                shift = 0
                i = pos
                while True:
                    if i >= len(buffer):
                        return  # the length is not complete yet
                    byte = buffer[i]
                    i += 1
                    length |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    shift += 7
                    if i - pos >= MAX_VARINT_BYTES:
                        raise FramingError("frame length is not a valid varint (over 10 bytes)")
                if length > self._max:
                    raise FramingError(
                        f"frame length {length} exceeds the client's limit of {self._max} bytes")
                if i + length > len(buffer):
                    return  # the payload is not complete yet
                yield bytes(buffer[i:i + length])
                pos = i + length
        finally:
            del buffer[:pos]
