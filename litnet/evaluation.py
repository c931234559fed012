"""Evaluation: a model's outputs, loss and accuracy on a whole set, in evaluation mode.

:func:`litnet.fit` evaluates with these after every epoch, and
:mod:`litnet.diagnostics` records layers through :func:`predict`; neither imports
the other.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ._checks import check_int
from .losses import softmax_cross_entropy


@contextmanager
def restored_modes(model):
    """Inside a ``with`` block, let anything change the modes of ``model``'s modules;
    on exit restore every module's own mode (not just ``model.train()``).

    Examples
    --------
    >>> import litnet as ln
    >>> model = ln.Sequential(ln.ReLU(), ln.Tanh().eval())
    >>> with restored_modes(model):
    ...     _ = model.train()
    >>> [m.training for m in model.modules()]
    [True, True, False]
    """
    modes = [(m, m.training) for m in model.modules()]
    try:
        yield model
    finally:
        for m, was_training in modes:
            m.training = was_training


@contextmanager
def eval_mode(model):
    """Put ``model`` in evaluation mode inside a ``with`` block, then restore
    every module's own mode (:func:`restored_modes`).

    Examples
    --------
    >>> import litnet as ln
    >>> model = ln.Sequential(ln.ReLU())
    >>> with eval_mode(model):
    ...     model.training
    False
    >>> model.training
    True
    """
    with restored_modes(model):
        model.eval()
        yield model


def accuracy(logits, target):
    r"""Fraction of samples whose predicted class is the target class.

    Parameters
    ----------
    logits : ndarray, (N, C) or (N,) / (N, 1)
        Scores. With C columns the prediction is the arg-max; with a single
        column (binary logits) it is ``logit > 0``.
    target : ndarray, (N,) integer labels or (N, C) one-hot / probabilities
        (whose arg-max is the label); 0/1 values for binary logits.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), np.array([0, 1, 1]))
    0.6666666666666666
    >>> accuracy(np.array([-1.0, 2.0]), np.array([0, 1]))
    1.0
    """
    logits, target = np.asarray(logits), np.asarray(target)
    n = logits.shape[0] if logits.ndim else 0
    if n == 0 or target.shape[0] != n:
        raise ValueError(f"accuracy: expected logits (N, C) and N targets, got logits "
                         f"{logits.shape} and targets {target.shape}")
    if logits.ndim == 1 or logits.shape[1] == 1:        # one binary logit per sample
        pred = logits.reshape(n) > 0
        labels = target.reshape(n) > 0.5
    else:
        pred = logits.argmax(axis=1)
        labels = target.argmax(axis=1) if target.ndim == 2 else target
    return float(np.mean(pred == labels))


def predict(model, x, batch_size=1000):
    """Outputs of ``model`` for every row of ``x``, in evaluation mode and in chunks.

    The modes of all modules are restored afterwards. In evaluation mode
    BatchNorm uses its running statistics and Dropout is the identity, so
    the chunk size does not change the result.

    Shapes: x: (N, ...) -> (N, ...) as the model outputs.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> model = ln.Linear(3, 2, rng=np.random.default_rng(0))
    >>> x = np.ones((5, 3), np.float32)
    >>> np.array_equal(predict(model, x, batch_size=2), model(x))
    True
    """
    check_int("predict", "batch_size", batch_size)
    if len(x) == 0:
        raise ValueError(f"predict: empty input (shape {np.shape(x)})")
    with eval_mode(model):
        return np.concatenate([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def evaluate(model, x, y, loss_fn=softmax_cross_entropy, batch_size=1000):
    """Loss and accuracy of ``model`` over the whole set ``(x, y)``, in evaluation mode.

    The outputs are computed in chunks of ``batch_size`` (:func:`predict`), then
    ``loss_fn`` is applied once to all of them, so the loss is the exact mean
    over the set whatever the chunk size.

    Returns
    -------
    (loss, accuracy) : (float, float)

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> model = ln.Linear(2, 2, rng=np.random.default_rng(0))
    >>> model.weight.data[...] = [[1, 0], [0, 1]]          # logits = inputs
    >>> x = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]], np.float32)
    >>> loss, acc = evaluate(model, x, np.array([0, 1, 1]))
    >>> round(loss, 4), round(acc, 4)
    (0.7936, 0.6667)
    """
    out = predict(model, x, batch_size)
    loss, _ = loss_fn(out, y)
    return float(loss), accuracy(out, y)
