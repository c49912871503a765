"""A class's progress for its instructor: per learner and per topic, the weakest topics first.

Everything comes from the progress store (:mod:`handatlas.quiz.progress`) and the bank's tags:
for each learner and ``topic:`` tag, the answers given, the share fully right, the mean score,
the predicted recall now (FSRS retrievability of the learner's cards of that topic), the cards
due and the last answer.  The class's topics are ranked by mean predicted recall (then
accuracy), lowest first: what to teach again.  :func:`write_csv` writes the per-learner rows.
No panel import here; the instructors' Class mode (:mod:`handatlas.ui`) and ``handatlas class``
display it.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from fsrs import Scheduler

from handatlas.names import counted
from handatlas.quiz.drill import BankQuestion
from handatlas.quiz.progress import ProgressStore, utcnow

#: Tags the report is broken down by.
TOPIC_PREFIX = "topic:"
#: The CSV's columns, in order.
CSV_COLUMNS = ("learner", "topic", "answers", "accuracy", "mean_score", "predicted_recall", "cards",
               "cards_due", "last_activity")


@dataclass(frozen=True)
class LearnerTopic:
    """One learner's standing on one topic.

    Attributes
    ----------
    learner, topic : str
        The learner's name and the topic (without ``topic:``).
    answers : int
        Answers given to questions of this topic.
    accuracy : float or None
        Share of those answers fully right (None without answers).
    mean_score : float or None
        Mean score of those answers, 0 to 1.
    recall : float or None
        Mean predicted recall now (FSRS retrievability) of the learner's cards of this topic.
    cards, due : int
        Cards (questions reviewed at least once) of this topic, and those due now.
    last : datetime or None
        The last answer to a question of this topic (UTC).
    """

    learner: str
    topic: str
    answers: int
    accuracy: float | None
    mean_score: float | None
    recall: float | None
    cards: int
    due: int
    last: datetime | None

    def row(self) -> dict[str, str]:
        """The CSV row: numbers rounded, blanks for what is unknown, times in ISO 8601 (UTC)."""
        def num(x: float | None) -> str:
            return "" if x is None else f"{x:.3f}"

        last = "" if self.last is None else f"{self.last.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
        return {"learner": self.learner, "topic": self.topic, "answers": str(self.answers),
                "accuracy": num(self.accuracy), "mean_score": num(self.mean_score),
                "predicted_recall": num(self.recall), "cards": str(self.cards), "cards_due": str(self.due),
                "last_activity": last}


@dataclass(frozen=True)
class ClassTopic:
    """One topic over the whole class (the learners who answered it)."""

    topic: str
    learners: int
    answers: int
    accuracy: float
    recall: float | None
    due: int


@dataclass(frozen=True)
class ClassReport:
    """Per learner and topic (:attr:`rows`), and per topic over the class, weakest first (:attr:`topics`)."""

    rows: tuple[LearnerTopic, ...]
    topics: tuple[ClassTopic, ...]
    learners: tuple[str, ...]
    at: datetime

    def for_learner(self, learner: str) -> list[LearnerTopic]:
        """One learner's rows, weakest topic first."""
        return sorted((r for r in self.rows if r.learner == learner), key=_weakness)


def _weakness(row: LearnerTopic) -> tuple[float, float, str]:
    recall = 1.0 if row.recall is None else row.recall
    return (recall, 1.0 if row.accuracy is None else row.accuracy, row.topic)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def class_report(store: ProgressStore, bank: Sequence[BankQuestion], *, now: datetime | None = None,
                 scheduler: Scheduler | None = None) -> ClassReport:
    """Every learner of the store, per ``topic:`` tag of the bank's questions they answered.

    Answers to questions no longer in the bank are left out (their topics are unknown).

    Examples
    --------
    >>> report = class_report(store, load_bank())  # doctest: +SKIP
    >>> report.topics[0].topic  # the class's weakest topic  # doctest: +SKIP
    'carpal_tunnel'
    """
    now = utcnow() if now is None else now
    scheduler = scheduler or Scheduler()
    topics_of = {q.uid: [t.removeprefix(TOPIC_PREFIX) for t in q.tags if t.startswith(TOPIC_PREFIX)]
                 for q in bank}
    rows: list[LearnerTopic] = []
    learners = tuple(store.learner_names())
    for learner in learners:
        answered: dict[str, list] = defaultdict(list)
        for a in store.answers(learner):
            for topic in topics_of.get(f"{a.quiz_id}/{a.question_id}", ()):
                answered[topic].append(a)
        recalls: dict[str, list[float]] = defaultdict(list)
        due: dict[str, int] = defaultdict(int)
        for (quiz_id, qid), card in store.cards(learner).items():
            r = float(scheduler.get_card_retrievability(card.card, now))
            for topic in topics_of.get(f"{quiz_id}/{qid}", ()):
                recalls[topic].append(r)
                due[topic] += card.due <= now
        for topic in sorted(set(answered) | set(recalls)):
            given = answered.get(topic, [])
            rows.append(LearnerTopic(
                learner, topic, len(given), _mean([float(a.correct) for a in given]),
                _mean([a.score for a in given]), _mean(recalls.get(topic, [])), len(recalls.get(topic, [])),
                due.get(topic, 0), max((a.answered_at for a in given), default=None)))
    by_topic: dict[str, list[LearnerTopic]] = defaultdict(list)
    for row in rows:
        by_topic[row.topic].append(row)
    topics = []
    for topic, group in by_topic.items():
        answers = sum(r.answers for r in group)
        right = sum((r.accuracy or 0.0) * r.answers for r in group)
        topics.append(ClassTopic(topic, len(group), answers, right / answers if answers else 0.0,
                                 _mean([r.recall for r in group if r.recall is not None]),
                                 sum(r.due for r in group)))
    topics.sort(key=lambda t: (1.0 if t.recall is None else t.recall, t.accuracy, t.topic))
    return ClassReport(tuple(sorted(rows, key=lambda r: (r.learner.lower(), _weakness(r)))), tuple(topics),
                       learners, now)


def csv_text(report: ClassReport) -> str:
    """The per-learner rows as CSV text (header first), weakest topic first within a learner.

    Cells that a spreadsheet would run as a formula (a learner typed ``=1+1``) are quoted with a
    leading apostrophe.
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in report.rows:
        writer.writerow({k: _cell(v) for k, v in row.row().items()})
    return out.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def topics_text(report: ClassReport, *, limit: int = 15) -> str:
    """The class's weakest topics as a few aligned lines."""
    if not report.topics:
        return "No answers yet."
    lines = [f"{counted(len(report.learners), 'learner')}; the weakest topics first:",
             f"{'topic':32s} {'learners':>8s} {'answers':>7s} {'right':>6s} {'recall':>6s} {'due':>4s}"]
    for t in report.topics[:limit]:
        recall = "" if t.recall is None else f"{t.recall:.0%}"
        lines.append(f"{t.topic:32s} {t.learners:8d} {t.answers:7d} {t.accuracy:6.0%} {recall:>6s} "
                     f"{t.due:4d}")
    return "\n".join(lines)
