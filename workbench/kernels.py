"""The Jupyter kernels the runner executes notebooks in.

Kernels talk over local IPC sockets instead of TCP ports on localhost (so ipykernel does not warn once per
notebook that its TCP traffic is unencrypted), each with its own socket prefix in the temporary folder
(jupyter_client's default, ``kernel-ipc`` in the working folder, would be shared by two runs started from the same
folder); the sockets are removed when the kernel shuts down, and messages stay signed with the connection file's
key. A kernel found dead records its process's exit code (negative: the signal that killed it), so a dead kernel
can be reported as such.

:class:`KernelStarter` starts the kernel of the next notebook, and imports the modules that notebook imports
(and any the caller adds), while the current notebook runs: kernel start-up and imports (a few seconds per notebook) then overlap with work
instead of adding to it. Each notebook still gets a fresh kernel of its own; only modules are imported in advance,
no name is defined in the notebook's namespace.
"""
from __future__ import annotations

import ast
import logging
import tempfile
import uuid
from pathlib import Path

import nbformat

log = logging.getLogger(__name__)


def ipc_kernel_manager_class():
    """The kernel manager class: IPC transport, a socket prefix per kernel, ``exit_codes`` of a dead kernel."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.exit_codes: list[int] = []
            self.clients: list = []

        @default("transport")
        def _transport_default(self):
            return "ipc"

        @default("ip")
        def _ip_default(self):
            return str(Path(tempfile.gettempdir()) / f"workbench-kernel-{uuid.uuid4().hex}")

        def client(self, **kwargs):
            """A client of this kernel, remembered so that its channels are closed with the kernel."""
            kc = super().client(**kwargs)
            self.clients.append(kc)
            return kc

        async def _async_is_alive(self) -> bool:  # what the manager's and its clients' is_alive call
            alive = await super()._async_is_alive()
            process = getattr(self.provisioner, "process", None)
            if not alive and process is not None and process.poll() is not None:
                self.exit_codes.append(process.returncode)
            return alive

        is_alive = _async_is_alive

    return IPCKernelManager


def imported_modules(notebook: Path) -> list[str]:
    """The modules a notebook's code cells import at their top level, in order of first import (``from a.b import
    c`` names ``a.b`` and ``a.b.c``: ``c`` may be a module). Cells that are not plain Python (magics) are read
    without their magic lines; a cell that still does not parse is left out."""
    nb = nbformat.read(str(notebook), as_version=4)
    seen: dict[str, None] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                seen.update(dict.fromkeys(alias.name for alias in node.names))
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                seen[node.module] = None
                seen.update(dict.fromkeys(f"{node.module}.{alias.name}" for alias in node.names
                                          if alias.name != "*"))
    return list(seen)


def _warm_up_code(modules: list[str]) -> str:
    """Code that imports ``modules`` (those that are not modules, or fail, are passed over) and defines no name."""
    return ("def _workbench_warm_up(names):\n"
            "    import importlib\n"
            "    for name in names:\n"
            "        try:\n"
            "            importlib.import_module(name)\n"
            "        except Exception:\n"
            "            pass\n"
            f"_workbench_warm_up({modules!r})\n"
            "del _workbench_warm_up\n")


class KernelStarter:
    """Starts notebook kernels ahead of their turn: :meth:`start` launches a kernel for a notebook and queues the
    import of the notebook's modules (the kernel works on it in its own process while the caller goes on);
    :meth:`stop` shuts a kernel down, with the clients that talked to it."""

    def __init__(self, kernel_name: str = "python3", manager_class: type | None = None,
                 also_import: tuple[str, ...] = ()):
        self.kernel_name = kernel_name
        self.manager_class = manager_class or ipc_kernel_manager_class()
        self.also_import = tuple(also_import)

    def start(self, notebook: Path, env: dict | None = None):
        """A started kernel manager for ``notebook`` (working folder: the notebook's folder; ``env`` added to this
        process's environment), its imports queued."""
        import os

        from jupyter_core.utils import run_sync

        km = self.manager_class(kernel_name=self.kernel_name)
        run_sync(km.start_kernel)(cwd=str(notebook.parent), env={**os.environ, **(env or {})})
        from jupyter_client.session import Session

        # a session of its own: clients that share the manager's session share its socket identity, and the
        # kernel would answer the notebook's client on this one
        kc = km.client(session=Session(key=km.session.key, signature_scheme=km.session.signature_scheme))
        kc.start_channels()
        kc.execute(_warm_up_code([*imported_modules(notebook), *self.also_import]), silent=True,
                   store_history=False)
        return km

    def stop(self, km) -> None:
        """Shut the kernel down and close its clients' channels; a kernel already gone is only cleaned up."""
        from jupyter_core.utils import run_sync

        for kc in km.clients:
            try:
                kc.stop_channels()
            except Exception as exc:  # a client whose sockets are already closed
                log.debug("closing a kernel client: %s", exc)
        km.clients.clear()
        if km.has_kernel:
            try:
                run_sync(km.shutdown_kernel)(now=False)
            except Exception as exc:  # the kernel died with its notebook; its resources are still released
                log.debug("shutting a kernel down: %s", exc)
                run_sync(km.shutdown_kernel)(now=True)

    @staticmethod
    def kill(km) -> None:
        """Kill a kernel's process at once (from any thread): the notebook running in it stops with a dead
        kernel, and the thread that runs it cleans up with :meth:`stop`."""
        process = getattr(getattr(km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            process.kill()
