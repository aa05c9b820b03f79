"""`inlav audit`: the auditor's workspace from the command line (verification of the
history chains and their checkpoints; retention of closed cases).

Every command goes through `engine.audit`, so the permission matrix and the operation
log apply exactly as they do in the browser.
"""

from __future__ import annotations

import typer

audit_app = typer.Typer(
    help="Revisione: verifica delle catene della storia, punti di controllo, conservazione dei casi.",
    no_args_is_help=True,
)
