"""Imports the messages generated from proto/mled/v1/wire.proto (nothing generated is committed).

The build generates them into ``<build>/clients/python/gen`` (target ``mled_python_proto``,
part of ``all``). Put that directory on PYTHONPATH; when it is not there, this module also looks
in ``build/clients/python/gen`` of the checkout it lives in, which ``scripts/run`` builds.
"""

import os
import sys

try:
    from mled.v1 import wire_pb2  # noqa: F401
except ImportError as first_error:
    _root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    _gen = os.path.join(_root, "build", "clients", "python", "gen")
    if not os.path.isfile(os.path.join(_gen, "mled", "v1", "wire_pb2.py")):
        raise ImportError(
            "mled_client needs mled/v1/wire_pb2.py, generated from proto/mled/v1/wire.proto: "
            "build it (cmake --build build --target mled_python_proto, or scripts/run) and put "
            "build/clients/python/gen on PYTHONPATH, or run `protoc --python_out=DIR -I proto "
            "proto/mled/v1/wire.proto` and put DIR there. It also needs python3-protobuf "
            f"(Debian) or the protobuf package: {first_error}") from first_error
    sys.path.append(_gen)
    from mled.v1 import wire_pb2  # noqa: F401,E402
__all__ = ["wire_pb2"]
