"""Tree ensembles flattened into numpy arrays, to score one lead in microseconds.

scikit-learn's ``predict_proba`` validates its input, builds a frame-sized buffer and
dispatches per tree; for one row that overhead dominates (milliseconds for a forest).
:func:`compile_trees` copies a fitted tree ensemble's nodes into a handful of flat
arrays once, and :class:`CompiledTrees` walks every tree at the same time: one numpy
step per depth level moves all trees' current nodes to their children. The result is
the same probability scikit-learn computes, to rounding (the property tests check
1e-12), including its float32 cast of the input for forests, its handling of missing
values and, for histogram gradient boosting, of categorical splits.

The same walk also yields a path decomposition (Saabas): every split on the way to
a leaf moves the tree's expected output from the parent's value to the child's, and
that change is credited to the split's feature. The base value plus the credited
changes equals the model's raw output exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted

__all__ = ["CompiledTrees", "Link", "compile_trees"]

Link = Literal["mean", "sigmoid", "softmax"]
"""How summed leaf values become probabilities: averaged class fractions (forests),
the logistic function of the log-odds (binary boosting) or softmax (multiclass)."""

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

# Categorical splits look a category up in a 256-entry table; this extra slot is
# where missing and unknown categories look.
_MISSING_SLOT = 256
_TABLE_WIDTH = _MISSING_SLOT + 1
# Path steps decomposed per bincount; bounds the memory of batch decompositions.
_FLUSH_STEPS = 1 << 16


class CompiledTrees:
    """A fitted tree ensemble as flat arrays, evaluated one row or a small batch at a time.

    Nodes of all trees share one numbering; a leaf points to itself, so walking
    ``depth`` steps from the roots lands every tree on its leaf. Each node ``i`` owns
    two slots, ``2*i`` (the row's value is above the threshold, or missing and
    missing goes right) and ``2*i + 1`` (it goes left); ``_child`` maps a slot to the
    child's first slot.

    The row a walk reads is the input extended twice: ``[x, x with NaN as -inf,
    categorical decisions]``. A split whose missing values go left reads the second
    copy (so NaN compares as ``-inf <= threshold``, true); one whose missing values go
    right reads the first (NaN compares false). A categorical split reads its own
    precomputed 0/1 decision against threshold 0.5.

    Attributes:
        n_features: Length of the rows it takes.
        n_outputs: Columns of the raw output (classes for forests, 1 for binary
            boosting, classes for multiclass boosting).
        n_classes: Columns of the probabilities it returns.
        n_trees: Trees walked at once.
        depth: Steps of the walk (the deepest tree's depth).
        link: How raw outputs become probabilities (see :data:`Link`).
        base: The raw output before any split: the trees' mean root value for
            forests, the baseline log-odds plus root expectations for boosting.
    """

    __slots__ = (
        "_cast_float32",
        "_cat_inputs",
        "_cat_node_input",
        "_cat_node_offset",
        "_cat_table",
        "_categories",
        "_child",
        "_column",
        "_credit",
        "_offset",
        "_roots",
        "_threshold",
        "_value",
        "base",
        "depth",
        "link",
        "n_classes",
        "n_features",
        "n_outputs",
        "n_trees",
    )

    def __init__(
        self,
        *,
        n_features: int,
        n_classes: int,
        link: Link,
        cast_float32: bool,
        roots: IndexArray,
        left: IndexArray,
        right: IndexArray,
        column: IndexArray,
        threshold: FloatArray,
        missing_left: NDArray[np.bool_],
        split_feature: IndexArray,
        value: FloatArray,
        offset: FloatArray,
        depth: int,
        categorical: _CategoricalSplits | None = None,
    ):
        n_nodes = left.shape[0]
        is_leaf = split_feature < 0
        # Missing values going left read the copy of the row where NaN is -inf.
        read = np.where(missing_left & ~is_leaf, column + n_features, column)
        read = np.where(is_leaf, 0, read)
        self._column = np.repeat(read, 2)
        self._threshold = np.repeat(np.where(is_leaf, 0.0, threshold), 2)
        child = np.empty(2 * n_nodes, dtype=np.intp)
        child[0::2] = 2 * right
        child[1::2] = 2 * left
        self._child = child
        self._roots = 2 * roots
        # The feature a split credits; a leaf credits feature 0 with no change.
        self._credit = np.maximum(split_feature, 0)
        self._value = np.ascontiguousarray(value, dtype=np.float64)
        self._cast_float32 = cast_float32
        if categorical is None:
            categorical = _CategoricalSplits.empty()
        self._cat_inputs = categorical.inputs
        self._categories = categorical.categories
        self._cat_table = categorical.table.ravel()
        self._cat_node_offset = categorical.node_offset
        self._cat_node_input = categorical.node_input
        self.n_features = n_features
        self.n_outputs = value.shape[1]
        self.n_classes = n_classes
        self.n_trees = roots.shape[0]
        self.depth = depth
        self.link: Link = link
        self._offset = offset
        self.base = self._finish_raw(self._value[roots].sum(axis=0), offset)

    def __repr__(self) -> str:
        return (
            f"CompiledTrees(trees={self.n_trees}, depth={self.depth}, "
            f"features={self.n_features}, link={self.link!r})"
        )

    # -- evaluation ------------------------------------------------------------------

    def predict_proba_row(self, x: FloatArray) -> FloatArray:
        """Class probabilities of one row (1-D, ``n_features`` floats, NaN = missing)."""
        leaves = self._walk_row(self._extend_row(x))
        raw = self._finish_raw(self._value[leaves].sum(axis=0), self._offset)
        return cast(FloatArray, self._probabilities(raw[np.newaxis, :])[0])

    def predict_proba(self, X: FloatArray) -> FloatArray:
        """Class probabilities of a small batch of rows (2-D), all trees stepped together."""
        leaves = self._walk_batch(self._extend_batch(X))
        raw = self._finish_raw(self._value[leaves].sum(axis=1), self._offset)
        return self._probabilities(raw)

    def raw_row(self, x: FloatArray) -> FloatArray:
        """The raw output of one row: mean class fractions, or log-odds for boosting."""
        leaves = self._walk_row(self._extend_row(x))
        return self._finish_raw(self._value[leaves].sum(axis=0), self._offset)

    def decompose_row(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Split one row's raw output into the base and a part per feature.

        Returns ``(base, contributions)`` with shapes ``(n_outputs,)`` and
        ``(n_features, n_outputs)``; ``base + contributions.sum(axis=0)`` equals
        :meth:`raw_row` up to rounding. Each split on the row's path credits its
        feature with the change of the tree's expected output from the node to the
        child taken (expected output: the training-sample-weighted mean of the leaves
        below; for forests, scikit-learn's node class fractions).
        """
        base, parts = self.decompose(np.asarray(x, dtype=np.float64)[np.newaxis, :])
        return base, parts[0]

    def decompose(self, X: FloatArray) -> tuple[FloatArray, FloatArray]:
        """:meth:`decompose_row` for a batch: contributions of shape (rows, features, outputs)."""
        ext = self._extend_batch(X)
        n_rows = ext.shape[0]
        flat = ext.ravel()
        row_offset = (np.arange(n_rows, dtype=np.intp) * ext.shape[1])[:, np.newaxis]
        position = np.broadcast_to(self._roots, (n_rows, self.n_trees))
        column, threshold, child, credit = self._column, self._threshold, self._child, self._credit
        n_features, n_outputs = self.n_features, self.n_outputs
        feature_offset = (np.arange(n_rows, dtype=np.intp) * n_features)[:, np.newaxis]
        parts = np.zeros((n_outputs, n_rows * n_features), dtype=np.float64)
        # Steps are recorded (a leaf steps to itself and changes nothing) and credited
        # in a few large bincounts rather than one per level; the flush bounds memory.
        parents: list[IndexArray] = []
        children: list[IndexArray] = []
        cells: list[IndexArray] = []
        recorded = 0
        for level in range(self.depth):
            node = position >> 1
            goes_left = flat[row_offset + column[position]] <= threshold[position]
            position = child[position + goes_left]
            parents.append(node)
            children.append(position)
            cells.append(feature_offset + credit[node])
            recorded += position.size
            if recorded >= _FLUSH_STEPS or level == self.depth - 1:
                before = np.concatenate(parents, axis=None)
                after = np.concatenate(children, axis=None) >> 1
                where = np.concatenate(cells, axis=None)
                change = self._value[after] - self._value[before]
                for k in range(n_outputs):
                    parts[k] += np.bincount(where, weights=change[:, k], minlength=parts.shape[1])
                parents, children, cells, recorded = [], [], [], 0
        contributions = parts.T.reshape(n_rows, n_features, n_outputs)
        if self.link == "mean":
            contributions /= self.n_trees
        return self.base.copy(), contributions

    # -- internals ---------------------------------------------------------------------

    def _finish_raw(self, leaf_sum: FloatArray, offset: FloatArray) -> FloatArray:
        if self.link == "mean":
            mean: FloatArray = leaf_sum / self.n_trees
            return mean
        return offset + leaf_sum

    def _probabilities(self, raw: FloatArray) -> FloatArray:
        if self.link == "mean":
            return raw
        if self.link == "sigmoid":
            positive: FloatArray = expit(raw[:, 0])
            both: FloatArray = np.column_stack((1.0 - positive, positive))
            return both
        shifted: FloatArray = raw - raw.max(axis=1, keepdims=True)
        np.exp(shifted, out=shifted)
        shifted /= shifted.sum(axis=1, keepdims=True)
        return shifted

    def _walk_row(self, ext: FloatArray) -> IndexArray:
        position = self._roots
        column, threshold, child = self._column, self._threshold, self._child
        for _ in range(self.depth):
            position = child[position + (ext[column[position]] <= threshold[position])]
        return position >> 1

    def _walk_batch(self, ext: FloatArray) -> IndexArray:
        n_rows = ext.shape[0]
        flat = ext.ravel()
        row_offset = (np.arange(n_rows, dtype=np.intp) * ext.shape[1])[:, np.newaxis]
        position = np.broadcast_to(self._roots, (n_rows, self.n_trees))
        column, threshold, child = self._column, self._threshold, self._child
        for _ in range(self.depth):
            goes_left = flat[row_offset + column[position]] <= threshold[position]
            position = child[position + goes_left]
        return position >> 1

    def _extend_row(self, x: FloatArray) -> FloatArray:
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.n_features,):
            raise ValueError(
                f"expected a row of {self.n_features} features, got shape {x.shape}; "
                "pass one 1-D row in the column order the model was trained on"
            )
        if self._cast_float32:
            with np.errstate(over="ignore"):
                x = x.astype(np.float32).astype(np.float64)
        lowered = np.where(np.isnan(x), -np.inf, x)
        if not self._cat_node_offset.size:
            return np.concatenate((x, lowered))
        decisions = self._categorical_decisions(x[np.newaxis, :])[0]
        return np.concatenate((x, lowered, decisions))

    def _extend_batch(self, X: FloatArray) -> FloatArray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"expected rows of {self.n_features} features, got shape {X.shape}; "
                "pass a 2-D array in the column order the model was trained on"
            )
        if self._cast_float32:
            with np.errstate(over="ignore"):
                X = X.astype(np.float32).astype(np.float64)
        lowered = np.where(np.isnan(X), -np.inf, X)
        if not self._cat_node_offset.size:
            return np.concatenate((X, lowered), axis=1)
        return np.concatenate((X, lowered, self._categorical_decisions(X)), axis=1)

    def _categorical_decisions(self, X: FloatArray) -> FloatArray:
        """0.0 (go left) or 1.0 (go right) for every categorical split node, per row."""
        values = X[:, self._cat_inputs]
        # scikit-learn's ordinal encoder matches categories by equality; unknown -> missing
        equal = values[:, :, np.newaxis] == self._categories[np.newaxis, :, :]
        slot = np.where(equal.any(axis=2), equal.argmax(axis=2), _MISSING_SLOT)
        lookup = self._cat_node_offset + slot[:, self._cat_node_input]
        return self._cat_table[lookup]


class _CategoricalSplits:
    """The categorical split nodes of a boosted ensemble and their decision tables.

    ``inputs``: input columns that are categorical; ``categories``: their known
    values, one padded row each (NaN padding never compares equal); ``table``: per
    categorical node, 257 entries (category ordinal, then missing) of 0.0 = left,
    1.0 = right; ``node_offset``/``node_input``: where each node's table row starts
    and which of ``inputs`` it reads.
    """

    __slots__ = ("categories", "inputs", "node_input", "node_offset", "table")

    def __init__(
        self,
        inputs: IndexArray,
        categories: FloatArray,
        table: FloatArray,
        node_input: IndexArray,
    ):
        self.inputs = inputs
        self.categories = categories
        self.table = table
        self.node_input = node_input
        self.node_offset = np.arange(table.shape[0], dtype=np.intp) * _TABLE_WIDTH

    @classmethod
    def empty(cls) -> _CategoricalSplits:
        return cls(
            np.zeros(0, dtype=np.intp),
            np.zeros((0, 1), dtype=np.float64),
            np.zeros((0, _TABLE_WIDTH), dtype=np.float64),
            np.zeros(0, dtype=np.intp),
        )


def compile_trees(estimator: Any) -> CompiledTrees | None:
    """Flatten a fitted tree classifier for fast one-row scoring, or ``None``.

    Supported: :class:`~sklearn.ensemble.RandomForestClassifier`,
    :class:`~sklearn.ensemble.ExtraTreesClassifier`,
    :class:`~sklearn.tree.DecisionTreeClassifier` (and ``ExtraTreeClassifier``), single
    output, binary or multiclass; :class:`~sklearn.ensemble.HistGradientBoostingClassifier`
    binary or multiclass, with numeric or numerically coded categorical features.

    Returns ``None`` for anything else (another estimator, a pipeline, multi-output
    trees, boosting fitted on string categories): the caller falls back to the
    estimator's own ``predict_proba``. Raises
    :class:`~sklearn.exceptions.NotFittedError` for a supported but unfitted estimator.
    """
    if isinstance(estimator, RandomForestClassifier | ExtraTreesClassifier):
        check_is_fitted(estimator)
        if estimator.n_outputs_ != 1:
            return None
        return _compile_forest(estimator.estimators_, int(estimator.n_features_in_))
    if isinstance(estimator, DecisionTreeClassifier):
        check_is_fitted(estimator)
        if estimator.n_outputs_ != 1:
            return None
        return _compile_forest([estimator], int(estimator.n_features_in_))
    if isinstance(estimator, HistGradientBoostingClassifier):
        check_is_fitted(estimator)
        return _compile_boosting(estimator)
    return None


def _compile_forest(trees: Sequence[Any], n_features: int) -> CompiledTrees:
    n_classes = int(trees[0].n_classes_)
    offsets, lefts, rights, features, thresholds, missing, values = [], [], [], [], [], [], []
    depth = 0
    start = 0
    for tree in trees:
        t = tree.tree_
        n = int(t.node_count)
        own = np.arange(n, dtype=np.intp)
        is_leaf = t.children_left < 0
        lefts.append(np.where(is_leaf, own, t.children_left) + start)
        rights.append(np.where(is_leaf, own, t.children_right) + start)
        features.append(np.where(is_leaf, -1, t.feature).astype(np.intp))
        thresholds.append(np.asarray(t.threshold, dtype=np.float64))
        missing.append(np.asarray(t.missing_go_to_left, dtype=bool))
        values.append(np.asarray(t.value[:, 0, :n_classes], dtype=np.float64))
        offsets.append(start)
        depth = max(depth, int(t.max_depth))
        start += n
    split_feature = np.concatenate(features)
    return CompiledTrees(
        n_features=n_features,
        n_classes=n_classes,
        link="mean",
        cast_float32=True,  # scikit-learn trees compare float32(x) with the threshold
        roots=np.asarray(offsets, dtype=np.intp),
        left=np.concatenate(lefts),
        right=np.concatenate(rights),
        column=np.maximum(split_feature, 0),
        threshold=np.concatenate(thresholds),
        missing_left=np.concatenate(missing),
        split_feature=split_feature,
        value=np.concatenate(values),
        offset=np.zeros(n_classes, dtype=np.float64),
        depth=depth,
    )


def _compile_boosting(estimator: HistGradientBoostingClassifier) -> CompiledTrees | None:
    n_features = int(estimator.n_features_in_)
    n_outputs = int(estimator.n_trees_per_iteration_)
    inputs = _boosting_inputs(estimator, n_features)
    if inputs is None:
        return None
    to_input, cat_inputs, known, known_bitsets, f_idx_map = inputs
    input_slot = {int(column): slot for slot, column in enumerate(cat_inputs)}
    width = max((len(c) for c in known), default=1) or 1
    categories = np.full((len(known), width), np.nan)
    for slot, values in enumerate(known):
        categories[slot, : len(values)] = values

    lefts: list[IndexArray] = []
    rights: list[IndexArray] = []
    columns: list[IndexArray] = []
    thresholds: list[FloatArray] = []
    missing: list[NDArray[np.bool_]] = []
    features: list[IndexArray] = []
    values_: list[FloatArray] = []
    roots: list[int] = []
    tables: list[FloatArray] = []
    node_inputs: list[int] = []
    first_decision = 2 * n_features  # categorical decisions follow the two row copies
    depth = 0
    start = 0
    for iteration in estimator._predictors:
        for k, predictor in enumerate(iteration):
            nodes = predictor.nodes
            n = int(nodes.shape[0])
            own = np.arange(n, dtype=np.intp)
            is_leaf = nodes["is_leaf"].astype(bool)
            feature = to_input[nodes["feature_idx"].astype(np.intp)]
            column = feature.copy()
            threshold = nodes["num_threshold"].astype(np.float64)
            go_missing_left = nodes["missing_go_to_left"].astype(bool)
            for node in np.flatnonzero(nodes["is_categorical"].astype(bool) & ~is_leaf):
                mapped = int(f_idx_map[nodes["feature_idx"][node]])
                tables.append(
                    _category_table(
                        predictor.raw_left_cat_bitsets[nodes["bitset_idx"][node]],
                        known_bitsets[mapped],
                        bool(go_missing_left[node]),
                    )
                )
                node_inputs.append(input_slot[int(feature[node])])
                # The node now reads its decision (0 left, 1 right), which already
                # routes missing values.
                column[node] = first_decision + len(tables) - 1
                threshold[node] = 0.5
                go_missing_left[node] = False
            lefts.append(np.where(is_leaf, own, nodes["left"].astype(np.intp)) + start)
            rights.append(np.where(is_leaf, own, nodes["right"].astype(np.intp)) + start)
            columns.append(column)
            thresholds.append(threshold)
            missing.append(go_missing_left)
            features.append(np.where(is_leaf, -1, feature))
            value = np.zeros((n, n_outputs), dtype=np.float64)
            value[:, k] = _expected_values(nodes, is_leaf)
            values_.append(value)
            roots.append(start)
            depth = max(depth, int(nodes["depth"].max()))
            start += n
    categorical = _CategoricalSplits(
        inputs=cat_inputs,
        categories=categories,
        table=np.asarray(tables, dtype=np.float64).reshape(len(tables), _TABLE_WIDTH),
        node_input=np.asarray(node_inputs, dtype=np.intp),
    )
    return CompiledTrees(
        n_features=n_features,
        n_classes=len(estimator.classes_),
        link="sigmoid" if n_outputs == 1 else "softmax",
        cast_float32=False,  # histogram boosting compares float64 values
        roots=np.asarray(roots, dtype=np.intp),
        left=np.concatenate(lefts),
        right=np.concatenate(rights),
        column=np.concatenate(columns),
        threshold=np.concatenate(thresholds),
        missing_left=np.concatenate(missing),
        split_feature=np.concatenate(features),
        value=np.concatenate(values_),
        offset=np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(-1),
        depth=depth,
        categorical=categorical,
    )


_BoostingInputs = tuple[IndexArray, IndexArray, list[FloatArray], NDArray[np.uint32], Any]


def _boosting_inputs(
    estimator: HistGradientBoostingClassifier, n_features: int
) -> _BoostingInputs | None:
    """How the model's own preprocessing maps input columns, or None if not numeric.

    Returns the input column of each internal feature (categorical features come
    first internally), the categorical input columns, their known category values,
    the known-category bitsets and the internal-feature-to-bitset map.
    """
    is_categorical = getattr(estimator, "is_categorical_", None)
    preprocessor = getattr(estimator, "_preprocessor", None)
    if is_categorical is None or preprocessor is None:
        no_bitsets = np.zeros((0, 8), dtype=np.uint32)
        identity = np.arange(n_features, dtype=np.intp)
        return identity, np.zeros(0, dtype=np.intp), [], no_bitsets, None
    is_categorical = np.asarray(is_categorical, dtype=bool)
    to_input = np.concatenate(
        (np.flatnonzero(is_categorical), np.flatnonzero(~is_categorical))
    ).astype(np.intp)
    found = [np.asarray(c) for c in preprocessor.named_transformers_["encoder"].categories_]
    if any(c.dtype.kind not in "biuf" for c in found):
        return None
    # The encoder lists NaN last when it saw missing values; NaN is not a category.
    known = [c[~np.isnan(c.astype(np.float64))].astype(np.float64) for c in found]
    known_bitsets, f_idx_map = estimator._bin_mapper.make_known_categories_bitsets()
    cat_inputs = np.flatnonzero(is_categorical).astype(np.intp)
    return to_input, cat_inputs, known, np.asarray(known_bitsets, dtype=np.uint32), f_idx_map


_ORDINALS = np.arange(256)


def _category_table(
    left_bits: NDArray[np.uint32], known_bits: NDArray[np.uint32], missing_left: bool
) -> FloatArray:
    """A categorical split's route per category ordinal (0..255, then missing).

    As scikit-learn's ``_predict_from_raw_data``: categories in the left bitset go
    left, other known categories go right, unknown ones go where missing values go.
    """
    missing_route = 0.0 if missing_left else 1.0
    goes_left = (left_bits[_ORDINALS >> 5] >> (_ORDINALS & 31)) & 1
    is_known = (known_bits[_ORDINALS >> 5] >> (_ORDINALS & 31)) & 1
    table = np.full(_TABLE_WIDTH, missing_route)
    table[:256] = np.where(goes_left == 1, 0.0, np.where(is_known == 1, 1.0, missing_route))
    return table


def _expected_values(nodes: Any, is_leaf: NDArray[np.bool_]) -> FloatArray:
    """Leaf values as they are; a split node's value is its leaves' count-weighted mean.

    Boosting keeps unshrunk gradient statistics in split nodes, which are not the
    tree's expected output, so they are recomputed bottom-up (children always have
    larger indices than their parent).
    """
    value = np.where(is_leaf, nodes["value"], 0.0).astype(np.float64)
    count = nodes["count"].astype(np.float64)
    left = nodes["left"].astype(np.intp)
    right = nodes["right"].astype(np.intp)
    for i in np.flatnonzero(~is_leaf)[::-1]:
        lc, rc = count[left[i]], count[right[i]]
        total = lc + rc
        value[i] = (lc * value[left[i]] + rc * value[right[i]]) / total if total else 0.0
        count[i] = total
    return value
