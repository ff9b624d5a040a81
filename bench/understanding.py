"""How well PAU understands learners, on utterances written without looking at its rules.

    python bench/understanding.py [FILE.jsonl ...]

Each line of a file is {"where", "said", "means", "outcome"}: a place in the dialogue (the places
of tests/utterances.py), a learner's message, what a careful reader says it means, and what should
come of it. Both files in bench/data/ were written by helpers who had not seen
core/dialogue/meaning.py, the other set, or the tests:
  utterances_dev.jsonl       120 lines; measured once untouched (meaning 72.5 %, outcome 78.3 %),
                             then used to tune the rules: its figures are no longer held out;
  utterances_heldout.jsonl   150 lines; first measured after tuning on the dev set ended
                             (meaning 87.3 %, outcome 91.3 %); a few rules were fixed after
                             reading its failures, so later figures on it were seen too.
Prints, per file, the accuracy of the meaning and of the outcome per place, beside the
majority-class baseline ("every message is an answer") on the same rows, and every row that fails.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.content_loader import load_course  # noqa: E402
from core.dialogue import World  # noqa: E402
from core.dialogue.meaning import Meaning  # noqa: E402
from tests.conftest import DEMO_COURSE  # noqa: E402
from tests.utterances import Row, outcome_of, run  # noqa: E402

DEFAULT_FILES = [
    ROOT / "bench" / "data" / f"utterances_{name}.jsonl" for name in ("dev", "heldout")
]


def load(path: Path) -> list[Row]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            rows.append(Row(data["where"], data["said"], Meaning(data["means"]), data["outcome"]))
    return rows


def main(path: Path) -> None:
    course = load_course(DEMO_COURSE)
    world = World({course.slug: course})
    rows = load(path)
    meaning_right: Counter[str] = Counter()
    outcome_right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    failures = []
    for row in rows:
        meaning, transition, before = run(row, world)
        outcome = outcome_of(transition, before)
        total[row.where] += 1
        meaning_right[row.where] += meaning is row.means
        outcome_right[row.where] += outcome == row.outcome
        if meaning is not row.means or outcome != row.outcome:
            failures.append((row, meaning, outcome))
    baseline = sum(row.means is Meaning.ANSWER for row in rows)
    n = len(rows)
    print(f"{n} utterances ({path.name})\n")
    print(f"{'place':<20} {'rows':>5} {'meaning':>8} {'outcome':>8}")
    for place in sorted(total):
        count = total[place]
        print(f"{place:<20} {count:>5} {meaning_right[place] / count:>8.0%} "
              f"{outcome_right[place] / count:>8.0%}")  # fmt: skip
    meaning_share = sum(meaning_right.values()) / n
    print(f"{'all':<20} {n:>5} {meaning_share:>8.1%} {sum(outcome_right.values()) / n:>8.1%}")
    print(f"\nbaseline (every message is an answer): meaning {baseline / n:.1%}; "
          f"PAU / baseline = {meaning_share / (baseline / n):.2f}x")  # fmt: skip
    print(f"\n{len(failures)} rows fail:")
    for row, meaning, outcome in failures:
        print(f"  {row.where}: {row.said!r}\n    expected {row.means.value}/{row.outcome}, "
              f"got {meaning.value}/{outcome}")  # fmt: skip


if __name__ == "__main__":
    logging.disable(logging.WARNING)  # "mentor requested" lines from rows that ask for a person
    for number, file in enumerate([Path(a) for a in sys.argv[1:]] or DEFAULT_FILES):
        print("\n" if number else "", end="")
        main(file)
