"""Public lead data sets, loaded ready to train on.

The files are not shipped with leadlife (their licence is unknown); give the path
of your copy, or keep it where the project's own checkout expects it, next to the
repository in ``shared/data/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from leadlife.errors import FeatureSchemaError
from leadlife.ml.encoding import clean_frame

__all__ = [
    "X_EDUCATION_IDS",
    "X_EDUCATION_LABEL",
    "X_EDUCATION_POST_CONTACT",
    "X_EDUCATION_STAFF_ASSIGNED",
    "load_x_education",
    "x_education_path",
]

X_EDUCATION_LABEL = "Converted"
X_EDUCATION_IDS = ("Prospect ID", "Lead Number")
X_EDUCATION_POST_CONTACT = ("Tags", "Lead Quality", "Last Activity", "Last Notable Activity")
"""Filled in by sales after contact, or recording post-contact events: they leak the label."""
X_EDUCATION_STAFF_ASSIGNED = (
    "Lead Profile",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
)
"""Assigned by X Education's staff, not by the lead: maybe unknown when a lead arrives."""

_ENVIRONMENT = "LEADLIFE_X_EDUCATION"


def x_education_path() -> Path:
    """Where :func:`load_x_education` looks without a path.

    ``$LEADLIFE_X_EDUCATION`` when set, else ``shared/data/x_education_leads/Leads.csv``
    beside the leadlife checkout.
    """
    configured = os.environ.get(_ENVIRONMENT)
    if configured:
        return Path(configured)
    checkout = Path(__file__).resolve().parents[3]
    return checkout.parent / "shared" / "data" / "x_education_leads" / "Leads.csv"


def load_x_education(
    path: str | os.PathLike[str] | None = None,
    *,
    include_post_contact: bool = False,
    include_staff_assigned: bool = True,
) -> tuple[pd.DataFrame, pd.Series]:
    """X Education's leads (the "Lead Scoring Dataset", ``Leads.csv``) as ``(X, y)``.

    The table goes through :func:`~leadlife.ml.encoding.clean_frame`: the form default
    ``"Select"`` and blanks are missing values, Yes/No flags are 1.0/0.0. The
    identifiers (``Prospect ID``, ``Lead Number``) are dropped; the index is the
    Prospect ID, named ``lead_id``. ``y`` is ``Converted`` (0/1 ints).

    :param path: the CSV file; None looks in :func:`x_education_path`.
    :param include_post_contact: keep ``Tags``, ``Lead Quality``, ``Last Activity`` and
        ``Last Notable Activity``. They are filled in after sales contacted the lead
        and give the outcome away (5-fold AUC near 0.98 with them); keep them only to
        see the leakage guard catch them.
    :param include_staff_assigned: keep ``Lead Profile`` and the ``Asymmetrique``
        indices and scores, which X Education's staff assign. The benchmark numbers
        include them; leave them out for a score that only uses what the lead gave.
    """
    source = Path(path) if path is not None else x_education_path()
    if not source.is_file():
        raise FileNotFoundError(
            f"X Education's Leads.csv not found at {source}. Fix: pass its path, "
            f"load_x_education('path/to/Leads.csv'), or set ${_ENVIRONMENT}; the file is "
            "the public 'Lead Scoring Dataset' (Kaggle, GitHub copies) and is not shipped "
            "with leadlife"
        )
    raw = pd.read_csv(source)
    expected = (X_EDUCATION_LABEL, *X_EDUCATION_IDS, *X_EDUCATION_POST_CONTACT)
    missing = [name for name in expected if name not in raw.columns]
    if missing:
        raise FeatureSchemaError(
            f"{source} lacks the X Education columns {missing}",
            "give the original Leads.csv (37 columns, one row per lead)",
            missing=missing,
        )
    dropped = [*X_EDUCATION_IDS, X_EDUCATION_LABEL]
    if not include_post_contact:
        dropped += X_EDUCATION_POST_CONTACT
    if not include_staff_assigned:
        dropped += [name for name in X_EDUCATION_STAFF_ASSIGNED if name in raw.columns]
    frame = clean_frame(raw.set_index(pd.Index(raw["Prospect ID"], name="lead_id")))
    y = raw[X_EDUCATION_LABEL].astype(int).set_axis(frame.index).rename(X_EDUCATION_LABEL)
    return frame.drop(columns=dropped), y
