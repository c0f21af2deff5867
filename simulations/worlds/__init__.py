"""Worlds where everything is known: contexts, p_L, P*, the planted tasks, and the per-seed Instance.

The floor above `simulations.core` (it imports only `core` and `theory`):
log-linear worlds with known embeddings (`make_world`), planted natural tasks
(`make_task`), the `Instance` every experiment starts from, embedding families
for the log-partition check, and the named-word world with its K-class tasks
read as sentence completion (`make_lexicon`, `make_class_task`), and the
sequence world: documents of tokens from a mixture of concept HMMs with
softmax emissions over known embeddings, filtered exactly for every prefix
(`make_sequence_world`, `sample_population`, `context_world`, `concept_task`).
A world is
data (NumPy arrays in NamedTuples); language models, probes and bounds are on
the floors above (docs/design.md §3).
"""

from ._class_tasks import CLASS_TASKS, ClassTask, make_class_task
from ._documents import (
    MAX_ORDERS,
    Documents,
    EndView,
    Suffix,
    append_suffix,
    concept_task,
    context_world,
    end_beliefs,
    end_view,
    eps_by_document,
    positive_posterior,
    sample_population,
    soft_labels_agree,
    suffix_kind,
    suffixes,
)
from ._embeddings import SAMPLED_FAMILIES, sample_embeddings, sample_thetas
from ._hmm import (
    HMM,
    Filtered,
    check_tokens,
    entropies,
    forward,
    make_hmm,
    next_token_chunks,
    next_token_probs,
    sample_documents,
)
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
from ._sequence import LEXICONS, SequenceConfig, SequenceWorld, make_sequence_world
from ._task import STRUCTURES, Task, TaskConfig, make_task
from ._words import REVIEW_PROMPT, UNPRINTABLE, WordList, english_ratings, review_words, synthetic_words

__all__ = [
    "CLASS_TASKS",
    "FUNCTION_WORDS",
    "HMM",
    "LEVELS",
    "LEXICONS",
    "PROMPT",
    "REVIEW_PROMPT",
    "SAMPLED_FAMILIES",
    "SENTIMENT",
    "STRUCTURES",
    "MAX_ORDERS",
    "TOPICS",
    "UNPRINTABLE",
    "ClassTask",
    "Documents",
    "EndView",
    "Suffix",
    "Filtered",
    "Instance",
    "Lexicon",
    "LexiconConfig",
    "SequenceConfig",
    "SequenceWorld",
    "Task",
    "TaskConfig",
    "WordList",
    "World",
    "WorldConfig",
    "append_suffix",
    "check_tokens",
    "concept_task",
    "context_world",
    "end_beliefs",
    "end_view",
    "entropies",
    "eps_by_document",
    "forward",
    "make_class_task",
    "make_hmm",
    "make_instance",
    "make_lexicon",
    "make_sequence_world",
    "make_task",
    "make_world",
    "english_ratings",
    "named_words",
    "next_token_chunks",
    "next_token_probs",
    "positive_posterior",
    "review_words",
    "sample_documents",
    "sample_embeddings",
    "sample_population",
    "sample_thetas",
    "soft_labels_agree",
    "suffix_kind",
    "suffixes",
    "synthetic_words",
]
