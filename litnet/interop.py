r"""Take a litnet model to PyTorch: the same layers, the same weights, the same outputs.

:func:`to_torch` walks the model and builds the matching ``torch.nn`` module
for each layer, copying parameters, buffers (BatchNorm's running statistics)
and the training/evaluation mode. Because litnet uses PyTorch's names and
weight layouts, the torch model's ``state_dict()`` has exactly the keys of
:func:`litnet.io.state_arrays`: nothing is transposed or renamed.

PyTorch is optional: it is imported only when :func:`to_torch` is called.
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

import numpy as np

from .parameter import Parameter


@lru_cache(maxsize=1)
def _torch_classes():
    """The few torch modules litnet needs that ``torch.nn`` lacks (defined on first use)."""
    from torch import nn

    class TorchResidual(nn.Module):
        """``y = block(x) + shortcut(x)``, the PyTorch twin of :class:`litnet.Residual`."""

        def __init__(self, block, shortcut=None):
            super().__init__()
            self.block = block
            self.shortcut = nn.Identity() if shortcut is None else shortcut

        def forward(self, x):
            return self.block(x) + self.shortcut(x)

    def eval_batch_stats(base):
        """``base`` (``nn.BatchNorm1d`` or ``nn.BatchNorm2d``) using batch statistics in
        evaluation mode too, as litnet's ``eval_uses_batch_stats=True``: in evaluation mode
        the running statistics are kept but neither used nor updated."""

        class EvalBatchStats(base):
            def forward(self, x):
                if self.training:
                    return super().forward(x)
                return nn.functional.batch_norm(x, None, None, self.weight, self.bias,
                                                training=True, momentum=0.0, eps=self.eps)

        EvalBatchStats.__doc__ = eval_batch_stats.__doc__
        return EvalBatchStats

    class TorchRNN(nn.RNN):
        """``nn.RNN(batch_first=True)`` returning only the output sequence, as litnet's RNN."""

        def forward(self, x, hx=None):
            return super().forward(x, hx)[0]

    class TorchLSTM(nn.LSTM):
        """``nn.LSTM(batch_first=True)`` returning only the output sequence, as litnet's LSTM."""

        def forward(self, x, hx=None):
            return super().forward(x, hx)[0]

    classes = SimpleNamespace(TorchResidual=TorchResidual, TorchRNN=TorchRNN,
                              TorchLSTM=TorchLSTM,
                              BatchNorm1dEvalBatchStats=eval_batch_stats(nn.BatchNorm1d),
                              BatchNorm2dEvalBatchStats=eval_batch_stats(nn.BatchNorm2d))
    for name, cls in vars(classes).items():  # importable as litnet.interop.<name> (pickling)
        cls.__module__, cls.__qualname__, cls.__name__ = __name__, name, name
    return classes


def __getattr__(name):
    """``litnet.interop.TorchResidual`` etc., created (with torch imported) on first access."""
    if name in ("TorchResidual", "TorchRNN", "TorchLSTM", "BatchNorm1dEvalBatchStats",
                "BatchNorm2dEvalBatchStats"):
        return getattr(_torch_classes(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _model_dtype(model):
    """The dtype of the model's first parameter (or floating buffer); float32 if none."""
    for p in model.parameters():
        return p.dtype
    for _, buf in model.named_buffers():
        if np.issubdtype(np.asarray(buf).dtype, np.floating):
            return np.asarray(buf).dtype
    return np.dtype(np.float32)


def to_torch(model, dtype=None):
    r"""Build the ``torch.nn`` module equivalent to the litnet ``model``, weights included.

    Parameters
    ----------
    model : litnet.Module
        Made of :class:`~litnet.Sequential`, :class:`~litnet.Linear`,
        :class:`~litnet.Sigmoid`, :class:`~litnet.Tanh`, :class:`~litnet.ReLU`,
        :class:`~litnet.LeakyReLU`, :class:`~litnet.PReLU`,
        :class:`~litnet.BatchNorm1d`, :class:`~litnet.BatchNorm2d`,
        :class:`~litnet.LayerNorm`, :class:`~litnet.GroupNorm`,
        :class:`~litnet.Dropout`, :class:`~litnet.Residual`,
        :class:`~litnet.Conv2d`, :class:`~litnet.MaxPool2d`,
        :class:`~litnet.AvgPool2d`, :class:`~litnet.AdaptiveAvgPool2d`,
        :class:`~litnet.Flatten`, :class:`~litnet.RNN` and :class:`~litnet.LSTM`.
    dtype : numpy dtype, str or torch.dtype, optional
        Dtype of the torch parameters; the model's own dtype by default.

    Returns
    -------
    torch.nn.Module
        Independent of ``model`` (weights are copied). Each module is in the
        same training/evaluation mode as its litnet counterpart; BatchNorm
        carries its running statistics, ``num_batches_tracked``, momentum and
        eps. Residual blocks become ``TorchResidual``; RNN and LSTM become
        subclasses of ``nn.RNN``/``nn.LSTM`` (``batch_first=True``) that
        return only the output sequence, as litnet's layers do. Dropout
        masks are random on both sides, so outputs agree in evaluation mode.

    Raises
    ------
    TypeError
        A layer without a PyTorch equivalent (the message names it and its
        place in the model).

    Examples
    --------
    >>> import numpy as np, pytest, litnet as ln
    >>> torch = pytest.importorskip("torch")  # the optional extra: pip install litnet[torch]
    >>> rng = np.random.default_rng(0)
    >>> model = ln.Sequential(ln.Linear(3, 4, rng=rng, dtype=np.float64), ln.Tanh())
    >>> net = ln.to_torch(model)
    >>> net
    Sequential(
      (0): Linear(in_features=3, out_features=4, bias=True)
      (1): Tanh()
    )
    >>> x = rng.standard_normal((2, 3))
    >>> bool(np.allclose(net(torch.from_numpy(x)).detach().numpy(), model(x), atol=1e-12))
    True
    """
    import torch

    if dtype is None:
        dtype = _model_dtype(model)
    if not isinstance(dtype, torch.dtype):
        dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64,
                 np.dtype(np.float16): torch.float16}.get(np.dtype(dtype))
        if dtype is None:
            raise TypeError("to_torch: dtype must be float16, float32 or float64")
    with torch.no_grad():
        return _convert(model, "model", torch, dtype)


def _copy(torch, target, source):
    """Copy the litnet Parameter or array ``source`` into the torch tensor ``target``."""
    data = source.data if isinstance(source, Parameter) else np.asarray(source)
    target.copy_(torch.as_tensor(np.array(data)).to(target.dtype))


def _convert(m, where, torch, dtype):
    """The PyTorch module for the litnet module ``m`` (at path ``where``), weights copied."""
    for make in (_container, _stateless, _layer):
        out = make(m, where, torch, dtype)
        if out is not None:
            out.training = bool(m.training)  # this module only: children carry their own mode
            return out
    raise TypeError(
        f"to_torch: no PyTorch equivalent for the litnet layer {type(m).__name__} at "
        f"{where}; supported: Sequential, Residual, Linear, Sigmoid, Tanh, ReLU, LeakyReLU, "
        "PReLU, BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, Dropout, Conv2d, MaxPool2d, "
        "AvgPool2d, AdaptiveAvgPool2d, Flatten, RNN, LSTM")


def _container(m, where, torch, dtype):
    from .module import Sequential
    from .residual import Residual

    if isinstance(m, Sequential):
        return torch.nn.Sequential(*[_convert(c, f"{where}.{i}", torch, dtype)
                                     for i, c in enumerate(m)])
    if isinstance(m, Residual):
        shortcut = None if m.shortcut is None else _convert(m.shortcut, f"{where}.shortcut",
                                                            torch, dtype)
        out = _torch_classes().TorchResidual(_convert(m.block, f"{where}.block", torch, dtype),
                                             shortcut)
        if shortcut is None:                 # the nn.Identity made by TorchResidual
            out.shortcut.training = bool(m.training)
        return out
    return None


def _stateless(m, where, torch, dtype):
    """Layers without parameters or buffers."""
    from . import activations as act
    from .dropout import Dropout
    from .flatten import Flatten
    from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

    nn = torch.nn
    simple = {act.Sigmoid: nn.Sigmoid, act.Tanh: nn.Tanh, act.ReLU: nn.ReLU}
    if type(m) in simple:
        return simple[type(m)]()
    if isinstance(m, act.LeakyReLU):
        return nn.LeakyReLU(m.negative_slope)
    if isinstance(m, Dropout):
        return nn.Dropout(m.p)
    if isinstance(m, MaxPool2d):
        return nn.MaxPool2d(m.kernel_size, m.stride)
    if isinstance(m, AvgPool2d):
        return nn.AvgPool2d(m.kernel_size, m.stride)
    if isinstance(m, AdaptiveAvgPool2d):
        return nn.AdaptiveAvgPool2d(m.output_size)
    if isinstance(m, Flatten):
        return nn.Flatten(m.start_dim, m.end_dim)
    return None


def _layer(m, where, torch, dtype):
    """Layers with parameters or buffers, copied into the new module."""
    from . import activations as act
    from .batchnorm import BatchNorm1d
    from .batchnorm2d import BatchNorm2d
    from .conv import Conv2d
    from .groupnorm import GroupNorm
    from .layernorm import LayerNorm
    from .linear import Linear
    from .lstm import LSTM
    from .rnn import RNN

    nn = torch.nn
    if isinstance(m, Linear):
        out = nn.Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=dtype)
    elif isinstance(m, act.PReLU):
        out = nn.PReLU(m.num_parameters, dtype=dtype)
    elif isinstance(m, BatchNorm1d):           # BatchNorm2d is a subclass
        two_d = isinstance(m, BatchNorm2d)
        cls = nn.BatchNorm2d if two_d else nn.BatchNorm1d
        if m.track_running_stats and m.eval_uses_batch_stats:
            cls = getattr(_torch_classes(), f"BatchNorm{2 if two_d else 1}dEvalBatchStats")
        out = cls(m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine,
                  track_running_stats=m.track_running_stats, dtype=dtype)
    elif isinstance(m, LayerNorm):
        out = nn.LayerNorm(m.normalized_shape, eps=m.eps, elementwise_affine=m.elementwise_affine,
                           bias=m.bias is not None, dtype=dtype)
    elif isinstance(m, GroupNorm):
        out = nn.GroupNorm(m.num_groups, m.num_channels, eps=m.eps, affine=m.affine, dtype=dtype)
    elif isinstance(m, Conv2d):
        out = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                        bias=m.bias is not None, dtype=dtype)
    elif isinstance(m, LSTM):
        out = _torch_classes().TorchLSTM(m.input_size, m.hidden_size, batch_first=True,
                                         dtype=dtype)
    elif isinstance(m, RNN):
        out = _torch_classes().TorchRNN(m.input_size, m.hidden_size, batch_first=True,
                                        nonlinearity=m.nonlinearity, dtype=dtype)
    else:
        return None
    _copy_all(torch, out, m)
    return out


def _copy_all(torch, out, m):
    """Copy every direct parameter and buffer of ``m`` into ``out``, matched by name."""
    state = out.state_dict(keep_vars=True)
    ours = {name: p.data for name, p in m.named_parameters()}
    ours.update((name, b) for name, b in m.named_buffers())
    if set(state) != set(ours):
        raise TypeError(f"to_torch: {type(m).__name__} has state {sorted(ours)} but "
                        f"torch.nn's equivalent has {sorted(state)}")
    for name, value in ours.items():
        _copy(torch, state[name], value)
