"""The spec's worked-example policy (written once, in allocations/engine/examples.py) as the
engine takes it and as JSON-ready data, shared by the engine's and the batch command's tests."""

from allocations.engine import policy_to_dict
from allocations.engine.examples import SPEC_POLICY

SPEC_POLICY_DICT = policy_to_dict(SPEC_POLICY)

__all__ = ["SPEC_POLICY", "SPEC_POLICY_DICT"]
