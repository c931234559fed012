r"""Batch normalisation of images: one mean and variance per channel, over N, H and W."""

from __future__ import annotations

from ._checks import check_array, check_grad, require_forward
from .batchnorm import BatchNorm1d


class BatchNorm2d(BatchNorm1d):
    r"""Batch normalisation over a (N, C, H, W) input, PyTorch semantics.

    Parameters, buffers and modes are those of :class:`~litnet.BatchNorm1d`,
    with ``num_features`` the number of channels :math:`C`.

    Shapes
    ------
    x: (N, C, H, W) -> y: same shape. Statistics are taken per channel over
    the :math:`m = N H W` values of that channel in the batch.

    Notes
    -----
    A convolution applies the same kernel at every pixel, so a channel is one
    feature seen :math:`H W` times per image: its pixels share one
    :math:`\mu, \sigma^2`, one :math:`\gamma` and one :math:`\beta`. Viewing the
    input as (N, C, H·W) makes it exactly BatchNorm1d's (N, C, L) case, so this
    class only reshapes and lets :class:`~litnet.BatchNorm1d` compute the
    forward, the backward and the running statistics.

    Examples
    --------
    >>> import numpy as np
    >>> bn = BatchNorm2d(2, dtype=np.float64)
    >>> x = np.stack([np.full((2, 2), 1.0), np.full((2, 2), 3.0)])[None]   # (1, 2, 2, 2)
    >>> x = np.concatenate([x, x + 2])                                    # (2, 2, 2, 2)
    >>> bn(x)[:, :, 0, 0].round(4)                  # per channel: values 1, 3 and 3, 5
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> bn.running_mean.tolist()                    # 0.1 * channel means 2 and 4
    [0.2, 0.4]
    """

    def __init__(self, num_features, *args, **kwargs):
        try:
            super().__init__(num_features, *args, **kwargs)
        except (TypeError, ValueError) as e:              # name this layer, not its base
            raise type(e)(str(e).replace("BatchNorm1d", "BatchNorm2d")) from None
        self._image_shape = None

    # --8<-- [start:forward]
    def forward(self, x):
        x = check_array(self, x, ndim=4, features=self.num_features,
                        dtype=self._expected_dtype())
        n, c, h, w = x.shape
        if self.training and n * h * w < 2:
            raise ValueError(f"{self!r}: expected more than 1 value per channel when "
                             f"training, got input of shape {x.shape} (N*H*W = {n * h * w})")
        self._image_shape = x.shape
        return super().forward(x.reshape(n, c, h * w)).reshape(x.shape)   # (N, C, L), L = HW
    # --8<-- [end:forward]

    def backward(self, grad_out):
        shape = require_forward(self, self._image_shape)
        g = check_grad(self, grad_out, shape)
        dx = super().backward(g.reshape(shape[0], shape[1], -1))
        return None if dx is None else dx.reshape(shape)
