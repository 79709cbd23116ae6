"""The trial's stopping rule: after each complete pair of blocks, continue or stop.

The rule is fixed before the trial starts and stored with the plan
(`Plan.stopping`), so it cannot be bent to the data. At each look (the end
of a complete pair, from `min_pairs` on; `sequential.look`) the data up to
that day are analysed as the report does, and the posterior over the effect at the plan
dose (`verdict.posterior`) decides:

- **stop: likely helps** when P(benefit) >= `stop_benefit`;
- **stop: unlikely to help meaningfully** when P(at least 20% fewer events)
  <= `stop_futility`;
- otherwise **continue** (and at the last pair the trial ends anyway; the
  report's verdict is then the answer).

Looking after every pair gives chance more tries than one final look, so
`stop_benefit` is stricter than the report's 0.95: it is set so that the
false "likely helps" rate across all looks stays <= 5% under no effect
(`tests/bench/verdict_calibration.py`, docs/statistics.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

CONTINUE = "continue"
STOP_HELPS = "stop_likely_helps"
STOP_FUTILE = "stop_unlikely_to_help"


@dataclass(frozen=True)
class StoppingRule:
    stop_benefit: float = 0.995
    stop_futility: float = 0.02
    min_pairs: int = 3  # no look before this many complete pairs

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> StoppingRule:
        return cls(**d) if d else cls()

    def decide(self, pairs_done: int, p_benefit: float | None, p_meaningful: float | None) -> str:
        """continue / stop_likely_helps / stop_unlikely_to_help at a look after `pairs_done` complete pairs."""
        if pairs_done < self.min_pairs or p_benefit is None or p_meaningful is None:
            return CONTINUE
        if p_benefit >= self.stop_benefit:
            return STOP_HELPS
        if p_meaningful <= self.stop_futility:
            return STOP_FUTILE
        return CONTINUE
