"""litnet: a literate deep-learning package in NumPy.

Every layer has an explicit ``forward`` and ``backward``; the documentation
site embeds this source and reproduces four study notes with it.
"""

from . import data, diagnostics, evaluation, init, optim
from .activations import LeakyReLU, PReLU, ReLU, Sigmoid, Tanh
from .batchnorm import BatchNorm1d, batchnorm_backward_graph
from .batchnorm2d import BatchNorm2d
from .clip import clip_grad_norm_, clip_grad_value_
from .conv import Conv2d
from .dropout import Dropout
from .evaluation import accuracy, evaluate, predict
from .flatten import Flatten
from .gradcheck import gradcheck, gradcheck_loss
from .groupnorm import GroupNorm
from .interop import to_torch
from .io import load, load_state, save
from .layernorm import LayerNorm
from .linear import Linear
from .losses import binary_cross_entropy_with_logits, mse_loss, softmax, softmax_cross_entropy
from .lstm import LSTM
from .module import Module, Sequential, run_backward
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .residual import Residual
from .rnn import RNN
from .training import Diverged, History, fit

__version__ = "0.1.0"

__all__ = [
    "LeakyReLU", "Linear", "Module", "PReLU", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "Tanh", "binary_cross_entropy_with_logits", "gradcheck", "gradcheck_loss", "init", "mse_loss",
    "run_backward",
    "softmax", "softmax_cross_entropy",
    "clip_grad_norm_", "clip_grad_value_", "optim",
    "BatchNorm1d", "Dropout", "GroupNorm", "LayerNorm", "Residual", "batchnorm_backward_graph",
    "Diverged", "History", "accuracy", "diagnostics", "evaluate", "evaluation", "fit", "predict",
    "LSTM", "RNN",
    "data", "load", "load_state", "save", "to_torch",
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm2d", "Conv2d", "Flatten", "MaxPool2d",
]
