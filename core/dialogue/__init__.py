"""The dialogue engine: pure `step(snapshot, event, now, world)` functions over named states."""

from core.dialogue.model import Snapshot, Transition, World
from core.dialogue.states import State
from core.dialogue.step import step

__all__ = ["Snapshot", "State", "Transition", "World", "step"]
