"""cnnbook.models: EfficientNet-Lite0 with its packaged ImageNet weights, preprocessing, labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnbook import data, models

DOMESTIC_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO = 967


@pytest.fixture(scope="module")
def model():
    return models.efficientnet_lite0()


@pytest.fixture(scope="module")
def photo_batch():
    """The cat and the coffee photos, preprocessed: (2, 3, 224, 224)."""
    return torch.cat([models.preprocess(data.photo("cat")), models.preprocess(data.photo("coffee"))])


def test_the_packaged_weights_match_the_architecture_exactly(model):
    state = torch.load(models.pretrained_weights_path(), map_location="cpu", weights_only=True)
    assert set(state) == set(model.state_dict())
    result = models.EfficientNetLite0().load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert sum(p.numel() for p in model.parameters()) == 4_652_008
    assert not model.training  # a pretrained model comes ready for inference


def test_the_pretrained_network_recognises_the_cat_and_the_espresso(model, photo_batch):
    with torch.no_grad():
        logits = model(photo_batch)
    assert logits.shape == (2, 1000)
    cat_top5, coffee_top5 = logits.topk(5, dim=1).indices.tolist()
    assert set(cat_top5) & set(DOMESTIC_CATS), [models.imagenet_classes()[i] for i in cat_top5]
    assert ESPRESSO in coffee_top5, [models.imagenet_classes()[i] for i in coffee_top5]


def test_predict_topk_gives_sorted_names_and_probabilities(model, photo_batch):
    model.train()
    try:
        (coffee,) = models.predict_topk(model, photo_batch[1:], k=3)
        assert model.training  # its mode is restored
    finally:
        model.eval()
    assert coffee[0][0] == "espresso" and len(coffee) == 3
    probabilities = [p for _, p in coffee]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1


def test_stage_outputs_have_the_documented_shapes(model):
    expected = {"stem": (32, 112), "stage1": (16, 112), "stage2": (24, 56), "stage3": (40, 28),
                "stage4": (80, 14), "stage5": (112, 14), "stage6": (192, 7), "stage7": (320, 7),
                "head": (1280, 7)}
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        outputs = model.stage_outputs(x)
        assert list(outputs) == list(models.STAGE_NAMES) == list(expected)
        for name, (channels, size) in expected.items():
            assert outputs[name].shape == (1, channels, size, size), name
        assert list(model.stage_outputs(x, upto="stage3")) == ["stem", "stage1", "stage2", "stage3"]
        torch.testing.assert_close(model.classify(outputs["head"]), model(x))
        assert model.embed(x).shape == (1, 1280)
    assert [len(modules) for modules in model.stage_modules().values()] == [2, 1, 2, 2, 3, 3, 4, 1, 2]
    with pytest.raises(ValueError, match="stage4"):
        model.stage_outputs(x, upto="layer4")


def test_gradients_reach_the_stage_outputs_as_grad_cam_needs(model):
    outputs = model.stage_outputs(torch.rand(1, 3, 96, 96))
    score = model.classify(outputs["head"])[0, ESPRESSO]
    head_gradient, stage4_gradient = torch.autograd.grad(score, [outputs["head"], outputs["stage4"]])
    assert head_gradient.shape == (1, 1280, 3, 3) and stage4_gradient.abs().sum() > 0


def test_any_input_size_works_thanks_to_same_padding(model):
    with torch.no_grad():
        assert model(torch.randn(1, 3, 200, 257)).shape == (1, 1000)


def test_same_padding_puts_the_extra_pixel_at_the_bottom_right_like_tensorflow():
    conv = models.Conv2dSame(1, 1, 3, stride=2)
    x = torch.randn(1, 1, 8, 8)
    expected = F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.weight, stride=2)
    torch.testing.assert_close(conv(x), expected)
    assert models.Conv2dSame(1, 1, 5, stride=1)(torch.randn(1, 1, 7, 9)).shape == (1, 1, 7, 9)


def test_preprocess_resizes_crops_and_normalises():
    image = np.random.default_rng(0).random((300, 451, 3), dtype=np.float32)
    x = models.preprocess(image)
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32
    assert -1.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert models.preprocess(np.ones((50, 60), dtype=np.float32)).shape == (1, 3, 224, 224)
    assert models.preprocess(torch.rand(2, 3, 240, 224)).shape == (2, 3, 224, 224)
    white = models.preprocess(np.ones((224, 224, 3), dtype=np.float32))
    torch.testing.assert_close(white, torch.ones_like(white))
    with pytest.raises(ValueError, match="divide uint8 images by 255"):
        models.preprocess(np.full((32, 32, 3), 255.0))


def test_imagenet_class_names_are_index_aligned():
    names = models.imagenet_classes()
    assert len(names) == 1000 and names[ESPRESSO] == "espresso" and names[281] == "tabby cat"
    assert models.imagenet_classes("wordnet")[285] == "Egyptian cat"
    with pytest.raises(ValueError, match="style"):
        models.imagenet_classes("french")


def test_the_dog_breeds_are_classes_151_to_268():
    breeds = models.imagenet_dog_breeds()
    wordnet = models.imagenet_classes("wordnet")
    assert len(breeds) == 118 and breeds[0] == "Chihuahua" and breeds[-1] == "Mexican hairless"
    assert wordnet[150] == "sea lion" and wordnet[269] == "timber wolf"


def test_an_untrained_model_can_have_another_head_but_pretrained_needs_1000():
    assert models.efficientnet_lite0(pretrained=False, num_classes=10)(torch.randn(1, 3, 64, 64)).shape == (1, 10)
    with pytest.raises(ValueError, match="replace model._fc"):
        models.efficientnet_lite0(pretrained=True, num_classes=10)
