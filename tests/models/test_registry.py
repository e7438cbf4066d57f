"""imukin.models.registry: registered names, their pinned config values, and building models by name."""
import pytest

from imukin.errors import ImukinError
from imukin.models import CNN, LSTM, CNNConfig, registry
from imukin.models.registry import create_model, get_entry, list_models, model_config, register_model


@pytest.fixture
def scratch_registry(monkeypatch):
    """A copy of the registry for the test, so names registered here do not leak into other tests."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_every_family_has_an_orientation_variant():
    names = list_models()
    assert names == sorted(names)
    for family in ("cnn", "lstm", "transformer"):
        assert family in names and f"{family}_ori" in names
        assert get_entry(f"{family}_ori").model_class is get_entry(family).model_class
        assert get_entry(f"{family}_ori").fixed == {"target": "orientation"}


def test_entries_and_configs():
    entry = get_entry("cnn")
    assert entry.model_class is CNN and entry.config_class is CNNConfig and entry.fixed == {}
    cfg = model_config("cnn_ori", n_layers=2)
    assert isinstance(cfg, CNNConfig) and cfg.n_layers == 2 and cfg.target == "orientation"
    assert model_config("cnn_ori", target="orientation").target == "orientation"  # the pinned value itself is fine


def test_create_model_builds_the_registered_model():
    model = create_model("cnn", n_layers=1, channels=8)
    assert isinstance(model, CNN) and model.config.n_layers == 1 and model.config.channels == 8
    assert create_model("lstm_ori", hidden_size=8, n_layers=1).config.target == "orientation"


def test_unknown_names_and_options_are_refused_with_the_choices():
    with pytest.raises(ImukinError, match="unknown model 'resnet'; choose one of: cnn, cnn_ori"):
        get_entry("resnet")
    with pytest.raises(ImukinError, match="unknown option.*depth.*valid options: .*n_layers"):
        model_config("cnn", depth=3)
    with pytest.raises(ImukinError, match="fixes target='orientation', got target='angle'; use model 'cnn'"):
        create_model("cnn_ori", target="angle")


def test_register_model(scratch_registry):
    assert register_model("cnn_test", channels=8)(CNN) is CNN
    assert "cnn_test" in list_models() and model_config("cnn_test").channels == 8
    register_model("cnn_test", channels=8)(CNN)  # the same class again (a reloaded module) is accepted
    with pytest.raises(ImukinError, match="'cnn_test' is already registered"):
        register_model("cnn_test")(LSTM)
    with pytest.raises(ImukinError, match=r"fixes unknown config field\(s\) \['depth'\]"):
        register_model("cnn_deep", depth=9)(CNN)


def test_scratch_names_do_not_leak():
    assert "cnn_test" not in list_models()
