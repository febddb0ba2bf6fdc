"""Say at once, in one line, that a server command cannot listen where it was told to."""

from __future__ import annotations

import errno
import socket

from fraud_detection.entrypoints.cli.errors import BAD_INPUT, UNAVAILABLE, fail


def check_bindable(host: str, port: int, host_option: str = "--host", port_option: str = "--port") -> None:
    """Bind once, as uvicorn will (SO_REUSEADDR), and let go. uvicorn binds only after the app's startup
    has loaded the model, then exits 3 with a log of the OSError: a taken port must fail first, in one line.
    """
    if not host.strip():  # the socket layer takes "" as every interface: say so rather than guess
        raise fail(f"{host_option}: empty; give an address (0.0.0.0 to listen on every interface)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # uvicorn's own choice of family
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            where = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
            if error.errno == errno.EADDRINUSE:
                raise fail(
                    f"port {where} is in use by another process (stop it, or choose another {port_option})",
                    UNAVAILABLE,
                ) from None
            reason = error.strerror or str(error)
            raise fail(
                f"{host_option}/{port_option}: cannot listen on {where}: {reason}", BAD_INPUT
            ) from None
