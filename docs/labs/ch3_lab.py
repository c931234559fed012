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
# # Lab 3: batch normalization, measured
#
# The figures of [chapter 3](../../chapters/ch3-batch-normalization/), computed by litnet
# when this page was built. Every network is R6's: the 8×8 digits (1,500 training and
# 297 test images), five hidden layers of 100 units, softmax cross-entropy, float32,
# mini-batches of 100. The runs are cached functions of `litnet.experiments`, so this
# notebook, the chapter's doctests, the tests and the
# [reproductions page](../../reproductions/) share one computation. Download the notebook
# (buttons at the top) to change the settings in the next cell.

# %%
EPOCHS = 20        # R6's training length (the cached runs use 20)
R7_STD = 1.0       # weight std of R7's second setting
SHOWN_EPOCHS = (0, 1, 2, 5, 20)   # histograms drawn in R7

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from litnet.diagnostics import Table
from litnet.experiments import bn_shift, norm_batch_dependence, ood, sigmoid_bn
from litnet.experiments.sigmoid_bn import NORMS, bin_centres, run

COLORS = {"none": "0.45", "bn": "#1e88e5", "ln": "#e8710a", "gn": "#43a047"}

# %% [markdown]
# ## R6: a deep sigmoid network with and without BN
#
# Sigmoid networks start with weights of std $1/\sqrt{n_\text{in}}$, ReLU networks with
# He's $\sqrt{2/n_\text{in}}$; plain SGD, learning rate 0.1. Test accuracy after each
# epoch (epoch 0: before training): the note's experiment (Figure 3.1 of the chapter).

# %%
# alt: Test accuracy per epoch of the sigmoid and ReLU networks, each with and without BatchNorm.
epochs = np.arange(EPOCHS + 1)
sigmoid_bn.plot_accuracy([run(act, norm, epochs=EPOCHS)
                          for act in ("sigmoid", "relu") for norm in ("none", "bn")])

# %% [markdown]
# The same sigmoid network with LayerNorm or GroupNorm instead of BN, trained with SGD and
# with Adam (learning rate $10^{-3}$):

# %%
# alt: Test accuracy per epoch of the five-layer sigmoid network without normalisation, with BatchNorm, LayerNorm and GroupNorm, under SGD and Adam.
display(sigmoid_bn.plot_accuracy([run("sigmoid", norm, optimizer=opt, epochs=EPOCHS)
                                  for norm in ("none", "bn", "ln", "gn")
                                  for opt in ("sgd", "adam") if (norm, opt) != ("bn", "adam")]))

rows = []
for act, norm, opt in (("sigmoid", "none", "sgd"), ("sigmoid", "bn", "sgd"),
                       ("relu", "none", "sgd"), ("relu", "bn", "sgd"),
                       ("sigmoid", "ln", "sgd"), ("sigmoid", "gn", "sgd"),
                       ("sigmoid", "none", "adam"), ("sigmoid", "ln", "adam"),
                       ("sigmoid", "gn", "adam")):
    r = run(act, norm, optimizer=opt, epochs=EPOCHS)
    rows.append({"network": r.label, "test acc. (%)": 100 * r.final_acc,
                 "final train loss": r.train_loss[-1]})
display(Markdown(Table(rows).to_markdown(fmt="{:.3g}")))

# %% [markdown]
# ## R7: the last sigmoid's input, epoch by epoch
#
# The input of the fifth sigmoid (after BN in the BN network) on the 297 test digits,
# in evaluation mode, before training (epoch 0) and after each epoch. Top row: R6's
# initialisation; bottom row: every weight with std `R7_STD`. At epoch 0 BN's running
# statistics still hold their starting values (mean 0, variance 1), so the BN network's
# histogram is the raw one; the running statistics then catch up with the batches and
# BN centres every unit on its shift $\beta$. (With std-1 weights and no BN, about a
# tenth of the values lie beyond the drawn range of $\pm 12.25$.)

# %%
# alt: Four panels of histograms of the last sigmoid layer's input at several epochs, for two weight scales with and without BatchNorm; without BN the values drift far from zero, with BN they stay centred.
centre = bin_centres()
fig, axes = plt.subplots(2, 2, figsize=(10, 6.4), sharex=True)
shade = plt.cm.viridis(np.linspace(0.0, 0.85, len(SHOWN_EPOCHS)))
for i, std in enumerate((None, R7_STD)):
    for j, norm in enumerate(("none", "bn")):
        r = run("sigmoid", norm, init_std=std, epochs=EPOCHS)
        ax = axes[i, j]
        for color, e in zip(shade, SHOWN_EPOCHS, strict=True):
            if e > EPOCHS:
                continue
            share = r.pre_hist[e] / (r.pre_hist[e].sum() + r.pre_outside[e])
            ax.step(centre, share, where="mid", color=color,
                    label=f"epoch {e}: median {r.pre_median[e]:+.2f}, "
                          f"peak {r.pre_mode[e]:+.1f}")
        ax.axvline(0, color="0.8", lw=1)
        setting = "std 1/√n_in" if std is None else f"std {std:g}"
        ax.set_title(f"{setting}, {NORMS[norm][0]}", fontsize=10)
        ax.legend(frameon=False, fontsize=7)
for ax in axes[1]:
    ax.set_xlabel("input of the last sigmoid")
for ax in axes[:, 0]:
    ax.set_ylabel("share of values per bin")
fig.tight_layout()
plt.show()

# %% [markdown]
# The centres over all epochs (median solid, mean dotted):

# %%
# alt: Median and mean of the last sigmoid layer's input over the epochs for both weight scales, with and without BatchNorm.
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for std, marker in ((None, "o"), (R7_STD, "s")):
    for norm in ("none", "bn"):
        r = run("sigmoid", norm, init_std=std, epochs=EPOCHS)
        label = f"{'std 1/√n_in' if std is None else f'std {std:g}'}, {NORMS[norm][0]}"
        ax.plot(epochs, r.pre_median, marker + "-", ms=3, color=COLORS[norm],
                alpha=1.0 if std else 0.5, label=label)
        ax.plot(epochs, r.pre_mean, ":", color=COLORS[norm], alpha=1.0 if std else 0.5)
ax.axhline(0, color="0.8", lw=1)
ax.set_xlabel("epoch")
ax.set_ylabel("centre of the last sigmoid's input")
ax.legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()

seeds = bn_shift.initial_centres(R7_STD)
print(f"before training, over {len(seeds.median)} seeds of the std-{R7_STD:g} network:\n"
      f"  median: mean {seeds.median.mean():+.2f}, from {seeds.median.min():+.2f} "
      f"to {seeds.median.max():+.2f}\n"
      f"  peak:   mean {seeds.mode.mean():+.2f}, from {seeds.mode.min():+.2f} "
      f"to {seeds.mode.max():+.2f} (seed 0: {seeds.mode[0]:+.2f})")

# %% [markdown]
# ## R8: what each normalisation averages over
#
# In R6's untrained sigmoid network: left, the spread of each unit's input *across
# samples* (what distinguishes one digit from another) at each of the five sigmoids;
# middle, the spread of each sample's inputs *across units*; right, the norm of each
# weight matrix's gradient on one mini-batch of 100 digits. BN fixes the first spread
# at 1; LayerNorm and GroupNorm fix the second, and the first shrinks layer after layer
# as in the plain network, and so does the gradient on its way to the input.

# %%
# alt: Three panels per sigmoid layer: the spread of a unit across samples, the spread of a sample across units, and the weight-gradient norm at initialisation, for no normalisation, BatchNorm, LayerNorm and GroupNorm.
spread = norm_batch_dependence.spread()
grads = norm_batch_dependence.weight_gradients()
layers = np.arange(1, 6)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
for norm, s in spread.items():
    axes[0].semilogy(layers, s["across"], "o-", color=COLORS[norm], label=NORMS[norm][0])
    axes[1].plot(layers, s["within"], "o-", color=COLORS[norm], label=NORMS[norm][0])
    axes[2].semilogy(np.arange(1, 7), grads[norm], "o-", color=COLORS[norm],
                     label=NORMS[norm][0])
axes[0].set_title("std of a unit across samples", fontsize=10)
axes[1].set_title("std of a sample across units", fontsize=10)
axes[2].set_title(r"$\|\partial L/\partial W_\ell\|$ at initialisation", fontsize=10)
for ax in axes[:2]:
    ax.set_xlabel("sigmoid layer")
    ax.set_xticks(layers)
axes[2].set_xlabel(r"Linear layer $\ell$ (6: the output layer)")
axes[2].set_xticks(np.arange(1, 7))
axes[0].legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()

dep = norm_batch_dependence.batch_dependence()
print("largest change of one sample's output when the other 31 samples are replaced:")
for name, value in dep.items():
    print(f"  {name:12s} {value:.3g}")
print("BN on a batch of one, batch statistics: max |y - beta| =",
      norm_batch_dependence.batch_of_one()["max_from_beta"])

# %% [markdown]
# ## R9: out-of-distribution inputs
#
# R6's ReLU networks, trained, in evaluation mode, on the test digits and on three kinds
# of inputs they never saw. Left: mean activation of the last hidden layer, relative to
# its value on the test digits (1 = no change); right: mean confidence (the largest
# softmax probability). "BN, batch statistics" is the same
# trained BN network normalising each input set with its own statistics.

# %%
# alt: Bars of the last hidden layer's mean activation relative to its value on test digits, and of the mean confidence, for each kind of input and each network.
summary = ood.summary()
keys = list(ood.INPUTS)
ood.plot_ood()

# %% [markdown]
# The confidence of every single input, for the BN network with its running statistics
# and for the LayerNorm network:

# %%
# alt: Histograms of the largest softmax probability for each kind of input, for the BatchNorm network and the LayerNorm network.
measured = ood.measure()
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
for ax, net in zip(axes, ("bn", "ln"), strict=True):
    for k in keys:
        ax.hist(measured[net][k]["confidence"], bins=np.linspace(0, 1, 21), histtype="step",
                lw=1.5, label=ood.INPUTS[k])
    ax.set_title(ood.NETWORKS[net])
    ax.set_xlabel("confidence (largest softmax probability)")
axes[0].set_ylabel("inputs")
axes[0].legend(frameon=False, fontsize=8, loc="upper left")
fig.tight_layout()
plt.show()

rows = [{"network": ood.NETWORKS[net], "input": ood.INPUTS[k],
         "activation": summary[net][k][0], "× ID": ood.ratio(net, k),
         "confidence": summary[net][k][1]}
        for net in ood.NETWORKS for k in keys]
display(Markdown(Table(rows).to_markdown(fmt="{:.3g}")))

# %% [markdown]
# Why BN with running statistics lets the activations grow: the input of each BN layer,
# standardised with the stored mean and variance, should have a std near 1. On inputs
# unlike the training digits it does not:

# %%
rows = [{"input": ood.INPUTS[k],
         **{f"BN layer {i + 1}": v for i, v in enumerate(measured["bn"][k]["mismatch"])}}
        for k in keys]
display(Markdown(Table(rows).to_markdown(fmt="{:.2f}")))
