import inspect

import pytest
import torch

from gankit import ConfigError, build_models
from gankit.models import MODELS
from gankit.models.layers import same_transpose_padding

from formats import families_with, model_shapes


@pytest.mark.parametrize(("name", "shape"), [(n, shape) for n in MODELS.names() for shape in model_shapes(n)])
def test_every_model_maps_latents_to_images_and_images_to_logits(name, shape):
    G, D = build_models(name, shape, z_dim=16)
    z = torch.randn(4, 16)
    x = G(z)
    assert x.shape == (4, *shape) and G.z_dim == 16 and torch.isfinite(x).all()
    logits = D(x)
    assert logits.shape == (4,)
    logits.sum().backward()  # gradients reach G through D
    assert all(p.grad is not None for p in G.parameters())


@pytest.mark.parametrize("name", ["vanilla", "dcgan"])
def test_tutorial_families_end_in_tanh(name):
    G, _ = build_models(name, (1, 28, 28), z_dim=16)
    x = G(torch.randn(64, 16) * 10)
    assert x.min() >= -1 and x.max() <= 1  # StyleGAN2's output is linear, as in the paper; samples are clamped


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_documents_itself(name):
    factory = MODELS.get(name)
    assert inspect.getdoc(factory)
    params = inspect.signature(factory).parameters
    assert all(p.kind == p.KEYWORD_ONLY for p in params.values())


def test_vanilla_is_the_tutorial_mlp():
    G, D = build_models("vanilla", (1, 28, 28), z_dim=100)
    assert [tuple(m.weight.shape) for m in G.modules() if isinstance(m, torch.nn.Linear)] == [(128, 100), (784, 128)]
    assert [tuple(m.weight.shape) for m in D.modules() if isinstance(m, torch.nn.Linear)] == [(128, 784), (1, 128)]
    G2, _ = build_models("vanilla", (1, 28, 28), z_dim=100, g_hidden=[256, 512])
    assert sum(isinstance(m, torch.nn.Linear) for m in G2.modules()) == 3


def test_vanilla_on_points_has_linear_output():
    G, D = build_models("vanilla", (2,), z_dim=8)
    x = G(torch.randn(3, 8) * 100)
    assert x.shape == (3, 2) and x.abs().max() > 1 and D(x).shape == (3,)


@pytest.mark.parametrize("family, shape", [("vanilla", (2,)), ("dcgan", (3, 28, 28))])
def test_a_packed_d_judges_each_pack_of_samples_as_one(family, shape):
    _, D = build_models(family, shape, z_dim=8, pack=4)
    D.eval()  # BatchNorm in training mode would tie every decision to the whole batch
    x = torch.randn(12, *shape)
    scores = D(x)
    assert scores.shape == (3,)
    moved = x.clone()
    moved[5] += 1.0  # a sample of the second pack
    changed = D(moved) != scores
    assert changed.tolist() == [False, True, False]
    with pytest.raises(ValueError, match="packs 4 samples"):
        D(x[:10])


@pytest.mark.parametrize("family, shape", [("vanilla", (2,)), ("dcgan", (1, 28, 28))])
def test_packing_is_refused_where_it_cannot_apply(family, shape):
    with pytest.raises(ConfigError, match="model.pack"):
        build_models(family, shape, z_dim=8, num_classes=3, condition="projection", pack=2)
    with pytest.raises(ConfigError, match="model.pack"):
        build_models(family, shape, z_dim=8, pack=0)


def test_dcgan_batchnorm_momentum_is_pytorch_convention():
    G, D = build_models("dcgan", (1, 28, 28), z_dim=8, bn_momentum=0.2)  # Keras momentum=0.8
    bns = [m for m in [*G.modules(), *D.modules()] if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(m.momentum == 0.2 and m.eps == 1e-5 for m in bns)


def test_dcgan_dropout_and_kernel_options():
    G, D = build_models("dcgan", (1, 28, 28), z_dim=8, d_dropout=0.3, kernel=5)
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.3 for m in D.modules())
    assert G(torch.randn(2, 8)).shape == (2, 1, 28, 28)


def test_dcgan_dense_layer_sits_between_the_last_conv_and_the_head():
    G, D = build_models("dcgan", (1, 28, 28), z_dim=8, d_hidden=24, num_classes=10, condition="projection")
    assert tuple(D.body[-2].weight.shape) == (24, 128 * 7 * 7) and D.head.project.embedding_dim == 24
    plain = build_models("dcgan", (1, 28, 28), z_dim=8, num_classes=10, condition="projection")[1]
    assert plain.head.project.embedding_dim == 128 * 7 * 7  # 0: the head reads the flattened maps
    labels = torch.arange(4)
    assert D(G(torch.randn(4, 8), labels), labels).shape == (4,)
    with pytest.raises(ConfigError, match="model.d_hidden must be >= 0"):
        build_models("dcgan", (1, 28, 28), z_dim=8, d_hidden=-1)


@pytest.mark.parametrize(("kernel", "expected"), [(4, (1, 0)), (5, (2, 1)), (3, (1, 1)), (2, (0, 0))])
def test_same_transpose_padding_doubles_size(kernel, expected):
    padding, output_padding = same_transpose_padding(kernel, 2)
    assert (padding, output_padding) == expected
    conv = torch.nn.ConvTranspose2d(1, 1, kernel, 2, padding, output_padding)
    assert conv(torch.zeros(1, 1, 7, 7)).shape[-1] == 14


@pytest.mark.parametrize("resolution", [30, 12, 36 * 3])
def test_dcgan_refuses_sizes_it_cannot_make(resolution):
    with pytest.raises(ConfigError, match=f"cannot make {resolution}x{resolution}"):
        build_models("dcgan", (1, resolution, resolution), z_dim=8)


def test_unknown_model_suggests():
    with pytest.raises(ConfigError, match="did you mean 'dcgan'"):
        build_models("dcgn", (1, 28, 28), z_dim=8)


def _conditions(name: str) -> list[str]:
    """The ways family `name` says (in its signature) it can be conditioned."""
    import typing

    hint = typing.get_type_hints(MODELS.get(name))["condition"]
    return [c for c in typing.get_args(hint) if c != "none"]


@pytest.mark.parametrize(("name", "condition"), [(n, c) for n in families_with("condition") for c in _conditions(n)])
def test_conditional_pairs_use_the_label(name, condition):
    torch.manual_seed(0)
    G, D = build_models(name, model_shapes(name)[0], z_dim=8, num_classes=10, condition=condition)
    G.eval()
    D.eval()
    assert G.num_classes == 10
    z = torch.randn(1, 8).repeat(2, 1)
    c = torch.tensor([3, 7])
    x = G(z, c)
    assert not torch.allclose(x[0], x[1])  # same z, different class: different image
    same = x[:1].expand_as(x)
    logits = D(same, c)
    assert logits.shape == (2,) and logits[0] != logits[1]  # same image, different class: different score
    with pytest.raises(ValueError, match="class labels"):
        G(z)


@pytest.mark.parametrize("name", families_with("aux_classifier"))
def test_auxiliary_classifier_head(name):
    shape = model_shapes(name)[0]
    G, D = build_models(name, shape, z_dim=8, num_classes=10, aux_classifier=True)
    logits, classes = D(torch.randn(3, *shape), classify=True)
    assert logits.shape == (3,) and classes.shape == (3, 10)
    assert G(torch.randn(3, 8), torch.tensor([0, 1, 2])).shape == (3, *shape)


@pytest.mark.parametrize("name", MODELS.names())
def test_unconditional_models_ignore_classes(name):
    G, _ = build_models(name, model_shapes(name)[0], z_dim=8, num_classes=10)
    assert G.num_classes is None


def test_conditioning_needs_labels():
    with pytest.raises(ConfigError, match="need a labelled data set"):
        build_models("dcgan", (1, 28, 28), z_dim=8, num_classes=None, condition="projection")
