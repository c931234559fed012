"""Bad input gives a clear error that names the layer and the shapes, for every layer."""

from __future__ import annotations

import re

import numpy as np
import pytest
from cases import CASES, make_input

IDS = [c.name for c in CASES]


def build(case, dtype=np.float64):
    rng = np.random.default_rng(0)
    return case.factory(rng, dtype), make_input(case, rng, dtype)


def assert_names_layer(message, module):
    """The message names the module or one of the layers inside it."""
    names = {type(m).__name__ for m in module.modules()}
    assert any(name in message for name in names), f"no layer named in: {message}"


def assert_names_expected(message, received_shape, expected_size):
    """The received shape is quoted, and the expected size appears outside it."""
    assert str(tuple(received_shape)) in message, message
    rest = message.replace(str(tuple(received_shape)), "")
    assert re.search(rf"\b{expected_size}\b", rest), f"expected size missing: {message}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("kind", ["int64", "bool", "complex128", "object"])
def test_non_floating_input_is_a_type_error(case, kind):
    module, x = build(case)
    bad = x.astype(kind)
    with pytest.raises(TypeError) as err:
        module(bad)
    assert_names_layer(str(err.value), module)
    assert kind in str(err.value)


PARAM_CASES = [c for c in CASES if c.factory(np.random.default_rng(0), np.float32).parameters()]


@pytest.mark.parametrize("case", PARAM_CASES, ids=[c.name for c in PARAM_CASES])
@pytest.mark.parametrize("layer_dtype, input_dtype", [(np.float32, np.float64),
                                                      (np.float64, np.float32)])
def test_dtype_mismatch_with_weights(case, layer_dtype, input_dtype):
    module, x = build(case, layer_dtype)
    with pytest.raises(TypeError) as err:
        module(x.astype(input_dtype))
    message = str(err.value)
    assert_names_layer(message, module)
    assert np.dtype(layer_dtype).name in message and np.dtype(input_dtype).name in message


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_input(case, value):
    module, x = build(case)
    x = x.copy()
    x.flat[1] = value
    with pytest.raises(ValueError, match="NaN or inf") as err:
        module(x)
    assert_names_layer(str(err.value), module)


FEATURE_CASES = [c for c in CASES if c.features]


@pytest.mark.parametrize("case", FEATURE_CASES, ids=[c.name for c in FEATURE_CASES])
def test_wrong_number_of_features(case):
    module, x = build(case)
    shape = list(x.shape)
    expected = shape[case.feature_axis]
    shape[case.feature_axis] += 1
    bad = np.ones(shape)
    with pytest.raises(ValueError) as err:
        module(bad)
    assert_names_layer(str(err.value), module)
    assert_names_expected(str(err.value), bad.shape, expected)


@pytest.mark.parametrize("case", FEATURE_CASES, ids=[c.name for c in FEATURE_CASES])
def test_one_dimensional_input_where_batched_expected(case):
    module, x = build(case)
    flat = x.reshape(-1)
    with pytest.raises(ValueError) as err:
        module(flat)
    assert_names_layer(str(err.value), module)
    assert str(flat.shape) in str(err.value)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_empty_batch(case):
    module, x = build(case)
    empty = x[:0]
    with pytest.raises(ValueError, match="empty batch") as err:
        module(empty)
    assert_names_layer(str(err.value), module)
    assert str(empty.shape) in str(err.value)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_backward_before_forward(case):
    module, _ = build(case)
    with pytest.raises(RuntimeError, match="before forward") as err:
        module.backward(np.ones(case.out_shape or case.shape))
    assert_names_layer(str(err.value), module)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wrong_upstream_gradient_shape(case):
    module, x = build(case)
    y = module(x)
    bad = np.ones(y.shape[:-1] + (y.shape[-1] + 1,))
    with pytest.raises(ValueError) as err:
        module.backward(bad)
    message = str(err.value)
    assert_names_layer(message, module)
    assert str(y.shape) in message and str(bad.shape) in message


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_integer_upstream_gradient(case):
    module, x = build(case)
    y = module(x)
    with pytest.raises(TypeError) as err:
        module.backward(np.ones(y.shape, dtype=np.int64))
    assert_names_layer(str(err.value), module)
