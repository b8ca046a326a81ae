"""Virtual time under the fixture: which modules follow the emulator's clock, and which keep real time."""

from __future__ import annotations

import time
import types

from lro_emulator import Emulator


def test_a_user_module_whose_name_starts_with_grpc_reads_virtual_time(lro_emulator: Emulator) -> None:
    """Only grpc and its submodules keep real time: a module of the user's named ``grpc_utils`` follows the clock."""
    module = types.ModuleType("grpc_utils")
    exec("import time\ndef now():\n    return time.time()\n", module.__dict__)  # its functions see __name__ grpc_utils

    assert module.now() == lro_emulator.clock.now().timestamp()
    lro_emulator.clock.advance(60)
    assert module.now() == lro_emulator.clock.now().timestamp()


def test_grpc_itself_keeps_real_time(lro_emulator: Emulator) -> None:
    """grpcio turns timeouts into deadlines with time.time(): its submodules must read the real clock."""
    module = types.ModuleType("grpc._deadlines")  # a submodule of grpc, as grpc._channel is
    exec("import time\ndef now():\n    return time.time()\n", module.__dict__)

    assert abs(module.now() - time.time()) > 3600  # the test's own module is on the clock, in 2030
