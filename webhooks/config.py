"""One settings object, read from the environment and a `.env` file (see .env.example)."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEYS = frozenset({"", "change-me", "changeme", "secret", "dev"})
MIN_SECRET_KEY_CHARS = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///pau.db"
    redis_url: str | None = None
    pau_secret_key: SecretStr = SecretStr("change-me")
    pau_base_url: str = "http://localhost:8000"
    pau_content_dir: str = "content"
    pau_log_level: str = "INFO"
    pau_debug_logs: bool = False  # learner data (texts, ids) and tracebacks in the logs
    pau_desired_retention: float = Field(default=0.9, gt=0.5, lt=1.0)
    pau_message_retention_days: int = Field(default=30, ge=7)  # chat history kept this long
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_per_chat_rate: float = Field(default=1.0, gt=0)  # messages a second to one chat
    telegram_overall_rate: float = Field(default=30.0, gt=0)  # messages a second for the bot
    telegram_read_timeout: float = Field(default=10.0, gt=0)  # seconds to wait for an answer
    whatsapp_phone_id: str | None = None
    whatsapp_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_api_base_url: str = "https://graph.facebook.com"  # a fake's, in tests
    whatsapp_api_version: str = "23.0"
    whatsapp_rate: float = Field(default=80.0, gt=0, le=1000)  # messages a second for the number
    whatsapp_per_recipient_rate: float = Field(default=1.0, gt=0)  # to one learner, after a burst
    whatsapp_templates: str = ""  # outside the 24-hour window; "": prompts/whatsapp_templates.yaml
    # mentors: when they answer (what learners are told), and how urgent escalations reach them
    pau_mentor_hours: str = "mon-fri 09:00-17:00 UTC"
    pau_mentor_alert_url: str | None = None  # POSTed a JSON alert (e.g. a Slack/Teams webhook)
    pau_mentor_alert_command: str | None = None  # run with the JSON alert on stdin (e.g. mail)
    # the LLM tutor (DESIGN.md §6); without a model every feature has its offline path
    pau_llm_provider: Literal["anthropic", "openai", "none", ""] = ""  # "": see llm_provider
    pau_llm_base_url: str | None = None  # an OpenAI-compatible server: http://localhost:11434/v1
    pau_llm_api_key: SecretStr | None = None  # for that server (Ollama takes anything)
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    pau_llm_model: str = "claude-sonnet-4-5"
    # seconds per attempt, and retries on 429, 5xx, time-outs with backoff: together well inside
    # the commands' time-outs (core/commands.py), so the offline answer always comes first
    pau_llm_timeout: float = Field(default=15.0, gt=0, le=20)
    pau_llm_max_retries: int = Field(default=1, ge=0, le=2)
    pau_llm_daily_tokens_per_learner: int = Field(default=40_000, ge=0)  # ~15 questions; 0: none
    pau_llm_daily_tokens: int = Field(default=2_000_000, ge=0)  # everyone together; 0: no limit
    pau_llm_breaker_failures: int = Field(default=5, ge=1)  # consecutive failures: circuit opens
    pau_llm_breaker_seconds: float = Field(default=60.0, gt=0)  # open this long, then one trial

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def llm_provider(self) -> str:
        """PAU_LLM_PROVIDER, or by default "anthropic" when ANTHROPIC_API_KEY is set, else
        "none"."""
        if self.pau_llm_provider:
            return self.pau_llm_provider
        key = self.anthropic_api_key
        return "anthropic" if key is not None and key.get_secret_value() else "none"

    @property
    def channels_on(self) -> list[str]:
        """The platform channels whose credentials are set."""
        on = []
        if self.telegram_bot_token is not None and self.telegram_bot_token.get_secret_value():
            on.append("telegram")
        if self.whatsapp_token is not None and self.whatsapp_token.get_secret_value():
            on.append("whatsapp")
        return on

    @property
    def secret_key_is_default(self) -> bool:
        key = self.pau_secret_key.get_secret_value()
        return key.strip().lower() in DEFAULT_SECRET_KEYS or len(key) < MIN_SECRET_KEY_CHARS

    @property
    def secret_key_bytes(self) -> bytes:
        return self.pau_secret_key.get_secret_value().encode("utf-8")


@cache
def get_settings() -> Settings:
    return Settings()
