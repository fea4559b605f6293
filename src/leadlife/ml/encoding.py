"""Tabular preparation: clean a lead table, then encode it as the float matrix trees take.

:func:`clean_frame` fixes what exports from CRMs and web forms get wrong: form defaults
such as ``"Select"`` and blank cells are missing values, ``Yes``/``No`` flags are
numbers, numbers read as text are numbers. :class:`TabularEncoder` then turns the
clean frame into a float64 matrix: numeric columns as they are (NaN = missing) and
categorical columns as integer codes (NaN = missing or never seen), which is what the
tree models take, HistGradientBoosting as native categoricals through
:attr:`TabularEncoder.categorical_mask_`.

:meth:`TabularEncoder.encode_row` encodes one lead from a plain mapping without
pandas; it gives exactly the row :meth:`TabularEncoder.transform` gives.

Both read each cell as :func:`clean_frame` would have left it in a column of the kind
fitted: a model trained on a cleaned frame sees the same values whether a lead comes
cleaned (a batch) or raw (a live lead's profile, a CRM record).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from numbers import Real
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted, validate_data

from leadlife.errors import FeatureSchemaError, ModelError

__all__ = [
    "LABEL_SPELLINGS",
    "MAX_CODES",
    "OTHER",
    "TabularEncoder",
    "clean_frame",
    "label_flag",
    "positive_class",
    "refuse_mixed_column_names",
    "refuse_repeated_columns",
]

FloatArray = NDArray[np.float64]

MAX_CODES = 254
"""Most codes a categorical column can get: HistGradientBoosting bins at most 255
values per feature and keeps one bin for missing values."""

OTHER = "(other)"
"""The name of the code that categories seen fewer than ``min_frequency`` times share."""

_YES = frozenset({"yes", "true"})
_NO = frozenset({"no", "false"})
# A conversion label's words: clean_frame's and Y/N. Y/N are read in a label only: in a
# feature column a lone "Y" or "N" may be a code of its own (a size band, a region's
# initial), so clean_frame keeps such a column as text.
_LABEL_WORDS: Mapping[str, int] = {
    **dict.fromkeys(_YES | {"y"}, 1),
    **dict.fromkeys(_NO | {"n"}, 0),
}
LABEL_SPELLINGS = "0/1, true/false, yes/no or y/n (in any case)"
"""How a binary conversion label may be spelled, for error messages."""
# clean_frame's default placeholders, casefolded, and the blank cell.
_MISSING_WORDS = frozenset({"select", ""})
# scikit-learn's forests compare float32 values: beyond this a number is inf to them,
# and their input check refuses it.
_LARGEST = float(np.finfo(np.float32).max)
_NUMERIC_KINDS = frozenset(
    {"integer", "floating", "mixed-integer-float", "decimal", "boolean", "empty"}
)


# -- cleaning -------------------------------------------------------------------------


def clean_frame(df: pd.DataFrame, placeholders: Iterable[str] = ("Select",)) -> pd.DataFrame:
    """A copy of ``df`` with each text column made what it means.

    In every column that holds text (object or string dtype):

    - blank cells and ``placeholders`` (form defaults such as ``"Select"``; compared
      after stripping spaces, ignoring case) become missing;
    - a column whose remaining values are all ``Yes``/``No`` (or ``True``/``False``,
      any case, or Python bools: pandas reads a True/False column with blanks as
      bools and NaN) becomes 1.0/0.0;
    - a column whose remaining values all parse as numbers becomes float64;
    - any other column stays text: object dtype, text stripped, ``None`` for missing.

    Numeric, boolean, categorical and date columns are kept as they are. The index
    and the column order are kept.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"clean_frame takes a pandas DataFrame, not {type(df).__name__}; "
            "wrap the data with pandas.DataFrame(...) first"
        )
    missing_words = {str(p).strip().casefold() for p in placeholders} | {""}
    cleaned = df.copy()
    for position in range(df.shape[1]):
        column = df.iloc[:, position]
        if pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype):
            cleaned.isetitem(position, _clean_text_column(column, missing_words))
    return cleaned


def _clean_text_column(column: pd.Series, missing_words: set[str]) -> pd.Series:
    values = column.to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        if isinstance(value, str):
            text = value.strip()
            out[i] = None if text.casefold() in missing_words else text
        else:
            out[i] = None if _is_missing(value) else value
    present = [value for value in out if value is not None]
    if not present:
        return pd.Series(out, index=column.index, name=column.name, dtype=object)
    if all(_is_flag(value) for value in present):
        # Python bools count as the words: pandas.read_csv reads a True/False column
        # with blank cells as an object column of bools and NaN.
        flags = [math.nan if v is None else float(_flag_value(v)) for v in out]
        return pd.Series(flags, index=column.index, name=column.name, dtype=np.float64)
    numbers = _as_numbers(out)
    if numbers is not None:
        return pd.Series(numbers, index=column.index, name=column.name, dtype=np.float64)
    return pd.Series(out, index=column.index, name=column.name, dtype=object)


def _is_flag(value: object) -> bool:
    """Whether a present cell is a yes/no flag: a bool, or Yes/No, True/False text."""
    if isinstance(value, bool | np.bool_):
        return True
    return isinstance(value, str) and value.casefold() in _YES | _NO


def _flag_value(value: object) -> bool:
    return bool(value) if isinstance(value, bool | np.bool_) else str(value).casefold() in _YES


def _as_numbers(values: NDArray[Any]) -> FloatArray | None:
    """The values as floats, or None when one of them is not a number."""
    numbers = np.empty(len(values), dtype=np.float64)
    for i, value in enumerate(values):
        if value is None:
            numbers[i] = np.nan
        elif isinstance(value, bool | np.bool_):
            return None
        else:
            try:
                numbers[i] = float(value)
            except (TypeError, ValueError):
                return None
    return numbers


def label_flag(value: object) -> int | None:
    """One conversion label as 1 or 0, or None when it spells neither (or is missing).

    A label reads as :data:`LABEL_SPELLINGS` says: a bool, the number 1 or 0 (or text
    spelling it), or ``yes``/``no``, ``true``/``false``, ``y``/``n`` in any case,
    surrounding blanks ignored.
    """
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in _LABEL_WORDS:
            return _LABEL_WORDS[word]
        try:
            number = float(word)
        except ValueError:
            return None
    elif isinstance(value, Real):
        number = float(value)
    else:
        return None
    return 1 if number == 1 else 0 if number == 0 else None


def positive_class(classes: Any) -> int:
    """The position of the positive class (converted) among a classifier's ``classes_``.

    Two classes that read as a conversion label, one 1 and one 0 (:func:`label_flag`:
    ``1``/``0``, ``True``/``False``, ``Yes``/``No`` in any case), give the one that
    reads as 1 wherever it is listed: scikit-learn sorts classes, so ``Y`` comes before
    ``n``, and a classifier of your own may list ``[1, 0]``. Other classes give the last.
    """
    if len(classes) == 2:
        flags = [label_flag(value) for value in classes]
        if set(flags) == {0, 1}:
            return flags.index(1)
    return len(classes) - 1


# -- scalar helpers shared by transform and encode_row -----------------------------------


def _is_missing(value: object) -> bool:
    """Whether one cell is a missing value (None, NaN, NaT, pandas.NA)."""
    if value is None:
        return True
    if isinstance(value, str | int):
        return False
    if isinstance(value, float):
        return math.isnan(value)
    flag = pd.isna(value)
    return flag is True or flag is np.True_


def _category_key(value: object) -> str | None:
    """The text a categorical cell is matched by: the value as str, None when missing.

    Whole numbers read the same as ints or floats (``3`` and ``3.0`` are ``"3"``): a
    numeric code column with a missing value turns float in pandas.
    """
    if type(value) is str:
        return value
    if _is_missing(value):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def _number(value: object, column: str) -> float:
    """One numeric cell as a float (NaN when missing); text that is no number is an error.

    Text reads as :func:`clean_frame` reads it: ``Yes``/``No`` (``True``/``False``)
    are 1.0/0.0, blanks and ``"Select"`` are missing. A number the trees cannot
    compare (inf, or beyond float32's range) is missing too.
    """
    number = value if type(value) is float else _parse_number(value, column)
    return number if -_LARGEST <= number <= _LARGEST else math.nan


def _parse_number(value: object, column: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int beyond any float
        return math.nan
    except (TypeError, ValueError):
        if _is_missing(value):
            return math.nan
        if isinstance(value, str):
            word = value.strip().casefold()
            if word in _YES:
                return 1.0
            if word in _NO:
                return 0.0
            if word in _MISSING_WORDS:
                return math.nan
        raise FeatureSchemaError(
            f"column {column!r} was numeric when the encoder was fitted but holds {value!r}",
            "give numbers (or missing values) in that column; run clean_frame on the "
            "frame as for training",
            column=column,
        ) from None


# -- the encoder ----------------------------------------------------------------------


class TabularEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Numeric columns as floats and categorical columns as integer codes, NaN = missing.

    :param categorical: ``"auto"`` (the default) makes a column categorical when it
        holds text: pandas object, string or category dtype whose values are not all
        numbers (and, for arrays, an object array column of the same kind). Or a list
        of the column names (or positions) to treat as categorical; the others must
        be numeric.
    :param max_categories: most codes one categorical column gets, at most
        :data:`MAX_CODES` (254) so HistGradientBoosting can take every column as a
        native categorical. The most frequent categories keep a code of their own;
        the rest share the ``"(other)"`` code.
    :param min_frequency: a category seen fewer times than this in the training data
        (a count, or a share of the rows when below 1) shares the ``"(other)"`` code
        with the other rare ones instead of getting its own: a code learned from a
        handful of leads is noise, and a tree split on it does not generalise.

    Output columns keep the input order. A categorical column's codes are ``0..k-1``
    in the order of :attr:`categories_`: the kept categories sorted by text, then
    ``"(other)"`` when some were collapsed. A value never seen in training is unknown
    and encodes as NaN, like a missing value.

    Fitted attributes: ``numeric_columns_`` and ``categorical_columns_`` (names),
    ``categories_`` (column -> list of category texts, by code),
    ``infrequent_categories_`` (column -> the texts that share the ``"(other)"``
    code), ``categorical_mask_`` (bool array over the output columns; give it to
    ``HistGradientBoostingClassifier(categorical_features=...)``),
    ``feature_names_out_``, ``n_features_in_`` and, when fitted on a DataFrame with
    text column names, ``feature_names_in_``. Arrays' columns are named
    ``x0, x1, ...``.
    """

    def __init__(
        self,
        categorical: str | Sequence[str | int] = "auto",
        max_categories: int = 64,
        min_frequency: int | float = 10,
    ) -> None:
        self.categorical = categorical
        self.max_categories = max_categories
        self.min_frequency = min_frequency

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    # -- fitting -----------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> TabularEncoder:
        """Learn which columns are categorical and the codes of their categories."""
        self._check_params()
        refuse_repeated_columns(X)
        refuse_mixed_column_names(X)
        names, columns, n_rows = _columns(X)
        validate_data(self, X, reset=True, skip_check_array=True)
        shape = (n_rows, len(columns))
        if n_rows == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 "
                "is required; give at least one row"
            )
        if not columns:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is "
                "required; give at least one column"
            )
        chosen = self._categorical_positions(names, columns)
        threshold = _count_threshold(self.min_frequency, n_rows)
        categories: dict[str, list[str]] = {}
        infrequent: dict[str, list[str]] = {}
        lookups: list[dict[str, float] | None] = []
        for position, (name, values) in enumerate(zip(names, columns, strict=True)):
            if position not in chosen:
                lookups.append(None)
                continue
            keys = _category_keys(_objects(values))
            counts = pd.Series(keys, dtype=object).value_counts(dropna=True)
            kept, rare = _split_categories(counts, threshold, int(self.max_categories))
            categories[name] = kept + ([OTHER] if rare else [])
            infrequent[name] = rare
            lookup = {key: float(code) for code, key in enumerate(kept)}
            lookup.update(dict.fromkeys(rare, float(len(kept))))
            lookups.append(lookup)
        self.categorical_mask_ = np.array([lookup is not None for lookup in lookups], dtype=bool)
        self.categorical_columns_ = [
            n for n, m in zip(names, lookups, strict=True) if m is not None
        ]
        self.numeric_columns_ = [n for n, m in zip(names, lookups, strict=True) if m is None]
        self.categories_ = categories
        self.infrequent_categories_ = infrequent
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self._names_ = names
        self._lookups_ = lookups
        self._plan_ = list(zip(names, lookups, strict=True))
        self._index_ = _lookup_indexes(lookups)
        return self

    def _check_params(self) -> None:
        max_categories = self.max_categories
        if (
            isinstance(max_categories, bool)
            or not isinstance(max_categories, int | np.integer)
            or not 1 <= max_categories <= MAX_CODES
        ):
            raise ModelError(
                f"TabularEncoder max_categories={max_categories!r}; give an int from 1 to "
                f"{MAX_CODES} (HistGradientBoosting takes at most {MAX_CODES} codes)"
            )
        min_frequency = self.min_frequency
        if (
            isinstance(min_frequency, bool)
            or not isinstance(min_frequency, int | float | np.number)
            or not min_frequency >= 0
        ):
            raise ModelError(
                f"TabularEncoder min_frequency={min_frequency!r}; give a count (int >= 1) "
                "or a share of the rows (a float below 1)"
            )
        categorical = self.categorical
        if isinstance(categorical, str) and categorical != "auto":
            raise ModelError(
                f"TabularEncoder categorical={categorical!r}; give 'auto' or a list of column names"
            )

    def _categorical_positions(self, names: list[str], columns: list[RawColumn]) -> set[int]:
        for name, column in zip(names, columns, strict=True):
            if column.dtype.kind in "mM":
                raise FeatureSchemaError(
                    f"column {name!r} holds dates or durations ({column.dtype})",
                    "turn it into numbers first, e.g. days since the lead was created",
                    column=name,
                )
        if isinstance(self.categorical, str):
            return {i for i, values in enumerate(columns) if _holds_text(values)}
        positions: set[int] = set()
        unknown: list[str] = []
        by_name = {name: i for i, name in enumerate(names)}
        for item in self.categorical:
            if isinstance(item, int | np.integer) and not isinstance(item, bool):
                if not -len(names) <= item < len(names):
                    unknown.append(str(item))
                else:
                    positions.add(int(item) % len(names))
            elif str(item) in by_name:
                positions.add(by_name[str(item)])
            else:
                unknown.append(str(item))
        if unknown:
            raise FeatureSchemaError(
                f"TabularEncoder categorical names columns that are not in X: {unknown}",
                f"list columns of X only (it has {names[:8]}{'...' if len(names) > 8 else ''})",
                missing=unknown,
            )
        return positions

    # -- encoding ----------------------------------------------------------------------

    def transform(self, X: Any) -> FloatArray:
        """The float64 matrix: numbers as they are, categories as codes, NaN = missing."""
        check_is_fitted(self, "categorical_mask_")
        refuse_repeated_columns(X)
        refuse_mixed_column_names(X, getattr(self, "feature_names_in_", None))
        _, columns, n_rows = _columns(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        out = np.empty((n_rows, len(columns)), dtype=np.float64)
        for j, (name, values, lookup) in enumerate(
            zip(self._names_, columns, self._lookups_, strict=True)
        ):
            if lookup is None:
                out[:, j] = _floats(values, name)
            else:
                index, codes = self._index_[j]
                out[:, j] = codes[_positions(index, _category_keys(_objects(values)))]
        return out

    def encode_row(self, row: Mapping[str, Any] | Sequence[Any] | NDArray[Any]) -> FloatArray:
        """One lead's row, 1-D, equal to :meth:`transform` of a one-row frame.

        ``row`` maps column names to values (keys the encoder does not know are
        ignored), or lists the values in column order. No pandas: a few
        microseconds per row, for scoring one live lead.
        """
        plan = self._plan_
        if not isinstance(row, Mapping):
            values = list(row)
            if len(values) != len(plan):
                raise FeatureSchemaError(
                    f"the row has {len(values)} values, the encoder {len(plan)} columns",
                    "give one value per column, in the order of feature_names_out_",
                )
            row = dict(zip(self._names_, values, strict=True))
        nan = math.nan
        encoded: list[float] = []
        append = encoded.append
        # A plain loop with inlined fast paths (float cells, str categories) is the
        # quickest in CPython; this runs once per live event.
        try:
            for name, lookup in plan:
                value = row[name]
                if lookup is None:
                    if type(value) is float and -_LARGEST <= value <= _LARGEST:
                        append(value)
                    else:
                        append(_number(value, name))
                else:
                    key = value if type(value) is str else _category_key(value)
                    code = lookup.get(key, nan)  # type: ignore[arg-type]
                    if code != code and type(key) is str:
                        # Unknown as given: maybe known once stripped, as clean_frame would.
                        code = lookup.get(key.strip(), nan)
                    append(code)
        except KeyError:
            missing = [name for name, _ in plan if name not in row]
            raise FeatureSchemaError(
                f"the row lacks {len(missing)} of the encoder's columns: {missing[:8]}",
                "give every column the encoder was fitted on (None for unknown values)",
                missing=missing,
            ) from None
        return np.array(encoded, dtype=np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> NDArray[np.object_]:
        """The output column names: the input names, in input order."""
        check_is_fitted(self, "feature_names_out_")
        names: NDArray[np.object_] = self.feature_names_out_.copy()
        return names


# -- column access ----------------------------------------------------------------------


RawColumn: TypeAlias = "pd.Series[Any] | NDArray[Any]"
"""One input column as given: a DataFrame's Series, or an array's column."""


def _columns(X: Any) -> tuple[list[str], list[RawColumn], int]:
    """Column names, the columns as given, and the row count."""
    if sparse.issparse(X):
        raise TypeError(
            "TabularEncoder does not take sparse input; pass a dense array or a DataFrame "
            "(X.toarray())"
        )
    if isinstance(X, pd.DataFrame):
        named = all(isinstance(c, str) for c in X.columns)
        names = [str(c) if named else f"x{i}" for i, c in enumerate(X.columns)]
        dtypes = X.dtypes.tolist()  # X.dtypes builds a Series each time it is read
        for i in range(X.shape[1]):
            if dtypes[i].kind == "c":
                raise ValueError(f"Complex data not supported in column {names[i]!r}")
        return names, [X.iloc[:, i] for i in range(X.shape[1])], X.shape[0]
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got {array.ndim}D array instead. Reshape your data either "
            "using array.reshape(-1, 1) if your data has a single feature or "
            "array.reshape(1, -1) if it contains a single sample."
        )
    if array.dtype.kind == "c":
        raise ValueError("Complex data not supported; give real numbers or text")
    return (
        [f"x{j}" for j in range(array.shape[1])],
        [array[:, j] for j in range(array.shape[1])],
        array.shape[0],
    )


def refuse_repeated_columns(X: Any) -> None:
    """Refuse a DataFrame that names two columns alike (a merge or concat often does).

    A name must say which column it is: the schema, a live lead's row and the reasons
    go by name, and scikit-learn's feature-name checks fail on repeats.
    """
    if not isinstance(X, pd.DataFrame) or X.columns.is_unique:
        return
    counts = X.columns.value_counts(sort=False)
    repeated = counts[counts > 1]
    shown = ", ".join(f"{str(name)!r} ({int(count)} times)" for name, count in repeated.items())
    raise FeatureSchemaError(
        f"the frame names {len(repeated)} column(s) more than once: {shown}",
        "give every column its own name: rename or drop the repeats, e.g. "
        "frame.loc[:, ~frame.columns.duplicated()] keeps the first of each",
        unexpected=[str(name) for name in repeated.index],
    )


def refuse_mixed_column_names(X: Any, expected: Any = None) -> None:
    """Refuse a DataFrame whose column names mix text and other kinds (``0``, ``1.5``).

    A ``pd.concat`` with an unnamed column, or a column renamed to a number, does it.
    scikit-learn matches columns by name only when every name is text, and raises a
    TypeError for a mix. ``expected`` (a fitted model's column names) adds the ones the
    frame then lacks, so the message says which column a number stands for.
    """
    if not isinstance(X, pd.DataFrame) or X.columns.inferred_type == "string":
        return
    # As scikit-learn tells them apart: by type, so numpy's str_ is not text either.
    text = [type(name) is str for name in X.columns]
    if all(text) or not any(text):
        return
    others = [str(name) for name, is_text in zip(X.columns, text, strict=True) if not is_text]
    problem = f"the frame's column names mix text and other kinds: {_listed(others)} not text"
    missing: list[str] = []
    if expected is not None:
        given = {name for name in X.columns if type(name) is str}
        missing = [str(name) for name in expected if name not in given]
        if missing:
            problem += f"; the model's {_listed(missing)} missing"
    raise FeatureSchemaError(
        problem,
        "name every column with text: rename those columns"
        + (" to the model's names" if missing else "")
        + ", or frame.columns = frame.columns.astype(str)",
        missing=missing,
        unexpected=others,
    )


def _listed(names: list[str]) -> str:
    """``'a' is`` or ``'a', 'b' are``, at most six names shown."""
    shown = ", ".join(repr(name) for name in names[:6])
    if len(names) > 6:
        shown += f" and {len(names) - 6} more"
    return shown + (" is" if len(names) == 1 else " are")


def _is_number_dtype(dtype: Any) -> bool:
    return not isinstance(dtype, pd.CategoricalDtype) and (
        pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
    )


def _objects(column: RawColumn) -> NDArray[Any]:
    """The cells as Python objects (ints stay ints, so they match as a row's ints do)."""
    values: NDArray[Any] = (
        column.to_numpy(dtype=object) if isinstance(column, pd.Series) else column.astype(object)
    )
    return values


def _floats(column: RawColumn, name: str) -> FloatArray:
    """A numeric column as float64, NaN for missing; text that is no number is an error.

    Cells read as :func:`_number` reads them, numbers the trees cannot compare included.
    """
    if _is_number_dtype(column.dtype):
        values: FloatArray = (
            column.to_numpy(dtype=np.float64, na_value=np.nan)
            if isinstance(column, pd.Series)
            else column.astype(np.float64)
        )
        # np.where copies: to_numpy may be a view of the caller's frame.
        with np.errstate(invalid="ignore"):
            comparable = np.abs(values) <= _LARGEST
        return values if comparable.all() else np.where(comparable, values, np.nan)
    return np.array([_number(value, name) for value in _objects(column).tolist()], dtype=np.float64)


def _positions(index: pd.Index, keys: NDArray[Any]) -> NDArray[np.intp]:
    """Each key's position in ``index`` (-1: unknown), as encode_row finds it.

    A text unknown as given is looked up again stripped, as clean_frame would have
    left it: padded values from a form match the category training saw.
    """
    positions: NDArray[np.intp] = index.get_indexer(keys)
    missed = np.flatnonzero(positions < 0)
    padded = [i for i in missed.tolist() if isinstance(keys[i], str) and keys[i] != keys[i].strip()]
    if padded:
        stripped = np.array([keys[i].strip() for i in padded], dtype=object)
        positions[padded] = index.get_indexer(stripped)
    return positions


def _holds_text(column: RawColumn) -> bool:
    """Whether ``auto`` takes the column as categorical: it holds non-numeric values.

    A column with no value at all is categorical too (with no categories): a model
    learns nothing from it, and whatever a live lead later holds there, text or
    number, reads as unknown instead of failing or splitting on a value never seen.
    (HistGradientBoosting also fails on an all-NaN numeric column.)
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return True
    if len(column) and bool(pd.isna(_objects(column)).all()):
        return True
    if _is_number_dtype(column.dtype):
        return False
    kind = pd.api.types.infer_dtype(_objects(column), skipna=True)
    return kind not in _NUMERIC_KINDS


def _category_keys(values: NDArray[Any]) -> NDArray[Any]:
    """Each cell's text (None or NaN when missing), as :func:`_category_key` gives it."""
    if pd.api.types.infer_dtype(values, skipna=True) in {"string", "empty"}:
        # All present values are str already; NaN and None match no category.
        return values
    return np.array([_category_key(value) for value in values.tolist()], dtype=object)


def _count_threshold(min_frequency: float, n_rows: int) -> int:
    if isinstance(min_frequency, float) and min_frequency < 1:
        return max(1, math.ceil(min_frequency * n_rows))
    return max(1, int(min_frequency))


def _split_categories(
    counts: pd.Series, threshold: int, max_codes: int
) -> tuple[list[str], list[str]]:
    """The categories keeping a code (sorted by text) and the rare ones sharing ``(other)``."""
    # Most frequent first, ties by text, so the choice does not depend on row order.
    ranked = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    frequent = [str(key) for key, count in ranked if count >= threshold]
    rare = [str(key) for key, count in ranked if count < threshold]
    if len(frequent) + bool(rare) > max_codes:
        room = max_codes - 1
        rare = frequent[room:] + rare
        frequent = frequent[:room]
    return sorted(frequent), sorted(rare)


def _lookup_indexes(
    lookups: list[dict[str, float] | None],
) -> list[tuple[pd.Index, FloatArray]]:
    """Per categorical column, a hash index of its texts and the code of each, NaN last."""
    indexes: list[tuple[pd.Index, FloatArray]] = []
    for lookup in lookups:
        keys = [] if lookup is None else list(lookup)
        codes = np.array([*(lookup or {}).values(), math.nan], dtype=np.float64)
        indexes.append((pd.Index(keys, dtype=object), codes))
    return indexes
