"""Byzantine behaviours: wrappers around a seat's inputs and outputs, never its replica.

Each behaviour is a node around another node (a correct ``consensus.Replica`` or another
behaviour), active inside a time :class:`Window`; nesting combines them. Build one by name with
:func:`wrap`; :data:`KINDS` lists the names. A seat's behaviours hold only its own key, in its
:class:`BehaviourContext`.
"""

from council.behaviours.base import ALWAYS, Behaviour, BehaviourContext, Node, Window
from council.behaviours.censorship import Censor, motion_category
from council.behaviours.corruption import Corrupt
from council.behaviours.equivocation import (
    Equivocate,
    equivocating_sends,
    other_digest,
    variant_batch,
)
from council.behaviours.forgery import FORGE_MODES, Forge, tampered_body
from council.behaviours.network import Omit, Silent, Slow
from council.behaviours.registry import KINDS, NOT_WRAPPERS, parameters, wrap
from council.behaviours.replay import Replay, ReplayHistory
from council.behaviours.twins import TwinPair, default_groups
from council.behaviours.view_change import BogusViewChange
from council.behaviours.watermarks import OutOfWatermarks

__all__ = [
    "ALWAYS",
    "FORGE_MODES",
    "KINDS",
    "NOT_WRAPPERS",
    "Behaviour",
    "BehaviourContext",
    "BogusViewChange",
    "Censor",
    "Corrupt",
    "Equivocate",
    "Forge",
    "Node",
    "Omit",
    "OutOfWatermarks",
    "Replay",
    "ReplayHistory",
    "Silent",
    "Slow",
    "TwinPair",
    "Window",
    "default_groups",
    "equivocating_sends",
    "motion_category",
    "other_digest",
    "parameters",
    "tampered_body",
    "variant_batch",
    "wrap",
]
