r"""Diagnostics: what every layer's activations and gradients look like.

A :class:`Recorder` attaches a forward hook and a backward hook to each
selected layer (see :meth:`litnet.Module.register_forward_hook`). The forward
hook folds the layer's output (or input) into running statistics:

.. math::
    \text{mean}, \quad \text{std} = \sqrt{\tfrac{1}{n}\textstyle\sum (a - \bar a)^2},
    \quad P(a \le \text{low}), \quad P(a \ge \text{high}), \quad P(a = 0),

and optionally into a histogram with fixed bin edges (so that histograms of
different layers and epochs can be compared bin by bin). The backward hook
records :math:`\lVert \partial L/\partial x \rVert_2`, the norm of the
gradient that leaves the layer towards the input, and the norm of each of the
layer's parameter gradients. Statistics accumulate over every call made while
the hooks are attached; :meth:`Recorder.stats` returns them as a :class:`Table`
(one row per layer). Nothing here imports matplotlib.

Examples
--------
>>> import numpy as np, litnet as ln
>>> rng = np.random.default_rng(0)
>>> model = ln.Sequential(ln.Linear(4, 8, rng=rng), ln.Sigmoid(),
...                       ln.Linear(8, 8, rng=rng), ln.Sigmoid())
>>> x = rng.standard_normal((16, 4)).astype(np.float32)
>>> with ln.diagnostics.record(model, layers=ln.Sigmoid) as rec:
...     out = model(x)
...     _ = model.backward(np.ones_like(out))
>>> rec.stats().columns[:5]
['name', 'type', 'count', 'mean', 'std']
>>> rec.stats().column("name").tolist()
['1', '3']
"""

from __future__ import annotations

import numpy as np

from .activations import Sigmoid, Tanh
from .evaluation import predict
from .losses import softmax_cross_entropy
from .module import Module
from .table import Table

__all__ = ["DEFAULT_SATURATION", "LayerRecord", "Probe", "Recorder", "Table",
           "forward_backward", "gradient_norms", "parameter_grad_norms", "record", "select"]

#: Default saturation bounds (low, high) of an activation's *output*.
DEFAULT_SATURATION = {Sigmoid: (0.05, 0.95), Tanh: (-0.95, 0.95)}


# -- per-layer accumulation --------------------------------------------------
def _norm(a):
    if a is None:              # a gradient nobody asked for (backward(g, input_grad=False))
        return np.nan
    a = np.asarray(a, dtype=np.float64).ravel()
    return float(np.sqrt(a @ a))


def _first(value):
    """A layer returning a tuple (e.g. a recurrent layer) is summarised by its first item."""
    return value[0] if isinstance(value, tuple) else value


class LayerRecord:
    r"""Everything recorded for one layer (see :class:`Recorder`).

    Attributes
    ----------
    name : str
        Dotted path of the layer in the model (``"3"``, ``"2.block.0"``).
    module : Module
    count : int
        Number of values seen so far.
    hist : ndarray of int64 or None
        Counts per bin; values below the first or above the last edge are
        counted in ``below`` / ``above``, NaN/inf in ``nonfinite``, so
        ``hist.sum() + below + above + nonfinite == count``.
    grad_norms, grad_out_norms : list of float
        :math:`\lVert\partial L/\partial x\rVert` and
        :math:`\lVert\partial L/\partial y\rVert`, one per backward call.
    param_grad_norms : dict of list of float
        Per parameter of the layer: the norm of ``.grad`` right after each of
        the layer's backward calls (it includes whatever ``.grad`` held
        before: zero the gradients first).
    values : list of ndarray
        Copies of the recorded arrays, one per forward call (only with ``keep``).
    """

    def __init__(self, name, module, *, saturation=None, edges=None, keep=False):
        self.name, self.module = name, module
        self.saturation, self.edges, self.keep = saturation, edges, keep
        self.param_grad_norms = {n: [] for n, _ in module.named_parameters()}
        self.reset()

    def reset(self):
        """Forget everything recorded so far."""
        self.count, self._mean, self._m2 = 0, 0.0, 0.0
        self.min, self.max = np.inf, -np.inf
        self._low = self._high = self._zero = 0
        self._alive = None
        self.hist = None if self.edges is None else np.zeros(len(self.edges) - 1, np.int64)
        self.below = self.above = self.nonfinite = 0
        self.values = []
        self.grad_norms, self.grad_out_norms = [], []
        for norms in self.param_grad_norms.values():
            norms.clear()

    # --8<-- [start:observe]
    def observe(self, a):
        """Fold one array of activations, (N, ...), into the statistics."""
        a = np.asarray(a)
        v = a.astype(np.float64).ravel()
        if v.size == 0:
            return
        # merge this batch's mean and sum of squared deviations with the running ones
        n_old, n = self.count, v.size
        mean = v.mean()
        delta = mean - self._mean
        self.count = n_old + n
        self._mean += delta * n / self.count
        self._m2 += ((v - mean) ** 2).sum() + delta**2 * n_old * n / self.count
        self.min, self.max = min(self.min, v.min()), max(self.max, v.max())
        if self.saturation is not None:
            low, high = self.saturation
            self._low += int(np.count_nonzero(v <= low))
            self._high += int(np.count_nonzero(v >= high))
        self._zero += int(np.count_nonzero(v == 0))
        if a.ndim >= 2:  # a unit is "dead" if it was exactly 0 for every sample seen
            alive = np.any(a != 0, axis=0)
            if self._alive is not None and self._alive.shape != alive.shape:
                raise ValueError(f"diagnostics: layer {self.name!r} produced units of shape "
                                 f"{alive.shape} after {self._alive.shape}")
            self._alive = alive if self._alive is None else self._alive | alive
        if self.hist is not None:
            finite = v[np.isfinite(v)]
            self.nonfinite += v.size - finite.size
            self.hist += np.histogram(finite, bins=self.edges)[0]
            self.below += int(np.count_nonzero(finite < self.edges[0]))
            self.above += int(np.count_nonzero(finite > self.edges[-1]))
        if self.keep:
            self.values.append(a.copy())
    # --8<-- [end:observe]

    def observe_grad(self, grad_out, grad_in):
        """Record the norms of one backward call's gradients."""
        self.grad_out_norms.append(_norm(grad_out))
        self.grad_norms.append(_norm(grad_in))
        for name, p in self.module.named_parameters():
            self.param_grad_norms[name].append(_norm(p.grad))

    def summary(self):
        """The statistics as a flat dict (one :class:`Table` row).

        ``std`` is the population standard deviation (``numpy.std``);
        ``grad_norm`` and the ``<param>.grad_norm`` entries are means over the
        backward calls (NaN if there was none).
        """
        nan = np.nan
        row = {"name": self.name or "(model)", "type": type(self.module).__name__,
               "count": self.count,
               "mean": float(self._mean) if self.count else nan,
               "std": float(np.sqrt(self._m2 / self.count)) if self.count else nan,
               "min": float(self.min) if self.count else nan,
               "max": float(self.max) if self.count else nan}
        if self.saturation is not None:
            row["frac_low"] = self._low / self.count if self.count else nan
            row["frac_high"] = self._high / self.count if self.count else nan
        row["frac_zero"] = self._zero / self.count if self.count else nan
        row["frac_dead"] = float(np.mean(~self._alive)) if self._alive is not None else nan
        row["grad_norm"] = float(np.mean(self.grad_norms)) if self.grad_norms else nan
        row["grad_out_norm"] = float(np.mean(self.grad_out_norms)) if self.grad_out_norms else nan
        for name, norms in self.param_grad_norms.items():
            row[f"{name}.grad_norm"] = float(np.mean(norms)) if norms else nan
        return row


# -- choosing layers ---------------------------------------------------------
def select(model, layers=None):
    """The ``(name, module)`` pairs of ``model`` that ``layers`` designates.

    ``layers`` is ``None`` (every leaf module: one without children), a Module
    class or tuple of classes (every module of that type, e.g.
    ``litnet.Sigmoid``), a module, or a list of modules and/or dotted names
    (``"3"``, ``"1.block.0"``; kept in the given order).

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> model = ln.Sequential(ln.Linear(2, 2, rng=np.random.default_rng(0)), ln.Tanh())
    >>> [name for name, _ in select(model, ln.Tanh)], [name for name, _ in select(model)]
    (['1'], ['0', '1'])
    """
    named = list(model.named_modules())
    if layers is None:
        return [(n, m) for n, m in named if next(m.children(), None) is None]
    if isinstance(layers, type) or (isinstance(layers, tuple)
                                    and all(isinstance(t, type) for t in layers)):
        return [(n, m) for n, m in named if isinstance(m, layers)]
    if isinstance(layers, (Module, str)):
        layers = [layers]
    by_name = dict(named)
    by_id = {id(m): n for n, m in named}
    out = []
    for item in layers:
        if isinstance(item, str):
            if item not in by_name:
                raise KeyError(f"diagnostics: the model has no layer named {item!r}; names are "
                               f"{[n for n, _ in named if n][:20]}")
            pair = (item, by_name[item])
        elif isinstance(item, Module):
            if id(item) not in by_id:
                raise ValueError(f"diagnostics: {item!r} is not a layer of the model")
            pair = (by_id[id(item)], item)
        else:
            raise TypeError(f"diagnostics: layers must be a Module class, modules or names, "
                            f"got {item!r}")
        if pair not in out:
            out.append(pair)
    return out


def _edges(bins, hist_range):
    if bins is None:
        return None
    if isinstance(bins, (int, np.integer)):
        if hist_range is None:
            raise ValueError("diagnostics: bins=int needs hist_range=(low, high) so that "
                             "histograms share their bin edges")
        return np.linspace(float(hist_range[0]), float(hist_range[1]), int(bins) + 1)
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"diagnostics: bins must be increasing bin edges (at least 2), "
                         f"got {bins!r}")
    return edges


# -- the recorder ------------------------------------------------------------
class Recorder:
    """Hooks on selected layers that accumulate activation and gradient statistics.

    Use :func:`record` to build one; it is a context manager: the hooks are
    attached on entry and removed on exit (also on an exception), and what was
    recorded stays available afterwards.

    Parameters
    ----------
    model : Module
    layers
        Which layers to watch; see :func:`select`.
    what : {"output", "input"}
        Record each layer's output (e.g. a sigmoid's activations) or its input
        (e.g. a sigmoid's input, the pre-activation).
    saturation : (low, high), False or None
        Count the fractions ``<= low`` and ``>= high``. ``None``: the
        :data:`DEFAULT_SATURATION` of the layer type for ``what="output"``
        (Sigmoid: 0.05 / 0.95, Tanh: ±0.95), nothing otherwise; ``False``: never.
    bins : int or array of edges, optional
        Histogram bin edges (fixed, so histograms compare across layers and
        epochs); an int needs ``hist_range=(low, high)``.
    keep : bool
        Also keep a copy of every recorded array (:meth:`values`).
    grads : bool
        Attach backward hooks too. They fire whenever the layer's backward
        runs, called by a container or directly (``model.backward(g)``).
    """

    def __init__(self, model, layers=None, *, what="output", saturation=None, bins=None,
                 hist_range=None, keep=False, grads=True):
        if not isinstance(model, Module):
            raise TypeError(f"diagnostics: model must be a litnet Module, got "
                            f"{type(model).__name__}")
        if what not in ("output", "input"):
            raise ValueError(f"diagnostics: what must be 'output' or 'input', got {what!r}")
        self.model, self.what, self.grads = model, what, grads
        self.edges = _edges(bins, hist_range)
        pairs = select(model, layers)
        if not pairs:
            raise ValueError(f"diagnostics: no layer of the model matches layers={layers!r}")
        self.records = [LayerRecord(name, m, saturation=self._saturation(m, saturation),
                                    edges=self.edges, keep=keep) for name, m in pairs]
        self._removers = []

    def _saturation(self, module, saturation):
        if saturation is False:
            return None
        if saturation is not None:
            low, high = saturation
            return float(low), float(high)
        if self.what == "output":
            for kind, bounds in DEFAULT_SATURATION.items():
                if isinstance(module, kind):
                    return bounds
        return None

    # -- hooks ---------------------------------------------------------------
    def attach(self):
        """Register the hooks (idempotent); returns self."""
        if self._removers:
            return self
        for rec in self.records:
            if self.what == "output":
                def forward_hook(module, x, out, rec=rec):
                    rec.observe(_first(out))
            else:
                def forward_hook(module, x, out, rec=rec):
                    rec.observe(_first(x))
            self._removers.append(rec.module.register_forward_hook(forward_hook))
            if self.grads:
                def backward_hook(module, grad_out, grad_in, rec=rec):
                    rec.observe_grad(_first(grad_out), _first(grad_in))
                self._removers.append(rec.module.register_backward_hook(backward_hook))
        return self

    def detach(self):
        """Remove every hook this recorder registered."""
        for remove in self._removers:
            remove()
        self._removers = []

    def __enter__(self):
        return self.attach()

    def __exit__(self, *exc):
        self.detach()
        return False

    # -- results ---------------------------------------------------------------
    def reset(self):
        """Forget what was recorded (the hooks stay as they are)."""
        for rec in self.records:
            rec.reset()

    def __len__(self):
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __getitem__(self, key):
        """A :class:`LayerRecord` by position, layer name or module."""
        if isinstance(key, (int, np.integer)):
            return self.records[key]
        for rec in self.records:
            if rec.name == key or rec.module is key:
                return rec
        raise KeyError(f"diagnostics: no recorded layer {key!r}; recorded: "
                       f"{[r.name for r in self.records]}")

    def stats(self):
        """One row per layer (:meth:`LayerRecord.summary`) as a :class:`Table`."""
        return Table(rec.summary() for rec in self.records)

    def histograms(self):
        """Counts per layer and bin, an int array (n_layers, n_bins); see ``edges``."""
        if self.edges is None:
            raise ValueError("diagnostics: no histograms were recorded; pass bins=...")
        return np.stack([rec.hist for rec in self.records])

    def values(self, key):
        """Every array recorded for one layer, concatenated along the batch axis."""
        rec = self[key]
        if not rec.keep:
            raise ValueError("diagnostics: values were not kept; pass keep=True")
        if not rec.values:
            raise ValueError(f"diagnostics: layer {rec.name!r} saw no forward call")
        return np.concatenate(rec.values)


def record(model, layers=None, **options):
    """A :class:`Recorder` for ``model``; use it as ``with record(...) as rec:``.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> model = ln.Sequential(ln.ReLU())
    >>> with record(model, layers=ln.ReLU, bins=4, hist_range=(-2, 2), keep=True) as rec:
    ...     _ = model(np.array([[-1.0, 0.5], [1.5, -3.0]]))
    >>> row = rec.stats()[0]
    >>> row["mean"], row["frac_zero"], row["frac_dead"]
    (0.5, 0.5, 0.0)
    >>> rec.histograms().tolist(), rec.values(0).shape
    ([[0, 0, 3, 1]], (2, 2))
    >>> model.layers[0]._forward_hooks        # removed on exit
    []
    """
    return Recorder(model, layers, **options)


# -- one forward/backward at the current weights -------------------------------
def forward_backward(model, x, y, loss_fn=softmax_cross_entropy):
    """One forward and backward pass that leaves the model as it found it.

    Parameter gradients are computed from zero and then restored to what
    they were; buffers (e.g. BatchNorm's running statistics, which a forward
    in training mode updates) are restored too. The model's modes are used as
    they are. Hooks fire, which is the point (:func:`gradient_norms`).

    Returns
    -------
    float
        The loss.
    """
    grads = [(p, p.grad) for p in model.parameters()]
    buffers = [(name, np.array(buf, copy=True)) for name, buf in model.named_buffers()]
    try:
        for p, _ in grads:
            p.zero_grad()
        loss, g = loss_fn(model(x), y)
        model.backward(g)
    finally:
        for p, old in grads:
            p.grad = old
        for name, old in buffers:
            model.set_buffer(name, old)
    return float(loss)


# --8<-- [start:gradient_norms]
def gradient_norms(model, x, y, loss_fn=softmax_cross_entropy, *, layers=None):
    r"""Per-layer norms :math:`\lVert \partial L/\partial x_\ell \rVert_2` of the gradient
    reaching each selected layer's input, for one forward/backward at the
    current weights (the model is left unchanged, see :func:`forward_backward`).

    Parameters
    ----------
    model : Module
    x, y : ndarray
        A batch and its targets.
    loss_fn : callable
        ``loss_fn(output, y) -> (loss, grad)``.
    layers
        Which layers, see :func:`select` (default: every leaf module).

    Returns
    -------
    ndarray of float64, (n_layers,)
        In the order of :func:`select` (forward order for a class or ``None``).

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> rng = np.random.default_rng(0)
    >>> layers = []
    >>> for _ in range(10):
    ...     layers += [ln.Linear(20, 20, rng=rng, dtype=np.float64), ln.Sigmoid()]
    >>> model = ln.Sequential(*layers)
    >>> x, y = rng.standard_normal((32, 20)), rng.integers(0, 20, 32)
    >>> g = gradient_norms(model, x, y, layers=ln.Linear)
    >>> g.shape, bool(g[0] < g[-1] / 100)      # vanishes towards the input
    ((10,), True)
    """
    with record(model, layers, saturation=False) as rec:
        forward_backward(model, x, y, loss_fn)
    return np.array([float(np.mean(r.grad_norms)) if r.grad_norms else np.nan for r in rec])
# --8<-- [end:gradient_norms]


def parameter_grad_norms(model):
    """``{name: ||.grad||}`` for every parameter of the model, as it is now.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> layer = ln.Linear(2, 1, rng=np.random.default_rng(0), dtype=np.float64)
    >>> _ = layer(np.array([[3.0, 4.0]]))
    >>> _ = layer.backward(np.array([[1.0]]))          # dL/dW = x, dL/db = 1
    >>> parameter_grad_norms(layer)
    {'weight': 5.0, 'bias': 1.0}
    """
    return {name: _norm(p.grad) for name, p in model.named_parameters()}


# -- a training callback -------------------------------------------------------
class Probe:
    """A :func:`litnet.fit` callback that records layers on fixed inputs every epoch.

    After every epoch (and before training, as epoch 0, if ``at_start``) it
    runs ``x`` through the model in evaluation mode (:func:`litnet.evaluation.predict`)
    inside a fresh :class:`Recorder` built with ``layers`` and ``options``
    (``what``, ``bins``, ``hist_range``, ``saturation``, ``keep``).

    Attributes
    ----------
    epochs : list of int
    recorders : list of Recorder
        One per recorded epoch.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((40, 3)).astype(np.float32)
    >>> y = (x[:, 0] > 0).astype(np.int64)
    >>> model = ln.Sequential(ln.Linear(3, 6, rng=rng), ln.Sigmoid(), ln.Linear(6, 2, rng=rng))
    >>> probe = Probe(x, layers=ln.Sigmoid, what="input", bins=np.linspace(-5, 5, 11))
    >>> from litnet.optim import SGD
    >>> _ = ln.fit(model, x, y, optimizer=SGD(model.parameters(), lr=0.1),
    ...            epochs=3, batch_size=10, rng=rng, callbacks=[probe])
    >>> probe.epochs, probe.histograms().shape, probe.column("mean").shape
    ([0, 1, 2, 3], (4, 1, 10), (4, 1))
    """

    def __init__(self, x, layers=None, *, at_start=True, batch_size=1000, **options):
        self.x, self.layers, self.options = x, layers, options
        self.at_start, self.batch_size = at_start, batch_size
        self.epochs, self.recorders = [], []

    def record(self, model, epoch):
        """Record now, labelled ``epoch``; returns the :class:`Recorder`."""
        with Recorder(model, self.layers, grads=False, **self.options) as rec:
            predict(model, self.x, self.batch_size)
        self.epochs.append(epoch)
        self.recorders.append(rec)
        return rec

    def on_train_begin(self, model, history):
        if self.at_start:
            self.record(model, 0)

    def on_epoch_end(self, epoch, model, history):
        self.record(model, epoch)

    def tables(self):
        """One :class:`Table` per recorded epoch."""
        return [rec.stats() for rec in self.recorders]

    def column(self, name):
        """One statistic as an array (n_epochs_recorded, n_layers)."""
        return np.stack([rec.stats().column(name) for rec in self.recorders])

    def histograms(self):
        """Histogram counts, an int array (n_epochs_recorded, n_layers, n_bins)."""
        return np.stack([rec.histograms() for rec in self.recorders])
