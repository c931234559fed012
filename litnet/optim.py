r"""Optimisers: turn the gradients in ``Parameter.grad`` into new ``Parameter.data``.

Every optimiser is a :class:`Optimizer` that writes a single method,
``update(param, grad, state)``: it changes the array ``param`` in place, given
its gradient and a dict of per-parameter state (momentum buffers, running
averages, a step counter). :meth:`Optimizer.step` calls it once per parameter,
after adding weight decay to the gradient. So the same update rule drives a
network's weights and a plain array, e.g. a point on a 2-D test function:

>>> import numpy as np
>>> from litnet import Parameter
>>> point = Parameter(np.array([-7.0, 2.0]))       # f(x, y) = x**2 / 20 + y**2
>>> opt = SGD([point], lr=0.95)
>>> for _ in range(30):
...     point.grad = np.array([point.data[0] / 10, 2 * point.data[1]])
...     opt.step()
>>> point.data.round(4).tolist()
[-0.3504, 0.0848]

The formulas are PyTorch's (``torch.optim.SGD``, ``Adagrad``, ``RMSprop``,
``Adam``), with the same keyword names and defaults, and match them to
rounding error in float64. The book *Deep Learning from Scratch* (ch. 6)
writes some of them differently; each class says how, and why the results
agree or differ. With :math:`g_t` the gradient at step :math:`t = 1, 2, \dots`
and :math:`\eta` the learning rate:

==========  ===========================================  =========================================
optimiser   PyTorch (litnet)                             the book
==========  ===========================================  =========================================
Momentum    :math:`b \gets \mu b + g,\ \theta \gets      :math:`v \gets \mu v - \eta g,\ \theta
            \theta - \eta b`                             \gets \theta + v` (same path)
AdaGrad     :math:`\epsilon = 10^{-10}` outside the      :math:`\epsilon = 10^{-7}`, also outside
            square root
RMSProp     :math:`\epsilon = 10^{-8}`                   :math:`\epsilon = 10^{-7}`
Adam        bias corrections on :math:`m` and            both folded into the learning rate, so
            :math:`\sqrt{v}`, then :math:`+\epsilon`     :math:`\epsilon` is effectively rescaled
==========  ===========================================  =========================================

Weight decay (``weight_decay=λ``) is PyTorch's L2 penalty: :math:`g \gets g +
\lambda\theta`, the gradient of :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2`,
as in the book's ch. 6 (which applies it to weights only; here it applies to
every parameter given to the optimiser, so leave biases out if you want the
book's setting).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_parameters


def _at_least(who, name, value, low=0.0):
    """``value`` as a float, checked finite and ``>= low``; errors name the optimiser."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: {name} must be a number, got {value!r}") from None
    if not low <= value < np.inf:           # also rejects NaN
        raise ValueError(f"{who}: {name} must be >= {low} and finite, got {value}")
    return value


def _below_one(who, name, value):
    value = _at_least(who, name, value)
    if not value < 1.0:
        raise ValueError(f"{who}: {name} must lie in [0, 1), got {value}")
    return value


def _betas(who, betas):
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise ValueError(f"{who}: betas must be a pair (beta1, beta2), got {betas!r}")
    return tuple(_below_one(who, f"betas[{i}]", b) for i, b in enumerate(betas))


class Optimizer:
    r"""Base class: the parameters, per-parameter state, weight decay and ``step``.

    Parameters
    ----------
    params : iterable of Parameter
        E.g. ``model.parameters()``; a single :class:`~litnet.Parameter` is
        accepted too. To optimise a plain array, wrap it in a Parameter and
        set its ``.grad`` before each step.
    lr : float
        Learning rate :math:`\eta`.
    weight_decay : float
        L2 penalty :math:`\lambda`: :math:`g \gets g + \lambda\theta` before
        the update.

    Attributes
    ----------
    params : list of Parameter
    state : list of dict
        One dict per parameter (e.g. ``"momentum_buffer"``, ``"step"``), with
        PyTorch's key names.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> p = ln.Parameter(np.array([1.0, -2.0]))
    >>> opt = ln.optim.SGD([p], lr=0.1)
    >>> p.grad = np.array([1.0, 1.0])
    >>> opt.step()
    >>> p.data.tolist()
    [0.9, -2.1]
    >>> opt.zero_grad(); p.grad.tolist()
    [0.0, 0.0]
    >>> opt
    SGD(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)
    """

    _hyper = ("lr", "weight_decay")   # shown by repr, in this order

    def __init__(self, params, lr, weight_decay=0.0):
        who = type(self).__name__
        self.params = check_parameters(who, params)
        self.lr = _at_least(who, "lr", lr)
        self.weight_decay = _at_least(who, "weight_decay", weight_decay)
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        """Reset the gradient of every parameter to zero."""
        for p in self.params:
            p.zero_grad()

    # --8<-- [start:step]
    def step(self):
        """Update every parameter once from its current ``.grad``.

        A parameter whose ``.grad`` is ``None`` is skipped (not updated, its
        state untouched), as in PyTorch.
        """
        for p, state in zip(self.params, self.state, strict=True):
            grad = p.grad
            if grad is None:                               # no gradient: skip, as torch
                continue
            if grad.shape != p.shape:
                raise ValueError(f"{type(self).__name__}: a parameter of shape {p.shape} "
                                 f"has a gradient of shape {grad.shape}")
            if self.weight_decay:
                grad = grad + self.weight_decay * p.data   # d/dθ of (λ/2)·||θ||²
            self.update(p.data, grad, state)               # in place, the rule below
    # --8<-- [end:step]

    def update(self, param, grad, state):
        """Change ``param`` in place given ``grad`` and this parameter's ``state``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement update")

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyper)
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum.

    .. math::
        b_1 = g_1, \qquad b_t = \mu\, b_{t-1} + (1 - \tau)\, g_t, \qquad
        \theta \gets \theta - \eta\, d_t, \quad
        d_t = \begin{cases} g_t & \mu = 0 \\ b_t & \text{momentum} \\
                            g_t + \mu\, b_t & \text{Nesterov} \end{cases}

    with momentum :math:`\mu` and dampening :math:`\tau`, exactly as
    ``torch.optim.SGD`` (whose default ``lr`` is also 1e-3).

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> p = ln.Parameter(np.array([0.0]))
    >>> opt = SGD([p], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     p.grad = np.array([1.0])
    ...     opt.step()
    >>> round(float(p.data[0]), 6)          # -0.1·1, then -0.1·(0.9·1 + 1)
    -0.29
    """

    _hyper = ("lr", "momentum", "dampening", "weight_decay", "nesterov")

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, lr, weight_decay)
        who = type(self).__name__
        self.momentum = _at_least(who, "momentum", momentum)
        self.dampening = _at_least(who, "dampening", dampening)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(f"{who}: Nesterov momentum requires momentum > 0 and dampening 0, "
                             f"got momentum={self.momentum}, dampening={self.dampening}")

    # --8<-- [start:sgd]
    def update(self, param, grad, state):
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = grad.copy()                      # first step: b = g
            else:
                buf = self.momentum * buf + (1 - self.dampening) * grad
            state["momentum_buffer"] = buf
            grad = grad + self.momentum * buf if self.nesterov else buf
        param -= self.lr * grad
    # --8<-- [end:sgd]


# --8<-- [start:momentum]
class Momentum(SGD):
    r"""SGD with momentum ("heavy ball"): :math:`b \gets \mu b + g`,
    :math:`\theta \gets \theta - \eta b`.

    Defaults are the book's (``lr=0.01``, ``momentum=0.9``). The book writes
    the velocity with the learning rate inside,

    .. math:: v \gets \mu v - \eta g, \qquad \theta \gets \theta + v ,

    which is the same update for a constant :math:`\eta` (:math:`v = -\eta b`
    at every step); PyTorch's form keeps the buffer independent of
    :math:`\eta`, so changing the learning rate mid-run differs.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> Momentum([ln.Parameter(np.zeros(2))])
    Momentum(lr=0.01, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False)
    """

    def __init__(self, params, lr=0.01, momentum=0.9, dampening=0.0, weight_decay=0.0):
        super().__init__(params, lr, momentum, dampening, weight_decay, nesterov=False)
# --8<-- [end:momentum]


# --8<-- [start:nesterov]
class Nesterov(SGD):
    r"""SGD with Nesterov momentum, in PyTorch's form:

    .. math:: b \gets \mu b + g, \qquad \theta \gets \theta - \eta\,(g + \mu b) .

    This is the "look-ahead" method (the gradient taken at
    :math:`\theta - \eta\mu b`) rewritten for the current point. The book's
    code writes it with a velocity :math:`v = -\eta b`; litnet keeps PyTorch's
    order of operations. Defaults ``lr=0.01``, ``momentum=0.9``.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> p = ln.Parameter(np.array([0.0]))
    >>> opt = Nesterov([p], lr=0.1)
    >>> p.grad = np.array([1.0]); opt.step()
    >>> round(float(p.data[0]), 6)           # -0.1·(1 + 0.9·1)
    -0.19
    """

    def __init__(self, params, lr=0.01, momentum=0.9, weight_decay=0.0):
        super().__init__(params, lr, momentum, 0.0, weight_decay, nesterov=True)
# --8<-- [end:nesterov]


class AdaGrad(Optimizer):
    r"""AdaGrad: each coordinate's step shrinks with its accumulated squared gradient.

    .. math::
        h \gets h + g \odot g, \qquad
        \theta \gets \theta - \frac{\eta_t\, g}{\sqrt{h} + \epsilon}, \qquad
        \eta_t = \frac{\eta}{1 + (t - 1)\,\text{lr\_decay}}

    as ``torch.optim.Adagrad`` (defaults ``lr=0.01``, ``eps=1e-10``,
    ``initial_accumulator_value=0``). The book's code also adds
    :math:`\epsilon` outside the square root but uses :math:`10^{-7}`; the
    difference only matters while :math:`\sqrt{h}` is about that small (a
    coordinate whose gradients have all been nearly zero).

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> p = ln.Parameter(np.array([0.0, 0.0]))
    >>> opt = AdaGrad([p], lr=1.0)
    >>> p.grad = np.array([3.0, -0.5]); opt.step()
    >>> p.data.round(6).tolist()             # first step: -lr·sign(g)
    [-1.0, 1.0]
    """

    _hyper = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, lr, weight_decay)
        who = type(self).__name__
        self.lr_decay = _at_least(who, "lr_decay", lr_decay)
        self.initial_accumulator_value = _at_least(who, "initial_accumulator_value",
                                                   initial_accumulator_value)
        self.eps = _at_least(who, "eps", eps)

    # --8<-- [start:adagrad]
    def update(self, param, grad, state):
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param, self.initial_accumulator_value)
        state["step"] += 1
        lr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        state["sum"] = state["sum"] + grad * grad              # h += g²
        param -= lr * grad / (np.sqrt(state["sum"]) + self.eps)
    # --8<-- [end:adagrad]


class RMSProp(Optimizer):
    r"""RMSProp: AdaGrad with an exponential moving average instead of a sum.

    .. math::
        h \gets \alpha h + (1 - \alpha)\, g \odot g, \qquad
        \theta \gets \theta - \frac{\eta\, g}{\sqrt{h} + \epsilon}

    as ``torch.optim.RMSprop`` without its ``momentum`` and ``centered``
    options (defaults ``lr=0.01``, ``alpha=0.99``, ``eps=1e-8``). The book's
    ``RMSprop`` calls :math:`\alpha` ``decay_rate`` and uses
    :math:`\epsilon = 10^{-7}`.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> p = ln.Parameter(np.array([0.0]))
    >>> opt = RMSProp([p], lr=0.01)
    >>> p.grad = np.array([2.0]); opt.step()
    >>> round(float(p.data[0]), 6)           # -0.01·2 / sqrt(0.01·4) = -0.1
    -0.1
    """

    _hyper = ("lr", "alpha", "eps", "weight_decay")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        who = type(self).__name__
        self.alpha = _below_one(who, "alpha", alpha)
        self.eps = _at_least(who, "eps", eps)

    # --8<-- [start:rmsprop]
    def update(self, param, grad, state):
        h = state.get("square_avg", 0.0)
        h = self.alpha * h + (1 - self.alpha) * grad * grad      # moving average of g²
        state["square_avg"] = h
        param -= self.lr * grad / (np.sqrt(h) + self.eps)
    # --8<-- [end:rmsprop]


class Adam(Optimizer):
    r"""Adam: momentum on the gradient, RMSProp on its square, both bias-corrected.

    .. math::
        m \gets \beta_1 m + (1 - \beta_1)\, g, \qquad
        v \gets \beta_2 v + (1 - \beta_2)\, g \odot g, \\
        \theta \gets \theta - \frac{\eta}{1 - \beta_1^t}\;
            \frac{m}{\sqrt{v} / \sqrt{1 - \beta_2^t} + \epsilon}

    as ``torch.optim.Adam`` (defaults ``lr=1e-3``, ``betas=(0.9, 0.999)``,
    ``eps=1e-8``; ``weight_decay`` is added to the gradient, not AdamW's
    decoupled decay; no ``amsgrad``). The book folds both corrections into the
    learning rate,

    .. math::
        \eta_t = \eta\,\frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}, \qquad
        \theta \gets \theta - \eta_t\, \frac{m}{\sqrt{v} + \epsilon'} ,

    the same update with :math:`\epsilon' = \epsilon\sqrt{1 - \beta_2^t}`; with
    its :math:`\epsilon' = 10^{-7}` the two differ only when :math:`\sqrt{v}` is
    within a few orders of magnitude of :math:`\epsilon`.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> p = ln.Parameter(np.array([0.0, 0.0]))
    >>> opt = Adam([p], lr=0.1)
    >>> p.grad = np.array([5.0, -1e-3]); opt.step()
    >>> p.data.round(4).tolist()             # first step: about -lr·sign(g)
    [-0.1, 0.1]
    """

    _hyper = ("lr", "betas", "eps", "weight_decay")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        who = type(self).__name__
        self.betas = _betas(who, betas)
        self.eps = _at_least(who, "eps", eps)

    # --8<-- [start:adam]
    def update(self, param, grad, state):
        beta1, beta2 = self.betas
        t = state["step"] = state.get("step", 0) + 1
        m = state["exp_avg"] = beta1 * state.get("exp_avg", 0.0) + (1 - beta1) * grad
        v = state["exp_avg_sq"] = (beta2 * state.get("exp_avg_sq", 0.0)
                                   + (1 - beta2) * grad * grad)
        step_size = self.lr / (1 - beta1 ** t)                   # bias correction of m
        denom = np.sqrt(v) / np.sqrt(1 - beta2 ** t) + self.eps  # ... and of sqrt(v)
        param -= step_size * m / denom
    # --8<-- [end:adam]


__all__ = ["SGD", "AdaGrad", "Adam", "Momentum", "Nesterov", "Optimizer", "RMSProp"]
