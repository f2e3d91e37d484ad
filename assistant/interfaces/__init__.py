"""User-facing interfaces (CLI, web, Slack), each thin over `assistant.service.Assistant`."""
