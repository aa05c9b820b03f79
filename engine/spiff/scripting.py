"""SpiffWorkflow script engine whose every evaluation runs in the sandbox pool."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.sandbox import get_pool


class SandboxEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """Evaluate and execute through `engine.sandbox` instead of plain eval/exec."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        return get_pool().evaluate(expression, context, external_context)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        updated = get_pool().execute(script, context, external_context)
        context.clear()
        context.update(updated)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise NotImplementedError("i service task non sono supportati")


class SandboxScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """The only script engine our workflows ever get."""

    def __init__(self) -> None:
        super().__init__(environment=SandboxEnvironment())


SCRIPT_ENGINE = SandboxScriptEngine()
