"""Local stand-ins for Slack: a fake Web API (and Socket Mode) server and a simulated Slack that calls the bot."""

from sandbox.client import SimResponse, SlackClientSim
from sandbox.standin import ApiCall, SlackError, SlackStandIn, SocketEnvelopeType

__all__ = ["ApiCall", "SimResponse", "SlackClientSim", "SlackError", "SlackStandIn", "SocketEnvelopeType"]
