"""The FID Inception-v3: its architecture, importing the weights a user has (never a download, never a
pickle that can run code), and the message when there are none."""

import pytest
import torch

from gankit import ConfigError
from gankit.metrics.classifier import LeNet
from gankit.metrics.extractors import load_extractor
from gankit.metrics.inception import FIDInceptionV3, import_inception

from formats import PickleExploit


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return FIDInceptionV3().eval()


def test_the_architecture_is_inception_v3_with_1008_logits(model):
    # torchvision documents 27,161,264 parameters for Inception-v3 with its auxiliary classifier (3,326,696 of
    # them) and 1000 classes; the FID graph has no auxiliary head and 1008 classes: 8 x 2049 more.
    assert sum(p.numel() for p in model.parameters()) == 27_161_264 - 3_326_696 + 8 * 2049
    with torch.no_grad():
        for shape in ((1, 28, 28), (3, 32, 32)):  # any size, grey or colour: resized to 3x299x299
            features = model.features(torch.rand(2, *shape) * 2 - 1)
            assert features.shape == (2, 2048) and (features >= 0).all()  # means of ReLU outputs
        assert model.head(features).shape == (2, 1008)


def test_imported_weights_give_the_same_features(model, tmp_path, monkeypatch):
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "pt_inception-2015-12-05-6726825d.pth")  # as old files lack the counters
    record = import_inception(tmp_path / "pt_inception-2015-12-05-6726825d.pth", tmp_path / "extractors")
    monkeypatch.setenv("GANKIT_EXTRACTORS", str(tmp_path / "extractors"))
    extractor = load_extractor("inception")
    assert extractor.name == "inception" and record.with_suffix(".safetensors").is_file()
    images = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    features, probs = extractor.run(images)
    with torch.no_grad():
        expected = model.features(images.float() / 127.5 - 1)
    assert torch.allclose(features.float(), expected, atol=1e-4)
    assert probs.shape == (3, 1008) and torch.allclose(probs.sum(1), torch.ones(3))


def test_a_pickle_that_runs_code_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"Conv2d_1a_3x3.conv.weight": PickleExploit(marker)}, tmp_path / "evil.pth")
    with pytest.raises(ConfigError, match="not a plain PyTorch state dict"):
        import_inception(tmp_path / "evil.pth", tmp_path / "out")
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_other_weights_are_refused(tmp_path):
    torch.save(LeNet(1, 28, 10).state_dict(), tmp_path / "lenet.pth")
    with pytest.raises(ConfigError, match="does not hold the FID Inception-v3 weights"):
        import_inception(tmp_path / "lenet.pth", tmp_path / "out")


def test_without_weights_the_message_names_the_ways_forward(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_EXTRACTORS", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        load_extractor("inception")
    text = str(err.value)
    assert "never downloads" in text and "import-inception" in text and "lenet-mnist" in text
