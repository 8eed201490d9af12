"""The agent registry: which worker agent an `agent_id` dispatches, and its defaults."""

from .errors import ApiError
from .settings import AgentConfig


class AgentRegistry:
    def __init__(self, agents: dict[str, AgentConfig]) -> None:
        self._agents = dict(agents)

    def get(self, agent_id: str) -> AgentConfig:
        try:
            return self._agents[agent_id]
        except KeyError:
            known = ", ".join(sorted(self._agents)) or "none"
            raise ApiError(
                404, "unknown_agent", f"No agent '{agent_id}' is configured (known: {known})"
            ) from None
