"""Worlds where everything is known: contexts, p_L, P*, the planted tasks, and the per-seed Instance.

The floor above `simulations.core` (it imports only `core` and `theory`):
log-linear worlds with known embeddings (`make_world`), planted natural tasks
(`make_task`), the `Instance` every experiment starts from, embedding families
for the log-partition check, and the named-word world with its K-class tasks
read as sentence completion (`make_lexicon`, `make_class_task`). A world is
data (NumPy arrays in NamedTuples); language models, probes and bounds are on
the floors above (docs/design.md §3).
"""

from ._class_tasks import CLASS_TASKS, ClassTask, make_class_task
from ._embeddings import SAMPLED_FAMILIES, sample_embeddings, sample_thetas
from ._instance import Instance, make_instance
from ._lexicon import (
    FUNCTION_WORDS,
    LEVELS,
    PROMPT,
    SENTIMENT,
    TOPICS,
    Lexicon,
    LexiconConfig,
    make_lexicon,
    named_words,
)
from ._loglinear import World, WorldConfig, make_world
from ._task import STRUCTURES, Task, TaskConfig, make_task

__all__ = [
    "CLASS_TASKS",
    "FUNCTION_WORDS",
    "LEVELS",
    "PROMPT",
    "SAMPLED_FAMILIES",
    "SENTIMENT",
    "STRUCTURES",
    "TOPICS",
    "ClassTask",
    "Instance",
    "Lexicon",
    "LexiconConfig",
    "Task",
    "TaskConfig",
    "World",
    "WorldConfig",
    "make_class_task",
    "make_instance",
    "make_lexicon",
    "make_task",
    "make_world",
    "named_words",
    "sample_embeddings",
    "sample_thetas",
]
