"""The layer protocol: ``forward`` caches, ``backward`` applies the chain rule.

Every layer in litnet is a :class:`Module`. A module

* computes ``out = forward(x)`` and keeps in ``self`` what its backward needs;
* computes ``dx = backward(dout)``: given ``dL/dout`` it *adds* ``dL/dparam`` to
  every parameter's ``.grad`` and returns ``dL/dx``;
* never modifies ``x`` or ``dout`` in place.

Parameters (:class:`~litnet.Parameter`), buffers (non-learned state such as
BatchNorm's running statistics) and child modules are found by looking at the
module's attributes, in the order they were assigned, as PyTorch does;
:meth:`Module.named_modules` is the one walk over a model that everything else
(modes, dtypes, diagnostics, save and load) uses.

Calling a module runs ``forward`` and then its forward hooks; calling
``backward`` runs the layer's own ``backward`` and then its backward hooks, the
same way whoever calls it (a container, :func:`litnet.fit` or you).

In-place changes never silently alter a gradient: an output a layer keeps for
backward, or that shares memory with its input, is returned read-only (Sigmoid,
Tanh, ReLU, LeakyReLU, PReLU, Dropout), and an input a layer keeps (Linear,
PReLU) is kept as it is only when nothing can write to it, otherwise as a copy.
Writing into such an output raises NumPy's "assignment destination is
read-only"; changing an input after forward leaves that forward's gradients as
they were. The caller's arrays are never modified, not even their flags.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from .parameter import Parameter

#: Module's own lists (hooks, buffer names): never children, so the walk skips them
_BOOKKEEPING = frozenset({"_forward_hooks", "_backward_hooks", "_buffer_names"})


class Module:
    """Base class of every layer and container.

    Subclasses implement :meth:`forward` and :meth:`backward`. Calling a module
    runs ``forward`` with every argument and then any forward hooks;
    ``module.backward(g)`` runs the subclass's ``backward`` and then any
    backward hooks (the subclass's method is wrapped once, when the class is
    defined). Diagnostics (:mod:`litnet.diagnostics`) are built on these hooks.

    A layer whose input gradient costs real work may declare
    ``backward(self, grad_out, *, input_grad=True)``: a caller passes
    ``input_grad=False`` when it will not read ``dL/dx`` (the first layer of a
    network during training) and the layer may then return None, as PyTorch
    skips the gradient of an input that does not require one. Layers that do
    not declare it are called without it and always return ``dL/dx``.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> layer = ln.Linear(3, 2, rng=np.random.default_rng(0))
    >>> [name for name, _ in layer.named_parameters()]
    ['weight', 'bias']
    >>> layer.training
    True
    >>> layer.eval().training
    False
    """

    training = True

    def __init__(self):
        self._forward_hooks = []
        self._backward_hooks = []
        self._buffer_names = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if callable(cls.__dict__.get("backward")):
            cls.backward = _backward_entry(cls.__dict__["backward"])

    # -- the protocol ------------------------------------------------------
    def forward(self, x):
        """Compute the output for ``x`` and cache what backward needs."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, grad_out, *, input_grad=True):
        """Given ``dL/dout``, accumulate parameter gradients and return ``dL/dx``
        (or None when ``input_grad`` is False and the layer skips it)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, *args, **kwargs):
        """``forward(*args, **kwargs)``, then ``hook(module, x, out)`` for every forward
        hook, ``x`` being the first argument (e.g. ``lstm(x, h0, c0)``)."""
        out = self.forward(*args, **kwargs)
        for hook in self._hooks("_forward_hooks"):
            hook(self, args[0] if args else next(iter(kwargs.values()), None), out)
        return out

    # -- hooks ---------------------------------------------------------------
    def _hooks(self, kind):
        return self.__dict__.get(kind, ())

    def register_forward_hook(self, hook):
        """Call ``hook(module, x, out)`` after every forward; returns a remover."""
        return _add_hook(self, "_forward_hooks", hook)

    def register_backward_hook(self, hook):
        """Call ``hook(module, grad_out, grad_in)`` after every backward; returns a
        remover. ``grad_in`` is None when the caller passed ``input_grad=False``."""
        return _add_hook(self, "_backward_hooks", hook)

    # -- structure -----------------------------------------------------------
    def register_buffer(self, name, value):
        """Store ``value`` as non-learned state saved with the parameters."""
        setattr(self, name, np.array(value))
        names = self.__dict__.setdefault("_buffer_names", [])
        if name not in names:
            names.append(name)

    def children(self):
        """Direct child modules, in assignment order."""
        for _, child in self.named_children():
            yield child

    def named_children(self):
        for name, value in vars(self).items():
            if not isinstance(value, (Module, list, tuple)) or name in _BOOKKEEPING:
                continue                                   # most attributes: one check
            if isinstance(value, Module):
                yield name, value
            else:
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def named_parameters(self, prefix=""):
        """Yield ``(dotted_name, Parameter)`` for this module and its descendants, from
        :meth:`named_modules` (a module reachable twice gives its parameters once)."""
        for name, module in self.named_modules():
            for attr, value in vars(module).items():
                if isinstance(value, Parameter):
                    yield prefix + (f"{name}.{attr}" if name else attr), value

    def parameters(self):
        """All parameters, in a stable order (a list)."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix=""):
        """Yield ``(dotted_name, array)`` for non-learned state (e.g. running_mean)."""
        for name in self.__dict__.get("_buffer_names", ()):
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

    def named_modules(self, prefix="", *, remove_duplicate=True):
        """Yield ``(dotted_name, module)`` for this module (named ``prefix``, ``""`` by
        default) and every descendant, depth first, in assignment order; a module
        reachable twice is listed once unless ``remove_duplicate=False``.

        Examples
        --------
        >>> import litnet as ln
        >>> model = ln.Sequential(ln.ReLU(), ln.Sequential(ln.Tanh()))
        >>> [name for name, _ in model.named_modules()]
        ['', '0', '1', '1.0']
        """
        seen = set()

        def walk(name, module):
            if remove_duplicate and id(module) in seen:
                return
            seen.add(id(module))
            yield name, module
            for child_name, child in module.named_children():
                yield from walk(f"{name}.{child_name}" if name else child_name, child)

        yield from walk(prefix, self)

    def set_buffer(self, name, value):
        """Assign ``value`` to the buffer at the dotted ``name`` of :meth:`named_buffers`.

        Examples
        --------
        >>> import numpy as np, litnet as ln
        >>> model = ln.Sequential(ln.BatchNorm1d(2))
        >>> model.set_buffer("0.running_mean", np.ones(2, np.float32))
        >>> model[0].running_mean.tolist()
        [1.0, 1.0]
        """
        owner, _, attr = name.rpartition(".")
        module = self.get_submodule(owner)
        if attr not in module.__dict__.get("_buffer_names", ()):
            raise KeyError(f"{type(self).__name__} has no buffer named {name!r}")
        setattr(module, attr, value)

    def modules(self):
        """This module and every descendant, depth first (:meth:`named_modules`)."""
        for _, module in self.named_modules():
            yield module

    def get_submodule(self, name):
        """The module at the dotted ``name`` of :meth:`named_modules` (``""``: this one)."""
        found = dict(self.named_modules(remove_duplicate=False))
        if name not in found:
            raise KeyError(f"{type(self).__name__} has no submodule named {name!r}; names are "
                           f"{[n for n in found if n][:20]}")
        return found[name]

    # -- state ---------------------------------------------------------------
    def zero_grad(self):
        """Reset the gradient of every parameter to zero."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode=True):
        """Set training mode (``True``) or evaluation mode on this module and its children."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self):
        """Evaluation mode: BatchNorm uses running statistics, Dropout is the identity."""
        return self.train(False)

    def to(self, dtype):
        """Convert every parameter and floating buffer to ``dtype`` in place; return self."""
        dtype = np.dtype(dtype)
        if not np.issubdtype(dtype, np.floating):
            raise TypeError(f"{type(self).__name__}.to: expected a floating dtype, got {dtype}")
        for m in self.modules():
            for value in vars(m).values():
                if isinstance(value, Parameter):
                    value.data = value.data.astype(dtype)
                    value.grad = value.grad.astype(dtype)
            for name in m.__dict__.get("_buffer_names", ()):
                buf = getattr(m, name)
                if np.issubdtype(buf.dtype, np.floating):
                    setattr(m, name, buf.astype(dtype))
        return self

    def extra_repr(self):
        """The text inside the parentheses of ``repr``; layers override it."""
        return ""

    def __repr__(self):
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


def _add_hook(module, kind, hook):
    hooks = module.__dict__.setdefault(kind, [])
    hooks.append(hook)

    def remove():
        if hook in hooks:
            hooks.remove(hook)

    return remove


def _backward_entry(backward):
    """Wrap a subclass's own ``backward`` into the one backward entry point:
    ``backward(grad_out, *, input_grad=True)``, then the backward hooks."""
    takes_input_grad = "input_grad" in inspect.signature(backward).parameters

    @functools.wraps(backward)
    def entry(self, grad_out, *, input_grad=True):
        if takes_input_grad:
            grad_in = backward(self, grad_out, input_grad=input_grad)
        else:
            grad_in = backward(self, grad_out)
        if type(self).backward is entry:    # not for a subclass's super().backward(...)
            for hook in self._hooks("_backward_hooks"):
                hook(self, grad_out, grad_in)
        return grad_in

    return entry


def run_backward(module, grad_out, *, input_grad=True):
    """``module.backward(grad_out, input_grad=input_grad)``: the backward entry point
    as a function (kept for the code that calls it so).

    With ``input_grad=False`` the caller promises not to use the returned
    ``dL/dx``, and a layer whose input gradient costs real work
    (:class:`~litnet.Linear`: a matrix product as large as the weight
    gradient's) returns None instead. :func:`litnet.training.train_step` runs
    the model this way, because the gradient with respect to the data is
    never used; a hook then sees ``grad_in=None``.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> model = ln.Sequential(ln.Linear(3, 2, rng=np.random.default_rng(0)), ln.Tanh())
    >>> g = np.ones((4, 2), np.float32)
    >>> _ = model(np.ones((4, 3), np.float32))
    >>> run_backward(model, g).shape, run_backward(model, g, input_grad=False)
    ((4, 3), None)
    """
    return module.backward(grad_out, input_grad=input_grad)


class Sequential(Module):
    """Modules applied one after another; backward runs them in reverse.

    Examples
    --------
    >>> import numpy as np, litnet as ln
    >>> rng = np.random.default_rng(0)
    >>> model = ln.Sequential(ln.Linear(4, 3, rng=rng), ln.ReLU(), ln.Linear(3, 2, rng=rng))
    >>> x = rng.standard_normal((5, 4)).astype(np.float32)
    >>> model(x).shape
    (5, 2)
    >>> model.backward(np.ones((5, 2), np.float32)).shape
    (5, 4)
    >>> len(model), model[1]
    (3, ReLU())
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(layer).__name__}, "
                                "expected a litnet Module")
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_out, *, input_grad=True):
        for i in reversed(range(len(self.layers))):
            # only the first layer's input gradient is this container's own
            grad_out = self.layers[i].backward(grad_out, input_grad=i > 0 or input_grad)
        return grad_out

    def named_children(self):
        # Children are named by position, "0", "1", ..., as in torch.nn.Sequential.
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self.layers[i])
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def append(self, layer):
        """Add ``layer`` at the end; returns self."""
        if not isinstance(layer, Module):
            raise TypeError("Sequential.append: expected a litnet Module, "
                            f"got {type(layer).__name__}")
        self.layers.append(layer)
        return self
