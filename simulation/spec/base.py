"""The pydantic base of every part of the spec, and the YAML writer the model, scenarios and experiments share."""

from __future__ import annotations

import yaml
from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    """Base of every part of the spec: a field it does not know is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class _Dumper(yaml.SafeDumper):
    """YAML writer that puts lists of numbers on one (wrapped) line: 168 hourly weights stay readable."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = bool(data) and all(isinstance(x, int | float) and not isinstance(x, bool) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def dump_yaml(spec: BaseModel) -> str:
    """Return a pydantic model as YAML text: fields in declared order, None left out, number lists on one line."""
    return yaml.dump(spec.model_dump(mode="json", exclude_none=True), Dumper=_Dumper, sort_keys=False,
                     allow_unicode=True, width=110)
