"""Handoff's composition root: settings, the Bolt app, serving, rendering and Slack delivery."""
