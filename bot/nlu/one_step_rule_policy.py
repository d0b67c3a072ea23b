"""RulePolicy giving its own earlier prediction again when the rules are one step each (issue 18).

Why: RulePolicy rebuilds the state of every earlier turn of the conversation twice per prediction
(from the user's text, then from the intent) and predicts twice a turn: ~1 ms of a ~9 ms turn
(benchmarks/RESULTS.md), growing with the conversation. Our rules (data/rules/) are each one intent
followed by one action, without slot, loop, entity or text conditions. RulePolicy's prediction then
depends on two things only: the intent of the last user message and the last action (action_listen
right after the user spoke; the rule's action once it ran). This policy asks RulePolicy the first
time a pair comes up and gives a copy of that same prediction for the pair afterwards.

It is plain RulePolicy whenever that reasoning may not hold: a rule it learnt with any other
condition (checked on its trained rules, so new data with slots or loops turns it off by itself),
the domain has forms, a loop is active, or the intent is one of Rasa's default intents (/restart,
/back, /session_start), which RulePolicy maps to default actions before any rule.

Named in config.yml instead of RulePolicy, with the same settings; trained and persisted as
RulePolicy is (nothing of its own is stored).
"""

from __future__ import annotations

import json
from typing import Any

from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import DEFAULT_INTENTS
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

# The only parts of a rule's states a one-step rule may hold: the action before, the user's intent.
_ONE_STEP_STATE = {"prev_action": {"action_name"}, "user": {"intent"}}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class OneStepRulePolicy(RulePolicy):
    """RulePolicy; a prediction for an (intent, last action) pair already seen is that one again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._given: dict[tuple[str, str], PolicyPrediction] = {}
        self._one_step: bool | None = None  # decided at the first prediction, on the trained rules

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """RulePolicy's prediction (see the module docstring for when it is a copy of an earlier one)."""
        pair = self._pair(tracker, domain)
        if pair is None:
            return super().predict_action_probabilities(tracker, domain, rule_only_data, **kwargs)
        given = self._given.get(pair)
        if given is None:
            given = super().predict_action_probabilities(tracker, domain, rule_only_data, **kwargs)
            self._given[pair] = given
        return _copy(given)

    def _pair(self, tracker: DialogueStateTracker, domain: Domain) -> tuple[str, str] | None:
        """(intent of the last user message, last action), or None when RulePolicy must decide."""
        if self._one_step is None:
            self._one_step = rules_are_one_step(self.lookup)
        if not self._one_step or domain.form_names or tracker.active_loop_name:
            return None
        intent = tracker.latest_message.intent.get("name") if tracker.latest_message else None
        action = tracker.latest_action_name
        if not intent or not action or intent in DEFAULT_INTENTS:
            return None
        return str(intent), str(action)


def rules_are_one_step(lookup: dict[str, Any]) -> bool:
    """Whether every rule RulePolicy learnt holds only actions and one intent (no slot, loop,
    entity or text), and none is a loop's unhappy path."""
    if lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH):
        return False
    for key in lookup.get(RULES, {}):
        try:
            states = json.loads(key)
        except ValueError:
            return False
        if not isinstance(states, list):
            return False
        intents = set()
        for state in states:
            if not isinstance(state, dict) or not set(state) <= set(_ONE_STEP_STATE):
                return False
            for part, fields in state.items():
                if not isinstance(fields, dict) or not set(fields) <= _ONE_STEP_STATE[part]:
                    return False
            if "user" in state:
                intents.add(state["user"].get("intent"))
        if len(intents) > 1:
            return False
    return True


def _copy(prediction: PolicyPrediction) -> PolicyPrediction:
    """A prediction of its own for the caller (the ensemble may change what it is given)."""
    return PolicyPrediction(
        list(prediction.probabilities),
        prediction.policy_name,
        prediction.policy_priority,
        list(prediction.events),
        list(prediction.optional_events),
        prediction.is_end_to_end_prediction,
        prediction.is_no_user_prediction,
        dict(prediction.diagnostic_data),
        prediction.hide_rule_turn,
        dict(prediction.action_metadata) if prediction.action_metadata else prediction.action_metadata,
    )
