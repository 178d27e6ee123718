"""Boards of a shared lab reached through labgrid (coordinator, exporters, reservations).

An inventory board with `backend = "labgrid"` names a labgrid place. For a test session the
harness reserves that place through the coordinator (labgrid's fair queue), acquires it, reads
the place's resources (the bootloader UART as a `NetworkSerialPort`, the debug probe as a
`NetworkService` pointing at a pyOCD probe server) and opens the same pyOCD Target as for a
board on the desk. The place is released when the process ends, also on Ctrl-C.

Modules: `client` (a synchronous handle on labgrid's asyncio client), `hold` (reservations
and the places this process holds), `reach` (a place's resources as probe and UART URLs),
`target` (the Target), `exporter` (exporter configuration for served simulated boards).
"""

import os

# labgrid talks gRPC, whose core registers fork handlers that run in a forked child. A process
# holding a coordinator connection also starts subprocesses (hil, pyocd, exporters): with gRPC
# threads busy the handlers are skipped in the parent, and the child then aborts before its
# exec on the poller state it inherited (seen as a -6 exit). Children here always exec at
# once, which needs no fork support. Set before labgrid (and so gRPC) is first imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

from stm32_hil.labgrid.errors import LabgridError, PlaceUnavailableError

__all__ = ["LabgridError", "PlaceUnavailableError"]
