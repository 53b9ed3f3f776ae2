"""Predictions from a loaded booster, with a lean path for dense rows.

``Booster.inplace_predict`` builds a Python class on every call to wrap its output, which costs
about 100 microseconds: more than predicting a row through 200 trees. For dense float32 input we
call the same C function (``XGBoosterPredictFromDense``) with the arguments prepared once and copy
the result out directly. Sparse input, or an xgboost without that entry point, uses
``inplace_predict``.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
import xgboost as xgb


class Predictor:
    def __init__(self, booster: xgb.Booster, iteration_range: tuple[int, int] = (0, 0)):
        self.booster = booster
        self.iteration_range = iteration_range
        self._dense = _dense_predict_function(booster, iteration_range)

    def __call__(self, features: Any) -> np.ndarray:
        if self._dense is not None and isinstance(features, np.ndarray):
            return self._dense(np.ascontiguousarray(features, dtype=np.float32))
        return self.booster.inplace_predict(
            features, iteration_range=self.iteration_range, validate_features=False
        )


def _dense_predict_function(booster: xgb.Booster, iteration_range: tuple[int, int]):
    try:
        from xgboost.core import _LIB, _check_call, c_bst_ulong, make_jcargs

        predict_from_dense = _LIB.XGBoosterPredictFromDense
    except (ImportError, AttributeError):
        return None
    args = make_jcargs(
        type=0,
        training=False,
        iteration_begin=int(iteration_range[0]),
        iteration_end=int(iteration_range[1]),
        missing=np.nan,
        strict_shape=False,
        cache_id=0,
    )
    handle = booster.handle

    def predict(matrix: np.ndarray) -> np.ndarray:
        rows, columns = matrix.shape
        interface = b'{"data":[%d,true],"shape":[%d,%d],"typestr":"<f4","version":3}' % (
            matrix.ctypes.data,
            rows,
            columns,
        )
        preds = ctypes.POINTER(ctypes.c_float)()
        shape = ctypes.POINTER(c_bst_ulong)()
        dims = c_bst_ulong()
        _check_call(
            predict_from_dense(
                handle, interface, args, None, ctypes.byref(shape), ctypes.byref(dims), ctypes.byref(preds)
            )
        )
        out_shape = tuple(int(shape[i]) for i in range(dims.value))
        count = int(np.prod(out_shape)) if out_shape else 0
        # The result buffer belongs to the booster (per thread): copy it before the next call.
        return np.frombuffer(ctypes.string_at(preds, 4 * count), dtype=np.float32).reshape(out_shape)

    return predict
