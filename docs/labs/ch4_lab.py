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
# # Lab 4: skip connections
#
# The experiments of [chapter 4](../../chapters/ch4-skip-connections/), with the knobs
# exposed. Change the values in the next cell and run the notebook again (download it
# with the buttons at the top of the page): the worked example takes the four weights,
# the deep comparison takes the depth.

# %%
W1, W2, W3, W_R = 0.2, 0.1, 0.1, 0.1  # the note's weights
X, T = 0.5, 1.0      # input and target
DEPTH = 40           # layers of the deep comparison
EPOCHS = 5           # training epochs (loss curves)

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from litnet.diagnostics import Table
from litnet.experiments.deep_residual import (
    gradient_profile,
    training_curves,
)
from litnet.experiments.residual_example import scenarios

# %% [markdown]
# ## The worked example
#
# Both networks of the note, built from `Linear(1, 1, bias=False)`, `Sigmoid` and
# `Residual`, and measured by one forward and one backward pass. Plain:
# $y = \sigma(w_3 h_2)$; residual: $y = \sigma(w_3 h_2 + w_r h_1)$, with
# $h_1 = \sigma(w_1 x)$, $h_2 = \sigma(w_2 h_1)$ and $L = (y - t)^2$.

# %%
both = scenarios(W1, W2, W3, W_R, x=X, t=T)
plain, res = both["plain"], both["residual"]
rows = [{"quantity": label,
         "plain": plain.table().get(label),
         "residual": value}
        for label, value in res.table().items()]
display(Markdown(Table(rows).to_markdown(fmt="{:#.4g}")))

# %% [markdown]
# The residual network's $\partial L/\partial w_1$ is the sum of the two paths; the
# *via h2* row of the plain column is empty because the plain network has only that path,
# which is its whole $\partial L/\partial w_1$. The same numbers as bars, on a log scale:
# the plain gradients fall by a large factor at every layer, the residual ones much less,
# because the skip term (orange) reaches $w_1$ past $h_2$.

# %%
# alt: Bars of the gradient magnitude for w3, w2 and w1 in the worked example: the plain network, the residual network's path through the block, and its path through the skip.
names = ["w3", "w2", "w1"]
plain_g = [abs(getattr(plain, "grad_" + n)) for n in names]
main_g = [abs(res.grad_w3), abs(res.grad_w2),
          abs(res.grad_w1_main)]
skip_g = abs(res.grad_w1_skip)
pos = np.arange(len(names))

fig, ax = plt.subplots(figsize=(6.4, 3.8))
ax.bar(pos - 0.2, plain_g, width=0.4, color="0.55",
       label="plain")
ax.bar(pos + 0.2, main_g, width=0.4, color="#1e88e5",
       label="residual, through $h_2$")
ax.bar(pos[-1] + 0.2, skip_g, bottom=main_g[-1], width=0.4,
       color="#e8710a", label="residual, through the skip")
ax.set_xticks(pos, [rf"$|\partial L/\partial w_{n[1]}|$"
                    for n in names])
ax.set_yscale("log")
ax.set_ylim(min(plain_g + main_g) / 3,
            3 * max(plain_g + main_g + [skip_g]))
ax.set_ylabel("gradient magnitude")
ax.set_title(f"w1={W1}, w2={W2}, w3={W3}, w_r={W_R}")
ax.legend(frameon=False, fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# Two things to try: with `W_R = 0` the residual network is the plain one (same loss, a
# zero skip term); with larger weights, say `W2 = W3 = 2.0`, the plain gradients shrink
# less, because each layer multiplies the gradient by $w\,\sigma'$, not by $\sigma'$ alone.
# How each factor enters is written out in the chapter.

# %% [markdown]
# ## Gradient norms at depth 40
#
# `DEPTH` layers $a_\ell = \sigma(W_\ell h_{\ell-1} + b_\ell)$ on the 64 pixels of the
# digits, with $h_\ell = a_\ell$ (plain) or $h_\ell = h_{\ell-1} + a_\ell$ (residual), a
# `Linear(64, 10)` head and softmax cross-entropy; the same Glorot-normal weights in both.
# Top: the norm of each layer's weight gradient at initialisation. Bottom: the norm of
# the gradient that reaches each layer's input.

# %%
# alt: Two log-scale panels over the layers of the deep sigmoid network: the weight-gradient norm and the incoming gradient norm, plain against residual.
profile = gradient_profile(depth=DEPTH)
layers = np.arange(1, DEPTH + 1)
colors = {"plain": "0.45", "residual": "#1e88e5"}
fig, axes = plt.subplots(2, 1, figsize=(6.4, 6.4),
                         sharex=True)
for name, color in colors.items():
    p = getattr(profile, name)
    axes[0].semilogy(layers, p.weight_grad, "o-", ms=3,
                     color=color, label=name)
    axes[1].semilogy(layers, p.input_grad, "o-", ms=3,
                     color=color, label=name)
axes[0].set_ylabel(r"$\|\partial L / \partial W_\ell\|$")
axes[1].set_ylabel(r"$\|\partial L / \partial h_{\ell-1}\|$")
axes[1].set_xlabel(r"layer $\ell$ (1 = next to the input)")
for ax in axes:
    ax.legend(frameon=False)
axes[0].set_title(f"{DEPTH} sigmoid layers at initialisation")
fig.tight_layout()
plt.show()

print(f"first / last layer: "
      f"plain {profile.plain.ratio:.2e}, "
      f"residual {profile.residual.ratio:.3g}")

# %% [markdown]
# ## Training on the digits
#
# Both networks, float32, Adam, `EPOCHS` epochs. The plain network's early layers receive
# essentially no gradient and its output no longer depends on the input, so its loss
# stays at $\ln 10$, chance for ten classes. The residual network starts high (the sum of
# positive sigmoid outputs makes its last hidden values large) and then learns.

# %%
# alt: Two panels over the epochs: training loss and test accuracy of the deep plain sigmoid network against the residual one.
curves = training_curves(depth=DEPTH, epochs=EPOCHS)
epochs = np.arange(EPOCHS + 1)
fig, axes = plt.subplots(2, 1, figsize=(6.4, 6.4),
                         sharex=True)
for name, color in colors.items():
    c = curves[name]
    axes[0].plot(epochs, c.train_loss, "o-", color=color,
                 label=f"{name}, train")
    axes[0].plot(epochs, c.val_loss, "s--", color=color,
                 alpha=0.6, label=f"{name}, test")
    axes[1].plot(epochs, 100 * np.array(c.val_acc), "o-",
                 color=color, label=name)
axes[0].axhline(np.log(10), color="0.7", lw=1, ls=":")
axes[0].set_yscale("log")
axes[0].set_ylabel("cross-entropy loss")
axes[1].set_ylabel("test accuracy (%)")
axes[1].set_xlabel("epoch")
for ax in axes:
    ax.legend(frameon=False)
axes[0].set_title(f"depth {DEPTH}: plain vs residual")
fig.tight_layout()
plt.show()

print(Table([{"network": name,
              "train loss": c.train_loss[-1],
              "test loss": c.val_loss[-1],
              "test acc.": c.val_acc[-1]}
             for name, c in curves.items()]))
