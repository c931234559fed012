"""litnet: a literate deep-learning package in NumPy.

Every layer has an explicit ``forward`` and ``backward``; the documentation
site embeds this source and reproduces four study notes with it.
"""

from . import init
from .activations import LeakyReLU, PReLU, ReLU, Sigmoid, Tanh
from .gradcheck import gradcheck, gradcheck_loss
from .linear import Linear
from .losses import binary_cross_entropy_with_logits, mse_loss, softmax, softmax_cross_entropy
from .module import Module, Sequential, run_backward
from .parameter import Parameter

__version__ = "0.1.0"

__all__ = [
    "LeakyReLU", "Linear", "Module", "PReLU", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "Tanh", "binary_cross_entropy_with_logits", "gradcheck", "gradcheck_loss", "init", "mse_loss", "run_backward",
    "softmax", "softmax_cross_entropy",
]
