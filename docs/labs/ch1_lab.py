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
import matplotlib.pyplot as plt
import numpy as np

from litnet.diagnostics import Table
from litnet.experiments import exploding, recurrent, vanishing

COLORS = {"sigmoid": "#e8710a", "tanh": "#8e24aa", "relu": "#1e88e5",
          "leaky_relu": "#43a047", "prelu": "0.35"}

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
fig, axes = plt.subplots(1, len(DEPTHS), figsize=(9.6, 3.8), sharey=True)
for ax, depth in zip(np.atleast_1d(axes), DEPTHS, strict=True):
    k = np.arange(depth + 1)
    for key, (label, _, _) in vanishing.ACTIVATIONS.items():
        norms = vanishing.gradient_profile(key, depth, seed=SEED)
        ax.semilogy(k, norms, "o-", ms=2.5, color=COLORS[key], label=label)
    norms = vanishing.gradient_profile("relu", depth, "glorot", seed=SEED)
    ax.semilogy(k, norms, "--", color=COLORS["relu"], label="ReLU, Glorot weights")
    ax.set_title(f"depth {depth}")
    ax.set_xlabel(r"$k$ (0 = input, right = last hidden layer)")
np.atleast_1d(axes)[0].set_ylabel(r"$\|\partial L / \partial h_k\|$")
np.atleast_1d(axes)[-1].legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()

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
f = vanishing.sigmoid_factors(depth=max(DEPTHS), seed=SEED)
layers = np.arange(1, len(f["factor"]) + 1)
fig, ax = plt.subplots(figsize=(6.4, 3.4))
ax.plot(layers, f["factor"], "o", ms=4, color=COLORS["sigmoid"],
        label=r"measured $\|\partial L/\partial h_{\ell-1}\| / \|\partial L/\partial h_\ell\|$")
ax.plot(layers, f["rms"], "-", color="0.3", label=r"rms of $\sigma'(z_\ell)$")
ax.axhline(0.25, color="0.6", ls=":", label=r"$\max \sigma' = 1/4$")
ax.set_xlabel(r"layer $\ell$")
ax.set_ylim(0, 0.3)
ax.legend(frameon=False, fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()
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
d = vanishing.dying_relu(shift=SHIFT, epochs=EPOCHS, seed=SEED)
keys = list(vanishing.DYING)
pos = np.arange(len(keys))
bars = [("input ≤ 0 on every digit", lambda e: e["negative"], "0.55"),
        ("no gradient", lambda e: e["negative"] * e["no_gradient"], "#d32f2f"),
        ("still ≤ 0 after training", lambda e: e["negative_after"], "#1e88e5")]
fig, ax = plt.subplots(figsize=(6.4, 3.4))
for i, (label, value, color) in enumerate(bars):
    ax.bar(pos + (i - 1) * 0.26, [100 * value(d[k]) for k in keys], width=0.26,
           color=color, label=label)
ax.set_xticks(pos, [vanishing.DYING[k][0] for k in keys])
ax.set_ylabel("% of first-layer units")
ax.set_ylim(0, 100 * max(d[k]["negative"] for k in keys) * 1.5 + 1)
ax.legend(frameon=False, fontsize=8, ncol=3, loc="upper center")
fig.tight_layout()
plt.show()
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
r = recurrent.gradient_over_time()
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for key, color in zip(recurrent.MODELS, ("#e8710a", "#1e88e5", "#43a047"), strict=True):
    ax.semilogy(r["t"], r[key]["norms"], color=color,
                label=f"{recurrent.MODELS[key]} (×{r[key]['factor']:.2f} per step)")
ax.set_xlabel("time step $t$ of the input")
ax.set_ylabel(r"$\|\partial L / \partial x_t\|$")
ax.legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Exploding gradients and clipping
#
# Five ReLU layers of 100 units with weights of standard deviation 1, trained on the digits
# with SGD (lr 0.1): without clipping, with the global gradient norm clipped to 1, and
# the same network with He weights. Left: the loss of every mini-batch (a cross marks
# where the unclipped run stopped). Right: the clipped run's gradient norm before clipping.

# %%
runs = exploding.training_runs(seed=SEED, epochs=EPOCHS)
colors = {"no_clip": "#d32f2f", "clip": "#1e88e5", "he": "#43a047"}
fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.6))
for key, run in runs.items():
    loss = np.array(run.batch_loss, dtype=np.float64)
    ok = np.isfinite(loss)
    axes[0].semilogy(np.arange(1, loss.size + 1)[ok], loss[ok], color=colors[key],
                     label=run.label)
    if not ok.all():
        axes[0].plot(loss.size - 1, loss[ok][-1], "x", ms=10, mew=2, color=colors[key])
axes[0].set_xlabel("mini-batch")
axes[0].set_ylabel("training loss")
axes[0].legend(frameon=False, fontsize=8)
clipped = runs["clip"]
axes[1].semilogy(np.arange(1, len(clipped.grad_norm) + 1), clipped.grad_norm,
                 color=colors["clip"], label="global norm before clipping")
axes[1].axhline(exploding.CLIP, color="0.5", ls=":", label="clip_norm")
axes[1].set_xlabel("mini-batch")
axes[1].legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()
print(Table([{"run": run.label, "diverged in epoch": run.diverged,
              "final train loss": run.train_loss[-1],
              "final test acc %": 100 * run.val_acc[-1]} for run in runs.values()]))
