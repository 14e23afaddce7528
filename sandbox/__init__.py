"""Local stand-ins for Slack: a fake Web API server and a simulated Slack that calls the bot."""

from sandbox.client import SimResponse, SlackClientSim
from sandbox.standin import ApiCall, SlackError, SlackStandIn

__all__ = ["ApiCall", "SimResponse", "SlackClientSim", "SlackError", "SlackStandIn"]
