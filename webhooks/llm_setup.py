"""The tutor's model from the settings: `make_llm(settings)` is the one place that picks the
provider, so the container (and the CLI) only ask for "the model, if any"."""

from __future__ import annotations

import logging

from pydantic import SecretStr

from core.tutor.breaker import CircuitBreaker, GuardedLlm
from core.tutor.llm import Llm
from webhooks.config import Settings
from webhooks.langchain_llm import LangchainLlm

log = logging.getLogger(__name__)
NO_KEY = "unused"  # the openai SDK insists on a key; Ollama and llama.cpp ignore it


def make_llm(settings: Settings) -> Llm | None:
    """The configured model behind a circuit breaker, or None (no provider, no key, or no server
    URL): then every feature takes its offline path. The caller closes it on shutdown."""
    provider = settings.llm_provider
    if provider == "anthropic":
        key = _secret(settings.anthropic_api_key)
        if not key:
            log.warning("PAU_LLM_PROVIDER=anthropic but ANTHROPIC_API_KEY is empty: no LLM tutor")
            return None
        inner = LangchainLlm.anthropic(
            api_key=key,
            base_url=settings.anthropic_base_url or None,
            model=settings.pau_llm_model,
            timeout=settings.pau_llm_timeout,
            max_retries=settings.pau_llm_max_retries,
        )
    elif provider == "openai":
        if not settings.pau_llm_base_url:
            log.warning("PAU_LLM_PROVIDER=openai but PAU_LLM_BASE_URL is empty: no LLM tutor")
            return None
        inner = LangchainLlm.openai(
            base_url=settings.pau_llm_base_url,
            api_key=_secret(settings.pau_llm_api_key) or NO_KEY,
            model=settings.pau_llm_model,
            timeout=settings.pau_llm_timeout,
            max_retries=settings.pau_llm_max_retries,
        )
    else:
        return None
    breaker = CircuitBreaker(
        failures=settings.pau_llm_breaker_failures, open_seconds=settings.pau_llm_breaker_seconds
    )
    log.info("LLM tutor: %s, model %s", provider, settings.pau_llm_model)
    return GuardedLlm(inner, breaker)


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
