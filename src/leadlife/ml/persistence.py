"""Saving, loading and comparing models: a joblib file plus a JSON sidecar per version.

A pickle runs code when it is loaded, so a model file is only unpickled after its
sidecar vouches for it: the file's sha256 must match, it must come from the same
major versions of leadlife and scikit-learn and from a numpy major no newer than the
running one, and (when asked) its features must be the ones the caller will pass. The
checks read the sidecar and the file's bytes only, and the bytes that were hashed are
the bytes that get unpickled.

Versions. ``save_model(model, "models/lead-scorer")`` names a model; each call writes
the next version beside the earlier ones::

    models/lead-scorer.v1.joblib   models/lead-scorer.v1.joblib.json
    models/lead-scorer.v2.joblib   models/lead-scorer.v2.joblib.json

``load_model("models/lead-scorer")`` loads the newest version, ``version=1`` an older
one, and a path to a ``.joblib`` file exactly that file. Files are never overwritten.

The sha256 protects against a corrupted or swapped model file. It is not a signature:
whoever can rewrite both files can forge it. Pin the hash you deployed with
``load_model(..., sha256=...)`` when the folder is not fully trusted.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn

from leadlife.errors import (
    FeatureSchemaError,
    InvalidArgumentError,
    InvalidTimeError,
    ModelError,
    ModelIntegrityError,
    ModelVersionError,
)

__all__ = [
    "FORMAT_VERSION",
    "compare_models",
    "hash_frame",
    "load_model",
    "model_versions",
    "read_sidecar",
    "resolve_model",
    "save_model",
]

FORMAT = "leadlife-model"
FORMAT_VERSION = 1
SUFFIX = ".joblib"
SIDECAR_SUFFIX = ".json"
NUMERIC = "numeric"
CATEGORICAL = "categorical"
_VERSIONED = re.compile(r"^(?P<name>.+)\.v(?P<version>\d+)$")
_CHUNK = 1024 * 1024
# Packages whose major version must be the one that saved a model.
_CHECKED_PACKAGES = ("leadlife", "scikit-learn")
# Metrics compare_models lists, and whether a higher value is the better one.
_COMPARED = {
    "roc_auc": True,
    "pr_auc": True,
    "brier": False,
    "log_loss": False,
    "top_decile_lift": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "accuracy": True,
}


# -- saving ----------------------------------------------------------------------------


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    report: Any = None,
    training_data: pd.DataFrame | None = None,
    data_hash: str | None = None,
    created_at: datetime | None = None,
    compress: int = 3,
) -> Path:
    """Write ``model`` as the next version of the model named ``path``; return its file.

    ``path`` names the model (``models/lead-scorer``; a ``.joblib`` suffix is
    ignored). The model goes to ``<path>.v<N>.joblib`` with ``N`` one more than the
    highest version already there (1 for the first), and its sidecar to
    ``<path>.v<N>.joblib.json``. Give a :class:`~leadlife.ml.training.TrainingResult`
    as ``model`` and its model, report and data hash are all used.

    The sidecar records the format version, the leadlife, scikit-learn, numpy, pandas,
    joblib and Python versions, the estimator class, the feature schema (names and
    kinds, from ``training_data`` when given, else from the fitted model), the
    training data hash (``data_hash``, or computed from ``training_data``), the
    report's metrics, ``created_at`` (an aware datetime; the current UTC time when
    omitted), the model file's size and sha256, and the version number.
    ``compress`` is joblib's zlib level (0 for none).
    """
    schema_frame = training_data
    rows = None if training_data is None else len(training_data)
    if _is_training_result(model):
        report = model.report if report is None else report
        data_hash = model.data_hash if data_hash is None else data_hash
        rows = getattr(model, "train_rows", None) if rows is None else rows
        schema_frame = model.X_test if schema_frame is None else schema_frame
        model = model.model
    _refuse_unfitted(model)
    moment = datetime.now(UTC) if created_at is None else created_at
    if moment.utcoffset() is None:
        raise InvalidTimeError("created_at", moment)
    folder, name, named_version = _model_name(path)
    if named_version is not None:
        raise InvalidArgumentError(
            "path",
            f"{str(path)!r} names version {named_version}, and save_model numbers versions itself",
            f"name the model without '.v{named_version}', e.g. {str(folder / name)!r}",
        )
    folder.mkdir(parents=True, exist_ok=True)
    if data_hash is None and training_data is not None:
        data_hash = hash_frame(training_data)
    version, model_file = _claim_next_version(folder, name)
    try:
        with open(model_file, "wb") as handle:
            joblib.dump(model, handle, compress=compress)
        sidecar = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name,
            "version": version,
            "model_file": model_file.name,
            "sha256": _file_sha256(model_file),
            "size_bytes": model_file.stat().st_size,
            "created_at": moment.isoformat(),
            "estimator": _class_path(model),
            "inner_estimator": _inner_estimator(model),
            "classes": _json_safe(list(getattr(model, "classes_", []))),
            "features": _feature_schema(model, schema_frame),
            "training_data": {"sha256": data_hash, "rows": rows},
            "metrics": _json_safe(dict(report.metrics)) if report is not None else {},
            "versions": _running_versions(),
        }
        _write_json(_sidecar_path(model_file), sidecar)
    except BaseException:
        # No half-saved version: without its sidecar a model file could never load anyway.
        model_file.unlink(missing_ok=True)
        _sidecar_path(model_file).unlink(missing_ok=True)
        raise
    return model_file


def hash_frame(frame: pd.DataFrame) -> str:
    """The sha256 of a canonical serialization of ``frame``'s columns and cells.

    Stable across runs, processes and storage: integers and floats of equal value hash
    alike (1 and 1.0), so do every kind of missing value (a column of nothing but
    missing values too, object or float), and the index is ignored.
    Column names, column order and row order count, because they change what a
    model learns (the holdout split follows row order): the hash says "exactly this
    table", which is what makes a saved model reproducible.
    """
    digest = hashlib.sha256(b"leadlife.data_hash.v1\0")
    header = {"columns": [str(column) for column in frame.columns], "rows": len(frame)}
    digest.update(json.dumps(header, ensure_ascii=False).encode("utf-8"))
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        # A column of missing values only hashes as one, whatever its dtype: object
        # None in memory is float NaN once written to CSV and read back.
        empty = len(column) > 0 and bool(column.isna().all())
        if empty or pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            values = (
                np.full(len(column), np.nan)
                if empty
                else column.to_numpy(dtype="float64", na_value=np.nan)
            )
            # One bit pattern for every NaN, and 0.0 for -0.0.
            values = np.where(np.isnan(values), np.nan, values) + 0.0
            digest.update(b"\0n")
            digest.update(values.astype("<f8").tobytes())
        else:
            cells = [None if _missing(cell) else str(cell) for cell in column.to_numpy(object)]
            digest.update(b"\0s")
            digest.update(json.dumps(cells, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


# -- loading ---------------------------------------------------------------------------


def load_model(
    path: str | os.PathLike[str],
    *,
    features: Any = None,
    version: int | None = None,
    sha256: str | None = None,
) -> Any:
    """Load a model saved by :func:`save_model`, after checking its sidecar.

    ``path`` is a model name (its newest version, or ``version``), a ``.joblib``
    file, or its ``.json`` sidecar. Before anything is unpickled:

    - the sidecar must exist and be one leadlife wrote, and the model file's sha256
      must equal the sidecar's (and ``sha256``, when given), else
      :class:`~leadlife.errors.ModelIntegrityError`;
    - leadlife and scikit-learn must have the major versions that saved it, and numpy
      a major no older than the one that saved it, else
      :class:`~leadlife.errors.ModelVersionError`;
    - when ``features`` is given (column names, a DataFrame, or a FeatureSpec), its
      columns must be the model's and, where known, of the same kind (numeric or
      categorical), else :class:`~leadlife.errors.FeatureSchemaError`.
    """
    if sha256 is not None and not isinstance(sha256, str):
        raise TypeError(
            f"sha256: expected the hex digest as text, got {type(sha256).__name__} {sha256!r}"
        )
    model_file = resolve_model(path, version=version)
    sidecar = read_sidecar(model_file)
    content = _read_verified(model_file, sidecar, sha256)
    _check_versions(model_file, sidecar)
    if features is not None:
        check_features(sidecar, features)
    model = _unpickle(model_file, content, sidecar)
    if _class_path(model) != sidecar["estimator"]:
        raise ModelIntegrityError(
            str(model_file),
            f"the file holds a {_class_path(model)}, the sidecar says {sidecar['estimator']}",
            "save the model again with save_model",
        )
    return model


def _unpickle(model_file: Path, content: bytes, sidecar: Mapping[str, Any]) -> Any:
    """The model in ``content``; a class the pickle names but this process cannot import
    (one defined in the training script or notebook, ``__main__``) is a
    :class:`~leadlife.errors.ModelIntegrityError` saying so."""
    try:
        return joblib.load(io.BytesIO(content))
    except (AttributeError, ImportError) as exc:
        classes = [
            str(sidecar.get(key))
            for key in ("estimator", "inner_estimator")
            if str(sidecar.get(key, "")).startswith("__main__.")
        ]
        where = (
            f" ({', '.join(classes)} was defined in the script that saved it)" if classes else ""
        )
        raise ModelIntegrityError(
            str(model_file),
            f"it names a class this process cannot import{where}: {exc}",
            "define your estimator and encoder classes in an importable module (not in "
            "the training script or notebook), install that module where the model is "
            "loaded, then retrain and save the model again",
        ) from exc
    except Exception as exc:
        # The file matches its sidecar's hash, so both were replaced or rewritten
        # together (a copy cut short and re-hashed, another tool's file): what joblib
        # cannot read is a broken model file, whatever error its reader met.
        raise ModelIntegrityError(
            str(model_file),
            f"it matches its sidecar but is not a model joblib can read "
            f"({type(exc).__name__}: {exc})",
            "save the model again with save_model; copy a model's file and its sidecar "
            "together, and whole",
        ) from exc


def read_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The sidecar of a model file (or the sidecar file itself) as a dict; nothing is unpickled.

    Raises :class:`~leadlife.errors.ModelIntegrityError` when it is missing or is not
    a leadlife model sidecar.
    """
    given = Path(path)
    model_file = given.with_suffix("") if given.name.endswith(SUFFIX + SIDECAR_SUFFIX) else given
    sidecar_file = _sidecar_path(model_file)
    try:
        data = json.loads(sidecar_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelIntegrityError(
            str(model_file),
            f"no sidecar {sidecar_file.name} beside it, so its origin cannot be checked",
            "load only models written by leadlife.ml.save_model, with their .json sidecar",
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelIntegrityError(
            str(model_file),
            f"its sidecar {sidecar_file.name} is not readable JSON ({exc})",
            "restore the sidecar from where the model was saved, or save the model again",
        ) from None
    required = {"format", "format_version", "sha256", "estimator", "versions", "features"}
    if not isinstance(data, dict) or data.get("format") != FORMAT or required - data.keys():
        raise ModelIntegrityError(
            str(model_file),
            f"{sidecar_file.name} is not a leadlife model sidecar",
            "load only models written by leadlife.ml.save_model",
        )
    format_version = data["format_version"]
    if not isinstance(format_version, int) or isinstance(format_version, bool):
        raise ModelIntegrityError(
            str(model_file),
            f"{sidecar_file.name} is malformed: its 'format_version' is "
            f"{format_version!r}, not a whole number",
            "restore the sidecar from where the model was saved, or save the model again",
        )
    if format_version > FORMAT_VERSION:
        raise ModelIntegrityError(
            str(model_file),
            f"sidecar format {data['format_version']!r} is newer than this leadlife reads "
            f"({FORMAT_VERSION})",
            "upgrade leadlife to the version that saved the model",
        )
    _check_sidecar_fields(str(model_file), sidecar_file.name, data)
    return data


def _check_sidecar_fields(where: str, name: str, data: Mapping[str, Any]) -> None:
    """Refuse a sidecar whose fields have the wrong shape, naming the field.

    The checks after this one read the fields as save_model writes them; an edited
    or truncated sidecar would otherwise fail there with a raw Python error.
    """
    problem = None
    versions = data["versions"]
    if not isinstance(data["sha256"], str):
        problem = f"its 'sha256' is {data['sha256']!r}, not a hex digest"
    elif not isinstance(data["estimator"], str):
        problem = f"its 'estimator' is {data['estimator']!r}, not a class path"
    elif not isinstance(versions, dict) or not all(
        isinstance(value, str) for value in versions.values()
    ):
        problem = f"its 'versions' is {versions!r}, not a mapping of package to version"
    elif any(not versions.get(package) for package in _CHECKED_PACKAGES):
        absent = [package for package in _CHECKED_PACKAGES if not versions.get(package)]
        problem = (
            f"its 'versions' records no {' and no '.join(absent)} version, which loading checks"
        )
    else:
        problem = _schema_problem(data["features"])
    if problem is not None:
        raise ModelIntegrityError(
            where,
            f"{name} is malformed: {problem}",
            "restore the sidecar from where the model was saved, or save the model again",
        )


def _schema_problem(schema: Any) -> str | None:
    """What is wrong with a sidecar's 'features' (None: nothing)."""
    if schema is None:
        return None
    if not isinstance(schema, list):
        return f"its 'features' is {schema!r}, not a list of columns"
    for item in schema:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or item.get("kind", None) not in (NUMERIC, CATEGORICAL, None)
        ):
            return (
                f"its 'features' holds {item!r}; each column is "
                f'{{"name": <str>, "kind": "{NUMERIC}", "{CATEGORICAL}" or null}}'
            )
    return None


def model_versions(path: str | os.PathLike[str]) -> list[Path]:
    """The saved versions of the model named ``path``, oldest first."""
    folder, name, _ = _model_name(path)
    return [file for _, file in _existing_versions(folder, name)]


def check_features(sidecar: Mapping[str, Any], features: Any) -> None:
    """Raise :class:`~leadlife.errors.FeatureSchemaError` unless ``features`` fit the model.

    ``features`` is a sequence of column names, a DataFrame (names and kinds from its
    dtypes) or anything with ``columns()`` and ``categorical_columns()`` (a
    FeatureSpec). Columns are matched by name; a kind is compared only where both
    sides know it, and an all-missing column fits either kind.
    """
    schema = sidecar.get("features")
    if schema is None:
        return
    problem = _schema_problem(schema)
    if problem is not None:
        raise ModelIntegrityError(
            str(sidecar.get("model_file", "the model")),
            f"the sidecar is malformed: {problem}",
            "restore the sidecar from where the model was saved, or save the model again",
        )
    expected = {item["name"]: item.get("kind") for item in schema}
    given = _given_features(features)
    missing = [name for name in expected if name not in given]
    unexpected = [name for name in given if name not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"lack the model's column(s) {_names(missing)}")
        if unexpected:
            parts.append(f"hold column(s) {_names(unexpected)} the model was not trained on")
        raise FeatureSchemaError(
            "the given features " + " and ".join(parts),
            "pass exactly the columns the model was trained on (they are listed in its "
            "sidecar under 'features'), or retrain the model on the new columns",
            missing=missing,
            unexpected=unexpected,
        )
    for name, kind in given.items():
        saved = expected[name]
        if kind is not None and saved is not None and kind != saved:
            raise FeatureSchemaError(
                f"column {name!r} is {kind} here but {saved} in the model",
                "clean the frame as for training (leadlife.ml.clean_frame turns "
                "numeric-looking text into numbers), or retrain the model",
                column=name,
            )


# -- comparing -------------------------------------------------------------------------


def compare_models(
    a: Any,
    b: Any,
    X: Any,
    y: Any,
    *,
    threshold: float = 0.5,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Both models' metrics on the same labelled leads, side by side.

    ``a`` and ``b`` are fitted models or paths accepted by :func:`load_model` (so
    ``compare_models("models/lead-scorer.v1.joblib", "models/lead-scorer.v2.joblib",
    X_test, y_test)`` compares two versions). The frame has one row per metric
    (``roc_auc``, ``pr_auc``, ``brier``, ``log_loss``, ``top_decile_lift``, and
    ``precision``, ``recall``, ``f1``, ``accuracy`` at ``threshold``) and the columns
    ``<name of a>``, ``<name of b>``, ``change`` (b minus a) and ``better`` (the name of
    the better model by that metric, or ``"same"``). Names default to the file stems
    (``lead-scorer.v1``) for paths and ``"a"``/``"b"`` for models.
    """
    from leadlife.ml.evaluation import evaluate

    labels = list(names) if names is not None else [_label(a, "a"), _label(b, "b")]
    if len(labels) != 2 or labels[0] == labels[1]:
        raise InvalidArgumentError(
            "names", f"{labels!r} are not two different names", "give two, one per model"
        )
    reports = [
        evaluate(_as_model(model), X, y, threshold=threshold, n_repeats=0) for model in (a, b)
    ]
    rows = []
    for metric, higher_is_better in _COMPARED.items():
        first, second = (report.metrics[metric] for report in reports)
        if first == second:
            better = "same"
        else:
            better = labels[1] if (second > first) == higher_is_better else labels[0]
        rows.append([first, second, second - first, better])
    frame = pd.DataFrame(rows, index=list(_COMPARED), columns=[*labels, "change", "better"])
    frame.index.name = "metric"
    return frame


# -- helpers ---------------------------------------------------------------------------


def _refuse_unfitted(model: Any) -> None:
    """Refuse a scikit-learn estimator that is not fitted yet: saved, it would become the
    newest version, which load_model hands out and which cannot score a lead."""
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not isinstance(model, BaseEstimator):
        return
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise ModelError(
            f"{type(model).__name__} is not fitted, so it cannot score leads; nothing was "
            "saved. Fix: fit it first (model.fit(X, y)), or save what leadlife.ml.train "
            "returns"
        ) from None


def _model_name(path: str | os.PathLike[str]) -> tuple[Path, str, int | None]:
    """The folder, the model's name and the version a path names (None: no version)."""
    given = Path(path)
    name = given.name.removesuffix(SUFFIX)
    if not name or name in (".", ".."):
        raise InvalidArgumentError(
            "path", f"{str(path)!r} names no model", "name the model, e.g. 'models/lead-scorer'"
        )
    versioned = _VERSIONED.match(name)
    if versioned:
        return given.parent, versioned.group("name"), int(versioned.group("version"))
    return given.parent, name, None


def _existing_versions(
    folder: Path, name: str, *, saved_only: bool = True
) -> list[tuple[int, Path]]:
    """Version numbers and model files of ``name``, oldest first.

    A version counts as saved once its sidecar exists (save_model writes it last);
    ``saved_only=False`` also counts numbers taken by a save still in progress or one
    that failed, so that they are never handed out twice.
    """
    pattern = re.compile(re.escape(name) + r"\.v(\d+)" + re.escape(SUFFIX) + r"(\.json)?$")
    versions: dict[int, Path] = {}
    if folder.is_dir():
        for entry in folder.iterdir():
            match = pattern.match(entry.name)
            if match and (match.group(2) or not saved_only):
                number = int(match.group(1))
                versions[number] = folder / f"{name}.v{number}{SUFFIX}"
    return sorted(versions.items())


def _claim_next_version(folder: Path, name: str) -> tuple[int, Path]:
    """The next free version number and its file, created empty so no one else takes it."""
    existing = _existing_versions(folder, name, saved_only=False)
    version = existing[-1][0] + 1 if existing else 1
    while True:
        model_file = folder / f"{name}.v{version}{SUFFIX}"
        try:
            with open(model_file, "xb"):
                return version, model_file
        except FileExistsError:
            version += 1


def resolve_model(path: str | os.PathLike[str], *, version: int | None = None) -> Path:
    """The model file :func:`load_model` loads for ``path`` and ``version``; nothing is read."""
    if version is not None and type(version) is not int:
        # "1" would be reported as "no version 1 (saved versions: 1)", and 1.0 or True
        # read as version 1.
        raise TypeError(
            f"version: expected a whole number such as 3, got {type(version).__name__} {version!r}"
        )
    given = Path(path)
    if given.name.endswith(SUFFIX + SIDECAR_SUFFIX):
        given = given.with_suffix("")
    folder, name, named_version = _model_name(given)
    if named_version is not None:
        if version is not None and version != named_version:
            raise InvalidArgumentError(
                "version",
                f"{version} differs from version {named_version}, which {str(path)!r} names",
                "name the version in the path or in version=, not two different ones",
            )
        model_file = folder / f"{name}.v{named_version}{SUFFIX}"
        if not _any_trace(model_file):
            raise _no_version(model_file, folder, name, named_version)
        return model_file
    if given.name.endswith(SUFFIX):
        # A file saved under another name: the sidecar still vouches for it. Neither
        # there is a wrong path, not a model of unknown origin.
        if not _any_trace(given):
            raise ModelIntegrityError(
                str(given),
                "no such file (and no sidecar beside it)",
                "check the path; give a model's name (e.g. models/lead-scorer) for its "
                "newest version, or one of its MODEL.v<N>.joblib files",
            )
        return given
    existing = dict(_existing_versions(folder, name))
    if not existing:
        raise ModelIntegrityError(
            str(given),
            f"no saved model named {name!r} in {folder}",
            "check the path, or save a model there with save_model",
        )
    if version is None:
        return existing[max(existing)]
    if version not in existing:
        saved = ", ".join(map(str, sorted(existing)))
        raise ModelIntegrityError(
            str(given),
            f"no version {version} (saved versions: {saved})",
            "pick one of the saved versions",
        )
    return existing[version]


def _any_trace(model_file: Path) -> bool:
    """Whether the model file or its sidecar is there: with one of them, loading says
    which is missing; with neither, the path names no model at all."""
    return model_file.exists() or _sidecar_path(model_file).exists()


def _no_version(model_file: Path, folder: Path, name: str, version: int) -> ModelIntegrityError:
    saved = [number for number, _ in _existing_versions(folder, name)]
    if not saved:
        return ModelIntegrityError(
            str(model_file),
            f"no such file, and no saved model named {name!r} in {folder}",
            "check the path, or save a model there with save_model",
        )
    listing = ", ".join(map(str, saved))
    return ModelIntegrityError(
        str(model_file),
        f"no such file: no version {version} of {name!r} in {folder} (saved versions: {listing})",
        f"give one of the saved versions, or the name alone ({folder / name}) for the newest",
    )


def _read_verified(model_file: Path, sidecar: Mapping[str, Any], pinned: str | None) -> bytes:
    try:
        content = model_file.read_bytes()
    except FileNotFoundError:
        raise ModelIntegrityError(
            str(model_file),
            "the model file is missing (its sidecar is there)",
            "restore the .joblib file next to its sidecar, or save the model again",
        ) from None
    actual = hashlib.sha256(content).hexdigest()
    if actual != str(sidecar["sha256"]).strip().lower():
        raise ModelIntegrityError(
            str(model_file),
            f"sha256 {actual[:12]}… does not match the sidecar's {str(sidecar['sha256'])[:12]}…: "
            "the file changed after it was saved, so it was not unpickled",
            "restore the file saved with this sidecar, or retrain and save the model again",
        )
    if pinned is not None and actual != pinned.strip().lower():
        raise ModelIntegrityError(
            str(model_file),
            f"sha256 {actual[:12]}… is not the expected {pinned[:12]}…, so it was not unpickled",
            "load the model file you meant to deploy, or update the expected hash",
        )
    return content


def _check_versions(model_file: Path, sidecar: Mapping[str, Any]) -> None:
    saved = sidecar["versions"]
    running = _running_versions()
    for package in _CHECKED_PACKAGES:
        before, now = str(saved.get(package, "")), running[package]
        if _major(before) != _major(now):
            raise ModelVersionError(str(model_file), package, before or "an unknown version", now)
    # numpy reads the pickles of older majors, not of newer ones (numpy._core is 2.x's).
    before, now = str(saved.get("numpy", "")), running["numpy"]
    if before and _major_number(before) > _major_number(now):
        raise ModelVersionError(str(model_file), "numpy", before, now)


def _major_number(version: str) -> int:
    head = _major(version)
    return int(head) if head.isdigit() else 0


def _major(version: str) -> str:
    return version.split(".", 1)[0]


def _running_versions() -> dict[str, str]:
    import leadlife

    return {
        "leadlife": leadlife.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
        "python": platform.python_version(),
    }


def _feature_schema(model: Any, frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    """``[{"name", "kind"}]`` for each input column, or None for a model fitted on arrays.

    Kinds come from the model's fitted encoder when it has one (what the model will
    actually do with the column), else from the dtypes of ``frame``, else are unknown.
    """
    names = getattr(model, "feature_names_in_", None)
    if names is None and frame is not None:
        names = frame.columns
    if names is None:
        return None
    kinds: dict[str, str | None] = {}
    if frame is not None:
        kinds = {str(c): _kind(frame[c]) for c in frame.columns}
    kinds.update(_model_kinds(model))
    return [{"name": str(name), "kind": kinds.get(str(name))} for name in names]


def _model_kinds(model: Any) -> dict[str, str | None]:
    """Column kinds a fitted model knows: from an encoder with learned column lists."""
    for attribute in ("encoder_", "encoder"):
        encoder = getattr(model, attribute, None)
        categorical = getattr(encoder, "categorical_columns_", None)
        numeric = getattr(encoder, "numeric_columns_", None)
        if categorical is not None and numeric is not None:
            kinds: dict[str, str | None] = {str(c): NUMERIC for c in numeric}
            kinds.update({str(c): CATEGORICAL for c in categorical})
            # A categorical column without a single category was all missing in
            # training (the encoder makes those categorical): its kind is unknown, and
            # the frame it was fitted on (or a spec calling it numeric) fits it.
            categories = getattr(encoder, "categories_", None)
            if isinstance(categories, Mapping):
                kinds.update({str(c): None for c in categorical if not categories.get(c)})
            return kinds
    return {}


def _kind(column: pd.Series) -> str | None:
    # All missing first: such a column fits either kind, whatever its dtype (a float
    # column of NaN is what pandas makes of an empty numeric field).
    if len(column) and column.isna().all():
        return None
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return NUMERIC
    return CATEGORICAL


def _given_features(features: Any) -> dict[str, str | None]:
    if isinstance(features, pd.DataFrame):
        return {str(c): _kind(features[c]) for c in features.columns}
    columns = getattr(features, "columns", None)
    if callable(columns):
        categorical = set(features.categorical_columns())
        return {str(c): CATEGORICAL if c in categorical else NUMERIC for c in columns()}
    if isinstance(features, str) or not isinstance(features, Iterable):
        raise TypeError(
            f"features: {type(features).__name__} is not column names, a DataFrame or a FeatureSpec"
        )
    return dict.fromkeys((str(name) for name in features), None)


def _names(columns: Sequence[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:6])
    return shown + (f" and {len(columns) - 6} more" if len(columns) > 6 else "")


def _inner_estimator(model: Any) -> str | None:
    inner = getattr(model, "estimator_", None)
    return None if inner is None else _class_path(inner)


def _class_path(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _is_training_result(value: Any) -> bool:
    return all(hasattr(value, name) for name in ("model", "report", "data_hash", "X_test"))


def _as_model(value: Any) -> Any:
    if isinstance(value, str | os.PathLike):
        return load_model(value)
    return value


def _label(value: Any, default: str) -> str:
    if isinstance(value, str | os.PathLike):
        return Path(value).name.removesuffix(SIDECAR_SUFFIX).removesuffix(SUFFIX)
    return default


def _sidecar_path(model_file: Path) -> Path:
    return model_file.with_name(model_file.name + SIDECAR_SUFFIX)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    part = path.with_name(f".{path.name}.part")
    part.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    os.replace(part, path)


def _missing(cell: Any) -> bool:
    try:
        return bool(pd.isna(cell))
    except (TypeError, ValueError):  # a list or array in a cell is a value, not missing
        return False


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
