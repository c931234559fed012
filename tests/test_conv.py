"""Conv2d, pooling, Flatten, BatchNorm2d, GroupNorm on images and convolutional Residual blocks
beyond the shared registry (tests/cases.py runs the protocol, bad-input, gradcheck and PyTorch
parity tests on them): evaluation mode, the errors that are special to images, im2col, the
default initialisation, huge inputs, save/load, diagnostics and to_torch on a CNN."""

import numpy as np
import pytest
from cases import CASES, make_input

import litnet as ln
from litnet.conv import col2im, im2col

IMAGE_LAYERS = ("Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten",
                "BatchNorm2d", "GroupNorm-4d", "Sequential-CNN", "Residual-conv")
IMAGE_CASES = [c for c in CASES if c.name.startswith(IMAGE_LAYERS)]
F64 = np.float64


def test_every_image_layer_is_registered():
    found = {name for name in IMAGE_LAYERS if any(c.name.startswith(name) for c in CASES)}
    assert found == set(IMAGE_LAYERS)


@pytest.mark.parametrize("case", IMAGE_CASES, ids=[c.name for c in IMAGE_CASES])
def test_gradcheck_in_eval_mode(case):
    rng = np.random.default_rng(0)
    module = case.factory(rng, F64).eval()
    result = ln.gradcheck(module, make_input(case, rng), rng=rng)
    assert result.worst < 1e-6, result


# -- errors that name the layer and the shapes ------------------------------------------
def conv(*args, **kw):
    return ln.Conv2d(*args, rng=np.random.default_rng(0), dtype=F64, **kw)


@pytest.mark.parametrize("layer, x, match", [
    (conv(2, 3, 3), np.ones((2, 2, 5)), r"Conv2d\(2, 3, .*\): expected a 4-D input, "
                                         r"got shape \(2, 2, 5\)"),
    (conv(2, 3, 3), np.ones((2, 4, 5, 5)), r"Conv2d\(2, 3, .*\): expected input of shape "
                                            r"\(N, 2, \*, \*\), got \(2, 4, 5, 5\)"),
    (conv(2, 3, (3, 5), padding=1), np.ones((2, 2, 4, 2)),
     r"Conv2d\(2, 3, .*\): kernel 3x5 is larger than the padded input 6x4 "
     r"\(input shape \(2, 2, 4, 2\), padding \(1, 1\)\)"),
    (ln.MaxPool2d(3), np.ones((2, 1, 2, 5)),
     r"MaxPool2d\(kernel_size=\(3, 3\).*\): kernel 3x3 is larger than the input 2x5"),
    (ln.AvgPool2d(2), np.ones((2, 1, 4)), r"AvgPool2d\(.*\): expected a 4-D input"),
    (ln.AdaptiveAvgPool2d(3), np.ones((2, 1, 2, 4)),
     r"AdaptiveAvgPool2d\(.*\): output size 3x3 is larger than the input 2x4"),
    (ln.Flatten(2), np.ones((3, 4)), r"Flatten\(start_dim=2, end_dim=-1\): cannot flatten "
                                      r"axes 2..-1 of an input of shape \(3, 4\)"),
    (ln.BatchNorm2d(3, dtype=F64), np.ones((1, 3, 1, 1)),
     r"BatchNorm2d\(3, .*\): expected more than 1 value per channel when training, got "
     r"input of shape \(1, 3, 1, 1\)"),
    (ln.BatchNorm2d(3, dtype=F64), np.ones((4, 3, 2)), r"BatchNorm2d\(3, .*\): expected a "
                                                       r"4-D input, got shape \(4, 3, 2\)"),
    (ln.BatchNorm2d(3, dtype=F64), np.ones((4, 2, 2, 2)), r"BatchNorm2d\(3, .*\): expected "
                                                          r"input of shape \(N, 3, \*, \*\)"),
    (ln.GroupNorm(2, 4, dtype=F64), np.ones((2, 6, 3, 3)), r"GroupNorm\(2, 4, .*\): expected "
                                                           r"input of shape \(N, 4, \*, \*\)"),
], ids=["conv-rank", "conv-channels", "conv-kernel-too-large", "maxpool-kernel-too-large",
        "avgpool-rank", "adaptive-too-large", "flatten-axes", "bn2d-one-value",
        "bn2d-rank", "bn2d-channels", "groupnorm-channels"])
def test_clear_errors(layer, x, match):
    before = x.copy()
    with pytest.raises(ValueError, match=match):
        layer(x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("make, match", [
    (lambda: conv(2, 3, 0), r"Conv2d: kernel_size must be an int >= 1 or a pair of them, got 0"),
    (lambda: conv(2, 3, (3, 3, 3)), r"Conv2d: kernel_size .* got \(3, 3, 3\)"),
    (lambda: conv(2, 3, 3, stride=0), r"Conv2d: stride must be an int >= 1"),
    (lambda: conv(2, 3, 3, padding=-1), r"Conv2d: padding must be an int >= 0"),
    (lambda: conv(2, 3, 3, padding=True), r"Conv2d: padding must be an int >= 0"),
    (lambda: conv(0, 3, 3), r"Conv2d: in_channels must be a positive int, got 0"),
    (lambda: ln.MaxPool2d(2, stride=(1, 0)), r"MaxPool2d: stride must be an int >= 1"),
    (lambda: ln.AdaptiveAvgPool2d(0), r"AdaptiveAvgPool2d: output_size must be an int >= 1"),
    (lambda: ln.GroupNorm(4, 6), r"GroupNorm: num_channels \(6\) must be divisible by "
                                 r"num_groups \(4\)"),
    (lambda: ln.BatchNorm2d(0), r"BatchNorm2d: num_features must be a positive int, got 0"),
])
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_conv_needs_an_rng():
    with pytest.raises(TypeError, match="Conv2d: pass rng="):
        ln.Conv2d(1, 1, 3)


def test_batchnorm2d_one_value_per_channel_is_fine_in_eval_mode():
    bn = ln.BatchNorm2d(3, dtype=F64).eval()
    np.testing.assert_allclose(bn(np.ones((1, 3, 1, 1))), np.ones((1, 3, 1, 1)) / np.sqrt(1 + 1e-5))


# -- what the layers compute ------------------------------------------------------------
def test_im2col_and_col2im_are_transposes():
    """<im2col(r), c> = <r, col2im(c)> for every r and c: col2im is the exact adjoint."""
    rng = np.random.default_rng(1)
    kernel, width, length = (2, 3), 5, 20
    rows = rng.standard_normal((3, length + (kernel[0] - 1) * width + kernel[1] - 1))
    cols = rng.standard_normal((3 * 6, length))
    left = float(np.sum(im2col(rows, kernel, width, length) * cols))
    right = float(np.sum(rows * col2im(cols, kernel, width, length)))
    assert left == pytest.approx(right, rel=1e-12)


def test_conv_is_the_written_out_sum():
    """y[n, o, h, w] = b[o] + sum_{c,i,j} W[o, c, i, j] xpad[n, c, s h + i, s w + j]."""
    rng = np.random.default_rng(2)
    layer = conv(2, 3, (2, 3), stride=(2, 1), padding=(1, 0))
    layer.bias.data = rng.standard_normal(3)
    x = rng.standard_normal((2, 2, 5, 4))
    y = layer(x)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    want = np.zeros_like(y)
    for h in range(y.shape[2]):
        for w in range(y.shape[3]):
            patch = xp[:, :, 2 * h:2 * h + 2, w:w + 3]                # (N, C, 2, 3)
            want[:, :, h, w] = np.einsum("ncij,ocij->no", patch, layer.weight.data)
    np.testing.assert_allclose(y, want + layer.bias.data[:, None, None], rtol=0, atol=1e-13)


def test_default_init_is_pytorchs_bound(torch):
    layer = ln.Conv2d(16, 8, 3, rng=np.random.default_rng(3), dtype=F64)
    bound = 1 / np.sqrt(16 * 9)                     # kaiming_uniform_(a=sqrt(5)) in PyTorch
    w = layer.weight.data
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    theirs = torch.nn.Conv2d(16, 8, 3).weight.detach().numpy()
    assert np.abs(theirs).max() <= bound * (1 + 1e-6)
    assert not layer.bias.data.any()                # zero bias, as litnet's Linear


def test_groupnorm_of_huge_float32_images_is_right():
    """|x| ~ 1e20: x*x overflows float32; the output must still be the standardised input."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((2, 4, 3, 3)) * 1e20).astype(np.float32)
    layer = ln.GroupNorm(2, 4)
    layer.bias.data[:] = 7.0                        # a silent "output = beta" would show
    y = layer(x)
    x64 = x.astype(F64).reshape(2, 2, -1)
    want = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    assert y.dtype == np.float32 and np.isfinite(y).all()
    np.testing.assert_allclose(y, want.reshape(x.shape) + 7.0, rtol=0, atol=1e-5)
    dx = layer.backward(np.ones_like(y))
    assert np.isfinite(dx).all()


def test_groupnorm_too_large_for_float64_is_an_error():
    with pytest.raises(ValueError, match=r"GroupNorm\(1, 2, .*\): input too large to normalise"):
        ln.GroupNorm(1, 2, dtype=F64)(np.array([[1e200, -1e200]]))


def test_groupnorm_four_dimensional_ends_are_layernorm_and_instancenorm():
    x = np.random.default_rng(5).standard_normal((2, 4, 3, 5))
    one = ln.GroupNorm(1, 4, affine=False)(x)
    np.testing.assert_allclose(one, ln.LayerNorm((4, 3, 5), elementwise_affine=False)(x),
                               rtol=0, atol=1e-13)
    each = ln.GroupNorm(4, 4, affine=False)(x)       # instance normalisation
    want = (x - x.mean((2, 3), keepdims=True)) / np.sqrt(x.var((2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(each, want, rtol=0, atol=1e-13)


def test_batchnorm2d_statistics_are_per_channel_over_n_h_w():
    x = np.random.default_rng(6).standard_normal((4, 3, 5, 2)) * [[[[1.0]], [[5.0]], [[0.1]]]]
    y = ln.BatchNorm2d(3, dtype=F64)(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), x.var(axis=(0, 2, 3)) /
                               (x.var(axis=(0, 2, 3)) + 1e-5), rtol=1e-12)


def test_pooling_layers_compute_what_they_say():
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 6))
    blocks = x.reshape(2, 3, 2, 2, 3, 2)                     # 2x2 windows side by side
    np.testing.assert_array_equal(ln.MaxPool2d(2)(x), blocks.max(axis=(3, 5)))
    np.testing.assert_allclose(ln.AvgPool2d(2)(x), blocks.mean(axis=(3, 5)), rtol=1e-14)
    np.testing.assert_allclose(ln.AdaptiveAvgPool2d((2, 3))(x), blocks.mean(axis=(3, 5)),
                               rtol=1e-14)
    np.testing.assert_allclose(ln.AdaptiveAvgPool2d(1)(x)[:, :, 0, 0], x.mean(axis=(2, 3)))


def test_maxpool_gradient_goes_to_the_maximum_only():
    x = np.random.default_rng(8).standard_normal((2, 2, 4, 4))
    pool = ln.MaxPool2d(2)
    y = pool(x)
    dx = pool.backward(np.ones_like(y))
    assert dx.sum() == y.size and set(np.unique(dx)) <= {0.0, 1.0}
    np.testing.assert_array_equal(np.sort(x[dx == 1]), np.sort(y.ravel()))


def test_flatten_output_is_not_a_view():
    x = np.ones((2, 3, 2, 2))
    y = ln.Flatten()(x)
    assert not np.shares_memory(x, y)


# -- data, save/load, diagnostics, to_torch on a small CNN ---------------------------------
def small_cnn(rng, dtype=F64, norm="bn"):
    layer = (lambda c: ln.BatchNorm2d(c, dtype=dtype)) if norm == "bn" else \
        (lambda c: ln.GroupNorm(2, c, dtype=dtype))
    return ln.Sequential(
        ln.Conv2d(1, 4, 3, padding=1, bias=False, rng=rng, dtype=dtype), layer(4), ln.ReLU(),
        ln.Residual(ln.Sequential(ln.Conv2d(4, 6, 3, 2, 1, rng=rng, dtype=dtype), layer(6)),
                    shortcut=ln.Conv2d(4, 6, 1, 2, bias=False, rng=rng, dtype=dtype)),
        ln.ReLU(), ln.AvgPool2d(2), ln.AdaptiveAvgPool2d(1), ln.Flatten(),
        ln.Linear(6, 10, rng=rng, dtype=dtype))


def test_digits_as_images_feed_a_cnn():
    flat = ln.data.load_digits(rng=np.random.default_rng(0))
    split = ln.data.load_digits(rng=np.random.default_rng(0), images=True)
    assert split.x_train.shape == (1500, 1, 8, 8) and split.x_test.shape == (297, 1, 8, 8)
    np.testing.assert_array_equal(split.x_train.reshape(1500, 64), flat.x_train)
    np.testing.assert_array_equal(split.y_train, flat.y_train)
    model = small_cnn(np.random.default_rng(1), np.float32)
    assert model(split.x_test[:5]).shape == (5, 10)


def _train(model, rng, steps=3):
    opt = ln.optim.SGD(model.parameters(), lr=0.1)
    x, y = ln.data.load_digits(rng=rng, images=True, dtype=F64)[:2]
    for i in range(steps):
        model.zero_grad()
        loss, g = ln.softmax_cross_entropy(model(x[i * 16:(i + 1) * 16]), y[i * 16:(i + 1) * 16])
        model.backward(g)
        opt.step()
    return x


def test_cnn_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(9)
    model = small_cnn(rng)
    x = _train(model, rng)
    path = ln.save(model, tmp_path / "cnn.npz")
    assert "1.running_mean" in np.load(path).files and "3.shortcut.weight" in np.load(path).files
    other = ln.load(small_cnn(np.random.default_rng(10)), path)
    for (name, a), (_, b) in zip(ln.io.state_arrays(model).items(),
                                 ln.io.state_arrays(other).items(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    np.testing.assert_array_equal(other.eval()(x[:7]), model.eval()(x[:7]))


def test_cnn_diagnostics():
    rng = np.random.default_rng(11)
    model = small_cnn(rng)
    x, y = ln.data.load_digits(rng=rng, images=True, dtype=F64)[:2]
    with ln.diagnostics.record(model, layers=(ln.Conv2d, ln.BatchNorm2d)) as rec:
        loss, g = ln.softmax_cross_entropy(model(x[:20]), y[:20])
        ln.run_backward(model, g)
    table = rec.stats()
    assert table.column("type").tolist() == ["Conv2d", "BatchNorm2d", "Conv2d", "BatchNorm2d",
                                             "Conv2d"]
    assert np.all(np.isfinite(table.column("grad_norm")))
    assert np.all(table.column("weight.grad_norm") > 0)
    norms = ln.diagnostics.gradient_norms(model, x[:20], y[:20], layers=ln.Conv2d)
    assert len(norms) == 3 and np.all(np.asarray(norms) > 0)


@pytest.mark.parametrize("norm", ["bn", "gn"])
def test_cnn_to_torch_after_training(torch, norm):
    rng = np.random.default_rng(12)
    model = small_cnn(rng, norm=norm)
    x = _train(model, rng)
    for mode in ("eval", "train"):
        model.train(mode == "train")
        net = ln.to_torch(model)
        got = net(torch.from_numpy(x[:9])).detach().numpy()
        np.testing.assert_allclose(got, model(x[:9]), rtol=0, atol=1e-10, err_msg=mode)
    assert isinstance(net[1], torch.nn.BatchNorm2d if norm == "bn" else torch.nn.GroupNorm)


def test_batchnorm2d_eval_batch_stats_to_torch(torch):
    rng = np.random.default_rng(13)
    bn = ln.BatchNorm2d(3, eval_uses_batch_stats=True, dtype=F64)
    bn(rng.standard_normal((4, 3, 2, 2)))
    bn.eval()
    net = ln.to_torch(bn)
    assert type(net).__name__ == "BatchNorm2dEvalBatchStats"
    x = rng.standard_normal((5, 3, 3, 3)) + 2
    np.testing.assert_allclose(net(torch.from_numpy(x)).detach().numpy(), bn(x), atol=1e-12)


def test_conv_benchmark_program_runs():
    """bench/conv_step.py (a benchmark, not a test: no time is asserted) still runs."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "bench" / "conv_step.py"
    spec = importlib.util.spec_from_file_location("conv_step", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.measure("litnet", 1, repeats=1, block=1)
    assert result["runs"] == 1 and result["median_ms"] > 0
    row = bench.table({"1": {"litnet": {"median_ms": 3.0}, "torch": {"median_ms": 1.5}}})
    assert row.splitlines()[-1] == "| 1 | 3.000 | 1.500 | 2.00× |"
