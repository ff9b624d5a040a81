"""jinja2 templates: bot texts (messages/<lang>.yaml) and, later, LLM prompts."""
