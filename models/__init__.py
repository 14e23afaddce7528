"""Domain: tables, the task state machine and the operations on tasks. Never imports Slack."""
