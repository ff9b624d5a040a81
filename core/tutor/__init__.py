"""The LLM tutor (DESIGN.md §6): the model port, prompts, grounded answers, Socratic hints,
grading with structured output, guardrails, budgets and the offline fallbacks."""
