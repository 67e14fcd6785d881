"""Every registered thing is exercised by registering it: data sets on fixtures in their own format, models
saved and rebuilt from their spec, penalties, optimisers and extractors. A new entry without what these need fails
here, not in a user's run."""

import pytest
import torch
from torch import nn

from gankit import ConfigError, ModelSpec, build_dataset
from gankit.augment import AUGMENTS
from gankit.data import DATASETS
from gankit.data.base import DataSet
from gankit.losses import LOSSES, PENALTIES
from gankit.metrics.extractors import EXTRACTORS, load_extractor
from gankit.models import MODELS
from gankit.runs.checkpoint import load_checkpoint, module_state, save_checkpoint
from gankit.training.objective import StepBatch
from gankit.training.optim import OPTIMIZERS
from gankit.training.state import optimizer_state, restore_optimizer

from formats import families_with, model_shapes, write_dataset_fixture


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_data_set_reads_its_fixture_into_the_contract(name, tmp_path):
    root, options = write_dataset_fixture(name, tmp_path)
    data = build_dataset(name, root=root, **options)
    assert isinstance(data, DataSet) and len(data) > 0
    if data.is_image:
        assert data.x.dtype == torch.uint8 and data.x.dim() == 4 and data.x.shape[1] in (1, 3)
    elif data.is_signal:  # [N, C, L] scaled per channel to [-1, 1], with the units that undo it
        assert data.x.dtype == torch.float32 and data.x.abs().max() <= 1 and data.units.shape == (2, data.x.shape[1])
    else:
        assert data.x.dtype == torch.float32 and data.x.dim() == 2
    if data.labels is not None:
        assert data.labels.dtype == torch.int64 and len(data.labels) == len(data)
        assert int(data.labels.min()) >= 0 and int(data.labels.max()) < data.num_classes


MODEL_CASES = [
    (name, shape, options)
    for name in MODELS.names()
    for shape in model_shapes(name)[:2]
    for options in [{}, *([{"condition": "projection"}] if name in families_with("condition") else [])]
]


@pytest.mark.parametrize(("name", "shape", "options"), MODEL_CASES)
def test_every_model_is_saved_and_rebuilt_from_its_spec(name, shape, options, tmp_path):
    spec = ModelSpec(name, 8, shape, 10, options)
    torch.manual_seed(0)
    G, D = spec.build()
    z, c = torch.randn(3, 8), torch.arange(3) if options else None
    G.eval(), D.eval()
    tensors = {**{f"G.{k}": v for k, v in G.state_dict().items()}, **{f"D.{k}": v for k, v in D.state_dict().items()}}
    record = save_checkpoint(tmp_path / "final.json", tensors, {"model": spec.to_dict()}).with_suffix(".json")
    meta, loaded = load_checkpoint(record)
    torch.manual_seed(1)  # different initial weights: the loaded state must replace them all
    G2, D2 = ModelSpec.from_dict(meta["model"]).build()
    G2.load_state_dict(module_state(loaded, "G"))
    D2.load_state_dict(module_state(loaded, "D"))
    G2.eval(), D2.eval()
    with torch.no_grad():
        assert torch.equal(G(z, c), G2(z, c)) and torch.equal(D(G(z, c), c), D2(G(z, c), c))
    assert ModelSpec.from_dict(meta["model"]) == spec


@pytest.mark.parametrize("name", families_with("condition"))
def test_every_conditional_generator_takes_class_weights_as_a_mix_of_classes(name):
    shape = model_shapes(name)[0]
    torch.manual_seed(0)
    G, _ = ModelSpec(name, 8, shape, 10, {"condition": "projection"}).build()
    G.eval()
    z, c = torch.randn(4, 8), torch.tensor([1, 3, 3, 7])

    def draw(labels):
        torch.manual_seed(2)  # the same per-pixel noise, where a family has it
        with torch.no_grad():
            return G(z, labels)

    onehot = torch.nn.functional.one_hot(c, 10).float()
    assert torch.allclose(draw(onehot), draw(c), atol=1e-5)  # a one-hot weight is the class itself
    half = (onehot + torch.nn.functional.one_hot(torch.tensor([2, 4, 4, 8]), 10).float()) / 2
    mixed, ends = draw(half), (draw(c), draw(c + 1))
    assert all((mixed - end).abs().max() > 1e-4 for end in ends)  # between two classes, neither of them


@pytest.mark.parametrize("name", PENALTIES.names())
def test_every_penalty_is_a_differentiable_scalar_on_its_network(name):
    from gankit import build_models
    from gankit.training.objective import GANObjective

    penalty = PENALTIES.get(name)()
    assert penalty.network in ("D", "G") and PENALTIES.describe()
    torch.manual_seed(0)
    for family, options in (("vanilla", {"d_hidden": [16], "g_hidden": [16]}), ("stylegan2", {"channel_max": 8})):
        G, D = build_models(family, (1, 16, 16), z_dim=4, **options)
        try:
            penalty.check(G, D)  # a penalty may need a kind of model (path length: a style-based G)
            break
        except ConfigError:
            continue
    objective = GANObjective(G, D, LOSSES.get("nonsaturating")(), generator_module=G)
    fake = G(torch.randn(6, 4))
    batch = StepBatch(torch.rand(6, 1, 16, 16) * 2 - 1, None, fake if penalty.network == "G" else fake.detach(), None)
    value = penalty(objective, batch)
    assert value.dim() == 0 and torch.isfinite(value) and value > 0
    value.backward()
    network = D if penalty.network == "D" else G
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in network.parameters())


@pytest.mark.parametrize("name", AUGMENTS.names())
def test_every_augmentation_keeps_shape_and_passes_gradients(name):
    aug = AUGMENTS.get(name)()
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    y = aug(x)
    assert y.shape == x.shape and isinstance(aug.observe(torch.randn(4)), dict)
    y.sum().backward()
    assert x.grad is not None


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_pushes_real_and_fake_apart(name):
    loss = LOSSES.get(name)()
    high, low = torch.full((4,), 3.0), torch.full((4,), -3.0)
    assert loss.d(high, low, 0.0) < loss.d(low, high, 0.0)  # D is rewarded for scoring reals above fakes
    g = (lambda fake: loss.g(fake, torch.zeros(4))) if loss.relativistic else loss.g
    assert g(high) < g(low)  # G is rewarded for fakes D scores as real (relativistic: above the reals)


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimiser_steps_and_resumes_exactly(name):
    def fresh():
        torch.manual_seed(0)
        net = nn.Linear(3, 1)
        return net, OPTIMIZERS.get(name)(net.parameters(), lr=1e-2, betas=(0.5, 0.999))

    def step(net, opt, seed):
        x = torch.randn(8, 3, generator=torch.Generator().manual_seed(seed))
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()

    net, opt = fresh()
    step(net, opt, 1)
    tensors, groups = optimizer_state(opt, "opt")
    resumed, opt2 = fresh()
    resumed.load_state_dict(net.state_dict())
    restore_optimizer(opt2, "opt", {k: v.clone() for k, v in tensors.items()}, groups)
    step(net, opt, 2)
    step(resumed, opt2, 2)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), resumed.parameters()))


@pytest.mark.parametrize("name", EXTRACTORS.names())
def test_every_extractor_gives_features_and_class_probabilities_or_says_what_is_missing(name):
    try:
        ext = load_extractor(name)
    except ConfigError as err:  # weights the user must import first (never downloaded): the message says how
        assert "gankit evaluator" in str(err)
        return
    images = torch.randint(0, 256, (3, *(ext.shape or (3, 32, 32))), dtype=torch.uint8)
    feats, probs = ext.run(images)
    assert feats.shape[0] == 3 and feats.dim() == 2
    assert torch.allclose(probs.sum(1), torch.ones(3))


@pytest.mark.parametrize("name", families_with("condition"))  # the shared objective's families
def test_every_discriminator_names_its_blocks_from_the_input_for_freezed(name):
    from gankit.training.init_from import freeze_d

    _, D = ModelSpec(name, 8, model_shapes(name)[0], 10, {}).build()
    blocks = D.input_blocks()
    assert blocks and all(any(p.numel() for m in block for p in m.parameters()) for block in blocks)
    head = {id(p) for p in D.head.parameters()}
    assert {id(p) for block in blocks for m in block for p in m.parameters()}.isdisjoint(head)
    freeze_d(D, 1)
    frozen = {id(p) for m in blocks[0] for p in m.parameters()}
    assert all(p.requires_grad == (id(p) not in frozen) for p in D.parameters())
    freeze_d(D, len(blocks))  # all of them: only the head still learns
    assert {id(p) for p in D.parameters() if p.requires_grad} == head
