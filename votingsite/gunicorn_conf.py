"""Gunicorn's configuration for the voting role (the Procfile's `-c python:...`).

With --reuse-port every worker binds the address itself (the kernel spreads connections
over them) and the master holds no socket, so gunicorn logs "Listening at:" with a blank
address. The logger below says the address the workers bind instead.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger as GunicornLogger


class Logger(GunicornLogger):
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        if msg.startswith("Listening at:") and args and not args[0]:
            bound = ",".join(f"http://{address}" for address in self.cfg.bind)
            args = (f"{bound} (each worker binds it: SO_REUSEPORT)", *args[1:])
        super().info(msg, *args, **kwargs)


logger_class = Logger
