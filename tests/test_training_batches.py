"""bot.nlu.rasa_speedups fix 5 (guarded): DIET's training batches grouped by length, on Rasa's real data generator."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from bot.nlu import rasa_speedups

COUNT = 600
BATCH = 64


def _model_data() -> Any:
    """Messages of 1-28 tokens (like data/nlu), each token carrying its message's number."""
    from rasa.utils.tensorflow.model_data import FeatureArray, RasaModelData

    rng = np.random.RandomState(0)
    lengths = rng.randint(1, 29, size=COUNT)
    sequences = np.empty(COUNT, dtype=object)
    for number, length in enumerate(lengths):
        sequences[number] = np.full((length, 2), float(number))
    labels = rng.randint(0, 5, size=(COUNT, 1))
    data = {
        "text": {
            "sequence": [FeatureArray(sequences, number_of_dimensions=3)],
            "sequence_lengths": [FeatureArray(lengths, number_of_dimensions=1)],
        },
        "label": {"ids": [FeatureArray(labels, number_of_dimensions=2)]},
    }
    return RasaModelData(label_key="label", label_sub_key="ids", data=data)


def _epoch(generator: Any) -> tuple[Counter, int, list[int]]:
    """Messages seen (by number), padded token slots, and batch sizes of one epoch."""
    seen: Counter = Counter()
    padded, sizes = 0, []
    for index in range(len(generator)):
        (sequence, lengths, _labels), _ = generator[index]
        for row, length in zip(sequence, lengths, strict=True):
            seen[int(row[0, 0])] += 1
            assert (row[: int(length)] == row[0, 0]).all()  # a message's tokens stay together
        padded += sequence.shape[0] * sequence.shape[1]
        sizes.append(sequence.shape[0])
    return seen, padded, sizes


@pytest.fixture(scope="module")
def generator_class() -> Any:
    rasa_speedups.apply()
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    return RasaBatchDataGenerator


def test_batches_hold_the_same_messages_as_rasas_with_less_padding(generator_class: Any) -> None:
    patched = generator_class._shuffle_and_balance
    assert getattr(patched, "__wrapped__", None) is not None, "fix 5 is not installed"
    results = {}
    for name, method in (("rasa", patched.__wrapped__), ("bucketed", patched)):
        np.random.seed(7)
        generator_class._shuffle_and_balance = method
        try:
            generator = generator_class(_model_data(), BATCH, epochs=1, batch_strategy="balanced")
            results[name] = _epoch(generator)
        finally:
            generator_class._shuffle_and_balance = patched
    (rasa_seen, rasa_padded, rasa_sizes), (seen, padded, sizes) = results["rasa"], results["bucketed"]
    assert seen == rasa_seen and sizes == rasa_sizes  # same examples (balanced repeats included)
    assert padded < 0.75 * rasa_padded, (padded, rasa_padded)


def test_order_is_a_permutation_with_only_the_last_batch_incomplete() -> None:
    lengths = np.random.RandomState(1).randint(1, 29, size=1000)
    order = rasa_speedups.length_bucketed_order(lengths, BATCH, np.random.RandomState(2))
    assert sorted(order.tolist()) == list(range(1000))
    batches = [order[i : i + BATCH] for i in range(0, 1000, BATCH)]
    span = BATCH * rasa_speedups.BUCKET_BATCHES
    assert all(len({int(i) // span for i in batch}) == 1 for batch in batches)  # one bucket each
    assert [int(i) // span for i in batches[-1]] == [1000 // span] * (1000 % BATCH)
