"""Loaded by a role's Python at start-up during mutmut's stats pass only (tests/support/mutation.py
puts this folder on PYTHONPATH then): each function call mutmut's trampolines record is
also appended to a file the test process reads, so a function that only a role runs is
still mapped to the tests that reach it."""

import os

_directory = os.environ.get("MUTMUT_ROLE_HITS")

if _directory and os.environ.get("MUTANT_UNDER_TEST") == "stats":
    from mutmut.mutation import trampoline

    _hits = _directory
    _files: dict[int, int] = {}  # pid -> descriptor: a forked worker opens its own

    def _record(name: str, caller: str | None = None) -> None:
        pid = os.getpid()
        if pid not in _files:
            _files[pid] = os.open(
                os.path.join(_hits, f"{pid}.hits"), os.O_WRONLY | os.O_CREAT | os.O_APPEND
            )
        os.write(_files[pid], f"{name}\n".encode())  # one write: lines never interleave

    trampoline.record_trampoline_hit = _record
