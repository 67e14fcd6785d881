from gankit.registry import Registry

RECIPES = Registry("training recipe")
