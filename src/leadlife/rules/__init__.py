"""Promotion, demotion and closing criteria: the rulebook and its loading."""

from leadlife.rules.model import RulebookModel
from leadlife.rules.rulebook import Rulebook, load_rulebook

__all__ = ["Rulebook", "RulebookModel", "load_rulebook"]
