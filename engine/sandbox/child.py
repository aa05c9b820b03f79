"""Sandbox child: runs diagram expressions and scripts under hard OS limits.

Started by `engine.sandbox.ScriptPool` as `python -I child.py MEMORY_BYTES`. It reads
length-prefixed JSON requests on stdin and answers on stdout. Code is compiled with
the restricted policy; the address space is capped with RLIMIT_AS so a script that
tries to build a huge value gets a MemoryError instead of taking the server down;
the parent kills this process if an answer does not come in time.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name: str, path: str) -> Any:
    """Load one of our stdlib-only modules by path, without importing the engine package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"inlav_sandbox_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


codec = _load("codec", os.path.join(os.path.dirname(HERE), "codec.py"))
policy = _load("policy", os.path.join(HERE, "policy.py"))
messages = _load("messages", os.path.join(HERE, "messages.py"))
templates = _load("templates", os.path.join(HERE, "templates.py"))

MAX_ANSWER_BYTES = 32 * 1024 * 1024
_HEADER = struct.Struct(">I")


def _read_frame(stream: Any) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    return bytes(stream.read(size))


def _write_frame(stream: Any, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether a value nests lists/dicts more than `limit` levels (iterative: any depth is safe)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        if level + 1 > limit:
            return True
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list, tuple)))
    return False


def _too_deep(limit: int, variable: str | None) -> dict[str, Any]:
    where = f" (variabile «{variable}»)" if variable else ""
    return {"ok": False, "kind": "limit", "message": f"annidamento oltre {limit} livelli{where}"}


def _describe(exc: BaseException) -> str:
    return str(messages.describe(exc))


class Runner:
    """Compiles (with a small cache) and runs one request at a time."""

    def __init__(self) -> None:
        self.builtins = policy.build_builtins()
        self.cache: dict[tuple[str, str], Any] = {}

    def compiled(self, source: str, mode: str) -> Any:
        key = (mode, source)
        code = self.cache.get(key)
        if code is None:
            if len(self.cache) > 1024:
                self.cache.clear()
            code = policy.compile_code(source, mode)
            self.cache[key] = code
        return code

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "result": "pong"}
        if op == "render":
            return self.render(request)
        mode = "eval" if op == "eval" else "exec"
        try:
            code = self.compiled(request["code"], mode)
        except policy.RestrictedCodeError as exc:
            return {"ok": False, "kind": "compile", "message": "; ".join(exc.problems)}

        context = codec.from_jsonable(request.get("context") or {})
        extra = codec.from_jsonable(request.get("extra") or {})
        scope: dict[str, Any] = {"__builtins__": self.builtins, "__name__": "diagramma"}
        scope.update(extra)
        scope.update(context)
        limit = int(request.get("max_depth") or 64)
        try:
            if mode == "eval":
                result = eval(code, scope)  # noqa: S307 - restricted code in a limited process
                if _deeper_than(result, limit):
                    return _too_deep(limit, None)
                return {"ok": True, "result": codec.to_jsonable(result, "risultato")}
            exec(code, scope)  # noqa: S102 - restricted code in a limited process
            for name in policy.RESERVED_NAMES:
                # Set by the platform at start: a step may read them, never change or delete them.
                if name in context and (name not in scope or scope[name] != context[name]):
                    return {"ok": False, "kind": "runtime", "message": policy.reserved_message(name)}
            updated = {
                key: value
                for key, value in scope.items()
                if not key.startswith("_") and key not in extra and not callable(value)
            }
            # Checked here, iteratively, before anything is encoded: an answer nested deeper
            # than a case may hold would only exhaust the stack of whoever decodes it.
            for key, value in updated.items():
                if _deeper_than(value, limit):
                    return _too_deep(limit, key)
            return {"ok": True, "context": codec.to_jsonable(updated)}
        except MemoryError:
            scope.clear()
            return {"ok": False, "kind": "memory", "message": "memoria esaurita"}
        except codec.UnstorableValue as exc:
            return {"ok": False, "kind": "unstorable", "message": str(exc)}
        except RecursionError:
            return {"ok": False, "kind": "runtime", "message": "ricorsione troppo profonda"}
        except BaseException as exc:
            answer: dict[str, Any] = messages.runtime_error(exc, policy.prepared_source(request["code"], mode))
            return answer

    def render(self, request: dict[str, Any]) -> dict[str, Any]:
        """Fill an instruction template: compiled here, since Jinja folds constants while compiling."""
        data = codec.from_jsonable(request.get("context") or {})
        source = str(request.get("code") or "")
        try:
            template = self.cache.get(("render", source))
            if template is None:
                if len(self.cache) > 1024:
                    self.cache.clear()
                template = templates.compile_template(source)
                self.cache[("render", source)] = template
            return {"ok": True, "result": templates.fill(template, data)}
        except MemoryError:
            return {"ok": False, "kind": "memory", "message": "memoria esaurita"}
        except RecursionError:
            return {"ok": False, "kind": "template", "message": "ricorsione troppo profonda"}
        except templates.TemplateSyntaxError as exc:
            return {"ok": False, "kind": "template", "message": templates.syntax_message(exc)}
        except Exception as exc:
            return {"ok": False, "kind": "template", "message": templates.runtime_message(exc, messages.describe)}


def main() -> None:
    memory = int(sys.argv[1]) if len(sys.argv) > 1 else 256 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # Nothing the script prints may corrupt the protocol stream.
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    runner = Runner()
    while True:
        frame = _read_frame(stdin)
        if frame is None:
            return
        try:
            try:
                answer = runner.handle(json.loads(frame))
            except (MemoryError, TypeError, ValueError):
                raise
            except Exception as exc:
                answer = {"ok": False, "kind": "runtime", "message": _describe(exc)}
            payload = json.dumps(answer, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except MemoryError:
            payload = b'{"ok": false, "kind": "memory", "message": "memoria esaurita"}'
        except (TypeError, ValueError) as exc:
            payload = json.dumps({"ok": False, "kind": "unstorable", "message": str(exc)}).encode()
        if len(payload) > MAX_ANSWER_BYTES:
            payload = b'{"ok": false, "kind": "memory", "message": "risultato troppo grande"}'
        _write_frame(stdout, payload)


if __name__ == "__main__":
    main()
