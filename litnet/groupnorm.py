r"""Group normalisation: standardise each sample over groups of channels."""

from __future__ import annotations

import numpy as np

from ._checks import check_array, check_grad, check_int, require_forward
from .layernorm import normalize, normalize_backward
from .module import Module
from .parameter import Parameter


class GroupNorm(Module):
    r"""Group normalisation of a (N, C, \*) input, PyTorch semantics.

    The :math:`C` channels are split into ``num_groups`` consecutive groups of
    :math:`C/G` channels; each sample is standardised within each group (over
    the :math:`C/G` channels and all their positions: the :math:`L` of a
    (N, C, L) input, the :math:`H W` pixels of a (N, C, H, W) image), then
    every channel gets its own scale and shift.

    Parameters
    ----------
    num_groups : int
        :math:`G`; must divide ``num_channels``. :math:`G = 1` normalises over
        all channels of a sample (like :class:`~litnet.LayerNorm` with a
        per-channel affine), :math:`G = C` normalises each channel alone.
    num_channels : int
        :math:`C`.
    eps : float
        Added to the variance before the square root.
    affine : bool
        Learn per-channel ``weight`` (:math:`\gamma`, starts at 1) and ``bias``
        (:math:`\beta`, starts at 0), shape (C,).
    dtype : float32 or float64
        Dtype of the parameters; inputs must match it.

    Shapes
    ------
    x: (N, C), (N, C, L), (N, C, H, W), ... -> y: same shape.

    Notes
    -----
    Viewing x as (N, G, D) with :math:`D = (C/G)\,L` (:math:`L` the number of
    positions, :math:`H W` for images):

    .. math:: \hat x_{n g} = \frac{x_{n g} - \mu_{n g}}{\sqrt{\sigma^2_{n g} + \epsilon}},
              \qquad y_{n c} = \gamma_c \hat x_{n c} + \beta_c .

    Statistics never mix samples, so training and evaluation modes agree and
    a batch of one is fine. Where the variance overflows the input's dtype
    (squaring a float32 value near :math:`10^{20}` does), the statistics are
    computed again in float64, so the output is never silently :math:`\beta`;
    a float64 input too large for that raises a clear error.

    Backward: :math:`\partial L/\partial\beta_c` and
    :math:`\partial L/\partial\gamma_c` sum :math:`g` and :math:`g\hat x` over
    everything but the channel axis; :math:`\partial L/\partial x` is
    :func:`~litnet.layernorm.normalize_backward` of :math:`\gamma \odot g`
    within each group.

    Examples
    --------
    >>> import numpy as np
    >>> gn = GroupNorm(2, 4, dtype=np.float64)
    >>> gn(np.array([[1.0, 3.0, 10.0, 30.0]])).round(4)   # groups (1, 3) and (10, 30)
    array([[-1., 1., -1., 1.]])
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, *, dtype=np.float32):
        super().__init__()
        check_int("GroupNorm", "num_groups", num_groups)
        check_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        if not eps > 0:
            raise ValueError(f"GroupNorm: eps must be positive, got {eps!r}")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps = float(eps)
        self.affine = bool(affine)
        self.weight = self.bias = None
        if self.affine:
            self.weight = Parameter(np.ones(self.num_channels, dtype=dtype))
            self.bias = Parameter(np.zeros(self.num_channels, dtype=dtype))
        self._cache = None

    # --8<-- [start:forward]
    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 2:
            raise ValueError(f"{self!r}: expected an input of shape (N, {self.num_channels}, *) "
                             f"with at least 2 dimensions, got shape {x.shape} ({x.ndim}-D)")
        x = check_array(self, x, features=self.num_channels,
                        dtype=None if self.weight is None else self.weight.dtype)
        groups = x.reshape(x.shape[0], self.num_groups, -1)     # (N, G, C/G * positions)
        xhat, inv_std = normalize(groups, (2,), self.eps, self)
        xhat = xhat.reshape(x.shape)
        self._cache = (xhat, inv_std)
        if not self.affine:
            return xhat
        shape = (1, self.num_channels) + (1,) * (x.ndim - 2)
        return self.weight.data.reshape(shape) * xhat + self.bias.data.reshape(shape)
    # --8<-- [end:forward]

    # --8<-- [start:backward]
    def backward(self, grad_out):
        xhat, inv_std = require_forward(self, self._cache)
        g = check_grad(self, grad_out, xhat.shape)
        if self.affine:
            axes = (0,) + tuple(range(2, g.ndim))               # all but the channels
            self.weight.accumulate((g * xhat).sum(axis=axes))
            self.bias.accumulate(g.sum(axis=axes))
            g = self.weight.data.reshape((1, -1) + (1,) * (g.ndim - 2)) * g   # dL/dxhat
        n = xhat.shape[0]
        dx = normalize_backward(g.reshape(n, self.num_groups, -1),
                                xhat.reshape(n, self.num_groups, -1), inv_std, (2,))
        return dx.reshape(xhat.shape)
    # --8<-- [end:backward]

    def extra_repr(self):
        s = f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
        return s + (f", dtype={self.weight.dtype}" if self.affine else "")
