"""Load benchmark: the Handoff bot against a bare Bolt app, both served by waitress (see bench/README.md)."""
