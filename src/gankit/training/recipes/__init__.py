"""Training recipes of model families that do not train as one G against one D on the shared adversarial loss.

A recipe is registered under its model family's name as `f(config, G, D, objective, total_steps, ema, world) ->
(networks, phases)`: its own optimisers and the phases the one training loop runs (each over its steps, on its
own losses). Families without one get the GAN phases (gankit/training/builder.py).
"""

from __future__ import annotations

from gankit.training.recipes.registry import RECIPES

from gankit.training.recipes import timegan  # noqa: E402,F401  isort: skip  (registers the recipes)

__all__ = ["RECIPES"]
