"""The policy engine: load a YAML policy, compile it once, decide per call.

`load_policy(path)` / `Policy.from_text(text)` load and compile; `Policy.decide(...)`
returns a `Decision`. `router.policy.ir` documents the compiled form the analysis works
from; `router.policy.schema` holds the pydantic models behind the JSON Schema (it imports
pydantic, so nothing here imports it).
"""

from __future__ import annotations

from router.policy.engine import Outcome, Policy, Rule, default_policy_path, load_policy

__all__ = ["Outcome", "Policy", "Rule", "default_policy_path", "load_policy"]
