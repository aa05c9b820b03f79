"""Run diagram expressions, scripts and instruction templates in separate, limited processes.

A pool of long-lived child processes (see `child.py`) evaluates code compiled with the
restricted policy. Each call has a wall-clock deadline: a child that does not answer in
time is killed and replaced, so `while True: pass` costs one child, not the server.
Memory is capped inside the child with RLIMIT_AS.
"""

from __future__ import annotations

import json
import os
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from typing import Any

from engine import codec
from engine.sandbox.lint import NameProblem, bundle_names, name_problems, reserved_problems
from engine.sandbox.policy import build_builtins, check_code
from engine.sandbox.templates import MAX_TEMPLATE, check_template

__all__ = [
    "NameProblem",
    "SandboxFailure",
    "ScriptPool",
    "build_builtins",
    "bundle_names",
    "check_code",
    "check_template",
    "configure_pool",
    "get_pool",
    "get_render_pool",
    "name_problems",
    "reserved_problems",
]

_HEADER = struct.Struct(">I")
_CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")
MAX_REQUEST_BYTES = 32 * 1024 * 1024


class SandboxFailure(Exception):
    """A script or expression could not produce a result; `kind` says why."""

    def __init__(
        self, kind: str, message: str, line: int | None = None, code: str | None = None, mode: str | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.line = line
        self.code = code
        self.mode = mode

    def __str__(self) -> str:
        """«riga 2: `d.k`: l'oggetto dict non ha l'attributo «k»» (line only for scripts)."""
        parts = []
        if self.line and self.mode != "eval":
            parts.append(f"riga {self.line}")
        if self.code and f"«{self.code}»" not in self.message:
            parts.append(f"`{self.code}`")
        return ": ".join([*parts, self.message])


class _Child:
    """One sandbox process and its pipes."""

    def __init__(self, memory_bytes: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", _CHILD, str(memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.fd = self.proc.stdout.fileno()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()

    def call(self, payload: bytes, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        try:
            self.stdin.write(_HEADER.pack(len(payload)) + payload)
            self.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise SandboxFailure("crash", "il processo di calcolo non risponde") from exc
        (size,) = _HEADER.unpack(self._read_exact(_HEADER.size, deadline))
        answer: dict[str, Any] = json.loads(self._read_exact(size, deadline))
        return answer

    def _read_exact(self, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        remaining = size
        while remaining:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxFailure("timeout", "tempo di calcolo esaurito")
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.fd, min(remaining, 1 << 20))
            if not chunk:
                raise SandboxFailure("crash", "il processo di calcolo si è interrotto (memoria esaurita?)")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


class ScriptPool:
    """A bounded, thread-safe pool of sandbox children."""

    def __init__(self, size: int = 4, timeout: float = 2.0, memory_mb: int = 256, max_depth: int = 64) -> None:
        self.size = max(1, size)
        self.timeout = timeout
        self.memory_bytes = memory_mb * 1024 * 1024
        self.max_depth = max_depth
        self._idle: queue.LifoQueue[_Child] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(self.size)
        self._all: set[_Child] = set()
        self._lock = threading.Lock()

    def evaluate(self, expression: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
        """Value of a restricted expression in the given data context."""
        answer = self._call({"op": "eval", "code": expression}, context, extra)
        return codec.from_jsonable(answer.get("result"))

    def execute(self, script: str, context: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a restricted script; returns the new data context (variables it left)."""
        answer = self._call({"op": "exec", "code": script}, context, extra)
        result: dict[str, Any] = codec.from_jsonable(answer.get("context") or {})
        return result

    def render(self, template: str, context: dict[str, Any], wait: float | None = None) -> str:
        """Fill an instruction template (Jinja) with task data, under the same limits as scripts.

        `wait` bounds how long to wait for a free child (None: as long as it takes); when
        it expires the failure's kind is "busy".
        """
        answer = self._call({"op": "render", "code": template[:MAX_TEMPLATE]}, context, None, wait)
        return str(answer.get("result") or "")

    def _call(
        self,
        request: dict[str, Any],
        context: dict[str, Any],
        extra: dict[str, Any] | None,
        wait: float | None = None,
    ) -> dict[str, Any]:
        try:
            request["context"] = codec.to_jsonable(context)
            request["extra"] = codec.to_jsonable(extra or {})
            request["max_depth"] = self.max_depth
        except codec.UnstorableValue as exc:
            raise SandboxFailure("unstorable", str(exc)) from exc
        payload = json.dumps(request, ensure_ascii=False, allow_nan=False).encode("utf-8")
        if len(payload) > MAX_REQUEST_BYTES:
            raise SandboxFailure("memory", "dati del caso troppo grandi per il calcolo")
        child = self._checkout(wait)
        healthy = False
        try:
            answer = child.call(payload, self.timeout)
            healthy = True
        finally:
            self._checkin(child, healthy)
        if not answer.get("ok"):
            raise SandboxFailure(
                answer.get("kind", "runtime"),
                answer.get("message", "errore"),
                answer.get("line"),
                answer.get("code"),
                request.get("op"),
            )
        return answer

    def _checkout(self, wait: float | None = None) -> _Child:
        if not self._slots.acquire(timeout=wait):
            raise SandboxFailure("busy", "tutti i processi di calcolo sono occupati")
        try:
            while True:
                try:
                    child = self._idle.get_nowait()
                except queue.Empty:
                    child = _Child(self.memory_bytes)
                    with self._lock:
                        self._all.add(child)
                    return child
                if child.alive():
                    return child
                self._discard(child)
        except BaseException:
            self._slots.release()
            raise

    def _checkin(self, child: _Child, healthy: bool) -> None:
        try:
            if healthy and child.alive():
                self._idle.put(child)
            else:
                self._discard(child)
        finally:
            self._slots.release()

    def _discard(self, child: _Child) -> None:
        child.kill()
        with self._lock:
            self._all.discard(child)

    def close(self) -> None:
        """Stop every child (tests, shutdown)."""
        with self._lock:
            children = list(self._all)
            self._all.clear()
        for child in children:
            child.kill()
        while not self._idle.empty():
            self._idle.get_nowait()


_pool: ScriptPool | None = None
_render_pool: ScriptPool | None = None
_pool_lock = threading.Lock()


def configure_pool(size: int, timeout: float, memory_mb: int, max_depth: int = 64) -> ScriptPool:
    """Replace the process-wide pools (called when settings are loaded).

    Instruction templates get a pool of their own, half the size, under the same limits:
    a hostile template viewed many times at once can then hold at most those children,
    never the ones that run case steps.
    """
    global _pool, _render_pool
    wanted = (max(1, size), timeout, memory_mb * 1024 * 1024, max_depth)
    with _pool_lock:
        old, old_render = _pool, _render_pool
        if old is not None and (old.size, old.timeout, old.memory_bytes, old.max_depth) == wanted:
            return old
        _pool = ScriptPool(size, timeout, memory_mb, max_depth)
        _render_pool = ScriptPool(max(1, size // 2), timeout, memory_mb, max_depth)
    for stale in (old, old_render):
        if stale is not None:
            stale.close()
    return _pool


def get_pool() -> ScriptPool:
    """The process-wide pool for expressions and scripts, created with defaults on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ScriptPool()
        return _pool


def get_render_pool() -> ScriptPool:
    """The process-wide pool for instruction templates (separate from the scripts' pool)."""
    global _render_pool
    with _pool_lock:
        if _render_pool is None:
            _render_pool = ScriptPool(2)
        return _render_pool
