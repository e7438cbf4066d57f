"""A plain model registry: ``register_model`` on a class, ``create_model(name, **overrides)``.

Each registered name is a model class plus config values it fixes. The orientation
variants are registered as ``<family>_ori`` with ``target="orientation"`` fixed, so a
checkpoint's ``model_name`` and config always rebuild the same model::

    >>> from imukin.models import create_model, list_models
    >>> "cnn" in list_models()
    True
    >>> create_model("cnn", n_layers=1).config.n_layers
    1
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from imukin.errors import ImukinError


@dataclass(frozen=True)
class ModelEntry:
    """One registered name."""

    name: str  # registered name, e.g. "cnn_ori"
    model_class: type  # a SequenceModel subclass; its ``config_class`` holds the options
    fixed: dict[str, Any] = field(default_factory=dict)  # config values this name pins

    @property
    def config_class(self) -> type:
        return self.model_class.config_class


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, **fixed: Any) -> Callable[[type], type]:
    """Class decorator registering a model under ``name``, with config values ``fixed``.

    Parameters
    ----------
    name : str
        Registered name (unique).
    **fixed
        Config fields this name pins (e.g. ``target="orientation"``); overriding them
        with another value in :func:`create_model` raises :class:`ImukinError`.
    """

    def decorator(cls: type) -> type:
        old = _REGISTRY.get(name)
        same = old is not None and (old.model_class.__module__, old.model_class.__qualname__) == (
            cls.__module__, cls.__qualname__)  # a reloaded module may register its class again
        if old is not None and not same:
            raise ImukinError(f"model name {name!r} is already registered; pick another name")
        valid = {f.name for f in dataclasses.fields(cls.config_class)}
        unknown = sorted(set(fixed) - valid)
        if unknown:
            raise ImukinError(f"register_model({name!r}) fixes unknown config field(s) {unknown}")
        _REGISTRY[name] = ModelEntry(name, cls, dict(fixed))
        return cls

    return decorator


def list_models() -> list[str]:
    """Sorted names of every registered model."""
    return sorted(_REGISTRY)


def get_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``; :class:`ImukinError` listing valid names if unknown."""
    if name not in _REGISTRY:
        raise ImukinError(f"unknown model {name!r}; choose one of: {', '.join(list_models())}")
    return _REGISTRY[name]


def model_config(name: str, **overrides: Any):
    """The config dataclass ``create_model(name, **overrides)`` would use, without building the model."""
    entry = get_entry(name)
    cls = entry.config_class
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ImukinError(f"unknown option(s) {', '.join(unknown)} for model {name!r}; "
                          f"valid options: {', '.join(valid)}")
    for key, value in entry.fixed.items():
        if key in overrides and overrides[key] != value:
            default = next(f.default for f in dataclasses.fields(cls) if f.name == key)
            others = [e.name for e in _REGISTRY.values() if e.model_class is entry.model_class
                      and e.fixed.get(key, default) == overrides[key]]
            hint = f"use model {others[0]!r}" if others else f"drop the {key} option"
            raise ImukinError(f"model {name!r} fixes {key}={value!r}, got {key}={overrides[key]!r}; {hint}")
    return cls(**{**entry.fixed, **overrides})


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build a registered model.

    Parameters
    ----------
    name : str
        One of :func:`list_models`.
    **overrides
        Values replacing the defaults of the model's config dataclass.

    Returns
    -------
    torch.nn.Module
        A freshly initialised model with ``.config`` (its dataclass) and ``.model_name``.

    Raises
    ------
    ImukinError
        Unknown name, unknown option (the message lists the valid ones), or invalid value.
    """
    return get_entry(name).model_class(model_config(name, **overrides))
