r"""Skip connection: :math:`y = F(x) + S(x)`, so the gradient has two paths back to :math:`x`."""

from __future__ import annotations

import numpy as np

from ._checks import check_grad, require_forward
from .module import Module, run_backward


class Residual(Module):
    r"""A residual block :math:`y = F(x) + S(x)`.

    :math:`F` is ``block`` (any module, e.g. a :class:`~litnet.Sequential`)
    and :math:`S` is ``shortcut``: the identity when ``None``, or any module,
    typically a projection when :math:`F` changes the shape: a
    :class:`~litnet.Linear` for features, a 1×1 :class:`~litnet.Conv2d`
    (with the block's stride, often followed by :class:`~litnet.BatchNorm2d`)
    for images, as in He et al.'s ResNet.

    Parameters
    ----------
    block : litnet.Module
        The residual branch :math:`F`.
    shortcut : litnet.Module or None
        The skip path :math:`S`; ``None`` means :math:`S(x) = x`.

    Attributes
    ----------
    grad_through_block : ndarray or None
        After ``backward``: the part of :math:`\partial L/\partial x` that
        flows through ``block``, :math:`g\,\partial F/\partial x`.
    grad_through_shortcut : ndarray or None
        After ``backward``: the part that flows through ``shortcut``,
        :math:`g\,\partial S/\partial x` (just :math:`g` for the identity).

    Shapes
    ------
    x: (N, D) -> y: (N, D_out), or images (N, C, H, W) -> (N, C_out, H_out,
    W_out); ``block(x)`` and ``shortcut(x)`` must have the same shape.

    Notes
    -----
    With :math:`g = \partial L/\partial y`, the sum rule gives

    .. math:: \frac{\partial L}{\partial x}
              = \underbrace{g\,\frac{\partial F}{\partial x}}_{\text{through the block}}
              + \underbrace{g\,\frac{\partial S}{\partial x}}_{\text{through the shortcut}} .

    With the identity shortcut the second term is :math:`g` itself: however
    small :math:`\partial F/\partial x` becomes, the gradient reaching
    :math:`x` is not multiplied by it. The two terms are kept separately so a
    reader can see how much each path contributes.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> rng = np.random.default_rng(0)
    >>> res = Residual(ln.Sequential(ln.Linear(3, 3, rng=rng), ln.Tanh()))
    >>> x = rng.standard_normal((4, 3)).astype(np.float32)
    >>> res(x).shape
    (4, 3)
    >>> g = np.ones((4, 3), np.float32)
    >>> dx = res.backward(g)
    >>> bool(np.array_equal(res.grad_through_shortcut, g))     # identity: g passes unchanged
    True
    >>> bool(np.allclose(dx, res.grad_through_block + res.grad_through_shortcut))
    True
    >>> [name for name, _ in res.named_parameters()]
    ['block.0.weight', 'block.0.bias']
    """

    def __init__(self, block, shortcut=None):
        super().__init__()
        if not isinstance(block, Module):
            raise TypeError(f"Residual: block must be a litnet Module, got "
                            f"{type(block).__name__}")
        if shortcut is not None and not isinstance(shortcut, Module):
            raise TypeError(f"Residual: shortcut must be a litnet Module or None (identity), "
                            f"got {type(shortcut).__name__}")
        self.block = block
        self.shortcut = shortcut
        self.grad_through_block = None
        self.grad_through_shortcut = None
        self._out_shape = None

    # --8<-- [start:forward]
    def forward(self, x):
        fx = self.block(x)                                       # F(x)
        sx = x if self.shortcut is None else self.shortcut(x)    # S(x)
        fx, sx = np.asarray(fx), np.asarray(sx)
        if fx.shape != sx.shape:
            raise ValueError(f"Residual: block output has shape {fx.shape} but shortcut "
                             f"output has shape {sx.shape}; use a projection shortcut "
                             "(e.g. Linear(in, out), or a 1x1 Conv2d for images) when the "
                             "block changes the shape")
        y = fx + sx
        self._out_shape = y.shape
        return y
    # --8<-- [end:forward]

    # --8<-- [start:backward]
    def backward(self, grad_out):
        shape = require_forward("Residual", self._out_shape)   # (its repr spans lines)
        g = check_grad("Residual", grad_out, shape)
        self.grad_through_block = run_backward(self.block, g)        # g dF/dx
        if self.shortcut is None:
            self.grad_through_shortcut = g.copy()                    # g dS/dx = g
        else:
            self.grad_through_shortcut = run_backward(self.shortcut, g)
        return self.grad_through_block + self.grad_through_shortcut  # sum of both paths
    # --8<-- [end:backward]

    def __repr__(self):
        if self.shortcut is None:
            return super().__repr__()[:-1] + "  (shortcut): Identity\n)"
        return super().__repr__()
