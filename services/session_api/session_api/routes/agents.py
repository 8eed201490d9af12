"""The agents clients can talk to, and whether their workers can answer right now."""

from typing import Any

from fastapi import APIRouter

from voice_common import worker_readiness

from ..dependencies import Services
from ..models import AgentId, AgentStatus, ErrorResponse

router = APIRouter(prefix="/api/voice", tags=["agents"])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (404, 503)}


@router.get("/agents/{agent_id}", response_model=AgentStatus, responses=_ERRORS)
async def agent_status(agent_id: AgentId, services: Services) -> AgentStatus:
    """The workers' own report of their providers: the web client tells the user before a call
    when the stack cannot answer (no LLM configured, say) instead of letting the agent apologise
    on every turn."""
    agent = services.agents.get(agent_id)
    reports = await worker_readiness.reports(services.redis, agent.agent_name)
    problems = sorted({problem for report in reports for problem in report.problems})
    return AgentStatus(
        agent_id=agent_id,
        display_name=agent.display_name,
        workers=len(reports),
        ready=any(report.ready for report in reports) if reports else None,
        problems=problems,
    )
