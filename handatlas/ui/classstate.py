"""The instructors' class progress, inside the Author mode (no panel import).

Only a signed-in instructor of *this* session gets a report: :meth:`ClassState.refresh` asks the
session's :class:`~handatlas.ui.authorstate.AuthorState` first, and signing out forgets it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import param

from handatlas.quiz.classreport import ClassReport, class_report, csv_text
from handatlas.quiz.drill import folder_bank
from handatlas.quiz.problems import QuizFlowError
from handatlas.quiz.progress import ProgressStore, StoreError
from handatlas.ui.authorstate import AuthorState


class ClassState(param.Parameterized):
    """A class's progress for the instructor signed in to the session's Author mode.

    Parameters
    ----------
    author
        The session's author state: who is signed in.
    folder
        The quizzes folder (its tags give the topics).
    progress_db
        The progress store (a path or SQLAlchemy URL; default the user's data folder).
    """

    report = param.ClassSelector(class_=ClassReport, default=None, allow_None=True,
                                 doc="The last report read (None: none, or nobody signed in).")
    learner = param.String(default="", doc="The learner whose rows are shown ('' = the class's topics).")

    def __init__(self, author: AuthorState, folder: Path, progress_db: str | None, **params: Any) -> None:
        super().__init__(**params)
        self.author = author
        self.folder = folder
        self.progress_db = progress_db
        author.param.watch(lambda e: self.param.update(report=None, learner="") if e.new is None else None,
                           "user")

    def refresh(self) -> ClassReport | None:
        """Read the report from the store, for a signed-in instructor only (else None, with a message)."""
        hand = self.author.hand
        if self.author.user is None:
            hand.message = "Only a signed-in instructor sees the class's progress."
            self.report = None
            return None
        try:
            bank, _left_out = folder_bank(self.folder)  # the topics of the files the app offers
            with ProgressStore.open(self.progress_db) as store:
                self.report = class_report(store, bank)
        except (QuizFlowError, StoreError, ValueError) as err:
            hand.message = str(err)
            return None
        hand.message = ""
        return self.report

    def csv(self) -> str:
        """The report as CSV text ('' when there is none or nobody is signed in)."""
        if self.author.user is None or self.report is None:
            return ""
        return csv_text(self.report)
