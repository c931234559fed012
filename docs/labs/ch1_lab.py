# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 1: vanishing and exploding gradients
#
# The measurements of [chapter 1](../../chapters/ch1-vanishing-gradients/), drawn. Every
# number comes from `litnet.experiments` (`vanishing`, `recurrent`, `exploding`), the same
# functions the tests assert and the [reproductions page](../../reproductions/) tabulates.
# Change the values in the next cell and run the notebook again (download it with the
# buttons at the top of the page).

# %%
DEPTHS = (10, 40)  # depths of the gradient-norm comparison
SHIFT = 1.0        # dying ReLU: how far the first layer's biases are pushed down
EPOCHS = 10        # training epochs (dying ReLU and clipping)
SEED = 0

# %%
# %matplotlib inline
import numpy as np
from IPython.display import display

from litnet.diagnostics import Table
from litnet.experiments import exploding, recurrent, vanishing

# %% [markdown]
# ## Gradient norm per layer at initialisation
#
# `depth` blocks `Linear(100, 100)` + activation and a `Linear(100, 10)` head, on a batch
# of 200 standard-normal inputs. Each activation gets its usual initialisation: Glorot
# (variance $1/n$) for sigmoid and tanh, He ($2/n$) for the ReLU family. The dashed line
# is ReLU with the sigmoid's Glorot weights. The $y$ axis is
# $\lVert \partial L/\partial h_k \rVert$, the gradient arriving at the input of block
# $k + 1$ ($k = 0$ is the network's input), on a log scale.

# %%
# alt: Log-scale line plots, one per depth, of the gradient norm at every layer's input for sigmoid, tanh, ReLU, LeakyReLU and PReLU, and ReLU with Glorot weights.
display(vanishing.plot_gradient_norms(DEPTHS, seed=SEED))

rows = []
for key, (label, _, standard) in vanishing.ACTIVATIONS.items():
    for init in ("standard", "glorot"):
        if init == "glorot" and standard == "glorot":
            continue
        row = {"activation": label, "init": standard if init == "standard" else init}
        for depth in DEPTHS:
            norms = vanishing.gradient_profile(key, depth, init, seed=SEED)
            row[f"first/last, depth {depth}"] = float(norms[0] / norms[-1])
            row[f"per layer, depth {depth}"] = vanishing.shrink_factor(norms)
        rows.append(row)
print(Table(rows))

# %% [markdown]
# ## Why the sigmoid loses a factor of four per layer
#
# Going down one block multiplies the gradient by $\sigma'(z)$ elementwise and then by the
# weight matrix. Glorot weights keep a typical vector's norm, so the measured factor
# of each layer should be the root mean square of $\sigma'(z)$ in that layer, which can
# never exceed $1/4$.

# %%
# alt: The measured per-layer gradient factor of the sigmoid stack against the root mean square of the sigmoid's derivative in each layer, under the one-quarter ceiling.
f = vanishing.sigmoid_factors(depth=max(DEPTHS), seed=SEED)
display(vanishing.plot_sigmoid_factors(max(DEPTHS), seed=SEED))
print(f"geometric mean: factor {np.exp(np.log(f['factor']).mean()):.3f}, "
      f"rms sigma' {np.exp(np.log(f['rms']).mean()):.3f}")

# %% [markdown]
# ## The dying ReLU and its fixes
#
# A `64 → 100 → 100 → 10` network on the digits, He weights; the first layer's biases
# are shifted by `-SHIFT`. The same weights are used with ReLU, LeakyReLU(0.01) and PReLU,
# and each network is then trained for `EPOCHS` epochs. Bars, for the first hidden layer:
# the share of units whose input is at most 0 for every training digit after the shift,
# the share that receives no gradient at all, and the share still at most 0 after training.

# %%
# alt: Grouped bars per activation: share of first-layer units pushed below zero, share without gradient, share still below zero after training.
d = vanishing.dying_relu(shift=SHIFT, epochs=EPOCHS, seed=SEED)
keys = list(vanishing.DYING)
display(vanishing.plot_dying(SHIFT, EPOCHS, seed=SEED))
print(Table([{"activation": vanishing.DYING[k][0],
              "dead after shift %": 100 * d[k]["dead"],
              "no gradient %": 100 * d[k]["no_gradient"],
              "weights moved %": 100 * d[k]["moved"],
              "still <= 0 %": 100 * d[k]["still_negative"],
              "train acc %": 100 * d[k]["train_acc"]} for k in keys]))

# %% [markdown]
# ## Through time: RNN against LSTM
#
# The gradient of a loss that reads only the last of $T = 50$ outputs, with respect to the
# input of each step, for untrained layers (R11, `litnet.experiments.recurrent`).

# %%
# alt: Log-scale input-gradient norm over 50 time steps for a tanh RNN and two LSTMs, decaying geometrically going back in time, slowest for the LSTM with forget bias 1.
display(recurrent.plot_gradient_over_time())

# %% [markdown]
# ## Exploding gradients and clipping
#
# Five ReLU layers of 100 units with weights of standard deviation 1, trained on the digits
# with SGD (lr 0.1): without clipping, with the global gradient norm clipped to 1, and
# the same network with He weights. Left: the loss of every mini-batch (a cross marks
# where the unclipped run stopped). Right: the clipped run's gradient norm before clipping.

# %%
# alt: Left: training loss per mini-batch, log scale, for the unclipped, clipped and He runs. Right: the clipped run's gradient norm before clipping against the clip_norm line.
runs = exploding.training_runs(seed=SEED, epochs=EPOCHS)
display(exploding.plot_clipping(SEED, EPOCHS))
print(Table([{"run": run.label, "diverged in epoch": run.diverged,
              "final train loss": run.train_loss[-1],
              "final test acc %": 100 * run.val_acc[-1]} for run in runs.values()]))

# %% [markdown]
# ## Clipping an LSTM
#
# An LSTM whose recurrent weights are 16 times PyTorch's, trained with SGD to recall the
# first input of a 50-step sequence, with and without clipping (same batches).

# %%
# alt: Training loss and gradient norm per step of the LSTM, log scale: without clipping both climb by tens of orders of magnitude, with clipping the loss stays near its start.
display(exploding.plot_lstm_clipping(SEED))
print(Table([{"run": key, "first loss": r["loss"][0], "last loss": r["loss"][-1],
              "largest grad norm": r["grad_norm"].max()}
             for key, r in exploding.lstm_runs(SEED).items()]))
