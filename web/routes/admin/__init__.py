"""Administration pages: users and roles, Ambiti, the partner registry, settings.

Thin: parse the form, call `engine.admin`, render. Every change is checked and logged by
the engine. The administrator sees no case data: at most the code and title of the tasks
a deactivated colleague had taken, which go back to her team.
"""

from fastapi import APIRouter

from web.routes.admin import ambiti, partners, settings, users

router = APIRouter(include_in_schema=False)
for module in (users, ambiti, partners, settings):
    router.include_router(module.router)

__all__ = ["router"]
