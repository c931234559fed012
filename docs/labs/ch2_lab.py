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
# # Lab 2: training techniques
#
# The figures of [chapter 2](../../chapters/ch2-training-techniques/), drawn from the
# experiments in `litnet.experiments` (the same cached functions the chapter's numbers and
# the tests use). Change the seed below and run the notebook again (download it with the
# buttons at the top of the page) to see which results depend on the random draw: the
# optimiser paths have no randomness at all, the activation statistics barely move, the
# training runs of the last two sections do.

# %%
SEED = 0          # input, weights, data split and mini-batch order
R5_EPOCHS = 200   # training length of the overfitting experiment

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from litnet.data import elongated_bowl
from litnet.diagnostics import Table
from litnet.experiments import bn_init_sensitivity as r4
from litnet.experiments import init_histograms as r2
from litnet.experiments import optimizer_paths as r3
from litnet.experiments import regularization as r5

# %% [markdown]
# ## 1. Optimiser paths on the bowl f(x, y) = x²/20 + y²
#
# Thirty updates from $(-7, 2)$ with the book's settings (SGD $\eta = 0.95$; Momentum
# $\eta = 0.1$, $\mu = 0.9$; AdaGrad $\eta = 1.5$; Adam $\eta = 0.3$), plus Nesterov with
# Momentum's settings and RMSProp ($\eta = 0.1$, $\alpha = 0.99$). The minimum is at the
# origin (+).

# %%
# alt: Six panels of the elongated bowl's contours, each with one optimiser's thirty steps from (-7, 2) toward the minimum at the origin.
paths = r3.paths()
display(r3.plot_paths())

rows = []
for name, path in paths.items():
    x, y = path[-1]
    book = r3.BOOK_END.get(name)
    rows.append({"optimiser": name, "end point": f"({x:.4f}, {y:.4f})",
                 "book's end": f"({book[0]:.4f}, {book[1]:.4f})" if book else "-",
                 "path length": f"{r3.path_length(path):.2f}",
                 "book's length": f"{r3.BOOK_LENGTH[name]:.2f}" if book else "-",
                 "f at the end": float(elongated_bowl(path[-1])[0])})
display(Markdown(Table(rows).to_markdown(fmt="{:.4f}")))

# %% [markdown]
# ## 2. Activation histograms of an untrained network
#
# 1000 standard-normal inputs, five layers of 100 units without biases, no training; each
# row is an initialisation, each column a layer. For ReLU the zeros (about half of the
# values) are left out and each row has its own range, so growth and shrinking show as the
# histograms being squeezed to the left or spreading to the right.

# %%
# alt: Histograms of the five layers' sigmoid activations, one row per initialisation, from std 1 piled at 0 and 1 to std 0.01 spiked at 0.5.
# alt: Histograms of the five layers' tanh activations, one row per initialisation.
# alt: Histograms of the five layers' positive ReLU activations, one row per initialisation, each row on its own range.
for activation in r2.ACTIVATIONS:
    display(r2.plot_histograms(activation, tuple(r2.INITS), seed=SEED))

# %% [markdown]
# The standard deviation of every layer's activations, for every pair:

# %%
table = r2.stats_table(SEED)
rows = [{"init": r2.INITS[i][0], "activation": a,
         **{f"std L{k}": s["std"] for k, s in enumerate(table[i, a], start=1)}}
        for (i, a) in table]
display(Markdown(Table(rows).to_markdown(fmt="{:.3g}")))

# %% [markdown]
# and, for the sigmoid, the share of activations in the book's two tails, $[0, 0.05]$ and
# $(0.95, 1]$, in percent (each cell: near 0 / near 1):

# %%
rows = [{"init": label,
         **{f"L{k}": f"{s['near0']:.3g} / {s['near1']:.3g}"
            for k, s in enumerate(table[i, "sigmoid"], start=1)}}
        for i, (label, _) in r2.INITS.items()]
display(Markdown(Table(rows).to_markdown()))

# %% [markdown]
# ### Glorot's variance argument through ten tanh layers
#
# Forward: the variance of each layer's output. Backward: the mean square G of the
# gradient at each layer's pre-activation, starting from a standard-normal gradient at the
# top. With Glorot's initialisation both drift slowly (tanh is contracting, so neither can
# grow); with std 0.01 the forward signal dies, with std 1 the backward signal explodes
# while the forward one sits saturated at ±1. The table gives Glorot's ratios between
# neighbouring layers, each in the direction its signal travels.

# %%
# alt: Two log-scale line plots over ten tanh layers: the forward activation variance and the backward gradient mean square for Glorot, std 0.01 and std 1 weights.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
for init_name, color in (("glorot_normal", "#1e88e5"), ("std0.01", "0.5"),
                         ("std1", "#e8710a")):
    v = r2.deep_tanh_variance(init_name, seed=SEED)
    layers = np.arange(1, len(v["forward"]) + 1)
    axes[0].semilogy(layers, v["forward"], "o-", color=color, label=r2.INITS[init_name][0])
    axes[1].semilogy(layers, v["backward"], "o-", color=color, label=r2.INITS[init_name][0])
axes[0].set_title("forward: Var(tanh output)")
axes[1].set_title(r"backward: mean square of $\partial L/\partial s_\ell$")
for ax in axes:
    ax.set_xlabel("layer (1 = next to the input)")
    ax.legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()

g = r2.deep_tanh_variance("glorot_normal", seed=SEED)
display(Markdown(Table([
    {"layers": f"{k}, {k + 1}",
     "forward: Var(k+1) / Var(k)": g["forward_ratio"][k - 1],
     "backward: G(k) / G(k+1)": g["backward_ratio"][k - 1]}
    for k in range(1, len(g["forward_ratio"]) + 1)]).to_markdown(fmt="{:.3f}")))

# %% [markdown]
# ## 3. Batch normalization and the initial weight scale
#
# Sixteen weight scales, the same standard deviation $w$ in every layer, five hidden layers
# of 100, SGD ($\eta = 0.01$, batches of 100), 20 epochs on 1000 digits; training accuracy
# after every epoch, with BN (solid) and without (dashed). A dashed line that stops means
# the plain network's loss overflowed (it diverged).

# %%
# alt: Sixteen panels of ReLU training accuracy over 20 epochs, one per weight scale, with BN solid and without BN dashed.
# alt: Sixteen panels of sigmoid training accuracy over 20 epochs, one per weight scale, with BN solid and without BN dashed.
for activation in ("relu", "sigmoid"):
    print(f"{activation}: BN >= plain at the last epoch for {r4.grid(activation, SEED)['at_least']} "
          "of 16 scales")
    display(r4.plot_grid(activation, SEED))

# %% [markdown]
# The final training accuracies (`nan`: the run diverged):

# %%
display(Markdown(Table([
    {"w": f"{w:.3g}",
     **{f"{a} {kind}": r4.grid(a, SEED)[kind][k, -1]
        for a in ("relu", "sigmoid") for kind in ("bn", "plain")}}
    for k, w in enumerate(r4.SCALES)]).to_markdown(fmt="{:.3f}")))

# %% [markdown]
# ## 4. Weight decay and dropout against overfitting
#
# 300 training digits, six hidden layers of 100 ReLU units with He weights, SGD
# ($\eta = 0.01$, batches of 100); accuracy on the 300 training digits and on the other
# 1497 (test) every 5 epochs. The three runs start from the same weights.

# %%
# alt: Three panels of training and test accuracy over the epochs, for no regularisation, weight decay and dropout.
names = list(r5.VARIANTS)
curves = {v: r5.curves(v, R5_EPOCHS, SEED) for v in names}
display(r5.plot_curves(R5_EPOCHS, SEED))

display(Markdown(Table([
    {"variant": v, "train": curves[v]["train_acc"][-1], "test": curves[v]["test_acc"][-1],
     "gap": curves[v]["train_acc"][-1] - curves[v]["test_acc"][-1]}
    for v in names]).to_markdown(fmt="{:.3f}")))
